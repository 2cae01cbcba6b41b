-- bench/pgbench/naive.sql: what a Rails app runs per expense today (patterns by ILIKE)
\set id random(1, :nexp)
SELECT p.category_id
  FROM bench.expenses e
  JOIN categorize.patterns p
    ON (p.kind = 'merchant' AND p.value ILIKE '%' || e.merchant_name || '%')
    OR (p.kind = 'keyword' AND e.description ILIKE '%' || p.value || '%')
 WHERE e.id = :id
 LIMIT 20;
