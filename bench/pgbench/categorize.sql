-- bench/pgbench/categorize.sql: one expense by primary key, categorized
\set id random(1, :nexp)
SELECT categorize.categorize(e) FROM bench.expenses e WHERE id = :id;
