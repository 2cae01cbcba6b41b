/* categorize--1.1--1.2.sql: learning 2.0, a read path that never writes, rule health, scale-out */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.2'" to load this file. \quit

--
-- Learning 2.0 (issue 13): the evidence of each learned merchant pattern.
-- A user's word is kept while it is consistent; when the user filed the
-- merchant under several categories, the answer is the category their
-- corrections favour, weighted by recency and by amount.  Existing learned
-- patterns start with their hits as evidence, all equally recent.
--
-- (columns added without a default, then given one: a default at ADD
-- COLUMN would be stored as the columns' "missing value", which a fresh
-- install does not have, and pg_upgrade's dumps would differ)
ALTER TABLE categorize.patterns
    ADD COLUMN taught bigint,
    ADD COLUMN weight double precision,
    ADD COLUMN weight_at bigint,
    ADD COLUMN amount_weight double precision,
    ADD COLUMN log_amount double precision NULL;
ALTER TABLE categorize.patterns
    ALTER COLUMN taught SET DEFAULT 0,
    ALTER COLUMN weight SET DEFAULT 0,
    ALTER COLUMN weight_at SET DEFAULT 0,
    ALTER COLUMN amount_weight SET DEFAULT 0;
UPDATE categorize.patterns SET taught = 0, weight = 0, weight_at = 0, amount_weight = 0;
ALTER TABLE categorize.patterns
    ALTER COLUMN taught SET NOT NULL,
    ALTER COLUMN weight SET NOT NULL,
    ALTER COLUMN weight_at SET NOT NULL,
    ALTER COLUMN amount_weight SET NOT NULL,
    ADD CONSTRAINT patterns_evidence_check CHECK (taught >= 0 AND weight >= 0 AND amount_weight >= 0);

COMMENT ON COLUMN categorize.patterns.taught IS
'learned patterns: corrections (and confirmations) of the owner that filed this merchant under this category';
COMMENT ON COLUMN categorize.patterns.weight IS
'learned patterns: the same, each worth 0.85 to the power of the owner''s later corrections of the merchant (recency), as of weight_at';
COMMENT ON COLUMN categorize.patterns.weight_at IS
'learned patterns: the owner''s corrections of the merchant (taught of all its categories) when weight was last brought up to date';
COMMENT ON COLUMN categorize.patterns.amount_weight IS
'learned patterns: the part of weight that came with an amount';
COMMENT ON COLUMN categorize.patterns.log_amount IS
'learned patterns: the weighted mean of ln(abs(amount)) of those corrections; NULL when none had an amount';

UPDATE categorize.patterns
   SET taught = greatest(hits, 1), weight = greatest(hits, 1)
 WHERE source = 'learned';
UPDATE categorize.patterns p
   SET weight_at = (SELECT sum(q.taught) FROM categorize.patterns q
                     WHERE q.source = 'learned' AND q.kind = 'merchant' AND q.active
                       AND q.amount_min IS NULL AND q.amount_max IS NULL
                       AND q.owner_id IS NOT DISTINCT FROM p.owner_id AND q.value_norm = p.value_norm)
 WHERE p.source = 'learned' AND p.kind = 'merchant' AND p.active
   AND p.amount_min IS NULL AND p.amount_max IS NULL;

-- A correction that repeats an (owner, merchant, category) already taught
-- adds evidence to the learned pattern but no document to the token model:
-- the model learns each way a user files a merchant once.
ALTER TABLE categorize.corrections
    DROP CONSTRAINT corrections_learn_scope_check,
    ADD CONSTRAINT corrections_learn_scope_check CHECK (learn_scope IN ('all', 'owner', 'repeat', 'none'));
COMMENT ON COLUMN categorize.corrections.learn_scope IS
'what the correction taught: all (owner and, by promotion, everyone), owner (the owner only), repeat (the learned pattern only: its owner, merchant and category were taught before, so the token model has it), none (recorded only)';

--
-- Bulk learning from history (issue 13): CALL categorize.learn_from(tbl)
-- learns from rows a user already categorized, in date order, in committed
-- batches; a stopped run resumes, and a second run learns nothing new.
--
CREATE FUNCTION categorize.learn_rows(ids bigint[], user_ids bigint[], merchant_names text[],
                                      descriptions text[], amounts numeric[], category_ids bigint[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'categorize_learn_rows'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION categorize.learn_rows(bigint[], bigint[], text[], text[], numeric[], bigint[]) IS
'(internal) one batch of learn_from(): record and learn the rows that are news; returns how many';

CREATE TABLE categorize.learn_from_runs (
    relid oid NOT NULL,             -- the table (an oid: pg_upgrade refuses regclass columns)
    category_column name NOT NULL,
    date_column name,               -- the order of the rows (then id); NULL: id only
    since timestamptz,
    next_date timestamptz,          -- the last row done: (date, id)
    next_id bigint,
    rows_done bigint NOT NULL DEFAULT 0,
    rows_learned bigint NOT NULL DEFAULT 0,
    rows_total bigint NOT NULL,     -- rows to learn from when the run started
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at timestamptz,
    pid int,                        -- backend of the latest batch
    PRIMARY KEY (relid, category_column)
);

COMMENT ON TABLE categorize.learn_from_runs IS
'state of categorize.learn_from() runs, one row per table and category column, updated in the transaction of each batch so that a stopped run resumes after the last row it committed';

CREATE PROCEDURE categorize.learn_from(tbl regclass,
                                       category_column name DEFAULT 'category_id',
                                       since timestamptz DEFAULT NULL,
                                       batch_size int DEFAULT 10000)
LANGUAGE plpgsql
AS $$
DECLARE
    date_col name;
    date_expr text;
    col_user text := 'NULL::bigint';
    col_merchant text := 'NULL::text';
    col_description text := 'NULL::text';
    col_amount text := 'NULL::numeric';
    cols name[];
    run categorize.learn_from_runs;
    eligible text;
    q text;
    r record;
    ids bigint[] := '{}';
    users bigint[] := '{}';
    merchants text[] := '{}';
    descriptions text[] := '{}';
    amounts numeric[] := '{}';
    cats bigint[] := '{}';
    n int := 0;
    learned bigint;
    last_date timestamptz;
    last_id bigint;
    session_rows bigint := 0;
    session_start timestamptz := pg_catalog.clock_timestamp();
    rate numeric;
BEGIN
    -- A procedure that commits cannot have a SET clause: set a safe
    -- search_path in every transaction
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF tbl IS NULL OR category_column IS NULL THEN
        RAISE EXCEPTION 'tbl and category_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = tbl AND a.attname = category_column AND a.attnum > 0
                     AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', category_column, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = tbl AND a.attname = category_column
                     AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
                         IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)) THEN
        RAISE EXCEPTION 'column "%" must be bigint, integer or numeric to hold a category id', category_column
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = tbl AND a.attname = 'id' AND a.attnum > 0 AND NOT a.attisdropped
                     AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
                         IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) THEN
        RAISE EXCEPTION 'relation % has no integer column "id"', tbl
            USING ERRCODE = 'undefined_column',
                  DETAIL = 'learn_from() records each row as a correction of the expense with that id, which makes a second run learn nothing new.';
    END IF;

    -- The columns categorize(expense) reads, when the table has them
    SELECT pg_catalog.array_agg(a.attname) INTO cols
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT ('merchant_name' = ANY (cols) OR 'description' = ANY (cols)) THEN
        RAISE EXCEPTION 'relation % has none of the columns merchant_name and description', tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    IF 'user_id' = ANY (cols) THEN col_user := 't.user_id::bigint'; END IF;
    IF 'merchant_name' = ANY (cols) THEN col_merchant := 't.merchant_name::text'; END IF;
    IF 'description' = ANY (cols) THEN col_description := 't.description::text'; END IF;
    IF 'amount' = ANY (cols) THEN col_amount := 't.amount::numeric'; END IF;

    -- The rows' order: the table's first date or timestamp column, then id
    SELECT a.attname INTO date_col
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
      AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)
          IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)
    ORDER BY a.attnum LIMIT 1;
    IF since IS NOT NULL AND date_col IS NULL THEN
        RAISE EXCEPTION 'relation % has no date or timestamp column to compare with since', tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    date_expr := CASE WHEN date_col IS NULL THEN '''-infinity''::timestamptz'
                      ELSE pg_catalog.format('coalesce(t.%I::timestamptz, ''-infinity'')', date_col) END;
    eligible := pg_catalog.format('t.%I IS NOT NULL', category_column);
    IF since IS NOT NULL THEN
        eligible := eligible || pg_catalog.format(' AND t.%I >= %L::timestamptz', date_col, since);
    END IF;

    -- Start a run, or resume the unfinished one with the same settings
    SELECT * INTO run FROM categorize.learn_from_runs x
    WHERE x.relid = tbl AND x.category_column = learn_from.category_column;
    IF NOT FOUND OR run.finished_at IS NOT NULL
       OR run.since IS DISTINCT FROM learn_from.since
       OR run.date_column IS DISTINCT FROM date_col THEN
        DELETE FROM categorize.learn_from_runs x
        WHERE x.relid = tbl AND x.category_column = learn_from.category_column;
        INSERT INTO categorize.learn_from_runs (relid, category_column, date_column, since, rows_total, pid)
        VALUES (tbl, category_column, date_col, since, 0, pg_catalog.pg_backend_pid())
        RETURNING * INTO run;
        EXECUTE pg_catalog.format('SELECT count(*) FROM %s t WHERE %s', tbl, eligible) INTO run.rows_total;
        UPDATE categorize.learn_from_runs x SET rows_total = run.rows_total
        WHERE x.relid = tbl AND x.category_column = learn_from.category_column;
    ELSE
        RAISE NOTICE 'learn_from %: resuming after % of % rows', tbl, run.rows_done, run.rows_total;
    END IF;
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

    q := pg_catalog.format(
        'SELECT t.id::bigint AS id, %s AS u, %s AS m, %s AS d, %s AS a, t.%I::bigint AS c, %s AS dt'
        '  FROM %s t WHERE %s AND ($1::bigint IS NULL OR (%s, t.id::bigint) > ($2, $1))'
        ' ORDER BY 7, 1',
        col_user, col_merchant, col_description, col_amount, category_column, date_expr,
        tbl, eligible, date_expr);
    FOR r IN EXECUTE q USING run.next_id, run.next_date LOOP
        ids := ids || r.id;
        users := users || r.u;
        merchants := merchants || r.m;
        descriptions := descriptions || r.d;
        amounts := amounts || r.a;
        cats := cats || r.c;
        last_date := r.dt;
        last_id := r.id;
        n := n + 1;
        IF n >= batch_size THEN
            learned := categorize.learn_rows(ids, users, merchants, descriptions, amounts, cats);
            UPDATE categorize.learn_from_runs x
               SET rows_done = x.rows_done + n, rows_learned = x.rows_learned + learned,
                   next_date = last_date, next_id = last_id, updated_at = pg_catalog.clock_timestamp(),
                   pid = pg_catalog.pg_backend_pid()
             WHERE x.relid = tbl AND x.category_column = learn_from.category_column
            RETURNING * INTO run;
            session_rows := session_rows + n;
            rate := session_rows / greatest(extract(epoch FROM pg_catalog.clock_timestamp() - session_start), 0.001);
            RAISE NOTICE 'learn_from %: % of % rows (% learned), % rows/s, about % s left',
                tbl, run.rows_done, run.rows_total, run.rows_learned, round(rate),
                round(greatest(run.rows_total - run.rows_done, 0) / greatest(rate, 1));
            COMMIT;
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            ids := '{}'; users := '{}'; merchants := '{}'; descriptions := '{}'; amounts := '{}'; cats := '{}';
            n := 0;
        END IF;
    END LOOP;
    learned := 0;
    IF n > 0 THEN
        learned := categorize.learn_rows(ids, users, merchants, descriptions, amounts, cats);
    END IF;
    UPDATE categorize.learn_from_runs x
       SET rows_done = x.rows_done + n, rows_learned = x.rows_learned + learned,
           next_date = coalesce(last_date, x.next_date), next_id = coalesce(last_id, x.next_id),
           updated_at = pg_catalog.clock_timestamp(), finished_at = pg_catalog.clock_timestamp(),
           pid = pg_catalog.pg_backend_pid()
     WHERE x.relid = tbl AND x.category_column = learn_from.category_column
    RETURNING * INTO run;
    RAISE NOTICE 'learn_from %: done, % rows, % learned', tbl, run.rows_done, run.rows_learned;
    COMMIT;
END
$$;

COMMENT ON PROCEDURE categorize.learn_from(regclass, name, timestamptz, int) IS
'learn from the rows of a table that already have a category (a ledger, a migration from another tool), in date order, in committed batches; resumable and idempotent';

REVOKE ALL ON FUNCTION categorize.learn_rows(bigint[], bigint[], text[], text[], numeric[], bigint[]) FROM PUBLIC;
REVOKE ALL ON PROCEDURE categorize.learn_from(regclass, name, timestamptz, int) FROM PUBLIC;
REVOKE ALL ON categorize.learn_from_runs FROM PUBLIC;
GRANT EXECUTE ON FUNCTION categorize.learn_rows(bigint[], bigint[], text[], text[], numeric[], bigint[])
    TO categorize_admin;
GRANT EXECUTE ON PROCEDURE categorize.learn_from(regclass, name, timestamptz, int) TO categorize_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON categorize.learn_from_runs TO categorize_admin;
GRANT SELECT ON categorize.learn_from_runs TO categorize_reader;
-- Usage per rule (issue 14, for issue 15): how many rows each pattern
-- decided for the auto_categorize() trigger, when it last did, and how the
-- corrections of what it decided went.  Reads (categorize() and the like)
-- count nothing; the trigger's decisions count when their transactions
-- commit, in shared memory, and the categorize worker adds them to
-- pattern_usage about once a second.  Nothing writes categorize.patterns
-- for usage: that would make every backend reload its compiled sets.
--
-- pattern_usage is a configuration table (pg_dump keeps its rows): its
-- counts are the history behind unused_rules(), which a restore that
-- forgot them would turn into "every rule unused".
--
CREATE TABLE categorize.pattern_usage (
    pattern_id      bigint PRIMARY KEY REFERENCES categorize.patterns ON DELETE CASCADE,
    decided         bigint NOT NULL DEFAULT 0,
    last_matched_at timestamptz NULL,
    CONSTRAINT pattern_usage_decided_check CHECK (decided >= 0)
);

COMMENT ON TABLE categorize.pattern_usage IS
'rows each pattern decided for the auto_categorize() trigger (committed) and when it last did; written by the categorize worker, never by reads';

SELECT pg_catalog.pg_extension_config_dump('categorize.pattern_usage', '');

-- The corrections of what a pattern decided, for rule_usage
CREATE INDEX corrections_from_pattern_idx ON categorize.corrections (from_pattern_id)
    WHERE from_pattern_id IS NOT NULL;

CREATE VIEW categorize.rule_usage AS
SELECT p.id AS pattern_id,
       p.kind,
       p.value,
       p.category_id,
       p.owner_id,
       p.source,
       u.last_matched_at,
       COALESCE(u.decided, 0) AS decided,
       COALESCE(c.confirmed, 0) AS confirmed,
       COALESCE(c.corrected, 0) AS corrected
FROM categorize.patterns p
LEFT JOIN categorize.pattern_usage u ON u.pattern_id OPERATOR(pg_catalog.=) p.id
LEFT JOIN (
    SELECT x.from_pattern_id,
           pg_catalog.count(*) FILTER (WHERE x.to_category_id OPERATOR(pg_catalog.=) q.category_id) AS confirmed,
           pg_catalog.count(*) FILTER (WHERE x.to_category_id OPERATOR(pg_catalog.<>) q.category_id) AS corrected
    FROM categorize.corrections x
    JOIN categorize.patterns q ON q.id OPERATOR(pg_catalog.=) x.from_pattern_id
    GROUP BY x.from_pattern_id
) c ON c.from_pattern_id OPERATOR(pg_catalog.=) p.id;

COMMENT ON VIEW categorize.rule_usage IS
'usage per pattern: rows it decided for the trigger and when it last did (pattern_usage), and the corrections of expenses it decided that kept its category (confirmed) or changed it (corrected)';

CREATE FUNCTION categorize.unused_rules(older_than interval)
RETURNS SETOF categorize.rule_usage
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.*
    FROM categorize.rule_usage r
    JOIN categorize.patterns p ON p.id = r.pattern_id
    WHERE p.active
      AND (r.last_matched_at IS NULL OR r.last_matched_at < now() - older_than)
    ORDER BY r.last_matched_at NULLS FIRST, r.pattern_id
$$;

COMMENT ON FUNCTION categorize.unused_rules(interval) IS
'active patterns that decided no row for the trigger since now() - older_than, those that never did included; oldest use first';

REVOKE ALL ON FUNCTION categorize.unused_rules(interval) FROM PUBLIC;
GRANT SELECT ON categorize.pattern_usage, categorize.rule_usage TO categorize_admin;
GRANT EXECUTE ON FUNCTION categorize.unused_rules(interval) TO categorize_admin;
-- Logical replication of the reference data (issue 16): triggers for the
-- apply worker.  It runs with session_replication_role = replica, where the
-- triggers above (ENABLE ORIGIN, the default) do not fire, and statement
-- triggers never do.  These fire only there (ENABLE REPLICA): they stamp
-- this server's change_xid and value_norm, record tombstones, and queue the
-- change signal, so that every session of a subscriber uses a replicated
-- change as it would a local one (src/api/change_tracking.c).
--

CREATE FUNCTION categorize.patterns_apply_write()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_patterns_apply_write'
LANGUAGE C;

COMMENT ON FUNCTION categorize.patterns_apply_write() IS
'a pattern written by logical replication: keep value_norm and change_xid as this server computes them, tell every backend at commit (internal)';

CREATE FUNCTION categorize.patterns_apply_delete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_patterns_apply_delete'
LANGUAGE C;

COMMENT ON FUNCTION categorize.patterns_apply_delete() IS
'a pattern deleted by logical replication: record its tombstone, tell every backend at commit (internal)';

CREATE FUNCTION categorize.corrections_apply_write()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_corrections_apply_write'
LANGUAGE C;

COMMENT ON FUNCTION categorize.corrections_apply_write() IS
'a correction written by logical replication: keep change_xid as this server computes it, tell every backend at commit (internal)';

CREATE FUNCTION categorize.corrections_apply_delete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_corrections_apply_delete'
LANGUAGE C;

COMMENT ON FUNCTION categorize.corrections_apply_delete() IS
'a correction deleted by logical replication: make every backend reload at commit (internal)';

CREATE TRIGGER patterns_apply_write
    BEFORE INSERT OR UPDATE ON categorize.patterns
    FOR EACH ROW EXECUTE FUNCTION categorize.patterns_apply_write();
CREATE TRIGGER patterns_apply_delete
    AFTER DELETE ON categorize.patterns
    FOR EACH ROW EXECUTE FUNCTION categorize.patterns_apply_delete();
CREATE TRIGGER patterns_apply_truncate
    AFTER TRUNCATE ON categorize.patterns
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
CREATE TRIGGER corrections_apply_write
    BEFORE INSERT OR UPDATE ON categorize.corrections
    FOR EACH ROW EXECUTE FUNCTION categorize.corrections_apply_write();
CREATE TRIGGER corrections_apply_delete
    AFTER DELETE ON categorize.corrections
    FOR EACH ROW EXECUTE FUNCTION categorize.corrections_apply_delete();
CREATE TRIGGER corrections_apply_truncate
    AFTER TRUNCATE ON categorize.corrections
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
ALTER TABLE categorize.patterns ENABLE REPLICA TRIGGER patterns_apply_write;
ALTER TABLE categorize.patterns ENABLE REPLICA TRIGGER patterns_apply_delete;
ALTER TABLE categorize.patterns ENABLE REPLICA TRIGGER patterns_apply_truncate;
ALTER TABLE categorize.corrections ENABLE REPLICA TRIGGER corrections_apply_write;
ALTER TABLE categorize.corrections ENABLE REPLICA TRIGGER corrections_apply_delete;
ALTER TABLE categorize.corrections ENABLE REPLICA TRIGGER corrections_apply_truncate;

REVOKE ALL ON FUNCTION
    categorize.patterns_apply_write(),
    categorize.patterns_apply_delete(),
    categorize.corrections_apply_write(),
    categorize.corrections_apply_delete()
    FROM PUBLIC;

COMMENT ON FUNCTION categorize.health() IS
'one row per check (library_preloaded, compiled_set_current, cache_within_budget, worker_alive, learning_backlog, subscription_lag) with status ok, warning or critical';
