-- Rule preview and bulk re-categorization
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Groceries'), (3, 'Transport'), (4, 'Fuel');
INSERT INTO categorize.patterns (category_id, kind, value)
  VALUES (1, 'merchant', 'Starbucks'), (2, 'merchant', 'Whole Foods'), (3, 'regex', 'uber\s*trip');

CREATE TABLE expenses (
    id bigint PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    category_id bigint,
    category_confidence real
);
INSERT INTO expenses (id, merchant_name, description, amount)
SELECT g, (ARRAY['STARBUCKS #' || g, 'WHOLE FOODS MARKET', 'UBER TRIP', 'SHELL OIL 5744', 'Corner shop'])[1 + g % 5],
       'card purchase', 10 + g
  FROM generate_series(1, 50) g;
-- users filed two rows themselves before the engine ran
UPDATE expenses SET category_id = 4 WHERE id IN (3, 8);

-- case: categorize_confidence() gives what categorize() gives, with its confidence
SELECT e.id, categorize.categorize(e) AS category, (categorize.categorize_confidence(e)).category_id AS same,
       (categorize.categorize_confidence(e)).confidence > 0.5 AS confident
  FROM expenses e WHERE id <= 5 ORDER BY id;

-- case: only_uncategorized fills the rows without a category, in batches, and records its progress
SET client_min_messages = warning;
CALL categorize.recategorize('expenses', batch_size => 7);
RESET client_min_messages;
SELECT category_id, category_confidence IS NOT NULL AS set_by_engine, count(*)
  FROM expenses GROUP BY 1, 2 ORDER BY 1, 2;
SELECT relation, target_column, only_uncategorized, rows_done, rows_total, percent, rows_changed,
       finished_at IS NOT NULL AS finished, running
  FROM categorize.recategorize_progress;

-- case: a user's change of category clears the engine's confidence (once the trigger is on)
CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
UPDATE expenses SET category_id = 3 WHERE id = 1;
UPDATE expenses SET amount = 99 WHERE id = 6;
SELECT id, category_id, category_confidence IS NOT NULL AS set_by_engine FROM expenses WHERE id IN (1, 6) ORDER BY id;

-- case: with a new rule, only_uncategorized => false re-decides the engine's rows and the empty ones, never a user's
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (4, 'merchant', 'Shell Oil');
SET client_min_messages = warning;
CALL categorize.recategorize('expenses', only_uncategorized => false, batch_size => 20);
RESET client_min_messages;
SELECT id, merchant_name, category_id, category_confidence IS NOT NULL AS set_by_engine
  FROM expenses WHERE id <= 10 ORDER BY id;
SELECT rows_done, rows_total, rows_changed FROM categorize.recategorize_progress;

-- case: a run with nothing to change writes nothing
SET client_min_messages = warning;
CALL categorize.recategorize('expenses', only_uncategorized => false);
RESET client_min_messages;
SELECT rows_done, rows_changed FROM categorize.recategorize_progress;

-- case: a run stopped by an error resumes where it stopped; the batches before it stay done
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'keyword', 'corner shop');
CREATE FUNCTION fail_on_34() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 34 THEN
        RAISE EXCEPTION 'stopped at row 34';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER expenses_fail BEFORE UPDATE ON expenses FOR EACH ROW EXECUTE FUNCTION fail_on_34();
SET client_min_messages = warning;
CALL categorize.recategorize('expenses', only_uncategorized => false, batch_size => 10);
RESET client_min_messages;
SELECT rows_done, rows_total, finished_at IS NULL AS unfinished FROM categorize.recategorize_progress;
SELECT count(*) FILTER (WHERE category_id = 2 AND id < 30) AS done_before, count(*) FILTER (WHERE category_id = 2 AND id > 30) AS done_after
  FROM expenses WHERE merchant_name = 'Corner shop';
DROP TRIGGER expenses_fail ON expenses;
SET client_min_messages = warning;
CALL categorize.recategorize('expenses', only_uncategorized => false, batch_size => 10);
RESET client_min_messages;
SELECT rows_done, rows_total, finished_at IS NOT NULL AS finished FROM categorize.recategorize_progress;
SELECT count(*) AS corner_shops_filed FROM expenses WHERE merchant_name = 'Corner shop' AND category_id = 2;

-- case: a table without an integer primary key is walked by blocks
CREATE TABLE imported (merchant_name varchar(40), amount numeric, cat int, cat_confidence double precision);
INSERT INTO imported SELECT (ARRAY['Starbucks', 'Unknown place'])[1 + g % 2], g FROM generate_series(1, 1000) g;
SET client_min_messages = warning;
CALL categorize.recategorize('imported', 'cat', batch_size => 100);
RESET client_min_messages;
SELECT cat, cat_confidence IS NOT NULL AS set_by_engine, count(*) FROM imported GROUP BY 1, 2 ORDER BY 1, 2;
SELECT relation, target_column, rows_done, rows_total, finished_at IS NOT NULL AS finished
  FROM categorize.recategorize_progress ORDER BY relation::text;

-- case: bad calls
CALL categorize.recategorize('expenses', 'no_such_column');
CALL categorize.recategorize('expenses', batch_size => 0);
CALL categorize.recategorize('expenses', confidence_column => 'nope');
CALL categorize.recategorize(NULL);
CREATE TABLE wrong_types (id int PRIMARY KEY, merchant_name text, label text, category_id bigint,
                          category_confidence text);
CALL categorize.recategorize('wrong_types', 'label');
CALL categorize.recategorize('wrong_types');
CREATE TABLE no_confidence (id int PRIMARY KEY, merchant_name text, category_id bigint);
CALL categorize.recategorize('no_confidence', only_uncategorized => false);
BEGIN;
CALL categorize.recategorize('no_confidence');
ROLLBACK;

-- case: preview shows the rows a rule would catch, what they have and get now, and whether the rule would decide
SELECT id, merchant_name, amount, current_category_id, engine_category_id, rule_decides
  FROM categorize.preview('merchant', 'shell oil', 'expenses') ORDER BY id;
SELECT id, merchant_name, amount
  FROM categorize.preview('merchant', 'shell oil', 'expenses', amount_min => 20, amount_max => 40) ORDER BY id;
SELECT count(*) AS limited FROM categorize.preview('keyword', 'card purchase', 'expenses', lim => 5);
SELECT count(*) AS regex_rows FROM categorize.preview('regex', 'uber\s+trip', 'expenses');
SELECT count(*) AS no_match FROM categorize.preview('keyword', 'nothing like it', 'expenses');
SELECT count(*) AS empty_value FROM categorize.preview('keyword', '', 'expenses');
SELECT id, merchant_name, current_category_id, rule_decides
  FROM categorize.preview('merchant', 'starbucks', 'imported', lim => 2);
-- a keyword rule does not beat the merchant rule already there; a longer merchant rule does
SELECT count(*) FILTER (WHERE rule_decides) AS decides, count(*) AS matches
  FROM categorize.preview('keyword', 'starbucks', 'expenses');
SELECT categorize.preview_rule(e, 'merchant', 'whole foods market') AS longer,
       categorize.preview_rule(e, 'merchant', 'foods market') AS other_words,
       categorize.preview_rule(e, 'keyword', 'starbucks') AS elsewhere
  FROM expenses e WHERE id = 1;
SELECT * FROM categorize.preview('color', 'x', 'expenses');
SELECT * FROM categorize.preview('regex', '(unclosed', 'expenses');
SELECT * FROM categorize.preview('keyword', NULL, 'expenses');
SELECT * FROM categorize.preview('keyword', 'x', 'expenses', lim => -1);

-- case: the statements preview runs use the index when there is one
CREATE INDEX expenses_merchant_match ON expenses USING gin (merchant_name categorize.match_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT s.ctid FROM expenses s, LATERAL categorize.preview_rule(s, 'merchant', 'shell oil') p
 WHERE (s.merchant_name::text OPERATOR(categorize.@~) 'shell oil') AND p.matches;
RESET enable_seqscan;

DROP TABLE expenses, imported, no_confidence, wrong_types;
DROP FUNCTION fail_on_34();
