-- bench/pgbench/owners_zipf.sql: a random expense categorized for an owner drawn from a
-- Zipf distribution over owners 1..:owners (exponent :zipf_s), so a few owners are busy
\set owner random_zipfian(1, :owners, :zipf_s)
\set id random(1, :nexp)
SELECT categorize.categorize(e.merchant_name, e.description, e.amount, :owner)
  FROM bench.expenses e WHERE id = :id;
