-- bench/pgbench/floor.sql: the floor, one expense by primary key, not categorized
\set id random(1, :nexp)
SELECT e FROM bench.expenses e WHERE id = :id;
