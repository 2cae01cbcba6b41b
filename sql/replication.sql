-- the triggers for the logical replication apply worker (issue 16): a
-- session with session_replication_role = replica writes the way the apply
-- worker does (test/t/011_scale_out.pl runs a real subscription)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Books');
INSERT INTO categorize.categories (id, name, owner_id) VALUES (3, 'Alice hobby', 7);
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (1, 1, 'merchant', 'starbucks');
SELECT categorize.categorize('STARBUCKS #4', NULL) AS before;

-- case: which triggers fire where
SELECT t.tgname, t.tgenabled
  FROM pg_trigger t
 WHERE t.tgrelid IN ('categorize.patterns'::regclass, 'categorize.corrections'::regclass)
   AND NOT t.tgisinternal AND t.tgname LIKE '%apply%'
 ORDER BY 1;

SET session_replication_role = replica;

-- case: a replicated insert gets this server's change_xid and value_norm,
-- whatever the publisher sent; the publisher's updated_at is kept
INSERT INTO categorize.patterns (id, category_id, kind, value, value_norm, change_xid, updated_at)
VALUES (2, 2, 'keyword', 'Daunt  Books', 'wrong', '1', '2020-01-01 00:00:00+00');
SELECT id, value_norm,
       change_xid::text::bigint > 1 AS not_the_publishers, updated_at = '2020-01-01 00:00:00+00' AS kept_updated_at
  FROM categorize.patterns WHERE id = 2;

-- case: the apply validates nothing: the publisher did (an error would
-- stop the subscription); a pattern for everyone with an owner's category
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (3, 3, 'merchant', 'hobbycraft');
SELECT id, category_id, owner_id FROM categorize.patterns WHERE id = 3;

-- case: a replicated update restamps, and a change of owner leaves a tombstone
UPDATE categorize.patterns SET owner_id = 7, value = 'Hobby Craft', change_xid = '1' WHERE id = 3;
SELECT id, value_norm, change_xid::text::bigint > 1 AS restamped FROM categorize.patterns WHERE id = 3;
SELECT pattern_id, owner_id FROM categorize.pattern_tombstones ORDER BY pattern_id;

-- case: a replicated delete leaves a tombstone, row by row
DELETE FROM categorize.patterns WHERE id IN (1, 3);
SELECT pattern_id, owner_id FROM categorize.pattern_tombstones ORDER BY pattern_id, owner_id;

-- case: a replicated correction gets this server's change_xid; an update
-- or a delete of one bumps the reload epoch
SELECT epoch AS epoch_before FROM categorize.reload_epoch \gset
INSERT INTO categorize.corrections (id, owner_id, merchant_name, to_category_id, change_xid)
VALUES (1, NULL, 'Foyles', 2, '1');
SELECT change_xid::text::bigint > 1 AS restamped FROM categorize.corrections WHERE id = 1;
UPDATE categorize.corrections SET merchant_name = 'Foyles Books' WHERE id = 1;
DELETE FROM categorize.corrections WHERE id = 1;
SELECT epoch - :epoch_before AS epoch_bumps FROM categorize.reload_epoch;

RESET session_replication_role;

-- case: later statements use the replicated changes (other sessions:
-- test/t/011_scale_out.pl)
SELECT coalesce(categorize.categorize('STARBUCKS #4', NULL)::text, '-') AS deleted,
       categorize.categorize(NULL, 'daunt books') AS inserted;

-- case: health() on a server without subscriptions
SELECT status, detail FROM categorize.health() WHERE check_name = 'subscription_lag';

SET client_min_messages = warning;
DROP EXTENSION categorize CASCADE;
RESET client_min_messages;
