-- categorize.stats and stats_reset()
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee');
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'Starbucks');
SELECT categorize.stats_reset();

-- case: calls, outcomes, corrections, patterns
SELECT categorize.categorize(m, NULL) FROM (VALUES ('starbucks'), ('starbucks'), ('nope')) t(m);
SELECT categorize.learn_correction('Costa', NULL, 3, NULL, 1);
SELECT calls, categorized, uncategorized, corrections, patterns, mean_us > 0 AS timed,
       stats_reset <= now() AS reset_time
  FROM categorize.stats;

-- case: a rolled-back correction is not counted
BEGIN;
SELECT categorize.learn_correction('Nero', NULL, 3, NULL, 1);
ROLLBACK;
SELECT corrections FROM categorize.stats;

-- case: the detail and the kill switch do not count as calls
SELECT count(*) FROM categorize.categorize_detail('starbucks', NULL);
SET categorize.enabled = off;
SELECT categorize.categorize('starbucks', NULL);
RESET categorize.enabled;
SELECT calls FROM categorize.stats;

-- case: reset
SELECT categorize.stats_reset();
SELECT calls, categorized, uncategorized, corrections, mean_us FROM categorize.stats;
