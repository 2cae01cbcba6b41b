-- bench/pgbench/learn_new.sql: one correction a transaction for a new owner and
-- merchant (the 10% of the mixed load), filed under a random shared category
\set owner random(1000000, 1999999999)
\set mid random(1, 1000000000)
\set cat random(:cmin, :cmax)
SELECT categorize.learn_correction('new merchant ' || :mid, NULL, 12.5, :owner, :cat);
