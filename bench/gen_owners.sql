-- bench/gen_owners.sql: learned patterns of many owners, for the cache benchmark.
--
--   psql -v owners=100000 -v per_owner=20 -f bench/gen_owners.sql
--
-- Needs bench/gen.sql first (bench.words, the shared categories).  Gives
-- each owner 1..:owners :per_owner learned merchant patterns (two words,
-- distinct within an owner) filed under shared categories, as
-- learn_correction() would have left them.  Deterministic.  Inserts 5000
-- owners a transaction: categorize keeps the patterns a transaction wrote
-- in backend memory until it commits, and one transaction cannot hold
-- much more than a million of them.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

SELECT format('DELETE FROM categorize.patterns WHERE source = ''learned'' AND owner_id BETWEEN %s AND %s',
              first, first + 4999)
  FROM generate_series(1, (SELECT coalesce(max(owner_id), 0) FROM categorize.patterns WHERE source = 'learned'), 5000) first
\gexec

SELECT format($sql$
WITH cats AS (SELECT array_agg(id ORDER BY id) AS ids FROM categorize.categories WHERE owner_id IS NULL),
     k AS (SELECT o, j, (o - 1)::bigint * %2$s + j AS n
             FROM generate_series(%1$s, %3$s) o, generate_series(1, %2$s) j)
INSERT INTO categorize.patterns (category_id, kind, value, owner_id, source)
SELECT cats.ids[1 + (k.n * 31) %% array_length(cats.ids, 1)],
       'merchant',
       w1.w || ' ' || w2.w,
       k.o,
       'learned'
  FROM cats, k
  JOIN bench.words w1 ON w1.id = 1 + (k.n * 7919) %% 200000
  JOIN bench.words w2 ON w2.id = 1 + (k.n * 104729) %% 200000
 ORDER BY k.o, k.j
$sql$, first, :per_owner, least(first + 4999, :owners))
  FROM generate_series(1, :owners, 5000) first
\gexec

ANALYZE categorize.patterns;
