-- upgrade_walk: install categorize 1.0, put data in, then walk every
-- ALTER EXTENSION categorize UPDATE to the default version, checking at each
-- step which objects the step added, removed or changed, that every row is
-- still there and that categorize() gives the same answers.
--
-- The walk follows pg_extension_update_paths('categorize') from 1.0 to the
-- default version of categorize.control, so a new version needs no change
-- here: add sql/categorize--<old>--<new>.sql, bump default_version, run the
-- test and review the new step in "objects each step added, removed or
-- changed" before accepting the output.  If the new version adds a table
-- that holds users' data, add it to upgrade_walk.snapshot() (section "data").
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
-- CREATE EXTENSION creates schema categorize but DROP EXTENSION leaves it,
-- with the grants of the version installed before: start from nothing
DROP SCHEMA IF EXISTS categorize;
DROP SCHEMA IF EXISTS upgrade_walk CASCADE;
CREATE EXTENSION categorize VERSION '1.0';
RESET client_min_messages;
\set VERBOSITY terse
CREATE SCHEMA upgrade_walk;

SELECT extversion FROM pg_extension WHERE extname = 'categorize';

-- case: the path walked, from 1.0 to the default version
SELECT p.path
  FROM pg_extension_update_paths('categorize') p
 WHERE p.source = '1.0'
   AND p.target = (SELECT default_version FROM pg_available_extensions WHERE name = 'categorize');

--
-- Data at 1.0: categories, patterns of each kind, corrections, an owner's
-- pattern, and an application table that depends on the extension
--
INSERT INTO categorize.categories (name, parent_id, owner_id) VALUES
    ('Food', NULL, NULL), ('Coffee', 1, NULL), ('Groceries', 1, NULL),
    ('Fuel', NULL, NULL), ('Electronics', NULL, NULL), ('Books', NULL, NULL),
    ('Alice: climbing', NULL, 100);
INSERT INTO categorize.patterns (category_id, kind, value, amount_min, amount_max, owner_id, priority, active) VALUES
    (2, 'merchant', 'Starbucks', NULL, NULL, NULL, 0, true),
    (3, 'keyword', 'whole foods', NULL, NULL, NULL, 0, true),
    (4, 'regex', '^shell\s+oil', NULL, NULL, NULL, 0, true),
    (3, 'merchant', 'Costco', NULL, 100, NULL, 0, true),
    (5, 'merchant', 'Costco', 100.01, NULL, NULL, 0, true),
    (4, 'keyword', 'fuel', NULL, NULL, NULL, 5, true),
    (7, 'merchant', 'Blue Bottle', NULL, NULL, 100, 0, true),
    (2, 'merchant', 'Blue Bottle', NULL, NULL, NULL, 0, true),
    (6, 'merchant', 'ghost books', NULL, NULL, NULL, 0, false);
-- corrections: a user's (a learned pattern of theirs), the same merchant
-- taught by three users (promoted to everyone), a single-tenant one (user
-- NULL), one against a manual pattern (a miss for it) and one with an
-- expense id, twice (idempotent)
SELECT categorize.learn_correction('Hobbycraft', NULL, 20, 100, 7);
SELECT categorize.learn_correction('Daunt Books', NULL, 15, u, 6) FROM (VALUES (100), (200), (300)) t(u);
SELECT categorize.learn_correction(NULL, 'WATERSTONES PICCADILLY', 12, NULL, 6);
SELECT categorize.learn_correction('COSTCO GAS #118', NULL, 60, NULL, 4);
SELECT categorize.learn_correction('Pret A Manger', NULL, 7, 200, 1, 42);
SELECT categorize.learn_correction('Pret A Manger', NULL, 7, 200, 1, 42);

CREATE TABLE upgrade_walk.expenses (
    id bigint PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric(12, 2),
    category_id bigint
);
CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON upgrade_walk.expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
CREATE INDEX expenses_merchant_norm_idx ON upgrade_walk.expenses (categorize.normalize(merchant_name));
INSERT INTO upgrade_walk.expenses (id, user_id, merchant_name, description, amount) VALUES
    (1, 100, 'POS DEBIT STARBUCKS #1234', NULL, 4.50),
    (2, 200, 'Market', 'lunch at Whole Foods', 12.00),
    (3, 200, 'SHELL OIL 57442', NULL, 61.00),
    (4, 200, 'COSTCO WHOLESALE', NULL, 80.00),
    (5, 200, 'COSTCO WHOLESALE', NULL, 499.00),
    (6, 300, 'Station', 'fuel surcharge', 3.00),
    (7, 100, 'Blue Bottle', NULL, 5.00),
    (8, 200, 'Blue Bottle', NULL, 5.00),
    (9, 100, 'HOBBYCRAFT', NULL, 30.00),
    (10, 400, 'DAUNT BOOKS', NULL, 15.00),
    (11, 500, NULL, 'waterstones piccadilly', 9.00),
    (12, 200, 'PRET A MANGER', NULL, 6.00),
    (13, 200, 'ghost books', NULL, 1.00),
    (14, 200, 'Unknown Merchant', NULL, 1.00);
SELECT id, merchant_name, description, category_id FROM upgrade_walk.expenses ORDER BY id;

--
-- Snapshots: the extension's objects (from pg_catalog), its tables' rows,
-- and categorize()'s answers, recorded after each step
--
CREATE TABLE upgrade_walk.steps (step int PRIMARY KEY, version text NOT NULL);
CREATE TABLE upgrade_walk.objects (step int, kind text, name text, definition text);
CREATE TABLE upgrade_walk.data (step int, tbl text, row_text text);
CREATE TABLE upgrade_walk.answers (step int, expense_id bigint, category_id bigint);

CREATE PROCEDURE upgrade_walk.snapshot()
LANGUAGE plpgsql AS $$
DECLARE
    s int := (SELECT coalesce(max(step), -1) + 1 FROM upgrade_walk.steps);
    nsp oid := 'categorize'::regnamespace;
BEGIN
    INSERT INTO upgrade_walk.steps
        SELECT s, extversion FROM pg_extension WHERE extname = 'categorize';

    -- objects: what each is, and a digest of its definition
    INSERT INTO upgrade_walk.objects
    SELECT s, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
      FROM pg_proc p WHERE p.pronamespace = nsp
    UNION ALL
    SELECT s, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'i' THEN 'index'
                             WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'type' ELSE c.relkind::text END,
           'categorize.' || c.relname,
           md5(coalesce(pg_get_viewdef(c.oid), '') || coalesce(pg_get_indexdef(c.oid), '') ||
               coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
                                           CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
                                           coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                                           ', ' ORDER BY a.attnum)
                           FROM pg_attribute a
                           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''))
      FROM pg_class c WHERE c.relnamespace = nsp
    UNION ALL
    SELECT s, 'operator', o.oid::regoperator::text,
           md5(concat_ws(' ', o.oprcode, o.oprcom::regoper, o.oprrest, o.oprjoin))
      FROM pg_operator o WHERE o.oprnamespace = nsp
    UNION ALL
    SELECT s, 'operator class', 'categorize.' || oc.opcname || ' using ' || am.amname,
           md5(concat_ws(' ', oc.opcintype::regtype, oc.opcdefault,
                         (SELECT string_agg(ao.amopstrategy || ' ' || ao.amopopr::regoperator, ', ' ORDER BY ao.amopstrategy)
                            FROM pg_amop ao WHERE ao.amopfamily = oc.opcfamily),
                         (SELECT string_agg(ap.amprocnum || ' ' || ap.amproc::regprocedure, ', ' ORDER BY ap.amprocnum)
                            FROM pg_amproc ap WHERE ap.amprocfamily = oc.opcfamily)))
      FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod WHERE oc.opcnamespace = nsp
    UNION ALL
    SELECT s, 'trigger', t.tgname || ' on ' || t.tgrelid::regclass, md5(pg_get_triggerdef(t.oid))
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = nsp AND NOT t.tgisinternal
    UNION ALL
    SELECT s, 'constraint', co.conname || ' on ' || co.conrelid::regclass, md5(pg_get_constraintdef(co.oid))
      FROM pg_constraint co WHERE co.connamespace = nsp
    UNION ALL
    SELECT s, 'dumped by pg_dump', cfg.oid::regclass::text, md5(coalesce(cfg.cond, ''))
      FROM pg_extension x, unnest(x.extconfig, x.extcondition) AS cfg(oid, cond)
     WHERE x.extname = 'categorize'
    UNION ALL
    -- members of the extension outside schema categorize (casts, event
    -- triggers, objects in pg_catalog...): none so far
    SELECT s, 'member outside the schema', pg_describe_object(d.classid, d.objid, d.objsubid), ''
      FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND x.extname = 'categorize'
       AND (pg_identify_object(d.classid, d.objid, d.objsubid)).schema IS DISTINCT FROM 'categorize'
    UNION ALL
    -- privileges: one row per object and grantee (the owner, whoever it
    -- is, shown as "owner"; NULL ACLs expanded to their defaults)
    SELECT s, 'privileges', a.object || ' to ' ||
              CASE WHEN a.grantee = a.owner THEN 'owner'
                   WHEN a.grantee = 0 THEN 'PUBLIC'
                   ELSE a.grantee::regrole::text END,
           string_agg(a.privilege, ', ' ORDER BY a.privilege)
      FROM (SELECT p.oid::regprocedure::text AS object, p.proowner AS owner,
                   x.grantee, x.privilege_type AS privilege
              FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) x
             WHERE p.pronamespace = nsp
            UNION ALL
            SELECT 'categorize.' || c.relname, c.relowner, x.grantee, x.privilege_type
              FROM pg_class c,
                   aclexplode(coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char",
                                                            c.relowner))) x
             WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'v', 'S')
            UNION ALL
            SELECT 'type ' || t.oid::regtype::text, t.typowner, x.grantee, x.privilege_type
              FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid,
                   aclexplode(coalesce(t.typacl, acldefault('T'::"char", t.typowner))) x
             WHERE t.typnamespace = nsp AND c.relkind = 'c'
            UNION ALL
            SELECT 'schema categorize', n.nspowner, x.grantee, x.privilege_type
              FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) x
             WHERE n.oid = nsp) a
     GROUP BY a.object, a.owner, a.grantee;

    -- data: the columns users own (not the ones triggers maintain)
    INSERT INTO upgrade_walk.data
    SELECT s, 'categories', row(id, name, parent_id, owner_id, created_at)::text
      FROM categorize.categories
    UNION ALL
    SELECT s, 'patterns', row(id, category_id, kind, value, amount_min, amount_max, owner_id,
                              priority, active, source, hits, misses, confirmed, created_at)::text
      FROM categorize.patterns
    UNION ALL
    SELECT s, 'corrections', row(id, owner_id, expense_id, merchant_name, description, amount,
                                 from_category_id, to_category_id, from_pattern_id, learn_scope,
                                 created_at)::text
      FROM categorize.corrections
    UNION ALL
    SELECT s, 'sequences', row('categories', last_value)::text FROM categorize.categories_id_seq
    UNION ALL
    SELECT s, 'sequences', row('patterns', last_value)::text FROM categorize.patterns_id_seq
    UNION ALL
    SELECT s, 'sequences', row('corrections', last_value)::text FROM categorize.corrections_id_seq
    UNION ALL
    SELECT s, 'sequences', row('confirmation', last_value)::text FROM categorize.confirmation_seq
    UNION ALL
    SELECT s, 'upgrade_walk.expenses', row(e.*)::text FROM upgrade_walk.expenses e;

    -- answers: categorize() of every expense
    INSERT INTO upgrade_walk.answers
    SELECT s, e.id, categorize.categorize(e) FROM upgrade_walk.expenses e;
END
$$;

CALL upgrade_walk.snapshot();

-- case: the objects of 1.0 (privileges in the next query)
SELECT kind, name FROM upgrade_walk.objects
 WHERE step = 0 AND kind <> 'privileges' ORDER BY kind, name;

-- case: the privileges of 1.0
SELECT name, definition AS privileges FROM upgrade_walk.objects
 WHERE step = 0 AND kind = 'privileges' ORDER BY name;

-- case: the data of 1.0 (rows per table)
SELECT tbl, count(*) AS rows FROM upgrade_walk.data WHERE step = 0 GROUP BY tbl ORDER BY tbl;

--
-- The walk: one ALTER EXTENSION ... UPDATE per step of the path, each
-- followed by a snapshot
--
SELECT format('ALTER EXTENSION categorize UPDATE TO %L', s.version) AS step,
       'CALL upgrade_walk.snapshot()' AS snapshot
  FROM pg_extension_update_paths('categorize') p,
       unnest(string_to_array(p.path, '--')) WITH ORDINALITY AS s(version, n)
 WHERE p.source = '1.0'
   AND p.target = (SELECT default_version FROM pg_available_extensions WHERE name = 'categorize')
   AND s.n > 1
 ORDER BY s.n
\gexec

-- case: the extension ends at the default version, and every version of
-- the path was visited in order
SELECT step, version FROM upgrade_walk.steps ORDER BY step;
SELECT x.extversion = a.default_version AS at_default_version
  FROM pg_extension x, pg_available_extensions a
 WHERE x.extname = 'categorize' AND a.name = 'categorize';

-- case: objects each step added, removed or changed
SELECT st.version AS step_to, c.change, c.kind, c.name,
       CASE WHEN c.kind = 'privileges' THEN c.privileges END AS privileges
  FROM upgrade_walk.steps st
  CROSS JOIN LATERAL (
        SELECT CASE WHEN o.name IS NULL THEN 'added'
                    WHEN n.name IS NULL THEN 'removed'
                    ELSE 'changed' END AS change,
               coalesce(n.kind, o.kind) AS kind,
               coalesce(n.name, o.name) AS name,
               coalesce(n.definition, o.definition) AS privileges
          FROM (SELECT * FROM upgrade_walk.objects WHERE step = st.step) n
          FULL JOIN (SELECT * FROM upgrade_walk.objects WHERE step = st.step - 1) o
                 ON o.kind = n.kind AND o.name = n.name
         WHERE o.name IS NULL OR n.name IS NULL OR o.definition IS DISTINCT FROM n.definition
       ) c
 WHERE st.step > 0
 ORDER BY st.step, c.change, c.kind, c.name;

-- case: every row is still there after each step (expect no rows)
SELECT st.version AS step_to, d.tbl, d.row_text, 'lost' AS problem
  FROM upgrade_walk.steps st, upgrade_walk.data d
 WHERE st.step > 0 AND d.step = st.step - 1
   AND NOT EXISTS (SELECT FROM upgrade_walk.data x
                    WHERE x.step = st.step AND x.tbl = d.tbl AND x.row_text = d.row_text)
UNION ALL
SELECT st.version, d.tbl, d.row_text, 'appeared'
  FROM upgrade_walk.steps st, upgrade_walk.data d
 WHERE st.step > 0 AND d.step = st.step
   AND NOT EXISTS (SELECT FROM upgrade_walk.data x
                    WHERE x.step = st.step - 1 AND x.tbl = d.tbl AND x.row_text = d.row_text)
ORDER BY 1, 2, 3;

-- case: categorize() gives the same answers after each step (expect no rows)
SELECT st.version AS step_to, n.expense_id, o.category_id AS before, n.category_id AS after
  FROM upgrade_walk.steps st
  JOIN upgrade_walk.answers n ON n.step = st.step
  JOIN upgrade_walk.answers o ON o.step = st.step - 1 AND o.expense_id = n.expense_id
 WHERE n.category_id IS DISTINCT FROM o.category_id
 ORDER BY 1, 2;

-- case: the answers themselves, at the default version
SELECT a.expense_id, e.merchant_name, e.description, a.category_id
  FROM upgrade_walk.answers a JOIN upgrade_walk.expenses e ON e.id = a.expense_id
 WHERE a.step = (SELECT max(step) FROM upgrade_walk.steps)
 ORDER BY a.expense_id;

-- case: after the walk the extension works on: learning, new rows, the
-- sequences continue where they were
SELECT categorize.learn_correction('Foyles', NULL, 9, 200, 6);
SELECT categorize.categorize('FOYLES', NULL, NULL, 200) AS learned_after_walk;
INSERT INTO categorize.categories (name) VALUES ('Travel') RETURNING id;
INSERT INTO upgrade_walk.expenses (id, user_id, merchant_name, amount) VALUES (15, 100, 'STARBUCKS', 3.20)
RETURNING id, category_id;

-- case: a fresh install of the default version (from its own full script
-- when there is one, as for 1.1) has the same objects as the walk (expect
-- no rows); test/t/012_install_paths.pl compares the two with pg_dump,
-- comments and recorded privileges included
CREATE TABLE upgrade_walk.walked AS
    SELECT kind, name, definition FROM upgrade_walk.objects
     WHERE step = (SELECT max(step) FROM upgrade_walk.steps);
SET client_min_messages = warning;
DROP EXTENSION categorize CASCADE;
DROP SCHEMA categorize;
CREATE EXTENSION categorize;
RESET client_min_messages;
CALL upgrade_walk.snapshot();
SELECT coalesce(w.kind, f.kind) AS kind, coalesce(w.name, f.name) AS name,
       CASE WHEN f.name IS NULL THEN 'only after the walk'
            WHEN w.name IS NULL THEN 'only in a fresh install'
            ELSE 'defined differently' END AS difference
  FROM upgrade_walk.walked w
  FULL JOIN (SELECT * FROM upgrade_walk.objects
              WHERE step = (SELECT max(step) FROM upgrade_walk.steps)) f
         ON f.kind = w.kind AND f.name = w.name
 WHERE f.name IS NULL OR w.name IS NULL OR f.definition IS DISTINCT FROM w.definition
 ORDER BY 1, 2;

SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'categorize')
       AS at_default_version
  FROM pg_extension WHERE extname = 'categorize';

SET client_min_messages = warning;
DROP SCHEMA upgrade_walk CASCADE;
RESET client_min_messages;
