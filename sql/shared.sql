-- the shared-memory engine seen from SQL: stats columns, health, rollout, kill switch
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee');
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'starbucks');
SELECT categorize.stats_reset();

-- case: every column of the stats view, typed
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'categorize' AND table_name = 'stats' ORDER BY ordinal_position;

-- case: the shared cache counts owner scopes and latency percentiles (an
-- owner with a pattern of their own is looked up at each call)
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'peets', 1);
SELECT categorize.stats_reset();
SELECT categorize.categorize('starbucks', NULL, NULL, u) FROM generate_series(1, 3) u;
SELECT categorize.categorize('peets', NULL, NULL, 1);
SELECT calls, cache_misses >= 3 AS owners_loaded, cache_hits >= 1 AS owner_reused,
       hit_ratio BETWEEN 0 AND 1 AS ratio_in_range, cache_bytes > 0 AS something_cached,
       cache_limit_bytes > cache_bytes AS within_limit, generation >= 1 AS compiled,
       p50_us > 0 AND p50_us <= p95_us AND p95_us <= p99_us AS percentiles_ordered
  FROM categorize.stats;

-- case: an owner with nothing of their own is not looked up again until
-- something changes, and sees their first pattern at once
SELECT cache_hits AS hits_before, cache_misses AS misses_before FROM categorize.stats \gset
SELECT count(categorize.categorize('starbucks', NULL, NULL, 2)) FROM generate_series(1, 5);
SELECT cache_hits = :hits_before AND cache_misses = :misses_before AS not_looked_up_again
  FROM categorize.stats;
SELECT categorize.categorize('blue bottle', NULL, NULL, 2) AS before_own_pattern;
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'blue bottle', 2);
SELECT categorize.categorize('blue bottle', NULL, NULL, 2) AS own_pattern_seen,
       categorize.categorize('blue bottle', NULL, NULL, 3) AS not_for_others;
SELECT cache_hits + cache_misses > :hits_before + :misses_before AS looked_up_after_the_change
  FROM categorize.stats;

-- case: nothing is compiled or cached for an owner with nothing of their
-- own, and a change of another owner's rows does not make the session look
-- them up again; a change of their own does
SELECT rebuilds AS rebuilds_before, cache_bytes AS bytes_before FROM categorize.stats \gset
SELECT categorize.categorize('starbucks', NULL, NULL, 41) AS owner_41_answer;
SELECT rebuilds = :rebuilds_before AS nothing_compiled, cache_bytes = :bytes_before AS nothing_cached
  FROM categorize.stats;
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'ritual', 42);
SELECT cache_hits + cache_misses AS lookups_before FROM categorize.stats \gset
SELECT categorize.categorize('ritual', NULL, NULL, 41) AS not_for_41;
SELECT cache_hits + cache_misses = :lookups_before AS owner_41_not_looked_up_again FROM categorize.stats;
SELECT categorize.categorize('ritual', NULL, NULL, 42) AS owner_42_sees_own_pattern;
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'ritual', 41);
SELECT categorize.categorize('ritual', NULL, NULL, 41) AS owner_41_sees_first_pattern;

-- case: a statement over one owner's rows looks the owner's scope up once
SELECT cache_hits + cache_misses AS lookups_before FROM categorize.stats \gset
SELECT count(categorize.categorize('peets', NULL, NULL, 1)) FROM generate_series(1, 10);
SELECT cache_hits + cache_misses - :lookups_before AS lookups FROM categorize.stats;

-- case: health has the five checks, each ok, warning or critical
SELECT check_name, status IN ('ok', 'warning', 'critical') AS known_status, length(detail) > 0 AS explained
  FROM categorize.health() ORDER BY check_name;
SELECT status FROM categorize.health() WHERE check_name = 'library_preloaded';

-- case: rollout: 0 percent gives nobody a category, 100 everyone, 50 about half, stably
SET categorize.rollout_percent = 0;
SELECT count(categorize.categorize('starbucks', NULL, NULL, u)) AS categorized_at_0
  FROM generate_series(1, 200) u;
SET categorize.rollout_percent = 50;
SELECT count(categorize.categorize('starbucks', NULL, NULL, u)) BETWEEN 70 AND 130 AS about_half
  FROM generate_series(1, 200) u;
SELECT bool_and((categorize.categorize('starbucks', NULL, NULL, u) IS NULL) =
                (categorize.categorize('starbucks', NULL, NULL, u) IS NULL)) AS stable_per_owner
  FROM generate_series(1, 200) u;
RESET categorize.rollout_percent;
SELECT count(categorize.categorize('starbucks', NULL, NULL, u)) AS categorized_at_100
  FROM generate_series(1, 200) u;
-- invalid input: outside 0..100 (22023)
SET categorize.rollout_percent = 101;
\echo :LAST_ERROR_SQLSTATE

-- case: the kill switch per session, and per role
SET categorize.enabled = false;
SELECT categorize.categorize('starbucks', NULL) AS disabled;
RESET categorize.enabled;
CREATE ROLE categorize_killswitch_test;
ALTER ROLE categorize_killswitch_test SET categorize.enabled = false;
SELECT setting FROM pg_db_role_setting s, LATERAL unnest(s.setconfig) setting
 WHERE setrole = 'categorize_killswitch_test'::regrole;
DROP ROLE categorize_killswitch_test;
SELECT categorize.categorize('starbucks', NULL) AS enabled_again;
