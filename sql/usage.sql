-- Reads do not write: categorize() and the other reads count no decision;
-- the trigger's committed categorizations do; usage per rule
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Books'), (2, 'Coffee');
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
    (11, 1, 'merchant', 'Foyles'), (12, 2, 'merchant', 'Costa'), (13, 2, 'keyword', 'espresso');

CREATE TABLE usage_expenses (
    id int PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    category_id bigint,
    category_confidence real
);
CREATE TABLE plain_expenses (LIKE usage_expenses);
INSERT INTO plain_expenses (id, merchant_name, description, amount) VALUES
    (1, 'FOYLES', NULL, 10), (2, 'COSTA', 'espresso', 3), (3, 'FOYLES LTD', 'books', 25);

-- The decision counts of a pattern as categorize_detail() reports them
CREATE FUNCTION pg_temp.counts(merchant text) RETURNS text
LANGUAGE sql AS $$
    SELECT substring(d.reason FROM '\d+ hits?, \d+ miss(?:es)?, reliability [0-9.]+') || ', confidence '
           || round(d.confidence::numeric, 4)
      FROM categorize.categorize_detail(merchant, NULL, NULL, NULL, 1) d
$$;

-- case: a fresh pattern
SELECT pg_temp.counts('Foyles') AS foyles, pg_temp.counts('Costa') AS costa;

-- case: reads count nothing: categorize() in both forms, in a batch, categorize_detail(),
-- categorize_confidence(), committed or read-only, read again and again
SELECT count(categorize.categorize('Foyles', NULL)) AS values_form FROM generate_series(1, 50);
SELECT count(categorize.categorize(e)) AS row_form FROM plain_expenses e, generate_series(1, 20);
SELECT count(*) AS details FROM plain_expenses e, categorize.categorize_detail(e, 3);
SELECT count((categorize.categorize_confidence(e)).category_id) AS confidences FROM plain_expenses e;
BEGIN READ ONLY;
SELECT categorize.categorize('Costa', 'espresso') AS read_only;
COMMIT;
SELECT pg_temp.counts('Foyles') AS foyles, pg_temp.counts('Costa') AS costa;
SELECT calls >= 130 AS reads_counted_as_calls FROM categorize.stats;

-- case: a rolled-back insert through the trigger counts nothing
CREATE TRIGGER usage_expenses_categorize BEFORE INSERT OR UPDATE ON usage_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
BEGIN;
INSERT INTO usage_expenses (id, merchant_name) VALUES (1, 'FOYLES'), (2, 'FOYLES');
SELECT pg_temp.counts('Foyles') AS own_uncommitted_not_counted;
ROLLBACK;
SELECT pg_temp.counts('Foyles') AS after_rollback;

-- case: each row the trigger categorizes counts a decision of its pattern when it commits
INSERT INTO usage_expenses (id, merchant_name) VALUES (1, 'FOYLES'), (2, 'Foyles'), (3, 'COSTA');
SELECT pg_temp.counts('Foyles') AS foyles, pg_temp.counts('Costa') AS costa;
SELECT id, category_id FROM usage_expenses ORDER BY id;

-- case: reading those rows again changes nothing
SELECT count(categorize.categorize(e)) AS reread FROM usage_expenses e, generate_series(1, 10);
SELECT pg_temp.counts('Foyles') AS foyles, pg_temp.counts('Costa') AS costa;

-- case: a row the trigger leaves alone (category set by the user) is no decision
INSERT INTO usage_expenses (id, merchant_name, category_id) VALUES (4, 'FOYLES', 2);
SELECT pg_temp.counts('Foyles') AS foyles;

-- case: usage per rule; decided comes from the worker, which serves another database here
SELECT pattern_id, kind, value, category_id, owner_id, source, last_matched_at, decided, confirmed, corrected
  FROM categorize.rule_usage ORDER BY pattern_id;

-- case: corrections of what a pattern decided confirm it (same category) or correct it
SELECT categorize.learn_correction('FOYLES', NULL, 10, NULL, 1, 101) AS kept;
SELECT categorize.learn_correction('COSTA', NULL, 3, NULL, 1, 102) AS overturned;
SELECT pattern_id, value, confirmed, corrected
  FROM categorize.rule_usage WHERE pattern_id IN (11, 12) ORDER BY pattern_id;
EXPLAIN (COSTS OFF) SELECT * FROM categorize.rule_usage WHERE pattern_id = 12;

-- case: unused rules: active patterns without a decision since the interval, never-used ones included
INSERT INTO categorize.pattern_usage (pattern_id, decided, last_matched_at) VALUES
    (11, 5, now() - interval '40 days'), (12, 7, now() - interval '1 hour');
SELECT pattern_id, value, decided FROM categorize.unused_rules('30 days');
SELECT pattern_id, value, decided FROM categorize.unused_rules('2 days');
UPDATE categorize.patterns SET active = false WHERE id = 13;
SELECT pattern_id FROM categorize.unused_rules('0 seconds');
SELECT count(*) AS null_interval FROM categorize.unused_rules(NULL);

-- case: a deleted pattern takes its usage with it
DELETE FROM categorize.patterns WHERE id = 11;
SELECT pattern_id, decided FROM categorize.pattern_usage ORDER BY pattern_id;

-- case: who may read usage
SELECT r AS role,
       has_table_privilege(r, 'categorize.rule_usage', 'SELECT') AS rule_usage,
       has_table_privilege(r, 'categorize.pattern_usage', 'SELECT') AS pattern_usage,
       has_table_privilege(r, 'categorize.pattern_usage', 'INSERT') AS write_usage,
       has_function_privilege(r, 'categorize.unused_rules(interval)', 'EXECUTE') AS unused_rules
  FROM unnest(ARRAY['public', 'categorize_reader', 'categorize_writer', 'categorize_admin']) AS r;

-- case: pattern_usage is kept by pg_dump (a configuration table)
SELECT c.relname
  FROM pg_extension x, unnest(x.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
 WHERE x.extname = 'categorize' AND c.relname = 'pattern_usage';

DROP TABLE usage_expenses, plain_expenses;
