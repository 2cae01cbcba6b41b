-- bench/gen.sql: deterministic benchmark data.
--
--   psql -v patterns=100000 -v expenses=1000000 -v owners=0 -f bench/gen.sql
--
-- Creates bench.expenses (id, user_id, merchant_name, description, amount,
-- category_id) and fills categorize.patterns with :patterns merchant and
-- keyword patterns (1-3 words each) over a synthetic vocabulary, plus 20
-- regexes.  Half of the expenses mention a pattern's words, the rest are
-- noise; amounts are log-uniform.  With owners > 0, a tenth of the patterns
-- belong to owners 1..:owners.  setseed() makes every run identical.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(0.42);

CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.words, bench.expenses;

-- 200k distinct pronounceable words of 4-12 letters
CREATE TABLE bench.words AS
SELECT row_number() OVER () AS id, w
  FROM (SELECT DISTINCT w
          FROM (SELECT string_agg(substr('bcdfghjklmnprstvwz', 1 + floor(random() * 18)::int, 1) ||
                                  substr('aeiou', 1 + floor(random() * 5)::int, 1), '')
                       AS w
                  FROM generate_series(1, 230000) g, generate_series(1, 2 + floor(random() * 5)::int) k
                 GROUP BY g) s) d
 LIMIT 200000;
ALTER TABLE bench.words ADD PRIMARY KEY (id);
ANALYZE bench.words;

INSERT INTO categorize.categories (name)
SELECT 'category ' || g FROM generate_series(1, 50) g
ON CONFLICT DO NOTHING;

-- Patterns: 1-3 random words; 70% merchant, 30% keyword
WITH cats AS (SELECT array_agg(id ORDER BY id) AS ids FROM categorize.categories WHERE owner_id IS NULL),
     r AS (SELECT g, 1 + floor(random() * 200000)::int AS a, 1 + floor(random() * 200000)::int AS b,
                  1 + floor(random() * 200000)::int AS c, random() AS r2, random() AS r3,
                  random() AS rk, random() AS rc, random() AS ro
             FROM generate_series(1, :patterns) g)
INSERT INTO categorize.patterns (category_id, kind, value, owner_id)
SELECT cats.ids[1 + floor(r.rc * array_length(cats.ids, 1))::int],
       CASE WHEN r.rk < 0.7 THEN 'merchant' ELSE 'keyword' END,
       w1.w || CASE WHEN r.r2 < 0.5 THEN ' ' || w2.w ELSE '' END
            || CASE WHEN r.r3 < 0.2 THEN ' ' || w3.w ELSE '' END,
       CASE WHEN :owners > 0 AND r.ro < 0.1 THEN 1 + (r.g % :owners)::bigint END
  FROM cats, r
  JOIN bench.words w1 ON w1.id = r.a
  JOIN bench.words w2 ON w2.id = r.b
  JOIN bench.words w3 ON w3.id = r.c
 ORDER BY r.g;

INSERT INTO categorize.patterns (category_id, kind, value)
SELECT (SELECT min(id) FROM categorize.categories), 'regex', '^(pos )?' || w || '[0-9]+'
  FROM bench.words WHERE id <= 20;

-- Expenses: half mention a pattern's value, half are noise
CREATE TABLE bench.expenses (
    id bigint PRIMARY KEY,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    category_id bigint
);
WITH pv AS (SELECT array_agg(value_norm) AS v FROM (SELECT value_norm FROM categorize.patterns
                                                  WHERE kind <> 'regex' ORDER BY id LIMIT 100000) s)
INSERT INTO bench.expenses (id, user_id, merchant_name, description, amount)
SELECT g,
       1 + floor(random() * greatest(:owners, 1000))::bigint,
       CASE WHEN random() < 0.5 THEN 'POS ' || upper(pv.v[1 + floor(random() * array_length(pv.v, 1))::int]) || ' #' || (1000 + g % 9000)
            ELSE 'SQ *' || (SELECT w FROM bench.words WHERE id = 1 + (g::bigint * 7919) % 200000) || ' ' || (g % 97) END,
       'card purchase ' || (SELECT w FROM bench.words WHERE id = 1 + (g::bigint * 104729) % 200000),
       round(exp(random() * 7)::numeric, 2)
  FROM pv, generate_series(1, :expenses) g;
ANALYZE bench.expenses;
ANALYZE categorize.patterns;
