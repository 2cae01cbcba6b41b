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

--
-- recategorize() shared by sessions that claim ranges (issue 14)
--

CREATE TABLE categorize.recategorize_claims (
    relid oid NOT NULL,
    target_column name NOT NULL,
    lo bigint NOT NULL,             -- first key (or block) of the range
    hi bigint NOT NULL,             -- first key (or block) after it
    pid int NOT NULL,               -- backend working on it
    claimed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relid, target_column, lo),
    FOREIGN KEY (relid, target_column) REFERENCES categorize.recategorize_runs ON DELETE CASCADE
);

COMMENT ON TABLE categorize.recategorize_claims IS
'ranges of a categorize.recategorize() run that a session is working on, each held by a session-level advisory lock; a range whose lock nobody holds is done again';

REVOKE ALL ON categorize.recategorize_claims FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON categorize.recategorize_claims TO categorize_writer;

CREATE OR REPLACE PROCEDURE categorize.recategorize(tbl regclass,
                                        target_column name DEFAULT 'category_id',
                                        only_uncategorized boolean DEFAULT true,
                                        batch_size int DEFAULT 10000,
                                        confidence_column name DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    conf name := confidence_column;
    key name;
    run categorize.recategorize_runs;
    eligible text;              -- rows this run may write
    changed text;               -- rows whose category or confidence moves
    sets text;
    batch_sql text;
    upper_sql text;
    hi bigint;
    n_rows bigint;
    n_changed bigint;
    session_rows bigint := 0;
    session_start timestamptz := pg_catalog.clock_timestamp();
    rate numeric;
    blocks_per_batch bigint;
    claim categorize.recategorize_claims;
    claim_lock bigint;
    walked boolean;
    started boolean := false;
BEGIN
    -- Every transaction of the procedure runs with a safe search_path (a
    -- procedure that commits cannot have a SET clause): set it again after
    -- each COMMIT
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF tbl IS NULL OR target_column IS NULL THEN
        RAISE EXCEPTION 'tbl and target_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
                   WHERE attrelid = tbl AND attname = target_column
                     AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', target_column, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = tbl AND a.attname = target_column
                     AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
                         IN ('int4'::regtype, 'int8'::regtype, 'numeric'::regtype)) THEN
        RAISE EXCEPTION 'column "%" must be bigint, integer or numeric to hold a category id', target_column
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- The confidence column marks the rows the engine set (auto_categorize()
    -- fills it with the category, and clears it when a user changes the
    -- category); by default it is the target's name with _id replaced by
    -- _confidence, used when it exists.
    IF conf IS NULL THEN
        conf := pg_catalog.regexp_replace(target_column, '(_id)?$', '_confidence');
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
                       WHERE attrelid = tbl AND attname = conf AND attnum > 0 AND NOT attisdropped) THEN
            conf := NULL;
        END IF;
    ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
                      WHERE attrelid = tbl AND attname = conf AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', conf, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    IF conf IS NOT NULL AND NOT EXISTS (
           SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = tbl AND a.attname = conf
              AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
                  IN ('float4'::regtype, 'float8'::regtype, 'numeric'::regtype)) THEN
        RAISE EXCEPTION 'column "%" must be real, double precision or numeric to hold a confidence', conf
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT only_uncategorized AND conf IS NULL THEN
        RAISE EXCEPTION 'cannot tell the categories the engine set from those users set in %', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Relation %s has no confidence column for %I.', tbl, target_column),
                  HINT = 'Add a confidence column filled by auto_categorize(), name it in confidence_column, or use only_uncategorized => true.';
    END IF;

    -- Walk a single-column integer primary key in key order, or else the heap
    -- by block ranges (TID range scans)
    SELECT a.attname INTO key
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = tbl AND i.indisprimary AND i.indnkeyatts = 1
      AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype);

    -- Start a run, or join (resume) the unfinished one with the same
    -- settings: sessions that call it at once share its ranges
    SELECT * INTO run FROM categorize.recategorize_runs r
    WHERE r.relid = tbl AND r.target_column = recategorize.target_column
    FOR UPDATE;
    IF FOUND AND (run.finished_at IS NOT NULL
       OR run.only_uncategorized IS DISTINCT FROM recategorize.only_uncategorized
       OR run.confidence_column IS DISTINCT FROM conf
       OR run.key_column IS DISTINCT FROM key) THEN
        DELETE FROM categorize.recategorize_runs r
        WHERE r.relid = tbl AND r.target_column = recategorize.target_column;
        run := NULL;
    END IF;
    IF run.relid IS NULL THEN
        INSERT INTO categorize.recategorize_runs
            (relid, target_column, confidence_column, only_uncategorized, key_column,
             end_key, rows_total, pid)
        VALUES (tbl, target_column, conf, only_uncategorized, key,
                0, 0, pg_catalog.pg_backend_pid())
        ON CONFLICT ON CONSTRAINT recategorize_runs_pkey DO NOTHING
        RETURNING * INTO run;
        started := run.relid IS NOT NULL;
        IF NOT started THEN
            -- another session started the same run meanwhile: join it
            SELECT * INTO run FROM categorize.recategorize_runs r
            WHERE r.relid = tbl AND r.target_column = recategorize.target_column;
        END IF;
    END IF;
    IF started THEN
        EXECUTE pg_catalog.format('SELECT count(*) FROM %s', tbl) INTO run.rows_total;
        IF key IS NOT NULL THEN
            EXECUTE pg_catalog.format('SELECT max(%I) FROM %s', key, tbl) INTO run.end_key;
        ELSE
            run.end_key := pg_catalog.pg_relation_size(tbl)
                           / pg_catalog.current_setting('block_size')::bigint;
        END IF;
        UPDATE categorize.recategorize_runs r
        SET rows_total = run.rows_total, end_key = coalesce(run.end_key, 0)
        WHERE r.relid = tbl AND r.target_column = recategorize.target_column;
    ELSE
        RAISE NOTICE 'recategorize %: resuming after % of % rows', tbl, run.rows_done, run.rows_total;
    END IF;
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

    -- eligible: a format() pattern, %1$s the row (s, t) or the column prefix
    IF only_uncategorized THEN
        eligible := '%1$s' || pg_catalog.format('.%I IS NULL', target_column);
    ELSE
        eligible := pg_catalog.format('(%%1$s.%I IS NULL OR %%1$s.%I IS NOT NULL)', target_column, conf);
    END IF;
    sets := pg_catalog.format('%I = (r.c).category_id', target_column);
    changed := 'r.old_category IS DISTINCT FROM (r.c).category_id';
    IF conf IS NOT NULL THEN
        sets := sets || pg_catalog.format(', %I = (r.c).confidence', conf);
        -- a confidence that moved by less than 0.005 is not worth a new row version
        changed := changed || ' OR (r.old_confidence IS NULL) <> ((r.c).confidence IS NULL)'
                           || ' OR abs(r.old_confidence - (r.c).confidence) >= 0.005';
    END IF;

    -- One batch: categorize the eligible rows of a range, then write the rows
    -- that change, found again by ctid.  $1, $2: the range [lo, hi) of keys
    -- or blocks.  The eligibility test is repeated in the UPDATE so that a
    -- row a user changed meanwhile is left alone.
    batch_sql := pg_catalog.format(
        'WITH r AS MATERIALIZED ('
        '  SELECT s.ctid AS tid, s.%1$I AS old_category, %2$s AS old_confidence, %3$s AS eligible,'
        '         CASE WHEN %3$s THEN categorize.categorize_confidence(s) END AS c'
        '  FROM %4$s s WHERE %5$s'
        '), u AS ('
        '  UPDATE %4$s t SET %6$s FROM r'
        '  WHERE r.eligible AND (%7$s) AND t.ctid = r.tid AND %8$s'
        '  RETURNING 1'
        ') SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM u)',
        target_column,
        CASE WHEN conf IS NULL THEN 'NULL::real' ELSE pg_catalog.format('s.%I', conf) END,
        pg_catalog.format(eligible, 's'),
        tbl,
        CASE WHEN key IS NOT NULL
             THEN pg_catalog.format('s.%1$I >= $1 AND s.%1$I < $2', key)
             ELSE 's.ctid >= pg_catalog.format(''(%s,0)'', $1)::tid AND s.ctid < pg_catalog.format(''(%s,0)'', $2)::tid'
        END,
        sets,
        changed,
        pg_catalog.format(eligible, 't'));
    IF key IS NOT NULL THEN
        -- the end of a batch: the key after the batch_size-th from $1
        upper_sql := pg_catalog.format(
            'SELECT %1$I FROM %2$s WHERE %1$I >= $1 ORDER BY %1$I OFFSET $2 LIMIT 1', key, tbl);
    ELSE
        SELECT greatest(1, batch_size / greatest(1.0, c.reltuples / greatest(c.relpages, 1)))::bigint
        INTO blocks_per_batch
        FROM pg_catalog.pg_class c WHERE c.oid = tbl;
    END IF;

    -- Each batch claims a range [lo, hi) of keys or blocks in a short
    -- transaction of its own, then categorizes it in another: sessions
    -- that call recategorize() on the same run work on different ranges
    -- at once.  A claim is held by a session-level advisory lock; a claim
    -- whose lock nobody holds belongs to a session that died, and is done
    -- again by the next session that looks.
    LOOP
        SELECT * INTO run FROM categorize.recategorize_runs r
        WHERE r.relid = tbl AND r.target_column = recategorize.target_column
        FOR UPDATE;
        EXIT WHEN NOT FOUND OR run.finished_at IS NOT NULL;
        claim := NULL;
        -- claims this session left behind when a call of it failed, then
        -- claims of sessions that are gone
        FOR claim IN
            SELECT * FROM categorize.recategorize_claims c
            WHERE c.relid = tbl AND c.target_column = recategorize.target_column
            ORDER BY c.pid = pg_catalog.pg_backend_pid() DESC, c.lo
        LOOP
            claim_lock := pg_catalog.hashtextextended(
                pg_catalog.format('categorize.recategorize %s %s %s', tbl::oid, target_column, claim.lo), 0);
            -- a failed call of this session still holds its claim's lock
            EXIT WHEN claim.pid = pg_catalog.pg_backend_pid() AND EXISTS (
                SELECT FROM pg_catalog.pg_locks l
                 WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid()
                   AND l.database = (SELECT oid FROM pg_catalog.pg_database
                                      WHERE datname = pg_catalog.current_database())
                   AND l.classid = ((claim_lock >> 32) & 4294967295)::oid
                   AND l.objid = (claim_lock & 4294967295)::oid AND l.objsubid = 1);
            EXIT WHEN pg_catalog.pg_try_advisory_lock(claim_lock);
            claim := NULL;
        END LOOP;
        IF claim.lo IS NOT NULL THEN
            RAISE NOTICE 'recategorize %: redoing the range from % of a session that stopped', tbl, claim.lo;
            UPDATE categorize.recategorize_claims c SET pid = pg_catalog.pg_backend_pid(),
                   claimed_at = pg_catalog.now()
            WHERE c.relid = tbl AND c.target_column = recategorize.target_column AND c.lo = claim.lo;
        ELSE
            IF run.next_key IS NULL THEN
                IF key IS NOT NULL THEN
                    EXECUTE pg_catalog.format('SELECT min(%I) FROM %s', key, tbl) INTO run.next_key;
                ELSE
                    run.next_key := 0;
                END IF;
            END IF;
            walked := run.next_key IS NULL OR run.next_key > run.end_key
                      OR (key IS NULL AND run.next_key >= run.end_key);
            IF walked THEN
                -- nothing left to claim: the run ends once no claim is left
                UPDATE categorize.recategorize_runs r
                SET finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp(),
                    pid = pg_catalog.pg_backend_pid()
                WHERE r.relid = tbl AND r.target_column = recategorize.target_column
                  AND NOT EXISTS (SELECT FROM categorize.recategorize_claims c
                                  WHERE c.relid = tbl AND c.target_column = recategorize.target_column);
                COMMIT;
                EXIT;
            END IF;
            IF key IS NOT NULL THEN
                EXECUTE upper_sql INTO hi USING run.next_key, batch_size;
                hi := coalesce(least(hi, run.end_key + 1), run.end_key + 1);
            ELSE
                hi := least(run.next_key + blocks_per_batch, run.end_key);
            END IF;
            INSERT INTO categorize.recategorize_claims (relid, target_column, lo, hi, pid)
            VALUES (tbl, target_column, run.next_key, hi, pg_catalog.pg_backend_pid())
            RETURNING * INTO claim;
            claim_lock := pg_catalog.hashtextextended(
                pg_catalog.format('categorize.recategorize %s %s %s', tbl::oid, target_column, claim.lo), 0);
            IF NOT pg_catalog.pg_try_advisory_lock(claim_lock) THEN
                RAISE EXCEPTION 'recategorize %: the lock of a new range is taken', tbl
                    USING ERRCODE = 'lock_not_available',
                          HINT = 'Another session holds an advisory lock of the same key; call recategorize again.';
            END IF;
            UPDATE categorize.recategorize_runs r SET next_key = hi
            WHERE r.relid = tbl AND r.target_column = recategorize.target_column;
        END IF;
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

        -- The range, in a transaction of its own
        PERFORM pg_catalog.set_config('categorize.recategorizing', 'on', true);
        -- the rows that change are few or scattered: fetch them by ctid
        -- rather than hash the whole table
        PERFORM pg_catalog.set_config('enable_hashjoin', 'off', true);
        PERFORM pg_catalog.set_config('enable_mergejoin', 'off', true);
        EXECUTE batch_sql INTO n_rows, n_changed USING claim.lo, claim.hi;
        DELETE FROM categorize.recategorize_claims c
        WHERE c.relid = tbl AND c.target_column = recategorize.target_column AND c.lo = claim.lo;
        UPDATE categorize.recategorize_runs r
        SET rows_done = r.rows_done + n_rows,
            rows_changed = r.rows_changed + n_changed,
            rows_total = greatest(r.rows_total, r.rows_done + n_rows),
            updated_at = pg_catalog.clock_timestamp(), pid = pg_catalog.pg_backend_pid()
        WHERE r.relid = tbl AND r.target_column = recategorize.target_column
        RETURNING * INTO run;
        COMMIT;
        PERFORM pg_catalog.pg_advisory_unlock(claim_lock);
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

        session_rows := session_rows + n_rows;
        rate := session_rows / greatest(extract(epoch FROM pg_catalog.clock_timestamp() - session_start), 0.001);
        RAISE NOTICE 'recategorize %: % of % rows (% %%), % changed, % rows/s, ETA %',
            tbl, run.rows_done, run.rows_total,
            round(100.0 * run.rows_done / greatest(run.rows_total, 1), 1),
            run.rows_changed, round(rate),
            pg_catalog.to_char(pg_catalog.make_interval(
                secs => round(greatest(run.rows_total - run.rows_done, 0) / greatest(rate, 1))), 'HH24:MI:SS');
    END LOOP;
END
$$;

-- Feedback of corrections on patterns (issue 14): the hit or miss a
-- correction gives the pattern that answered.  learn_correction() adds it
-- to the pattern's row when the row is free, and queues it here while
-- another transaction holds the row (or held it lately), so that many
-- users correcting a popular merchant do not all update (and wait for) one
-- row.  The categorize worker where it serves the database, else the next
-- correction, adds the queue to categorize.patterns.hits and misses, at
-- most every categorize.feedback_delay.  Durable and dumped like the
-- corrections themselves: a crash or a restore loses none.
CREATE TABLE categorize.pattern_feedback (
    pattern_id  bigint NOT NULL,
    hits        int NOT NULL DEFAULT 0,
    misses      int NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT pattern_feedback_counts_check CHECK (hits >= 0 AND misses >= 0)
);

COMMENT ON TABLE categorize.pattern_feedback IS
'hits and misses of corrections not yet added to categorize.patterns (its row was busy); folded by the categorize worker or the next correction';

SELECT pg_catalog.pg_extension_config_dump('categorize.pattern_feedback', '');
REVOKE ALL ON categorize.pattern_feedback FROM PUBLIC;
GRANT SELECT ON categorize.pattern_feedback TO categorize_admin;
