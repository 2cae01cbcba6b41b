-- categorize(): matching semantics of the pattern kinds, owners, amounts, ranking
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name, owner_id) VALUES
    (1, 'Coffee', NULL), (2, 'Groceries', NULL), (3, 'Fuel', NULL),
    (4, 'Electronics', NULL), (5, 'Alice coffee', 100), (6, 'Online', NULL);
INSERT INTO categorize.patterns (id, category_id, kind, value, amount_min, amount_max, owner_id, priority) VALUES
    (1, 1, 'merchant', 'Starbucks', NULL, NULL, NULL, 0),
    (2, 2, 'keyword', 'whole foods', NULL, NULL, NULL, 0),
    (3, 3, 'regex', '^shell\s+oil', NULL, NULL, NULL, 0),
    (4, 2, 'merchant', 'Costco', NULL, 100, NULL, 0),
    (5, 4, 'merchant', 'Costco', 100.01, NULL, NULL, 0),
    (6, 5, 'merchant', 'Blue Bottle', NULL, NULL, 100, 0),
    (7, 1, 'merchant', 'Blue Bottle', NULL, NULL, NULL, 0),
    (8, 4, 'merchant', 'star', NULL, NULL, NULL, 0),
    (9, 6, 'merchant', 'amazon', NULL, NULL, NULL, 0),
    (10, 2, 'merchant', 'amazon fresh', NULL, NULL, NULL, 0),
    (11, 3, 'keyword', 'fuel', NULL, NULL, NULL, 5);
INSERT INTO categorize.patterns (id, category_id, kind, value, active) VALUES (12, 4, 'merchant', 'ghost', false);
SELECT setval(pg_get_serial_sequence('categorize.patterns', 'id'), 1000) > 0 AS ids_above_fixtures;

-- case: merchant patterns match the merchant name at word boundaries
SELECT m, categorize.categorize(m, NULL) FROM (VALUES
    ('STARBUCKS'), ('POS DEBIT STARBUCKS #4412'), ('Starbucks Reserve Roastery'),
    ('STARBUCKSRESERVE'), ('STAR MARKET'), ('Gas Star'), ('ghost')) t(m);

-- case: without a merchant name, merchant patterns look at the description
SELECT categorize.categorize(NULL, 'starbucks downtown') AS no_merchant,
       categorize.categorize('', 'starbucks downtown') AS empty_merchant,
       categorize.categorize('Corner Cafe', 'starbucks gift card') AS other_merchant;

-- case: keywords match the description or the merchant name
SELECT categorize.categorize('WHOLE FOODS MKT #10', NULL) AS in_merchant,
       categorize.categorize('Market', 'lunch at Whole Foods') AS in_description,
       categorize.categorize('Wholefoods', NULL) AS not_a_word_match;

-- case: regexes run case-insensitively on the raw texts
SELECT categorize.categorize('SHELL OIL 57442', NULL) AS raw_merchant,
       categorize.categorize(NULL, 'shell   oil') AS raw_description,
       categorize.categorize('POS SHELL OIL', NULL) AS anchored_elsewhere;

-- case: amount ranges
SELECT a, categorize.categorize('COSTCO WHOLESALE', NULL, a) FROM (VALUES
    (NULL::numeric), (50), (100), (100.005), (100.01), (2500), ('NaN'), (-20)) t(a);

-- case: amounts read from a table's rows: at the bounds, with more digits
-- than a double holds (the nearest double decides), and in numeric's long
-- form (weights beyond the short form's)
CREATE TEMP TABLE costco_rows (merchant_name text, amount numeric);
INSERT INTO costco_rows VALUES
    ('COSTCO', 100), ('COSTCO', 100.00), ('COSTCO', 100.0100), ('COSTCO', -0.01),
    ('COSTCO', 100.00999999999999999999), ('COSTCO', 100.000000000000000001),
    ('COSTCO', 1234567890123.45), ('COSTCO', 1e-100), ('COSTCO', 1e100);
SELECT amount::float8 AS amount, categorize.categorize(r) FROM costco_rows r;

-- case: an owner's own pattern beats everyone's; others get everyone's
SELECT categorize.categorize('Blue Bottle', NULL, NULL, 100) AS alice,
       categorize.categorize('Blue Bottle', NULL, NULL, 200) AS bob,
       categorize.categorize('Blue Bottle', NULL, NULL, NULL) AS nobody;

-- case: exact whole-name match beats a partial one; longer beats shorter
SELECT categorize.categorize('AMAZON FRESH', NULL) AS exact_longer,
       categorize.categorize('AMAZON', NULL) AS exact_shorter,
       categorize.categorize('AMAZON FRESH DELIVERY', NULL) AS longer_partial;

-- case: priority beats specificity
SELECT categorize.categorize('Starbucks', 'fuel surcharge') AS priority_wins;

-- case: merchant beats keyword at equal priority
SELECT categorize.categorize('Starbucks', 'whole foods run') AS merchant_wins;

-- case: the detail names the pattern, what matched and whose it was
SELECT rank, category_id, category, round(confidence::numeric, 3) AS confidence, pattern_id, kind, reason
  FROM categorize.categorize_detail('STARBUCKS', 'whole foods and fuel', 20, NULL, 5);
SELECT rank, category, pattern_id, kind, reason
  FROM categorize.categorize_detail('Blue Bottle', NULL, NULL, 100);

-- case: row form; fields are read by name, whatever the row type
CREATE TABLE expenses (
    id bigint PRIMARY KEY,
    user_id int,
    merchant_name varchar(100),
    description text,
    amount numeric(12, 2),
    category_id bigint
);
INSERT INTO expenses VALUES
    (1, 100, 'Blue Bottle', NULL, 4.50, NULL),
    (2, 200, 'Blue Bottle', NULL, 4.50, NULL),
    (3, NULL, 'COSTCO', 'weekly shop', 80, NULL),
    (4, NULL, 'COSTCO', 'tv', 899, NULL),
    (5, NULL, NULL, 'Whole Foods', 12, NULL),
    (6, NULL, 'nothing known', NULL, 1, NULL);
SELECT id, categorize.categorize(e) FROM expenses e ORDER BY id;
SELECT e.id, d.rank, d.category_id, d.kind FROM expenses e, categorize.categorize_detail(e, 1) d ORDER BY e.id;

-- case: missing fields count as NULL
CREATE TABLE only_descriptions (description text);
INSERT INTO only_descriptions VALUES ('starbucks'), ('a shell oil change');
SELECT description, categorize.categorize(o) FROM only_descriptions o;
SELECT categorize.categorize(ROW('starbucks')) AS anonymous_row_without_names;
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 5 AS amount) r;

-- case: numbers of any type, money, and domains
CREATE DOMAIN price AS numeric CHECK (VALUE >= 0);
SELECT categorize.categorize(r) AS int_amount FROM (SELECT 'COSTCO'::text AS merchant_name, 500::int AS amount) r;
SELECT categorize.categorize(r) AS float_amount FROM (SELECT 'COSTCO'::text AS merchant_name, 5.5::float8 AS amount) r;
SELECT categorize.categorize(r) AS money_amount FROM (SELECT 'COSTCO'::text AS merchant_name, 500::money AS amount) r;
SELECT categorize.categorize(r) AS domain_amount FROM (SELECT 'COSTCO'::text AS merchant_name, 5::price AS amount) r;
SELECT categorize.categorize(r) AS name_merchant FROM (SELECT 'starbucks'::name AS merchant_name) r;
SELECT categorize.categorize(r) AS numeric_user FROM (SELECT 'blue bottle'::text AS merchant_name, 100::numeric AS user_id) r;

-- invalid input: an amount or user_id of a type that is no number (42804)
SELECT categorize.categorize(r) FROM (SELECT 'COSTCO'::text AS merchant_name, '50'::text AS amount) r;
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(r) FROM (SELECT 'COSTCO'::text AS merchant_name, 'x'::text AS user_id) r;
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(r) FROM (SELECT 'COSTCO'::text AS merchant_name, 1.5::float8 AS user_id) r;
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a fractional numeric user_id (22003)
SELECT categorize.categorize(r) FROM (SELECT 'COSTCO'::text AS merchant_name, 1.5::numeric AS user_id) r;
\echo :LAST_ERROR_SQLSTATE

-- case: a table's row type altered between runs of one prepared statement
-- is read by its columns of now, not by a layout remembered from before
CREATE TABLE altered (merchant_name text, amount numeric);
INSERT INTO altered VALUES ('blue bottle', 5);
PREPARE cat_altered AS SELECT categorize.categorize(a) FROM altered a;
EXECUTE cat_altered;
ALTER TABLE altered RENAME COLUMN merchant_name TO merchant;
EXECUTE cat_altered;
ALTER TABLE altered RENAME COLUMN merchant TO merchant_name;
EXECUTE cat_altered;
ALTER TABLE altered ALTER amount TYPE text;
EXECUTE cat_altered;
\echo :LAST_ERROR_SQLSTATE
DEALLOCATE cat_altered;
DROP TABLE altered;

-- case: NULLs
SELECT categorize.categorize(NULL, NULL) AS all_null,
       categorize.categorize(NULL::expenses) AS null_row,
       (SELECT count(*) FROM categorize.categorize_detail(NULL, NULL)) AS detail_rows;

-- invalid input: k out of range (22023)
SELECT * FROM categorize.categorize_detail('starbucks', NULL, NULL, NULL, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM categorize.categorize_detail('starbucks', NULL, NULL, NULL, NULL) AS null_k;

-- case: the kill switch and the threshold
SET categorize.enabled = off;
SELECT categorize.categorize('Starbucks', NULL) AS disabled,
       (SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL)) AS detail_rows_disabled;
RESET categorize.enabled;
SET categorize.min_confidence = 0.999;
SELECT categorize.categorize('Starbucks', NULL) AS below_threshold,
       (SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL)) AS detail_still_shows;
RESET categorize.min_confidence;
-- invalid input: thresholds outside [0, 1] (22023)
SET categorize.min_confidence = 1.5;
\echo :LAST_ERROR_SQLSTATE
SET categorize.learning = sometimes;

-- case: a change committed is used by the next call; inside a transaction at once
BEGIN;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'Tesco');
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS same_transaction;
ROLLBACK;
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS after_rollback;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'Tesco');
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS after_commit;
UPDATE categorize.patterns SET category_id = 6 WHERE value = 'Tesco';
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS after_update;
UPDATE categorize.patterns SET active = false WHERE value = 'Tesco';
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS after_deactivate;
DELETE FROM categorize.patterns WHERE value = 'Tesco';
SELECT categorize.categorize('TESCO STORES 2341', NULL) AS after_delete;

-- case: a savepoint rolled back takes its pattern with it
BEGIN;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'Lidl');
SAVEPOINT s;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'Aldi');
ROLLBACK TO SAVEPOINT s;
SELECT categorize.categorize('LIDL', NULL) AS kept, categorize.categorize('ALDI', NULL) AS rolled_back;
COMMIT;

-- case: TRUNCATE forgets every pattern (CASCADE: categorize.pattern_usage refers to them)
TRUNCATE categorize.patterns CASCADE;
SELECT categorize.categorize('Starbucks', NULL) AS after_truncate;

DROP TABLE expenses, only_descriptions;
DROP DOMAIN price;
