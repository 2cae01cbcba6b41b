/* categorize--1.0--1.1.sql: the shared-memory engine (issue 3) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.1'" to load this file. \quit

--
-- Statistics: the shared cache and latency percentiles
--

DROP VIEW categorize.stats;
DROP FUNCTION categorize.stats_internal();

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
'one row per check (library_preloaded, compiled_set_current, cache_within_budget, worker_alive, learning_backlog) with status ok, warning or critical';
