-- auto_categorize(): the trigger for applications' expense tables
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Groceries');
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'Starbucks'), (2, 'keyword', 'tesco');

CREATE TABLE expenses (
    id bigserial PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    category_id bigint,
    category_confidence real
);
CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');

-- case: fills the category (and confidence) when it is NULL
INSERT INTO expenses (merchant_name, amount) VALUES ('STARBUCKS #12', 4.5), ('TESCO STORES', 30), ('Unknown', 1);
SELECT merchant_name, category_id, category_confidence > 0.5 AS confident FROM expenses ORDER BY id;

-- case: never overwrites a category set by a user or the application
INSERT INTO expenses (merchant_name, category_id) VALUES ('STARBUCKS', 2);
UPDATE expenses SET amount = 5 WHERE merchant_name = 'STARBUCKS #12';
SELECT merchant_name, category_id FROM expenses WHERE merchant_name LIKE 'STARBUCKS%' ORDER BY id;

-- case: an UPDATE that clears the category gets one again
UPDATE expenses SET category_id = NULL, merchant_name = 'Tesco Express' WHERE merchant_name = 'Unknown';
SELECT merchant_name, category_id FROM expenses WHERE merchant_name = 'Tesco Express';

-- case: COPY goes through the trigger too
COPY expenses (merchant_name, amount) FROM stdin;
starbucks reserve	6
tesco metro	12
\.
SELECT merchant_name, category_id FROM expenses WHERE merchant_name IN ('starbucks reserve', 'tesco metro') ORDER BY id;

-- case: the kill switch turns the trigger off
SET categorize.enabled = off;
INSERT INTO expenses (merchant_name) VALUES ('STARBUCKS disabled');
RESET categorize.enabled;
SELECT category_id FROM expenses WHERE merchant_name = 'STARBUCKS disabled';

-- case: default target column, no confidence column, integer target
CREATE TABLE simple_expenses (merchant_name text, category_id integer);
CREATE TRIGGER simple_categorize BEFORE INSERT ON simple_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO simple_expenses VALUES ('starbucks', NULL);
SELECT * FROM simple_expenses;

-- invalid input: a target column that does not exist (42703)
CREATE TABLE bad_expenses (merchant_name text);
CREATE TRIGGER bad_categorize BEFORE INSERT ON bad_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('cat');
INSERT INTO bad_expenses VALUES ('starbucks');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_categorize ON bad_expenses;

-- invalid input: a target column of the wrong type (42804)
ALTER TABLE bad_expenses ADD COLUMN cat text;
CREATE TRIGGER bad_categorize BEFORE INSERT ON bad_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('cat');
INSERT INTO bad_expenses VALUES ('starbucks');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_categorize ON bad_expenses;

-- invalid input: fired AFTER or FOR EACH STATEMENT (39P01)
CREATE TRIGGER bad_categorize AFTER INSERT ON bad_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO bad_expenses VALUES ('starbucks');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_categorize ON bad_expenses;

-- invalid input: called as a plain function (39P01)
SELECT categorize.auto_categorize();
\echo :LAST_ERROR_SQLSTATE

DROP TABLE expenses, simple_expenses, bad_expenses;
