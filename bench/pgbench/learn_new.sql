-- bench/pgbench/learn_new.sql: one correction a transaction for a new owner and
-- a new merchant (the 10% of the mixed load), filed under a random shared
-- category.  The merchant's name spells its number in letters: digits are
-- noise to the normalizer, so 'merchant 123' would be 'merchant' for all.
\set owner random(1000000, 1999999999)
\set mid random(1, 1000000000)
\set cat random(:cmin, :cmax)
SELECT categorize.learn_correction(pg_catalog.translate(:mid::text, '0123456789', 'bcdfghjkmp'),
                                   NULL, 12.5, :owner, :cat);
