-- Security: search_path attacks, the role model, owner isolation
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
DROP ROLE IF EXISTS regress_categorize_nobody, regress_categorize_reader,
    regress_categorize_writer, regress_categorize_admin;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Groceries'), (3, 'Transport');
INSERT INTO categorize.patterns (category_id, kind, value)
  VALUES (1, 'merchant', 'Starbucks'), (2, 'keyword', 'tesco'), (3, 'regex', 'uber\s*trip');
CREATE TABLE sec_expenses (id bigint PRIMARY KEY, user_id bigint, merchant_name text,
                           amount numeric, category_id bigint, category_confidence real);
INSERT INTO sec_expenses VALUES (1, 7, 'STARBUCKS #1', 4, NULL, NULL), (2, 7, 'TESCO STORES', 30, NULL, NULL);

-- case: functions and operators planted in public, ahead of pg_catalog, are never called
CREATE FUNCTION public.trap_text(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.lower() was called'; END $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.lower() was called'; END $$;
CREATE FUNCTION public.abs(real) RETURNS real LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.abs() was called'; END $$;
CREATE FUNCTION public.trap_eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.= (bigint, bigint) was called'; END $$;
CREATE FUNCTION public.trap_eq_text(text, text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.= (text, text) was called'; END $$;
CREATE FUNCTION public.trap_ge(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'trap: public.>= (bigint, bigint) was called'; END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.trap_eq);
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trap_eq_text);
CREATE OPERATOR public.>= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.trap_ge);
SET search_path = public, pg_catalog;
-- the traps work: a query of ours that used the unqualified operator would fail like this
SELECT 1::bigint = 1::bigint;
SELECT categorize.categorize('STARBUCKS #12', NULL) AS by_values,
       categorize.categorize(e) AS by_row
  FROM sec_expenses e WHERE e.id OPERATOR(pg_catalog.=) 1;
SELECT rank, category, kind FROM categorize.categorize_detail('UBER TRIP 42', NULL, 10, 7);
SELECT categorize.learn_correction('Corner Shop', NULL, 5, 7, 2, 100);
SELECT categorize.learn_correction(e, 2) FROM sec_expenses e WHERE e.id OPERATOR(pg_catalog.=) 2;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (3, 'merchant', 'Shell Oil');
UPDATE categorize.patterns SET priority = 1 WHERE value OPERATOR(pg_catalog.=) 'Shell Oil';
DELETE FROM categorize.patterns WHERE value OPERATOR(pg_catalog.=) 'Shell Oil';
INSERT INTO categorize.categories (id, name) VALUES (4, 'Fuel');
CREATE TRIGGER sec_categorize BEFORE INSERT OR UPDATE ON sec_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
INSERT INTO sec_expenses (id, user_id, merchant_name) VALUES (3, 7, 'Corner Shop');
SELECT count(*) AS previewed FROM categorize.preview('merchant', 'starbucks', 'sec_expenses');
SET client_min_messages = warning;
CALL categorize.recategorize('sec_expenses', only_uncategorized => false);
RESET client_min_messages;
SELECT id, category_id FROM sec_expenses ORDER BY id;
SELECT calls > 0 AS counted FROM categorize.stats;
SELECT count(*) > 0 AS checks FROM categorize.health();
SELECT 'POS STARBUCKS' OPERATOR(categorize.@~) 'starbucks' AS matches;
RESET search_path;
DROP OPERATOR public.= (bigint, bigint);
DROP OPERATOR public.= (text, text);
DROP OPERATOR public.>= (bigint, bigint);
DROP FUNCTION public.trap_text(text), public.lower(text), public.abs(real), public.trap_eq(bigint, bigint),
    public.trap_eq_text(text, text), public.trap_ge(bigint, bigint);

-- case: the roles exist, each one includes the one below
SELECT r.rolname, r.rolcanlogin,
       pg_has_role(r.rolname, 'categorize_reader', 'MEMBER') AS reader,
       pg_has_role(r.rolname, 'categorize_writer', 'MEMBER') AS writer
  FROM pg_roles r WHERE r.rolname LIKE 'categorize\_%' ORDER BY 1;

CREATE ROLE regress_categorize_nobody;
CREATE ROLE regress_categorize_reader IN ROLE categorize_reader;
CREATE ROLE regress_categorize_writer IN ROLE categorize_writer;
CREATE ROLE regress_categorize_admin IN ROLE categorize_admin;
GRANT SELECT, INSERT, UPDATE ON sec_expenses TO regress_categorize_reader, regress_categorize_writer;

-- case: PUBLIC gets nothing
SET ROLE regress_categorize_nobody;
SELECT categorize.categorize('STARBUCKS', NULL);
SELECT * FROM categorize.stats;
SELECT categorize.learn_correction('x', NULL, NULL, 1, 1);
RESET ROLE;

-- case: a reader categorizes, previews, reads names and stats, but neither learns nor changes or reads patterns
SET ROLE regress_categorize_reader;
SELECT categorize.categorize('STARBUCKS', NULL) AS category;
SELECT rank, category FROM categorize.categorize_detail('TESCO METRO', NULL) ORDER BY rank;
SELECT count(*) AS previewed FROM categorize.preview('merchant', 'starbucks', 'sec_expenses');
SELECT name FROM categorize.categories ORDER BY id LIMIT 1;
SELECT calls > 0 AS counted FROM categorize.stats;
INSERT INTO sec_expenses (id, user_id, merchant_name) VALUES (4, 8, 'Starbucks Reserve');
SELECT categorize.learn_correction('x', NULL, NULL, 1, 1);
SELECT count(*) FROM categorize.patterns;
SELECT count(*) FROM categorize.corrections;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', 'latte');
SELECT categorize.stats_reset();
CALL categorize.recategorize('sec_expenses');
RESET ROLE;

-- case: a writer learns and recategorizes, but does not change patterns
SET ROLE regress_categorize_writer;
SELECT categorize.learn_correction('Bakery 9', NULL, 3, 8, 2) AS learned;
SELECT categorize.categorize('Bakery 9', NULL, NULL, 8) AS category;
SET client_min_messages = warning;
CALL categorize.recategorize('sec_expenses');
RESET client_min_messages;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', 'latte');
DELETE FROM categorize.categories WHERE id = 4;
RESET ROLE;

-- case: an admin changes categories and patterns, reads corrections, resets the stats
SET ROLE regress_categorize_admin;
INSERT INTO categorize.categories (id, name) VALUES (5, 'Snacks') RETURNING name;
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', 'latte') RETURNING kind, value;
SELECT categorize.categorize('Caffe Latte', NULL) AS category;
SELECT count(*) > 0 AS has_corrections FROM categorize.corrections;
DELETE FROM categorize.patterns WHERE value = 'latte';
SELECT categorize.stats_reset();
RESET ROLE;

-- case: one user's learned pattern never reaches another user (below promotion)
SELECT categorize.learn_correction('Private Gym', NULL, 20, 11, 3);
SELECT categorize.categorize('Private Gym', NULL, NULL, 11) AS owner_11,
       categorize.categorize('Private Gym', NULL, NULL, 12) AS owner_12,
       categorize.categorize('Private Gym', NULL) AS nobody;
SELECT count(*) AS shown_to_owner_12 FROM categorize.categorize_detail('Private Gym', NULL, NULL, 12, 10)
 WHERE reason LIKE '%private gym%';

DROP TABLE sec_expenses;
DROP ROLE regress_categorize_nobody, regress_categorize_reader, regress_categorize_writer, regress_categorize_admin;
