-- bench/pgbench/learn.sql: one correction a transaction: a random expense's texts and owner,
-- filed under a random shared category (ids :cmin..:cmax)
\set id random(1, :nexp)
\set cat random(:cmin, :cmax)
SELECT categorize.learn_correction(e.merchant_name, e.description, e.amount, e.user_id, :cat)
  FROM bench.expenses e WHERE id = :id;
