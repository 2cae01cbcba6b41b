-- the statements that read changed rows back keep to their indexes while
-- our tables grow from empty (plans made once per session and kept)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Books');

-- case: a DBA analyzed the tables while they were empty; then every commit
-- of a correction in this session reads its rows back, by the change_xid
-- index and not by a sequential scan of categorize.corrections
VACUUM ANALYZE categorize.corrections;
VACUUM ANALYZE categorize.patterns;
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq_before FROM pg_stat_user_tables
 WHERE relid = 'categorize.corrections'::regclass \gset
\o /dev/null
SELECT categorize.learn_correction('shop one', NULL, 5, 1, 1);
SELECT categorize.learn_correction('shop two', NULL, 5, 2, 1);
SELECT categorize.learn_correction('shop three', NULL, 5, 3, 2);
SELECT categorize.learn_correction('shop four', NULL, 5, 4, 2);
SELECT categorize.learn_correction('shop five', NULL, 5, 5, 1);
SELECT categorize.learn_correction('shop six', NULL, 5, 6, 1);
SELECT categorize.learn_correction('shop seven', NULL, 5, 7, 2);
SELECT categorize.learn_correction('shop eight', NULL, 5, 8, 2);
SELECT categorize.learn_correction('shop nine', NULL, 5, 9, 1);
SELECT categorize.learn_correction('shop ten', NULL, 5, 10, 1);
\o
SELECT pg_stat_force_next_flush();
SELECT count(*) AS corrections FROM categorize.corrections;
SELECT seq_scan - :seq_before < 10 AS not_a_scan_a_commit FROM pg_stat_user_tables
 WHERE relid = 'categorize.corrections'::regclass;
-- and what they taught is served
SELECT categorize.categorize('shop ten', NULL, NULL, 10) AS own_correction;
