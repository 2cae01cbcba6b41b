-- Rules users can trust (issue 15): rule_conflicts, the review queue
-- (review, accept, categorize.review_below) and dry runs (diff_rule)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

-- The SQLSTATE and message of a statement that fails
CREATE FUNCTION pg_temp.try(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

INSERT INTO categorize.categories (id, name, owner_id) VALUES
    (1, 'Food', NULL), (2, 'Coffee', NULL), (3, 'Groceries', NULL), (4, 'Transport', NULL),
    (5, 'Fuel', NULL), (6, 'Electronics', NULL), (7, 'Books', NULL), (8, 'Client meetings', 100);

-- case: no patterns, no conflicts
SELECT count(*) FROM categorize.rule_conflicts();

INSERT INTO categorize.patterns (id, category_id, kind, value, amount_min, amount_max, owner_id, priority) VALUES
    (1, 2, 'merchant', 'Starbucks', NULL, NULL, NULL, 0),
    (2, 1, 'merchant', 'Starbucks', NULL, NULL, NULL, 0),
    (3, 3, 'keyword', 'whole foods', NULL, NULL, NULL, 0),
    (4, 1, 'keyword', 'whole foods market', NULL, NULL, NULL, 0),
    (5, 3, 'merchant', 'Costco', NULL, 100, NULL, 0),
    (6, 6, 'merchant', 'Costco', 100.01, NULL, NULL, 0),
    (7, 2, 'merchant', 'Blue Bottle', NULL, NULL, NULL, 0),
    (8, 8, 'merchant', 'Blue Bottle', NULL, NULL, 100, 0),
    (9, 3, 'regex', 'tesco', NULL, NULL, NULL, 0),
    (10, 1, 'merchant', 'Tesco Express', NULL, NULL, NULL, 0),
    (11, 5, 'regex', 'a^b', NULL, NULL, NULL, 0),
    (12, 7, 'merchant', 'Foyles', NULL, NULL, NULL, 0),
    (13, 7, 'merchant', 'FOYLES', NULL, NULL, NULL, 0),
    (14, 5, 'keyword', 'fuel', NULL, NULL, NULL, 5),
    (15, 4, 'merchant', 'Shell Fuel', NULL, NULL, NULL, 0);
SELECT setval(pg_get_serial_sequence('categorize.patterns', 'id'), 100) > 0 AS ids_from_101;

-- case: shadowed (a full tie: the lower id decides), overlapping (the whole
-- text; an owner's own pattern; a merchant over a regex; priority), a
-- duplicate (same value after normalization), a regex that matches nothing;
-- the Costco pair has disjoint amount ranges: no conflict
SELECT conflict, pattern_id, category_id, decided_by, decided_by_category_id, owner_id, example
  FROM categorize.rule_conflicts
 ORDER BY pattern_id, decided_by, owner_id;
SELECT pattern_id, reason FROM categorize.rule_conflicts() ORDER BY pattern_id, decided_by, owner_id;

-- case: inactive patterns take no part
UPDATE categorize.patterns SET active = false WHERE id IN (2, 11);
SELECT conflict, pattern_id, decided_by FROM categorize.rule_conflicts
 WHERE pattern_id IN (1, 2, 11) OR decided_by IN (1, 2) ORDER BY 2, 3;
UPDATE categorize.patterns SET active = true WHERE id IN (2, 11);

-- case: big input: 3000 merchants "store X" (a hundred of them twice), one
-- keyword "store" each of them overrules, and the conflicts of the above.
-- (Numbers are noise to normalization: the names are spelled in letters.)
INSERT INTO categorize.patterns (category_id, kind, value)
SELECT 1 + g % 3, 'merchant', 'Store ' || translate(g::text, '0123456789', 'abcdefghij')
  FROM generate_series(1, 3000) g;
INSERT INTO categorize.patterns (category_id, kind, value)
SELECT 1 + g % 3, 'merchant', 'STORE ' || translate(g::text, '0123456789', 'abcdefghij')
  FROM generate_series(1, 3000, 30) g;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (7, 'keyword', 'store');
SELECT conflict, count(*), count(DISTINCT pattern_id) AS patterns, count(example) AS examples
  FROM categorize.rule_conflicts GROUP BY 1 ORDER BY 1;
DELETE FROM categorize.patterns WHERE id > 100;

-- case: only the admin role sees every owner's patterns
CREATE ROLE rh_reader;
GRANT categorize_reader TO rh_reader;
SET ROLE rh_reader;
SELECT count(*) FROM categorize.rule_conflicts();
SELECT count(*) FROM categorize.rule_conflicts;
RESET ROLE;

--
-- The review queue
--
CREATE TABLE rh_expenses (
    id bigint PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric(12, 2),
    category_id bigint,
    category_confidence real
);
CREATE TRIGGER rh_categorize BEFORE INSERT OR UPDATE ON rh_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
INSERT INTO rh_expenses (id, user_id, merchant_name, description, amount) VALUES
    (1, 100, 'STARBUCKS #12', NULL, 4.50),
    (2, 100, 'STARBUCKS #13', NULL, 3.20),
    (3, 100, 'Starbucks', NULL, 5.00),
    (4, 100, 'CORNER CAFE', NULL, 7.00),
    (5, 100, 'CORNER CAFE', 'lunch', 9.00),
    (6, 100, 'CORNER CAFE', NULL, 8.00),
    (7, 200, 'CORNER CAFE', NULL, 6.00),
    (8, 200, 'SHELL FUEL 42', NULL, 40.00),
    (9, 200, 'WATERSTONES', 'books', 18.99);
-- the user files one row herself: the trigger leaves it alone, without a confidence
INSERT INTO rh_expenses (id, user_id, merchant_name, amount, category_id) VALUES
    (10, 200, 'CORNER CAFE', 5.00, 1);
SELECT id, category_id, category_confidence FROM rh_expenses ORDER BY id;

-- case: the default threshold lists what no rule decided, the merchant most
-- rows of its owner share first
SHOW categorize.review_below;
SELECT id, user_id, category_id, confidence, reason, same_merchant, candidate_ids, candidates
  FROM categorize.review('rh_expenses');
-- a higher threshold adds the engine's low-confidence answers; lim; one user
SET categorize.review_below = 0.95;
SELECT id, category_id, confidence, reason, same_merchant, candidates
  FROM categorize.review('rh_expenses');
SELECT id FROM categorize.review('rh_expenses', 2);
SELECT id FROM categorize.review('rh_expenses', 0);
SELECT id FROM categorize.review('rh_expenses', for_user => 200);

-- case: accept confirms the engine's category: a correction to the same
-- category (a hit of the deciding pattern), the confidence cleared, the row
-- off the queue
SELECT hits FROM categorize.patterns WHERE id = 1;
SELECT categorize.accept('rh_expenses', 1);
SELECT id, category_id, category_confidence FROM rh_expenses WHERE id = 1;
SELECT hits FROM categorize.patterns WHERE id = 1;
SELECT owner_id, expense_id, from_category_id, to_category_id, from_pattern_id FROM categorize.corrections;
SELECT id FROM categorize.review('rh_expenses') WHERE id = 1;
-- accepting again changes nothing: the correction is idempotent per expense
SELECT categorize.accept('rh_expenses', 1);
SELECT count(*) FROM categorize.corrections;

-- case: learn_correction fixes one: the owner's rows of that merchant get
-- the category from then on (here through the trigger's re-categorization)
SELECT categorize.learn_correction(e, 2) FROM rh_expenses e WHERE id = 4;
UPDATE rh_expenses SET category_id = 2 WHERE id = 4;
UPDATE rh_expenses SET category_id = NULL, category_confidence = NULL WHERE id IN (5, 6);
SELECT id, category_id, category_confidence FROM rh_expenses WHERE id BETWEEN 4 AND 7 ORDER BY id;
SELECT id, reason FROM categorize.review('rh_expenses');
RESET categorize.review_below;

-- case: the setting's range
SET categorize.review_below = 1.5;
SET categorize.review_below = -0.1;
SET categorize.review_below = 0;
SELECT count(*) FROM categorize.review('rh_expenses');
RESET categorize.review_below;

-- case: a table without a confidence column lists only what no rule decided;
-- other column names are passed by name
CREATE TABLE rh_ledger (id int PRIMARY KEY, merchant_name text, cat int, conf float8);
INSERT INTO rh_ledger VALUES (1, 'STARBUCKS', NULL, NULL), (2, 'STARBUCKS', 2, 0.3), (3, 'NEW SHOP', NULL, NULL);
SELECT id, user_id, category_id, confidence, reason, same_merchant
  FROM categorize.review('rh_ledger', category_column => 'cat');
SELECT id, category_id, confidence, reason
  FROM categorize.review('rh_ledger', category_column => 'cat', confidence_column => 'conf');
SELECT categorize.accept('rh_ledger', 2, 'cat', 'conf');
SELECT * FROM rh_ledger ORDER BY id;

-- case: errors
SELECT pg_temp.try($$SELECT * FROM categorize.review(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_expenses', -1)$$);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_expenses', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_expenses', category_column => 'nope')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_expenses', category_column => 'merchant_name')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_expenses', confidence_column => 'nope')$$);
CREATE TABLE rh_nothing (id int, category_id int);
SELECT pg_temp.try($$SELECT * FROM categorize.review('rh_nothing')$$);
SELECT pg_temp.try($$SELECT categorize.accept('rh_expenses', 99)$$);
SELECT pg_temp.try($$SELECT categorize.accept('rh_ledger', 3, 'cat')$$);
SELECT pg_temp.try($$SELECT categorize.accept('rh_expenses', NULL)$$);
CREATE TABLE rh_noid (merchant_name text, category_id int);
SELECT pg_temp.try($$SELECT categorize.accept('rh_noid', 1)$$);
CREATE TABLE rh_twice (id int, merchant_name text, category_id int);
INSERT INTO rh_twice VALUES (1, 'STARBUCKS', 2), (1, 'STARBUCKS', 2);
SELECT pg_temp.try($$SELECT categorize.accept('rh_twice', 1)$$);
SELECT count(*) FROM categorize.corrections;

-- case: big input: 20000 rows, 2000 merchants of 10 rows each, none decided
CREATE TABLE rh_big (id int PRIMARY KEY, user_id int, merchant_name text, category_id int);
INSERT INTO rh_big SELECT g, 1, 'SHOP ' || translate((g % 2000)::text, '0123456789', 'abcdefghij') || ' LTD', NULL FROM generate_series(1, 20000) g;
SELECT id, merchant_name, same_merchant FROM categorize.review('rh_big', 3);
SELECT count(*), min(same_merchant), max(same_merchant) FROM categorize.review('rh_big', 100000);

--
-- Dry runs of a new rule
--
-- case: which rows' answer changes, before and after, and how many in all
SELECT id, merchant_name, current_category_id, before_category_id, after_category_id, changed
  FROM categorize.diff_rule('merchant', 'corner cafe', 2, 'rh_expenses');
SELECT id, changed FROM categorize.diff_rule('merchant', 'corner cafe', 2, 'rh_expenses', lim => 1);
-- a rule that agrees with today's answers, or loses to the users' word, changes nothing
SELECT count(*) FROM categorize.diff_rule('merchant', 'starbucks', 2, 'rh_expenses');
-- an amount range; a regex; a keyword of the description
SELECT id, after_category_id, changed
  FROM categorize.diff_rule('merchant', 'corner cafe', 4, 'rh_expenses', amount_max => 5.50);
SELECT id, after_category_id FROM categorize.diff_rule('regex', '^water', 7, 'rh_expenses');
SELECT id, after_category_id FROM categorize.diff_rule('keyword', 'books', 3, 'rh_expenses');
-- case: errors
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('merchant', 'corner cafe', NULL, 'rh_expenses')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('merchant', 'corner cafe', 999, 'rh_expenses')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('merchant', 'corner cafe', 2, 'rh_expenses', lim => -1)$$);
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('pattern', 'corner cafe', 2, 'rh_expenses')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('regex', '(', 2, 'rh_expenses')$$);
SELECT pg_temp.try($$SELECT * FROM categorize.diff_rule('merchant', NULL, 2, 'rh_expenses')$$);
-- a value of no words matches nothing
SELECT count(*) FROM categorize.diff_rule('merchant', '#*#', 2, 'rh_expenses');
-- case: big input
SELECT count(*), min(changed), max(changed)
  FROM categorize.diff_rule('keyword', 'ltd', 7, 'rh_big', lim => 100000);

-- case: a reader reviews and dry-runs; accepting takes a writer
GRANT SELECT, UPDATE ON rh_expenses TO rh_reader;
SET ROLE rh_reader;
SELECT count(*) FROM categorize.review('rh_expenses');
SELECT count(*) FROM categorize.diff_rule('merchant', 'corner cafe', 2, 'rh_expenses');
SELECT pg_temp.try($$SELECT categorize.accept('rh_expenses', 2)$$);
RESET ROLE;
REVOKE ALL ON rh_expenses FROM rh_reader;
DROP ROLE rh_reader;
