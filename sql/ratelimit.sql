-- categorize.max_corrections_per_minute: a token bucket per owner
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Groceries');

-- case: the default is generous
SHOW categorize.max_corrections_per_minute;

-- case: up to the limit per owner, then 53400 and nothing written
SET categorize.max_corrections_per_minute = 2;
SELECT categorize.learn_correction('Shop ' || g, NULL, NULL, 901, 1) FROM generate_series(1, 2) g;
SELECT count(*) AS before FROM categorize.corrections WHERE owner_id = 901;
SELECT categorize.learn_correction('Shop 3', NULL, NULL, 901, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS after, (SELECT count(*) FROM categorize.patterns WHERE owner_id = 901) AS patterns
  FROM categorize.corrections WHERE owner_id = 901;

-- case: a failed statement writes none of its corrections
SELECT categorize.learn_correction('Other ' || g, NULL, NULL, 902, 2) FROM generate_series(1, 5) g;
SELECT count(*) AS written FROM categorize.corrections WHERE owner_id = 902;

-- case: other owners, and corrections without an owner, have their own buckets
SELECT categorize.learn_correction('Shop 5', NULL, NULL, 903, 1);
SELECT categorize.learn_correction('Shop 6', NULL, NULL, NULL, 1);

-- case: 0 means no limit
SET categorize.max_corrections_per_minute = 0;
SELECT count(categorize.learn_correction('Bulk ' || g, NULL, NULL, 901, 2)) FROM generate_series(1, 20) g;

-- case: only a superuser sets it
RESET categorize.max_corrections_per_minute;
CREATE ROLE regress_categorize_limited;
SET ROLE regress_categorize_limited;
SET categorize.max_corrections_per_minute = 0;
RESET ROLE;
DROP ROLE regress_categorize_limited;
