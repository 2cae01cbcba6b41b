-- bench/pgbench/categorize_values.sql: one expense by primary key, categorized
-- through the values form (the row form is categorize.sql)
\set id random(1, :nexp)
SELECT categorize.categorize(e.merchant_name, e.description, e.amount, e.user_id)
  FROM bench.expenses e WHERE id = :id;
