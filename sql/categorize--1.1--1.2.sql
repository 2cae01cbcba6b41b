/* categorize--1.1--1.2.sql: learning 2.0, a read path that never writes, rule health, scale-out */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.2'" to load this file. \quit

--
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
