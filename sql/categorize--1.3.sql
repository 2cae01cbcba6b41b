/* categorize--1.3.sql: the objects of categorize 1.3 */

-- CREATE EXTENSION categorize runs this script alone.  A database that had
-- 1.0, 1.1 or 1.2 reaches 1.3 through the update scripts (categorize--1.0--1.1.sql,
-- categorize--1.1--1.2.sql, categorize--1.2--1.3.sql) instead, and both ways must leave the same objects, privileges and
-- pg_dump registrations (test/t/012_install_paths.pl compares them): a
-- change here goes into a new update script and into the full script of
-- the new version, never into this file once released.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION categorize" to load this file. \quit

--
-- Text matching: normalization (used by a trigger below), the match
-- operators and their GIN operator class (used by an index below)
--

CREATE FUNCTION categorize.normalize(text)
RETURNS text
AS 'MODULE_PATHNAME', 'categorize_normalize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.normalize(text) IS
'normalize merchant or description text the way patterns and expenses are matched: Unicode case folding, accents and card-statement noise removed, words separated by one space';

-- Match operators and their GIN operator class (issue 5)

CREATE FUNCTION categorize.match_contains(doc text, pattern text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'categorize_match_contains'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.match_contains(text, text) IS
'true if the words of normalize(pattern) appear, adjacent and in order, among the words of normalize(doc): how merchant and keyword patterns match';

CREATE FUNCTION categorize.match_contained(pattern text, doc text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'categorize_match_contained'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.match_contained(text, text) IS
'match_contains with the pattern first';

CREATE OPERATOR categorize.@~ (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = categorize.match_contains,
    COMMUTATOR = OPERATOR(categorize.~@),
    RESTRICT = matchingsel,
    JOIN = matchingjoinsel
);

COMMENT ON OPERATOR categorize.@~ (text, text) IS
'the text on the left matches the pattern on the right (normalized words, at word boundaries)';

CREATE OPERATOR categorize.~@ (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = categorize.match_contained,
    COMMUTATOR = OPERATOR(categorize.@~),
    RESTRICT = matchingsel,
    JOIN = matchingjoinsel
);

COMMENT ON OPERATOR categorize.~@ (text, text) IS
'the pattern on the left matches the text on the right';

CREATE FUNCTION categorize.match_extract_value(text, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'categorize_match_extract_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION categorize.match_extract_query(text, internal, int2, internal, internal, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'categorize_match_extract_query'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION categorize.match_consistent(internal, int2, text, int4, internal, internal, internal, internal)
RETURNS boolean
AS 'MODULE_PATHNAME', 'categorize_match_consistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION categorize.match_triconsistent(internal, int2, text, int4, internal, internal, internal)
RETURNS "char"
AS 'MODULE_PATHNAME', 'categorize_match_triconsistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.match_extract_value(text, internal, internal) IS 'GIN support of categorize.match_ops (internal)';
COMMENT ON FUNCTION categorize.match_extract_query(text, internal, int2, internal, internal, internal, internal) IS 'GIN support of categorize.match_ops (internal)';
COMMENT ON FUNCTION categorize.match_consistent(internal, int2, text, int4, internal, internal, internal, internal) IS 'GIN support of categorize.match_ops (internal)';
COMMENT ON FUNCTION categorize.match_triconsistent(internal, int2, text, int4, internal, internal, internal) IS 'GIN support of categorize.match_ops (internal)';

CREATE OPERATOR CLASS categorize.match_ops
    FOR TYPE text USING gin AS
        OPERATOR 1 categorize.@~ (text, text),
        OPERATOR 2 categorize.~@ (text, text),
        FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
        FUNCTION 2 categorize.match_extract_value(text, internal, internal),
        FUNCTION 3 categorize.match_extract_query(text, internal, int2, internal, internal, internal, internal),
        FUNCTION 4 categorize.match_consistent(internal, int2, text, int4, internal, internal, internal, internal),
        FUNCTION 6 categorize.match_triconsistent(internal, int2, text, int4, internal, internal, internal),
        STORAGE int4;

COMMENT ON OPERATOR CLASS categorize.match_ops USING gin IS
'index normalized words of a text column so that @~ (rule preview) and ~@ (which patterns fire) use the index';

--
-- Tables
--

-- Categories: owner_id NULL means visible to everyone.
CREATE TABLE categorize.categories (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    parent_id   bigint NULL REFERENCES categorize.categories,
    owner_id    bigint NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT categories_owner_name_key UNIQUE NULLS NOT DISTINCT (owner_id, name),
    CONSTRAINT categories_name_check CHECK (pg_catalog.btrim(name) <> ''),
    CONSTRAINT categories_parent_check CHECK (parent_id IS DISTINCT FROM id)
);

COMMENT ON TABLE categorize.categories IS
'expense categories; owner_id NULL = visible to every user';

-- Patterns: what the engine matches.  value_norm and change_xid are kept by
-- the trigger below; change_xid lets every backend fetch only what changed.
CREATE TABLE categorize.patterns (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    category_id bigint NOT NULL REFERENCES categorize.categories ON DELETE CASCADE,
    kind        text NOT NULL,
    value       text NOT NULL,
    amount_min  numeric NULL,
    amount_max  numeric NULL,
    owner_id    bigint NULL,
    priority    int NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    source      text NOT NULL DEFAULT 'manual',
    hits        bigint NOT NULL DEFAULT 0,
    misses      bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    value_norm  text NULL,
    change_xid  xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    confirmed   bigint NULL,
    taught      bigint NOT NULL DEFAULT 0,
    weight      double precision NOT NULL DEFAULT 0,
    weight_at   bigint NOT NULL DEFAULT 0,
    amount_weight double precision NOT NULL DEFAULT 0,
    log_amount  double precision NULL,
    CONSTRAINT patterns_kind_check CHECK (kind IN ('merchant', 'keyword', 'regex')),
    CONSTRAINT patterns_source_check CHECK (source IN ('manual', 'learned')),
    CONSTRAINT patterns_amount_range_check
        CHECK (amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max),
    CONSTRAINT patterns_counts_check CHECK (hits >= 0 AND misses >= 0),
    CONSTRAINT patterns_evidence_check CHECK (taught >= 0 AND weight >= 0 AND amount_weight >= 0)
);

COMMENT ON TABLE categorize.patterns IS
'patterns that map expenses to categories; source = ''learned'' rows are written by learn_correction()';
COMMENT ON COLUMN categorize.patterns.value_norm IS
'categorize.normalize(value) for merchant and keyword patterns (maintained by a trigger)';
COMMENT ON COLUMN categorize.patterns.confirmed IS
'learned patterns: when a correction last confirmed it (from categorize.confirmation_seq); the most recent one of a merchant wins';
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
COMMENT ON COLUMN categorize.patterns.change_xid IS
'transaction that last changed the row (maintained by a trigger); lets backends refresh incrementally';

CREATE SEQUENCE categorize.confirmation_seq;

CREATE INDEX patterns_owner_idx ON categorize.patterns (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX patterns_change_xid_idx ON categorize.patterns (change_xid);
CREATE INDEX patterns_category_idx ON categorize.patterns (category_id);
-- value_norm first: learning looks its keys up by it, for every owner
CREATE UNIQUE INDEX patterns_learned_key ON categorize.patterns
    (value_norm, owner_id, category_id) NULLS NOT DISTINCT
    WHERE source = 'learned' AND kind = 'merchant' AND amount_min IS NULL AND amount_max IS NULL;
CREATE INDEX patterns_value_norm_idx ON categorize.patterns (value_norm, category_id)
    WHERE source = 'learned';
-- Everyone's patterns, read at every build of everyone's compiled set, by
-- index when the owners' patterns outnumber them
CREATE INDEX patterns_everyone_idx ON categorize.patterns (id) WHERE owner_id IS NULL AND active;

CREATE INDEX patterns_value_match_idx ON categorize.patterns USING gin (value categorize.match_ops);

COMMENT ON INDEX categorize.patterns_value_match_idx IS
'finds the patterns whose words appear in a text: value ~@ text';

-- Corrections: one row per accepted correction.  The token model is a
-- function of this table (rows with learn_scope 'all' or 'owner').
CREATE TABLE categorize.corrections (
    id                  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    owner_id            bigint NULL,
    expense_id          bigint NULL,
    merchant_name       text NULL,
    description         text NULL,
    amount              numeric NULL,
    from_category_id    bigint NULL,
    to_category_id      bigint NOT NULL REFERENCES categorize.categories ON DELETE CASCADE,
    from_pattern_id     bigint NULL,
    learn_scope         text NOT NULL DEFAULT 'all',
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    change_xid          xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    CONSTRAINT corrections_learn_scope_check CHECK (learn_scope IN ('all', 'owner', 'repeat', 'none'))
);

COMMENT ON TABLE categorize.corrections IS
'every correction accepted by learn_correction(): who, which expense, the texts, from and to category';
COMMENT ON COLUMN categorize.corrections.learn_scope IS
'what the correction taught: all (owner and, by promotion, everyone), owner (the owner only), repeat (the learned pattern only: its owner, merchant and category were taught before, so the token model has it), none (recorded only)';

-- An expense's corrections, for learn_correction().  Not unique: filing an
-- expense back under a category it had before is a new correction (only a
-- repeat of the latest one is skipped).
CREATE INDEX corrections_expense_idx ON categorize.corrections (expense_id, owner_id, id)
    WHERE expense_id IS NOT NULL;
CREATE INDEX corrections_owner_idx ON categorize.corrections (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX corrections_change_xid_idx ON categorize.corrections (change_xid);

-- Deleted patterns, so that backends drop them without a full reload.
CREATE TABLE categorize.pattern_tombstones (
    pattern_id  bigint NOT NULL,
    owner_id    bigint NULL,
    change_xid  xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()
);

COMMENT ON TABLE categorize.pattern_tombstones IS
'ids of deleted patterns, read by backends refreshing their compiled sets (internal)';

CREATE INDEX pattern_tombstones_change_xid_idx ON categorize.pattern_tombstones (change_xid);

-- A single row whose change tells every backend to reload everything
-- (TRUNCATE, corrections changed other than by insert).
CREATE TABLE categorize.reload_epoch (
    id          int PRIMARY KEY DEFAULT 1,
    epoch       bigint NOT NULL DEFAULT 0,
    change_xid  xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    CONSTRAINT reload_epoch_one_row CHECK (id = 1)
);

COMMENT ON TABLE categorize.reload_epoch IS
'bumped when backends must reload every compiled set (internal)';

INSERT INTO categorize.reload_epoch DEFAULT VALUES;

-- pg_dump must dump the rows users own (categories, patterns, corrections)
SELECT pg_catalog.pg_extension_config_dump('categorize.categories', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.patterns', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.corrections', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.categories_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.patterns_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.corrections_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('categorize.confirmation_seq', '');

--
-- Change tracking triggers (C): validate, normalize and stamp rows; tell
-- every backend at commit that its compiled state is stale.
--

CREATE FUNCTION categorize.patterns_before_write()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_patterns_before_write'
LANGUAGE C;

COMMENT ON FUNCTION categorize.patterns_before_write() IS
'validate a pattern (regex, empty value, amount bounds, category owner); keep value_norm, change_xid and updated_at (internal)';

CREATE FUNCTION categorize.patterns_after_delete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_patterns_after_delete'
LANGUAGE C;

COMMENT ON FUNCTION categorize.patterns_after_delete() IS
'record deleted patterns so that every backend drops them (internal)';

CREATE FUNCTION categorize.corrections_after_insert()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_corrections_after_insert'
LANGUAGE C;

COMMENT ON FUNCTION categorize.corrections_after_insert() IS
'feed a new correction to this transaction''s model and tell every backend at commit (internal)';

CREATE FUNCTION categorize.bump_reload_epoch()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_bump_reload_epoch'
LANGUAGE C;

COMMENT ON FUNCTION categorize.bump_reload_epoch() IS
'make every backend reload everything after TRUNCATE, or after corrections were updated or deleted (internal)';

CREATE FUNCTION categorize.categories_before_write()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_categories_before_write'
LANGUAGE C;

COMMENT ON FUNCTION categorize.categories_before_write() IS
'keep the category tree acyclic and a parent visible to the child''s owner (internal)';

CREATE TRIGGER patterns_before_write
    BEFORE INSERT OR UPDATE ON categorize.patterns
    FOR EACH ROW EXECUTE FUNCTION categorize.patterns_before_write();
CREATE TRIGGER patterns_after_delete
    AFTER DELETE ON categorize.patterns
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.patterns_after_delete();
CREATE TRIGGER patterns_after_truncate
    AFTER TRUNCATE ON categorize.patterns
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
CREATE TRIGGER corrections_after_insert
    AFTER INSERT ON categorize.corrections
    FOR EACH ROW EXECUTE FUNCTION categorize.corrections_after_insert();
CREATE TRIGGER corrections_after_update
    AFTER UPDATE ON categorize.corrections
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
CREATE TRIGGER corrections_after_delete
    AFTER DELETE ON categorize.corrections
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
CREATE TRIGGER corrections_after_truncate
    AFTER TRUNCATE ON categorize.corrections
    FOR EACH STATEMENT EXECUTE FUNCTION categorize.bump_reload_epoch();
CREATE TRIGGER categories_before_write
    BEFORE INSERT OR UPDATE ON categorize.categories
    FOR EACH ROW EXECUTE FUNCTION categorize.categories_before_write();

--
-- Categorization
--

CREATE FUNCTION categorize.categorize(expense record)
RETURNS bigint
AS 'MODULE_PATHNAME', 'categorize_record'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.categorize(record) IS
'category id for an expense row (fields merchant_name, description, amount, user_id read by name), or NULL below categorize.min_confidence';

CREATE FUNCTION categorize.categorize(merchant_name text, description text,
                                      amount numeric DEFAULT NULL,
                                      user_id bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'categorize_values'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION categorize.categorize(text, text, numeric, bigint) IS
'category id for an expense given by its values, or NULL below categorize.min_confidence';

CREATE FUNCTION categorize.categorize_detail(expense record, k int DEFAULT 3,
    OUT rank int, OUT category_id bigint, OUT category text, OUT confidence real,
    OUT pattern_id bigint, OUT kind text, OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'categorize_detail_record'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 3;

COMMENT ON FUNCTION categorize.categorize_detail(record, int) IS
'the k best categories for an expense row, best first, with confidence and the reason (also below the threshold)';

CREATE FUNCTION categorize.categorize_detail(merchant_name text, description text,
    amount numeric DEFAULT NULL, user_id bigint DEFAULT NULL, k int DEFAULT 3,
    OUT rank int, OUT category_id bigint, OUT category text, OUT confidence real,
    OUT pattern_id bigint, OUT kind text, OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'categorize_detail_values'
LANGUAGE C STABLE PARALLEL SAFE ROWS 3;

COMMENT ON FUNCTION categorize.categorize_detail(text, text, numeric, bigint, int) IS
'the k best categories for an expense given by its values, best first, with confidence and the reason';

CREATE TYPE categorize.categorization AS (category_id bigint, confidence real);

COMMENT ON TYPE categorize.categorization IS
'a category and the confidence that it is right';

CREATE FUNCTION categorize.categorize_confidence(expense record)
RETURNS categorize.categorization
AS 'MODULE_PATHNAME', 'categorize_categorize_confidence'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.categorize_confidence(record) IS
'categorize(expense) with the confidence of the answer; both NULL below categorize.min_confidence';

--
-- Learning
--

CREATE FUNCTION categorize.learn_correction(expense record, category_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'categorize_learn_record'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION categorize.learn_correction(record, bigint) IS
'record that the user filed this expense row under category_id, and learn from it';

CREATE FUNCTION categorize.learn_correction(merchant_name text, description text,
                                            amount numeric, user_id bigint,
                                            category_id bigint,
                                            expense_id bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'categorize_learn_values'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION categorize.learn_correction(text, text, numeric, bigint, bigint, bigint) IS
'record that the user filed this expense under category_id, and learn from it';

--
-- Trigger for applications' expense tables
--

CREATE FUNCTION categorize.auto_categorize()
RETURNS trigger
AS 'MODULE_PATHNAME', 'categorize_auto_categorize'
LANGUAGE C;

COMMENT ON FUNCTION categorize.auto_categorize() IS
'BEFORE INSERT OR UPDATE FOR EACH ROW trigger: fill the target column (TG_ARGV[0], default category_id) when it is NULL, and optionally a confidence column (TG_ARGV[1])';

--
-- Rule preview (issue 5)
--

CREATE FUNCTION categorize.preview_rule(expense record, pattern_kind text, value text,
                                        amount_min numeric DEFAULT NULL,
                                        amount_max numeric DEFAULT NULL,
                                        OUT matches boolean, OUT decides boolean)
AS 'MODULE_PATHNAME', 'categorize_preview_rule'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION categorize.preview_rule(record, text, text, numeric, numeric) IS
'whether a rule not yet created (for everyone, priority 0) would match the expense, and whether it would then decide it';

CREATE FUNCTION categorize.preview(pattern_kind text, value text, tbl regclass,
                                   amount_min numeric DEFAULT NULL,
                                   amount_max numeric DEFAULT NULL,
                                   lim int DEFAULT 100)
RETURNS TABLE (row_ctid tid, id bigint, merchant_name text, description text,
               amount numeric, current_category_id bigint, engine_category_id bigint,
               rule_decides boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[];                -- columns of tbl
    int_cols text[];            -- those of an integer or numeric type
    candidates text := 'true';
    q text;
BEGIN
    IF pattern_kind IS NULL OR value IS NULL OR tbl IS NULL THEN
        RAISE EXCEPTION 'pattern_kind, value and tbl must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pattern_kind NOT IN ('merchant', 'keyword', 'regex') THEN
        RAISE EXCEPTION 'invalid pattern kind "%"', pattern_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The kinds are merchant, keyword and regex.';
    END IF;
    IF lim IS NULL OR lim < 0 THEN
        RAISE EXCEPTION 'lim must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT array_agg(a.attname::text),
           array_agg(a.attname::text) FILTER (
               WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                                    'numeric'::regtype))
    INTO cols, int_cols
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;

    -- Merchant and keyword rules match whole words: @~ finds the candidates
    -- (through a categorize.match_ops index when there is one); a regex
    -- rule is tried on every row.  preview_rule() decides exactly.
    IF pattern_kind <> 'regex' THEN
        candidates := 'false';
        IF 'merchant_name' = ANY (cols) THEN
            candidates := candidates || ' OR s.merchant_name::text OPERATOR(categorize.@~) $2';
        END IF;
        IF 'description' = ANY (cols) THEN
            candidates := candidates || ' OR s.description::text OPERATOR(categorize.@~) $2';
        END IF;
    END IF;

    q := pg_catalog.format(
        'SELECT s.ctid, %s, %s, %s, %s, %s, categorize.categorize(s), p.decides '
        'FROM %s s, LATERAL categorize.preview_rule(s, $1, $2, $3, $4) p '
        'WHERE (%s) AND p.matches LIMIT $5',
        CASE WHEN 'id' = ANY (int_cols) THEN 's.id::bigint' ELSE 'NULL::bigint' END,
        CASE WHEN 'merchant_name' = ANY (cols) THEN 's.merchant_name::text' ELSE 'NULL::text' END,
        CASE WHEN 'description' = ANY (cols) THEN 's.description::text' ELSE 'NULL::text' END,
        CASE WHEN 'amount' = ANY (cols) THEN 's.amount::numeric' ELSE 'NULL::numeric' END,
        CASE WHEN 'category_id' = ANY (int_cols) THEN 's.category_id::bigint' ELSE 'NULL::bigint' END,
        tbl, candidates);
    RETURN QUERY EXECUTE q USING pattern_kind, value, amount_min, amount_max, lim;
END
$$;

COMMENT ON FUNCTION categorize.preview(text, text, regclass, numeric, numeric, int) IS
'up to lim rows of tbl that a rule (kind, value, amount range) would match, with the category each has now (category_id), the one categorize() gives now, and whether the rule would decide it';

--
-- Bulk re-categorization (issue 5)
--

CREATE TABLE categorize.recategorize_runs (
    relid oid NOT NULL,             -- the table (an oid: pg_upgrade refuses regclass columns)
    target_column name NOT NULL,
    confidence_column name,         -- marks the rows the engine set; NULL: none
    only_uncategorized boolean NOT NULL,
    key_column name,                -- integer primary key walked; NULL: heap blocks (ctid)
    next_key bigint,                -- first key (or block) not done yet; NULL: from the start
    end_key bigint,                 -- last key (or block count) when the run started
    rows_done bigint NOT NULL DEFAULT 0,
    rows_changed bigint NOT NULL DEFAULT 0,
    rows_total bigint NOT NULL,     -- rows in the table when the run started
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at timestamptz,
    pid int,                        -- backend of the latest batch
    PRIMARY KEY (relid, target_column)
);

COMMENT ON TABLE categorize.recategorize_runs IS
'state of categorize.recategorize() runs, one row per table and target column, updated in the transaction of each batch so that a stopped run resumes where it stopped';

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

CREATE VIEW categorize.recategorize_progress AS
SELECT r.relid::regclass AS relation,
       r.target_column,
       r.only_uncategorized,
       r.rows_done,
       r.rows_total,
       round(100.0 * r.rows_done / greatest(r.rows_total, 1), 1) AS percent,
       r.rows_changed,
       CASE WHEN r.updated_at > r.started_at
            THEN round(r.rows_done / extract(epoch FROM r.updated_at - r.started_at))
       END AS rows_per_second,
       r.started_at,
       r.updated_at,
       r.finished_at,
       a.pid IS NOT NULL AS running,
       a.pid
FROM categorize.recategorize_runs r
LEFT JOIN pg_catalog.pg_stat_activity a
       ON a.pid = r.pid AND r.finished_at IS NULL AND a.state = 'active';

COMMENT ON VIEW categorize.recategorize_progress IS
'progress of categorize.recategorize() runs: rows done of the total, rows changed, rate, and the backend running it';

CREATE PROCEDURE categorize.recategorize(tbl regclass,
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

COMMENT ON PROCEDURE categorize.recategorize(regclass, name, boolean, int, name) IS
'categorize the rows of tbl in batches of batch_size, committing after each: rows whose target_column is NULL, and with only_uncategorized => false also the rows the engine set (confidence_column not NULL); a user''s category is never overwritten; resumes a stopped run; progress in NOTICEs and categorize.recategorize_progress';

--
-- Statistics: counters, latency percentiles and the shared cache (issue 3)
--

CREATE FUNCTION categorize.stats_internal(
    OUT calls bigint, OUT categorized bigint, OUT uncategorized bigint,
    OUT corrections bigint, OUT total_us double precision,
    OUT stats_reset timestamptz,
    OUT cache_hits bigint, OUT cache_misses bigint, OUT hit_ratio double precision,
    OUT evictions bigint, OUT cache_bytes bigint, OUT cache_limit_bytes bigint,
    OUT generation bigint, OUT rebuilds bigint, OUT last_rebuild_ms double precision,
    OUT p50_us double precision, OUT p95_us double precision, OUT p99_us double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'categorize_stats_1_1'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.stats_internal() IS
'raw counters behind categorize.stats (internal)';

-- PARALLEL UNSAFE: stats_reset() writes shared state, which a parallel
-- worker must not do
CREATE FUNCTION categorize.stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'categorize_stats_reset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION categorize.stats_reset() IS
'reset the counters of categorize.stats';

CREATE VIEW categorize.stats AS
    SELECT s.calls,
           s.categorized,
           s.uncategorized,
           s.corrections,
           (SELECT pg_catalog.count(*) FROM categorize.patterns p WHERE p.active) AS patterns,
           CASE WHEN s.calls > 0 THEN s.total_us / s.calls ELSE 0 END AS mean_us,
           s.stats_reset,
           s.cache_hits,
           s.cache_misses,
           s.hit_ratio,
           s.evictions,
           s.cache_bytes,
           s.cache_limit_bytes,
           s.generation,
           s.rebuilds,
           s.last_rebuild_ms,
           s.p50_us,
           s.p95_us,
           s.p99_us
      FROM categorize.stats_internal() s;

COMMENT ON VIEW categorize.stats IS
'categorize() calls, outcomes, corrections, latency percentiles and the shared cache since stats_reset';

--
-- Health
--

CREATE FUNCTION categorize.health(
    OUT check_name text, OUT status text, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'categorize_health'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION categorize.health() IS
'one row per check (library_preloaded, compiled_set_current, cache_within_budget, worker_alive, learning_backlog, subscription_lag) with status ok, warning or critical';

--
-- Privileges (issue 6): three roles, nothing for PUBLIC
--
--   categorize_reader  categorize, categorize_detail, normalize, the match
--                      operators, preview, auto_categorize triggers; read
--                      categories, stats, health and recategorize progress
--   categorize_writer  and learn_correction, recategorize
--   categorize_admin   and change categories and patterns, read and delete
--                      corrections, reset the stats
--
-- The functions read and write the tables as the extension's owner (see
-- src/base/spi_guard.c), so the roles need no privilege on the tables behind
-- them.  Roles belong to the cluster: they are created once and stay after
-- DROP EXTENSION.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['categorize_reader', 'categorize_writer', 'categorize_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
GRANT categorize_reader TO categorize_writer;
GRANT categorize_writer TO categorize_admin;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA categorize FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA categorize FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA categorize FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA categorize FROM PUBLIC;
REVOKE ALL ON SCHEMA categorize FROM PUBLIC;
REVOKE ALL ON TYPE categorize.categorization FROM PUBLIC;

GRANT USAGE ON SCHEMA categorize TO categorize_reader;
GRANT USAGE ON TYPE categorize.categorization TO categorize_reader;
GRANT EXECUTE ON FUNCTION
    categorize.normalize(text),
    categorize.categorize(record),
    categorize.categorize(text, text, numeric, bigint),
    categorize.categorize_detail(record, int),
    categorize.categorize_detail(text, text, numeric, bigint, int),
    categorize.categorize_confidence(record),
    categorize.auto_categorize(),
    categorize.match_contains(text, text),
    categorize.match_contained(text, text),
    categorize.match_extract_value(text, internal, internal),
    categorize.match_extract_query(text, internal, int2, internal, internal, internal, internal),
    categorize.match_consistent(internal, int2, text, int4, internal, internal, internal, internal),
    categorize.match_triconsistent(internal, int2, text, int4, internal, internal, internal),
    categorize.preview_rule(record, text, text, numeric, numeric),
    categorize.preview(text, text, regclass, numeric, numeric, int),
    categorize.stats_internal(),
    categorize.health()
    TO categorize_reader;
GRANT SELECT ON categorize.categories, categorize.stats, categorize.recategorize_progress
    TO categorize_reader;

GRANT EXECUTE ON FUNCTION
    categorize.learn_correction(record, bigint),
    categorize.learn_correction(text, text, numeric, bigint, bigint, bigint)
    TO categorize_writer;
GRANT EXECUTE ON PROCEDURE categorize.recategorize(regclass, name, boolean, int, name)
    TO categorize_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON categorize.recategorize_runs, categorize.recategorize_claims
    TO categorize_writer;

GRANT EXECUTE ON FUNCTION categorize.stats_reset() TO categorize_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON categorize.categories, categorize.patterns TO categorize_admin;
GRANT SELECT, DELETE ON categorize.corrections TO categorize_admin;
GRANT USAGE ON SEQUENCE categorize.categories_id_seq, categorize.patterns_id_seq TO categorize_admin;

--
-- Change signal (issue 3): writers tell every backend that patterns,
-- corrections or categories changed with a relcache invalidation of this
-- table (not of categorize.patterns, as 1.0 did: that also threw away every
-- cached plan that reads patterns); no statement reads this table, so no
-- plan depends on it.
--
-- Created after the privileges above, as in the update from 1.0: its ACL
-- stays the default (NULL; a table grants nothing to PUBLIC anyway) and
-- pg_init_privs has no row for it, so that both ways of installing 1.3
-- leave the same catalogs.
--
CREATE TABLE categorize.change_signal ();

COMMENT ON TABLE categorize.change_signal IS
'(internal) never holds rows: its relcache invalidations, sent at commit by every transaction that changed categories, patterns or corrections, tell every backend, and standbys at replay, to refresh';

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
