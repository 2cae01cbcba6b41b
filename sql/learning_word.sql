-- Learning 2.0 (issue 13): the user's word kept while consistent, recency and
-- amount when it is not, and CALL learn_from() bulk learning
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name, owner_id) VALUES
    (1, 'Groceries', NULL), (2, 'Electronics', NULL), (3, 'Coffee', NULL), (4, 'Books', NULL),
    (10, 'Alice private', 100);
SELECT setval(pg_get_serial_sequence('categorize.categories', 'id'), 1000) > 0 AS ids_above_fixtures;
-- a manual rule that says otherwise, with a high priority
INSERT INTO categorize.patterns (kind, value, category_id, priority) VALUES ('merchant', 'costco', 3, 50);

-- case: the first correction is the user's word, over any rule, at any amount
SELECT categorize.learn_correction('COSTCO #118', NULL, 80, 100, 1);
SELECT categorize.categorize('COSTCO #7', NULL, 80, 100) AS small,
       categorize.categorize('COSTCO #7', NULL, 900, 100) AS large,
       categorize.categorize('COSTCO #7', NULL, NULL, 100) AS no_amount,
       categorize.categorize('COSTCO #7', NULL, 80, 200) AS another_user_gets_the_rule;

-- case: the same correction again keeps it; taught counts both
SELECT categorize.learn_correction('Costco', NULL, 85, 100, 1);
SELECT categorize.categorize('COSTCO', NULL, 499, 100) AS still_groceries;
SELECT value, category_id, taught, round(weight::numeric, 4) AS weight, weight_at,
       round(exp(log_amount)::numeric, 2) AS near
  FROM categorize.patterns WHERE owner_id = 100 ORDER BY id;

-- case: inconsistent corrections: amount decides (small -> Groceries, large -> Electronics)
SELECT categorize.learn_correction('COSTCO', NULL, 499, 100, 2);
SELECT categorize.learn_correction('COSTCO', NULL, 75, 100, 1);
SELECT categorize.categorize('COSTCO', NULL, 90, 100) AS small,
       categorize.categorize('COSTCO', NULL, 450, 100) AS large;
SELECT rank, category, reason
  FROM categorize.categorize_detail('COSTCO', NULL, 450, 100, 1);

-- case: without an amount, recency and counts decide (3 Groceries, the latest
-- among them, against 1 Electronics)
SELECT categorize.categorize('COSTCO', NULL, NULL, 100) AS no_amount;

-- case: recency: the user now files it under Electronics again and again
SELECT categorize.learn_correction('COSTCO', NULL, NULL, 100, 2) FROM generate_series(1, 4);
SELECT categorize.categorize('COSTCO', NULL, NULL, 100) AS after_recent_electronics;
SELECT category_id, taught, weight_at FROM categorize.patterns WHERE owner_id = 100 ORDER BY category_id;

-- case: a rolled-back correction leaves no evidence
BEGIN;
SELECT categorize.learn_correction('COSTCO', NULL, 30, 100, 1);
ROLLBACK;
SELECT sum(taught) AS taught_after_rollback FROM categorize.patterns WHERE owner_id = 100;

-- case: a NULL user (single tenant) follows the same rule, everyone as one user
SELECT categorize.learn_correction('Foyles', NULL, 10, NULL, 4);
SELECT categorize.learn_correction('Foyles', NULL, 900, NULL, 2);
-- for user 300, who taught nothing, everyone filed it two ways: not a
-- user's word, each answer needs min_confidence, which the share of the
-- category that the amount favours gives, and an amount between the two
-- does not
SELECT categorize.categorize('FOYLES', NULL, 12, NULL) AS nobody_small,
       categorize.categorize('FOYLES', NULL, 800, NULL) AS nobody_large,
       categorize.categorize('FOYLES', NULL, 12, 300) AS crowd_small,
       categorize.categorize('FOYLES', NULL, 95, 300) AS crowd_between,
       categorize.categorize('FOYLES', NULL, 800, 300) AS crowd_large;
SELECT reason FROM categorize.categorize_detail('FOYLES', NULL, 800, NULL, 1);

-- learn_from(): bulk learning from a ledger
CREATE TABLE ledger (
    id bigint PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    booked_on date,
    category_id bigint
);
INSERT INTO ledger VALUES
    (1, 500, 'TESCO STORES 1234', NULL, 20, '2024-01-03', 1),
    (2, 500, 'CURRYS PC WORLD', NULL, 300, '2024-01-02', 2),
    (3, 500, 'TESCO STORES 1234', NULL, 25, '2024-01-01', 1),
    (4, 500, 'WATERSTONES', NULL, 12, '2024-01-04', 4),
    (5, 600, 'TESCO STORES 1234', NULL, 30, '2024-01-05', 1),
    (6, 600, NULL, 'monthly coffee beans', 15, '2024-01-06', 3),
    (7, 600, 'CURRYS PC WORLD', NULL, 800, '2024-01-07', 99),      -- no such category
    (8, 700, 'CURRYS PC WORLD', NULL, 5, '2024-01-08', 10),        -- another user's category
    (9, 500, 'TESCO STORES 1234', NULL, 400, '2024-01-09', 2),
    (10, 500, 'UNFILED', NULL, 9, '2024-01-10', NULL);

-- case: the rows in date order, in batches with a NOTICE each; bad rows are skipped
SET client_min_messages = warning;  -- the NOTICEs hold rates
CALL categorize.learn_from('ledger', batch_size => 4);
RESET client_min_messages;
SELECT relid::regclass, category_column, date_column, rows_done, rows_learned, rows_total,
       next_id, finished_at IS NOT NULL AS finished
  FROM categorize.learn_from_runs;
SELECT owner_id, expense_id, to_category_id, from_category_id, learn_scope
  FROM categorize.corrections WHERE expense_id IS NOT NULL ORDER BY id;
SELECT categorize.categorize('Tesco Stores 1234', NULL, 22, 500) AS tesco_small,
       categorize.categorize('Tesco Stores 1234', NULL, 450, 500) AS tesco_large,
       categorize.categorize(NULL, 'monthly coffee beans', NULL, 600) AS beans;

-- case: a second run learns nothing new
CALL categorize.learn_from('ledger');
SELECT count(*) AS corrections_after_second_run FROM categorize.corrections WHERE expense_id IS NOT NULL;

-- case: since: only rows of that date or later; a changed category is news
UPDATE ledger SET category_id = 2 WHERE id = 4;
CALL categorize.learn_from('ledger', since => '2024-01-04');
SELECT categorize.categorize('WATERSTONES', NULL, 12, 500) AS refiled;

-- case: resuming: a stopped run continues after its last committed row
DELETE FROM categorize.learn_from_runs;
UPDATE ledger SET category_id = 3 WHERE id IN (1, 3, 5);
INSERT INTO categorize.learn_from_runs (relid, category_column, date_column, next_date, next_id,
                                        rows_done, rows_total)
VALUES ('ledger'::regclass, 'category_id', 'booked_on', '2024-01-03', 1, 3, 9);
CALL categorize.learn_from('ledger');
SELECT expense_id, to_category_id FROM categorize.corrections
 WHERE expense_id IN (1, 3, 5) ORDER BY id;

-- case: the errors
CALL categorize.learn_from(NULL);
CALL categorize.learn_from('ledger', batch_size => 0);
CALL categorize.learn_from('ledger', 'no_such_column');
CALL categorize.learn_from('ledger', 'merchant_name');
CREATE TABLE no_id (merchant_name text, category_id bigint);
CALL categorize.learn_from('no_id');
CREATE TABLE no_date (id bigint, merchant_name text, category_id bigint);
CALL categorize.learn_from('no_date', since => now());
CREATE TABLE no_text (id bigint, category_id bigint);
CALL categorize.learn_from('no_text');
SELECT categorize.learn_rows('{1}', '{}', '{}', '{}', '{}', '{}');
-- inside a transaction block a procedure cannot commit its batches
BEGIN;
CALL categorize.learn_from('ledger');
ROLLBACK;
-- only administrators may run it
SELECT has_function_privilege('categorize_writer',
           'categorize.learn_from(regclass, name, timestamptz, int)', 'EXECUTE') AS writer_may,
       has_function_privilege('categorize_admin',
           'categorize.learn_from(regclass, name, timestamptz, int)', 'EXECUTE') AS admin_may;

-- case: learn_from() leaves what learn_correction() row by row leaves: the
-- same ledger for owners 1000+ taught one correction at a time, in date
-- order, answers every sample expense the same way
SET categorize.promote_min_users = 1000;
CREATE TABLE big_ledger AS
SELECT g AS id, 2000 + g % 7 AS user_id,
       (ARRAY['TESCO', 'CURRYS', 'COSTCO', 'AMAZON', 'SHELL'])[1 + (g * 7) % 5] || ' #' || (g % 3) AS merchant_name,
       NULL::text AS description,
       round((5 * power(1.7, g % 9))::numeric, 2) AS amount,
       date '2024-02-01' + g / 3 AS booked_on,
       (1 + (g * 13 + g / 5) % 4)::bigint AS category_id
  FROM generate_series(1, 600) g;
ALTER TABLE big_ledger ADD PRIMARY KEY (id);
SET client_min_messages = warning;
CALL categorize.learn_from('big_ledger', batch_size => 64);
RESET client_min_messages;
SELECT count(*) AS one_by_one
  FROM (SELECT categorize.learn_correction(merchant_name, description, amount, user_id + 1000,
                                           category_id, id)
          FROM big_ledger ORDER BY booked_on, id) s;
-- the stored weights are as of different moments (weight_at); brought to
-- now (the owner's corrections of the merchant) they are the same
CREATE VIEW weight_now AS
SELECT p.owner_id, p.value_norm, p.category_id, p.taught,
       p.weight * power(0.85, (SELECT sum(q.taught) FROM categorize.patterns q
                                WHERE q.owner_id = p.owner_id AND q.value_norm = p.value_norm
                                  AND q.source = 'learned') - p.weight_at) AS weight
  FROM categorize.patterns p WHERE p.source = 'learned' AND p.owner_id IS NOT NULL;
SELECT (SELECT count(*) FROM weight_now WHERE owner_id BETWEEN 2000 AND 2006) AS bulk_patterns,
       (SELECT count(*) FROM weight_now WHERE owner_id BETWEEN 3000 AND 3006) AS one_by_one_patterns,
       (SELECT count(*) FROM weight_now a JOIN weight_now b
            ON b.owner_id = a.owner_id + 1000 AND b.value_norm = a.value_norm
           AND b.category_id = a.category_id AND b.taught = a.taught
           AND abs(b.weight - a.weight) < 1e-9
         WHERE a.owner_id BETWEEN 2000 AND 2006) AS same_evidence;
SELECT count(*) AS samples,
       count(*) FILTER (WHERE categorize.categorize(m, NULL, a, u) IS NOT DISTINCT FROM
                              categorize.categorize(m, NULL, a, u + 1000)) AS same_answer
  FROM (SELECT m, a, u FROM unnest(ARRAY['TESCO #1', 'CURRYS #2', 'COSTCO #0', 'AMAZON #1', 'SHELL #2']) m,
                            unnest(ARRAY[4, 9, 40, 120, 600]) a,
                            generate_series(2000, 2006) u) s;
RESET categorize.promote_min_users;

-- case: the learned key's index rebuilt (a new index OID): corrections read it again
REINDEX INDEX CONCURRENTLY categorize.patterns_learned_key;
SELECT categorize.learn_correction('HATCHARDS', NULL, 15, 987654, 4);
SELECT categorize.learn_correction('HATCHARDS', NULL, 16, 987654, 4);
SELECT value, taught FROM categorize.patterns WHERE owner_id = 987654;
SELECT categorize.categorize('HATCHARDS', NULL, 15, 987654) AS after_reindex;

-- case: a learned name found inside another name gives way to a surer
-- guess of the token model, and categorize() says what categorize_detail()
-- ranks first (a single tenant's corrections: "boots" once under Coffee,
-- twenty "... chemists" under Books)
SELECT categorize.learn_correction('BOOTS', NULL, 5, NULL, 3);
SELECT count(categorize.learn_correction('CHEMISTS NO ' || g, NULL, 12, NULL, 4))
  FROM generate_series(1, 20) g;
SELECT categorize.categorize('BOOTS THE CHEMISTS', NULL, 12, NULL) AS answer,
       (SELECT category FROM categorize.categorize_detail('BOOTS THE CHEMISTS', NULL, 12, NULL, 1)) AS first_of_one,
       (SELECT category FROM categorize.categorize_detail('BOOTS THE CHEMISTS', NULL, 12, NULL, 3)
         WHERE rank = 1) AS first_of_three;
SELECT rank, category, kind FROM categorize.categorize_detail('BOOTS THE CHEMISTS', NULL, 12, NULL, 3);
-- the whole name stays the user's word
SELECT categorize.categorize('BOOTS', NULL, 12, NULL) AS whole_name;

-- case: the hits are asked whether one yields before they are ranked, all of
-- them: a rule of another category found first in the text ("chemists", a
-- weak keyword for everyone) does not hide the learned name that ranks
-- first and gives way to the model, so categorize() still says what
-- categorize_detail() ranks first
INSERT INTO categorize.patterns (kind, value, category_id, priority) VALUES ('keyword', 'chemists', 1, -10);
SET categorize.min_confidence = 0;
SELECT categorize.categorize('CHEMISTS AT BOOTS', NULL, 12, NULL) AS answer,
       (SELECT category FROM categorize.categorize_detail('CHEMISTS AT BOOTS', NULL, 12, NULL, 1)) AS first_of_one,
       (SELECT category FROM categorize.categorize_detail('CHEMISTS AT BOOTS', NULL, 12, NULL, 3)
         WHERE rank = 1) AS first_of_three;
SELECT rank, category, kind FROM categorize.categorize_detail('CHEMISTS AT BOOTS', NULL, 12, NULL, 3);
RESET categorize.min_confidence;
