-- patterns and categories: validation at INSERT/UPDATE, derived columns
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Groceries'), (3, 'Fuel');
INSERT INTO categorize.categories (id, name, owner_id) VALUES (10, 'Alice stuff', 100), (20, 'Bob stuff', 200);
SELECT setval(pg_get_serial_sequence('categorize.categories', 'id'), 1000) > 0 AS ids_above_fixtures;

-- case: valid patterns of every kind; value_norm and change_xid are kept
BEGIN;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES
    (1, 'merchant', 'POS DEBIT Starbucks #123'),
    (2, 'keyword', 'Whole Foods'),
    (3, 'regex', '^shell\s+oil');
SELECT kind, value, value_norm, change_xid = pg_current_xact_id() AS stamped_by_insert,
       source, hits, misses, active, priority
  FROM categorize.patterns ORDER BY id;
COMMIT;

-- case: an UPDATE renormalizes and restamps
UPDATE categorize.patterns SET value = 'Starbucks Coffee' WHERE kind = 'merchant';
SELECT value, value_norm, updated_at >= created_at AS touched FROM categorize.patterns WHERE kind = 'merchant';

-- invalid input: a bad regex (SQLSTATE 2201B)
\set VERBOSITY default
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', 'abc(');
\set VERBOSITY terse
\echo :LAST_ERROR_SQLSTATE

-- invalid input: empty, blank and punctuation-only values (22023)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', '');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', '   ');
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', '#!?');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: amount_min > amount_max (23514) and NaN bounds (22023)
INSERT INTO categorize.patterns (category_id, kind, value, amount_min, amount_max) VALUES (1, 'merchant', 'x', 10, 5);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value, amount_min) VALUES (1, 'merchant', 'x', 'NaN');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: unknown kind and source (23514)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'fuzzy', 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value, source) VALUES (1, 'merchant', 'x', 'magic');

-- invalid input: unknown category (23503)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (999, 'merchant', 'x');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: another owner's category (22023); everyone's pattern on a private category
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (20, 'merchant', 'x', 100);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (10, 'merchant', 'x');

-- case: an owner may use their own and shared categories
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (10, 'merchant', 'corner shop', 100), (1, 'merchant', 'cafe nero', 100);
SELECT value, owner_id, category_id FROM categorize.patterns WHERE owner_id IS NOT NULL ORDER BY id;

-- invalid input: too long once normalized (22023)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', repeat('word ', 70));
\echo :LAST_ERROR_SQLSTATE

-- case: SQL text in a value is just text
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'keyword', $$'); DROP TABLE categorize.patterns; --$$);
SELECT value_norm FROM categorize.patterns WHERE value LIKE '%DROP%';

-- case: deleting a category deletes its patterns
DELETE FROM categorize.categories WHERE id = 10;
SELECT count(*) FROM categorize.patterns WHERE owner_id = 100;

-- case: categories: unique per owner, NULLs not distinct
INSERT INTO categorize.categories (name) VALUES ('Coffee');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.categories (name, owner_id) VALUES ('Coffee', 100);
INSERT INTO categorize.categories (name, owner_id) VALUES ('Coffee', 200);

-- invalid input: blank category name (23514)
INSERT INTO categorize.categories (name) VALUES ('  ');
\echo :LAST_ERROR_SQLSTATE

-- case: category tree: a child of a shared parent; cycles refused (23514)
INSERT INTO categorize.categories (id, name, parent_id) VALUES (30, 'Food', NULL), (31, 'Takeaway', 30), (32, 'Pizza', 31);
UPDATE categorize.categories SET parent_id = 32 WHERE id = 30;
\echo :LAST_ERROR_SQLSTATE
UPDATE categorize.categories SET parent_id = 30 WHERE id = 30;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a parent owned by another user (22023)
INSERT INTO categorize.categories (name, owner_id, parent_id) VALUES ('Mine', 100, 20);
\echo :LAST_ERROR_SQLSTATE
