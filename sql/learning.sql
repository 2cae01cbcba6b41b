-- learn_correction(): corrections, learned patterns, promotion, idempotency, errors
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name, owner_id) VALUES
    (1, 'Coffee', NULL), (2, 'Groceries', NULL), (3, 'Books', NULL),
    (10, 'Alice hobby', 100), (20, 'Bob hobby', 200);
SELECT setval(pg_get_serial_sequence('categorize.categories', 'id'), 1000) > 0 AS ids_above_fixtures;

-- case: a user's correction applies to that user at once, in the same transaction
BEGIN;
SELECT categorize.learn_correction('Blue Bottle #12', NULL, 4.50, 100, 1);
SELECT categorize.categorize('BLUE BOTTLE #99', NULL, NULL, 100) AS alice_same_xact,
       categorize.categorize('BLUE BOTTLE #99', NULL, NULL, 200) AS bob_same_xact;
COMMIT;
SELECT categorize.categorize('BLUE BOTTLE', NULL, NULL, 100) AS alice,
       categorize.categorize('BLUE BOTTLE', NULL, NULL, 200) AS bob,
       categorize.categorize('BLUE BOTTLE', NULL, NULL, NULL) AS nobody;
SELECT owner_id, kind, value, value_norm, category_id, source, hits, misses FROM categorize.patterns ORDER BY id;
SELECT owner_id, expense_id, merchant_name, amount, from_category_id, to_category_id, learn_scope
  FROM categorize.corrections ORDER BY id;

-- case: promotion once promote_min_users (3) distinct users taught the same
SELECT categorize.learn_correction('Blue Bottle', NULL, 5, 200, 1);
SELECT categorize.categorize('BLUE BOTTLE', NULL, NULL, 300) AS carol_before;
SELECT categorize.learn_correction('blue bottle coffee', NULL, 5, 300, 1);
SELECT categorize.categorize('BLUE BOTTLE', NULL, NULL, 300) AS carol_other_merchant;
SELECT categorize.learn_correction('BLUE BOTTLE', NULL, 5, 400, 1);
SELECT categorize.categorize('BLUE BOTTLE', NULL, NULL, 500) AS dave_after_promotion,
       categorize.categorize('BLUE BOTTLE', NULL, NULL, NULL) AS nobody_after_promotion;
SELECT owner_id, value_norm, category_id, source FROM categorize.patterns
 WHERE value_norm = 'blue bottle' ORDER BY owner_id NULLS FIRST;

-- case: a private category is never promoted
SELECT categorize.learn_correction('Hobbycraft', NULL, 20, 100, 10);
SELECT categorize.categorize('HOBBYCRAFT', NULL, NULL, 100) AS alice_private,
       categorize.categorize('HOBBYCRAFT', NULL, NULL, 200) AS bob_sees_nothing;

-- case: a NULL user is a single-tenant correction: everyone at once
SELECT categorize.learn_correction(NULL, 'WATERSTONES PICCADILLY', 12, NULL, 3);
SELECT categorize.categorize(NULL, 'waterstones piccadilly', NULL, 777) AS anyone;

-- case: the wrong pattern gets a miss, the new category a learned pattern
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (500, 2, 'merchant', 'Costa');
SELECT categorize.categorize('COSTA', NULL) AS before;
SELECT categorize.learn_correction('COSTA', NULL, 3, NULL, 1);
SELECT id, value_norm, category_id, source, hits, misses FROM categorize.patterns
 WHERE value_norm = 'costa' ORDER BY id;
SELECT from_category_id, from_pattern_id, to_category_id FROM categorize.corrections
 WHERE merchant_name = 'COSTA';
SELECT categorize.categorize('COSTA', NULL) AS after;
-- confirming what a pattern already says gives it a hit
SELECT categorize.learn_correction('COSTA', NULL, 3, NULL, 1);
SELECT value_norm, source, hits, misses FROM categorize.patterns WHERE value_norm = 'costa' ORDER BY id;

-- case: idempotent for the same expense id
SELECT categorize.learn_correction('Foyles', NULL, 9, 100, 3, 42);
SELECT categorize.learn_correction('Foyles', NULL, 9, 100, 3, 42);
SELECT count(*) AS corrections, (SELECT hits FROM categorize.patterns WHERE value_norm = 'foyles') AS hits
  FROM categorize.corrections WHERE expense_id = 42;

-- case: the row form takes expense_id from the row's id
CREATE TABLE expenses (id bigint, user_id bigint, merchant_name text, description text, amount numeric);
INSERT INTO expenses VALUES (7, 200, 'Gails Bakery', 'pastries', 6.2);
SELECT categorize.learn_correction(e, 2) FROM expenses e;
SELECT categorize.learn_correction(e, 2) FROM expenses e;
SELECT owner_id, expense_id, merchant_name, description, amount, to_category_id
  FROM categorize.corrections WHERE expense_id = 7;
SELECT categorize.categorize(e) AS learned_from_row FROM expenses e;

-- case: a rolled-back correction leaves no trace
BEGIN;
SELECT categorize.learn_correction('Daunt Books', NULL, 15, 100, 3);
SELECT categorize.categorize('Daunt Books', NULL, NULL, 100) AS inside;
ROLLBACK;
SELECT categorize.categorize('Daunt Books', NULL, NULL, 100) AS after_rollback,
       (SELECT count(*) FROM categorize.corrections WHERE merchant_name = 'Daunt Books') AS rows_left,
       (SELECT count(*) FROM categorize.patterns WHERE value_norm = 'daunt books') AS patterns_left;

-- invalid input: unknown category (23503), another user's category (22023), NULL category (22004)
SELECT categorize.learn_correction('x', NULL, 1, 100, 999);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('x', NULL, 1, 100, 20);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('x', NULL, 1, NULL, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('x', NULL, 1, 100, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction(NULL::expenses, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_written FROM categorize.corrections WHERE merchant_name = 'x';

-- invalid input: a read-only transaction (25006)
BEGIN READ ONLY;
SELECT categorize.learn_correction('x', NULL, 1, 100, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- case: learning off records the correction only; owner_only never promotes
SET categorize.learning = off;
SELECT categorize.learn_correction('Pret A Manger', NULL, 4, 100, 1);
SELECT categorize.categorize('Pret A Manger', NULL, NULL, 100) AS learned_nothing,
       (SELECT learn_scope FROM categorize.corrections WHERE merchant_name = 'Pret A Manger') AS scope;
SET categorize.learning = owner_only;
SELECT categorize.learn_correction('Leon', NULL, 8, u, 1) FROM generate_series(601, 604) u;
SELECT categorize.categorize('Leon', NULL, NULL, 601) AS owner_learned,
       categorize.categorize('Leon', NULL, NULL, 700) AS never_promoted;
RESET categorize.learning;

-- case: a text that normalizes to nothing is recorded but teaches no pattern
SELECT categorize.learn_correction('*** ---', NULL, 1, 100, 1);
SELECT count(*) AS corrections, (SELECT count(*) FROM categorize.patterns WHERE value_norm = '') AS patterns
  FROM categorize.corrections WHERE merchant_name = '*** ---';

-- case: the token model guesses a merchant never seen, with low confidence
SELECT categorize.learn_correction(NULL, m, 3, NULL, 3)
  FROM (VALUES ('Oxford University Press books'), ('Cambridge books direct'), ('books etc')) t(m);
SELECT rank, category, kind, round(confidence::numeric, 2) < 0.6 AS low_confidence
  FROM categorize.categorize_detail(NULL, 'Harvard books', NULL, NULL, 1);

-- case: undo: deleting a learned pattern takes effect at once, and old
-- corrections do not bring it back
DELETE FROM categorize.patterns WHERE value_norm = 'waterstones piccadilly';
SELECT kind FROM categorize.categorize_detail(NULL, 'waterstones piccadilly', NULL, NULL, 1);
SELECT count(*) AS recreated FROM categorize.patterns WHERE value_norm = 'waterstones piccadilly';

-- case: a schema altered so that the categories' primary key index is not
-- found reads the category by SQL, with the same answers and errors; and
-- without the change_xid indexes a commit reads its own rows back by SQL
ALTER INDEX categorize.categories_pkey RENAME TO categories_pkey_renamed;
ALTER INDEX categorize.patterns_change_xid_idx RENAME TO patterns_change_xid_renamed;
ALTER INDEX categorize.corrections_change_xid_idx RENAME TO corrections_change_xid_renamed;
SELECT categorize.learn_correction('Foyles', NULL, 8, 100, 3) IS NOT NULL AS learned;
SELECT categorize.categorize('Foyles', NULL, NULL, 100) AS foyles;
SELECT categorize.learn_correction('x', NULL, 1, 100, 999);
SELECT categorize.learn_correction('x', NULL, 1, 100, 20);
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (20, 'merchant', 'x', 100);
ALTER INDEX categorize.categories_pkey_renamed RENAME TO categories_pkey;
ALTER INDEX categorize.patterns_change_xid_renamed RENAME TO patterns_change_xid_idx;
ALTER INDEX categorize.corrections_change_xid_renamed RENAME TO corrections_change_xid_idx;
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (20, 'merchant', 'x', 100);

-- case: a learned pattern written by hand (nothing taught yet) and then
-- corrected to: the correction's evidence joins that row, no second one
INSERT INTO categorize.patterns (category_id, kind, value, owner_id, source)
VALUES (3, 'merchant', 'Hatchards', 100, 'learned');
SELECT categorize.learn_correction('Hatchards', NULL, 12, 100, 3) IS NOT NULL AS learned;
SELECT count(*) AS rows, sum(taught) AS taught, sum(hits) AS hits
  FROM categorize.patterns WHERE value_norm = 'hatchards' AND owner_id = 100;

DROP TABLE expenses;
