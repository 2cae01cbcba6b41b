/* categorize--1.2--1.3.sql: rules users can trust (conflicts, the review queue, dry runs of a rule change) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.3'" to load this file. \quit

--
-- Normalization (1.3): a processor prefix followed by noise is the
-- merchant's own name ("LYFT *2276605635 SAN FRANCISCO CA" now normalizes
-- to "lyft san francisco ca", not "san francisco ca").  Patterns whose
-- value normalizes differently now get their value_norm again (the
-- patterns trigger stamps it on every write); only values with a '*' can.
--
UPDATE categorize.patterns
   SET value = value
 WHERE kind IN ('merchant', 'keyword') AND value LIKE '%*%'
   AND value_norm IS DISTINCT FROM categorize.normalize(value);

-- The extension's own index of pattern values is rebuilt here; other
-- indexes built with the old normalization (expression indexes on
-- categorize.normalize(), GIN indexes with categorize.match_ops) keep the
-- old keys of such texts until they are rebuilt: say which ones.
REINDEX INDEX categorize.patterns_value_match_idx;

-- The learned patterns' key leads with value_norm (1.3): learning looks its
-- keys up by it, for every owner at once, and with owner_id first that
-- lookup read the whole index
DROP INDEX categorize.patterns_learned_key;
CREATE UNIQUE INDEX patterns_learned_key ON categorize.patterns
    (value_norm, owner_id, category_id) NULLS NOT DISTINCT
    WHERE source = 'learned' AND kind = 'merchant' AND amount_min IS NULL AND amount_max IS NULL;

DO $$
DECLARE
    stale text;
BEGIN
    SELECT string_agg(DISTINCT d.objid::regclass::text, ', ' ORDER BY d.objid::regclass::text)
      INTO stale
      FROM pg_depend d
      JOIN pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_class'::regclass
       AND c.relkind IN ('i', 'I')
       AND c.relnamespace <> 'categorize'::regnamespace
       AND ((d.refclassid = 'pg_proc'::regclass
             AND d.refobjid = 'categorize.normalize(text)'::regprocedure)
         OR (d.refclassid = 'pg_opclass'::regclass
             AND d.refobjid IN (SELECT oid FROM pg_opclass
                                 WHERE opcname = 'match_ops'
                                   AND opcnamespace = 'categorize'::regnamespace)));
    IF stale IS NOT NULL THEN
        RAISE WARNING 'categorize 1.3 normalizes "NAME *REFERENCE" texts differently; these indexes may hold old keys: %', stale
            USING DETAIL = 'A processor prefix followed by a reference code is now kept as the merchant''s name ("LYFT *2276605635" normalizes to "lyft").',
                  HINT = 'Rebuild them, for instance with REINDEX INDEX CONCURRENTLY, when rows of that form may be indexed.';
    END IF;
END
$$;

--
-- Rules users can trust (issue 15): conflicts among the active patterns,
-- the review queue, dry runs of a new rule
--

CREATE FUNCTION categorize.rule_conflicts(
    OUT conflict text, OUT pattern_id bigint, OUT category_id bigint,
    OUT decided_by bigint, OUT decided_by_category_id bigint, OUT owner_id bigint,
    OUT example text, OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'categorize_rule_conflicts'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.rule_conflicts() IS
'pairs of active patterns that get in each other''s way (shadowed, overlapping, duplicate) and patterns that can never match, each with a reason and an example text, found through one compiled set of all the patterns';

CREATE VIEW categorize.rule_conflicts AS
SELECT * FROM categorize.rule_conflicts();

COMMENT ON VIEW categorize.rule_conflicts IS
'categorize.rule_conflicts() as a view';

-- The columns of an expense table, and those of an integer or numeric
-- type (what can hold an id)
CREATE FUNCTION categorize.columns_of(tbl regclass, OUT cols text[], OUT int_cols text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(a.attname::text), '{}'),
           coalesce(array_agg(a.attname::text) FILTER (
               WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                                    'numeric'::regtype)), '{}')
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
$$;

COMMENT ON FUNCTION categorize.columns_of(regclass) IS
'internal: the columns of an expense table, and those that can hold an id, for review(), accept() and the checks of their column arguments';

-- The confidence column of an expense table: the one named, else the
-- auto_categorize trigger's second argument, else category_confidence when
-- the table has it; NULL when none
CREATE FUNCTION categorize.confidence_column_of(tbl regclass, confidence_column name DEFAULT NULL)
RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[] := (categorize.columns_of(tbl)).cols;
    trigger_col text;
BEGIN
    IF confidence_column IS NOT NULL THEN
        IF NOT confidence_column = ANY (cols) THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', confidence_column, tbl
                USING ERRCODE = 'undefined_column';
        END IF;
        RETURN confidence_column;
    END IF;
    SELECT split_part(encode(t.tgargs, 'escape'), '\000', 2)
      INTO trigger_col
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgnargs >= 2
       AND t.tgfoid = 'categorize.auto_categorize()'::regprocedure
     ORDER BY t.tgname
     LIMIT 1;
    IF trigger_col = ANY (cols) THEN
        RETURN trigger_col;
    ELSIF 'category_confidence' = ANY (cols) THEN
        RETURN 'category_confidence';
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION categorize.confidence_column_of(regclass, name) IS
'internal: the confidence column of an expense table for review() and accept()';

-- The category column of an expense table, checked: it exists and holds ids
CREATE FUNCTION categorize.category_column_of(tbl regclass, category_column name)
RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record := categorize.columns_of(tbl);
BEGIN
    IF NOT category_column = ANY (c.cols) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', category_column, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    IF NOT category_column = ANY (c.int_cols) THEN
        RAISE EXCEPTION 'column "%" must be bigint, integer or numeric to hold a category id', category_column
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    RETURN category_column;
END
$$;

COMMENT ON FUNCTION categorize.category_column_of(regclass, name) IS
'internal: the checked category column of an expense table for review() and accept()';

CREATE FUNCTION categorize.review(tbl regclass, lim int DEFAULT 50,
                                  for_user bigint DEFAULT NULL,
                                  category_column name DEFAULT 'category_id',
                                  confidence_column name DEFAULT NULL)
RETURNS TABLE (row_ctid tid, id bigint, user_id bigint, merchant_name text,
               description text, amount numeric, category_id bigint, confidence real,
               reason text, same_merchant bigint, candidate_ids bigint[], candidates text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[];                -- columns of tbl
    int_cols text[];            -- those of an integer or numeric type
    cat name;
    conf name;
    below real;
    merchant_key text;
    owner_expr text;
    conf_expr text;
BEGIN
    IF tbl IS NULL OR category_column IS NULL THEN
        RAISE EXCEPTION 'tbl and category_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lim IS NULL OR lim < 0 THEN
        RAISE EXCEPTION 'lim must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- normalize() loads the module, which defines the setting
    PERFORM categorize.normalize('');
    below := pg_catalog.current_setting('categorize.review_below')::real;
    cat := categorize.category_column_of(tbl, category_column);
    conf := categorize.confidence_column_of(tbl, confidence_column);

    SELECT c.cols, c.int_cols INTO cols, int_cols FROM categorize.columns_of(tbl) c;

    -- One correction of an owner's merchant files all of that owner's rows
    -- of it: the merchant's normalized text is the key rows share
    merchant_key := CASE
        WHEN 'merchant_name' = ANY (cols) AND 'description' = ANY (cols)
            THEN 'categorize.normalize(COALESCE(s.merchant_name::text, s.description::text))'
        WHEN 'merchant_name' = ANY (cols) THEN 'categorize.normalize(s.merchant_name::text)'
        WHEN 'description' = ANY (cols) THEN 'categorize.normalize(s.description::text)'
    END;
    IF merchant_key IS NULL THEN
        RAISE EXCEPTION 'relation % has neither a merchant_name nor a description column', tbl
            USING ERRCODE = 'undefined_column',
                  HINT = 'categorize reads the columns merchant_name, description, amount and user_id by name.';
    END IF;
    owner_expr := CASE WHEN 'user_id' = ANY (int_cols) THEN 's.user_id::bigint' ELSE 'NULL::bigint' END;
    conf_expr := CASE WHEN conf IS NULL THEN 'NULL::real' ELSE pg_catalog.format('s.%I::real', conf) END;

    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH queue AS (
            SELECT s AS r, s.ctid AS row_ctid, %1$s AS id, %2$s AS user_id,
                   %3$s AS merchant_name, %4$s AS description, %5$s AS amount,
                   s.%6$I::bigint AS category_id, %7$s AS confidence, %8$s AS key
              FROM %9$s s
             WHERE (s.%6$I IS NULL OR %7$s < $1)
               AND ($2 IS NULL OR %2$s = $2)
        ), sharing AS (
            SELECT %2$s AS user_id, %8$s AS key, count(*) AS n
              FROM %9$s s
             WHERE $2 IS NULL OR %2$s = $2
             GROUP BY 1, 2
        ), top AS (
            SELECT q.*, COALESCE(sh.n - 1, 0) AS same_merchant
              FROM queue q
              LEFT JOIN sharing sh
                ON sh.user_id IS NOT DISTINCT FROM q.user_id AND sh.key = q.key
             ORDER BY same_merchant DESC, q.confidence NULLS FIRST, q.id, q.row_ctid
             LIMIT $3
        )
        SELECT t.row_ctid, t.id, t.user_id, t.merchant_name, t.description, t.amount,
               t.category_id, t.confidence,
               CASE WHEN t.category_id IS NULL THEN 'no rule decided'
                    ELSE format('confidence %%s below categorize.review_below %%s',
                                round(t.confidence::numeric, 2), round($1::numeric, 2)) END,
               t.same_merchant, d.ids, d.names
          FROM top t
          LEFT JOIN LATERAL (
              SELECT array_agg(c.category_id ORDER BY c.rank) AS ids,
                     string_agg(format('%%s %%s', c.category, round(c.confidence::numeric, 2)),
                                ', ' ORDER BY c.rank) AS names
                FROM categorize.categorize_detail(t.r, 3) c) d ON true
         ORDER BY t.same_merchant DESC, t.confidence NULLS FIRST, t.id, t.row_ctid
        $q$,
        CASE WHEN 'id' = ANY (int_cols) THEN 's.id::bigint' ELSE 'NULL::bigint' END,
        owner_expr,
        CASE WHEN 'merchant_name' = ANY (cols) THEN 's.merchant_name::text' ELSE 'NULL::text' END,
        CASE WHEN 'description' = ANY (cols) THEN 's.description::text' ELSE 'NULL::text' END,
        CASE WHEN 'amount' = ANY (cols) THEN 's.amount::numeric' ELSE 'NULL::numeric' END,
        cat, conf_expr, merchant_key, tbl)
    USING below, for_user, lim;
END
$$;

COMMENT ON FUNCTION categorize.review(regclass, int, bigint, name, name) IS
'the review queue: up to lim rows of tbl that no rule decided or whose engine-set category has a confidence below categorize.review_below, the rows whose merchant most other rows share first, with the top 3 candidates';

CREATE FUNCTION categorize.accept(tbl regclass, row_id bigint,
                                  category_column name DEFAULT 'category_id',
                                  confidence_column name DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cat name;
    conf name;
    category bigint;
BEGIN
    IF tbl IS NULL OR row_id IS NULL OR category_column IS NULL THEN
        RAISE EXCEPTION 'tbl, row_id and category_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    cat := categorize.category_column_of(tbl, category_column);
    conf := categorize.confidence_column_of(tbl, confidence_column);
    IF NOT 'id' = ANY ((categorize.columns_of(tbl)).int_cols) THEN
        RAISE EXCEPTION 'relation % has no integer column "id"', tbl
            USING ERRCODE = 'undefined_column',
                  HINT = 'accept() finds the row by its id; file other rows with categorize.learn_correction(row, category_id).';
    END IF;

    BEGIN
        EXECUTE pg_catalog.format('SELECT s.%I::bigint FROM %s s WHERE s.id = $1 FOR UPDATE', cat, tbl)
            INTO STRICT category USING row_id;
    EXCEPTION
        WHEN no_data_found THEN
            RAISE EXCEPTION 'relation % has no row with id %', tbl, row_id
                USING ERRCODE = 'no_data_found';
        WHEN too_many_rows THEN
            RAISE EXCEPTION 'relation % has more than one row with id %', tbl, row_id
                USING ERRCODE = 'cardinality_violation';
    END;
    IF category IS NULL THEN
        RAISE EXCEPTION 'row % of % has no category to accept', row_id, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'File it with categorize.learn_correction(row, category_id).';
    END IF;

    -- The category the row has, confirmed: learn_correction() counts it as
    -- a hit of the pattern that decided it, and it is the user's word now
    EXECUTE pg_catalog.format('SELECT categorize.learn_correction(s, $2) FROM %s s WHERE s.id = $1', tbl)
        USING row_id, category;
    IF conf IS NOT NULL THEN
        EXECUTE pg_catalog.format('UPDATE %s s SET %I = NULL WHERE s.id = $1', tbl, conf)
            USING row_id;
    END IF;
    RETURN category;
END
$$;

COMMENT ON FUNCTION categorize.accept(regclass, bigint, name, name) IS
'confirm the category of row id of tbl: a correction to the category it has (a confirmation for the learner), and its confidence cleared so that it leaves the review queue';

CREATE FUNCTION categorize.diff_rule(pattern_kind text, value text, category_id bigint,
                                     tbl regclass,
                                     amount_min numeric DEFAULT NULL,
                                     amount_max numeric DEFAULT NULL,
                                     lim int DEFAULT 100)
RETURNS TABLE (row_ctid tid, id bigint, merchant_name text, description text,
               amount numeric, current_category_id bigint, before_category_id bigint,
               after_category_id bigint, changed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF diff_rule.category_id IS NULL THEN
        RAISE EXCEPTION 'category_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lim IS NULL OR lim < 0 THEN
        RAISE EXCEPTION 'lim must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM categorize.categories c WHERE c.id = diff_rule.category_id) THEN
        RAISE EXCEPTION 'category % does not exist', diff_rule.category_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- preview() finds the rows the rule would decide; of those, the ones
    -- whose answer it changes
    RETURN QUERY
    SELECT p.row_ctid, p.id, p.merchant_name, p.description, p.amount,
           p.current_category_id, p.engine_category_id, diff_rule.category_id,
           count(*) OVER ()
      FROM categorize.preview(pattern_kind, value, tbl, amount_min, amount_max, 2147483647) p
     WHERE p.rule_decides AND p.engine_category_id IS DISTINCT FROM diff_rule.category_id
     ORDER BY p.id, p.row_ctid
     LIMIT lim;
END
$$;

COMMENT ON FUNCTION categorize.diff_rule(text, text, bigint, regclass, numeric, numeric, int) IS
'dry run of a new rule (kind, value, category, amount range; for everyone, priority 0): up to lim rows of tbl whose categorize() answer it would change, before and after, and how many rows change in all';

REVOKE ALL ON FUNCTION
    categorize.rule_conflicts(),
    categorize.columns_of(regclass),
    categorize.confidence_column_of(regclass, name),
    categorize.category_column_of(regclass, name),
    categorize.review(regclass, int, bigint, name, name),
    categorize.accept(regclass, bigint, name, name),
    categorize.diff_rule(text, text, bigint, regclass, numeric, numeric, int)
    FROM PUBLIC;
REVOKE ALL ON categorize.rule_conflicts FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    categorize.columns_of(regclass),
    categorize.confidence_column_of(regclass, name),
    categorize.category_column_of(regclass, name),
    categorize.review(regclass, int, bigint, name, name),
    categorize.diff_rule(text, text, bigint, regclass, numeric, numeric, int)
    TO categorize_reader;
GRANT EXECUTE ON FUNCTION categorize.accept(regclass, bigint, name, name) TO categorize_writer;
GRANT EXECUTE ON FUNCTION categorize.rule_conflicts() TO categorize_admin;
GRANT SELECT ON categorize.rule_conflicts TO categorize_admin;
