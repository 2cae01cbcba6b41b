-- The match operators @~ and ~@ and their GIN operator class match_ops
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

-- case: whole normalized words, in order and adjacent, as merchant and keyword patterns match
SELECT doc, pattern, doc OPERATOR(categorize.@~) pattern AS matches
  FROM (VALUES ('POS DEBIT STARBUCKS #1234', 'starbucks'),
               ('POS DEBIT STARBUCKS #1234', 'Starbucks!'),
               ('WHOLE FOODS MARKET 10234', 'whole foods'),
               ('WHOLE FOODS MARKET 10234', 'foods whole'),
               ('WHOLE FOODS MARKET 10234', 'whole market'),
               ('STARBUCKS', 'star'),
               ('SUPERSTARBUCKS', 'starbucks'),
               ('TST* Joe''s Pizza', 'joe''s pizza'),
               ('Trader Joe''s', 'trader joes'),
               ('CAFÉ NERO', 'cafe nero'),
               ('Müller Bäckerei', 'MÜLLER'),
               ('東京 ラーメン', 'ラーメン'),
               ('uber   trip', 'UBER TRIP')) t(doc, pattern);

-- case: the commutator says the same with the pattern first
SELECT count(*) FILTER (WHERE (d OPERATOR(categorize.@~) p) IS DISTINCT FROM (p OPERATOR(categorize.~@) d)) AS disagreements
  FROM (VALUES ('a b c', 'b c'), ('a b c', 'c b'), ('x', 'x'), ('', 'x'), ('x', '')) t(d, p);

-- case: NULL gives NULL; an empty or noise-only pattern matches nothing
SELECT NULL::text OPERATOR(categorize.@~) 'x' AS null_text,
       'x' OPERATOR(categorize.@~) NULL::text AS null_pattern,
       'anything' OPERATOR(categorize.@~) '' AS empty_pattern,
       '' OPERATOR(categorize.@~) '' AS both_empty,
       'POS DEBIT' OPERATOR(categorize.@~) '#' AS noise_pattern;

-- case: long text, the match at the very end
SELECT (repeat('filler ', 20000) || 'needle') OPERATOR(categorize.@~) 'needle' AS at_end,
       (repeat('filler ', 20000) || 'needle') OPERATOR(categorize.@~) 'needles' AS not_there,
       repeat('word ', 5000) OPERATOR(categorize.@~) repeat('word ', 4999) AS long_pattern;

-- A table of expense-like texts from a fixed pseudo-random sequence
SELECT setseed(0.42);
CREATE TABLE docs (id int PRIMARY KEY, description text);
INSERT INTO docs
SELECT g, (ARRAY['POS DEBIT', 'SQ *', 'CHECKCARD 0412', '', 'PAYPAL *'])[1 + floor(random() * 5)::int]
          || ' ' || (ARRAY['starbucks', 'whole foods', 'whole', 'foods market', 'uber trip', 'trip uber',
                           'shell oil', 'tesco', 'café nero', 'amazon mktp'])[1 + floor(random() * 10)::int]
          || ' ' || (ARRAY['london', 'leeds', '#' || g, 'store ' || (g % 7), 'market'])[1 + floor(random() * 5)::int]
FROM generate_series(1, 5000) g;
INSERT INTO docs VALUES (5001, NULL), (5002, ''), (5003, '#12 #13');
CREATE TABLE probes (pattern text);
INSERT INTO probes VALUES ('starbucks'), ('whole foods'), ('foods'), ('whole foods market'), ('uber trip'),
    ('trip'), ('cafe nero'), ('nero'), ('store 3'), ('london'), ('market'), ('pos debit starbucks'),
    ('amazon'), ('mktp london'), ('nothing here'), (''), ('#12'), ('sq starbucks leeds');
CREATE INDEX docs_match_idx ON docs USING gin (description categorize.match_ops);
ANALYZE docs;

-- case: the planner uses the index for a selective pattern
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE description OPERATOR(categorize.@~) 'nothing here';

-- case: index scans return exactly what sequential scans return, for every probe
CREATE TABLE seq_result AS
  SELECT p.pattern, d.id FROM probes p JOIN docs d ON d.description OPERATOR(categorize.@~) p.pattern;
SET enable_seqscan = off;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE description OPERATOR(categorize.@~) 'whole foods';
CREATE TABLE idx_result AS
  SELECT p.pattern, (SELECT array_agg(id ORDER BY id) FROM docs d
                     WHERE d.description OPERATOR(categorize.@~) p.pattern) AS ids
  FROM probes p;
RESET enable_seqscan;
RESET enable_indexscan;
SELECT i.pattern, coalesce(cardinality(i.ids), 0) AS matches,
       i.ids IS NOT DISTINCT FROM (SELECT array_agg(s.id ORDER BY s.id) FROM seq_result s WHERE s.pattern = i.pattern) AS same
  FROM idx_result i ORDER BY i.pattern;

-- case: ~@ on an index of patterns: which patterns fire on this text
CREATE TABLE rules (id int PRIMARY KEY, value text);
INSERT INTO rules SELECT g, (ARRAY['starbucks', 'whole foods', 'foods', 'uber', 'uber trip', 'trip uber',
                                   'pos debit', 'shell', 'tesco express', 'nero'])[1 + g % 10] || CASE WHEN g > 10 THEN ' x' || g ELSE '' END
  FROM generate_series(1, 3000) g;
INSERT INTO rules VALUES (3001, ''), (3002, NULL), (3003, '#12');
CREATE INDEX rules_match_idx ON rules USING gin (value categorize.match_ops);
ANALYZE rules;
EXPLAIN (COSTS OFF) SELECT id FROM rules WHERE value OPERATOR(categorize.~@) 'POS DEBIT STARBUCKS #1234';
SELECT id, value FROM rules WHERE value OPERATOR(categorize.~@) 'POS DEBIT STARBUCKS #1234' ORDER BY id;
SELECT id, value FROM rules WHERE value OPERATOR(categorize.~@) 'Uber trip x1001' ORDER BY id;
SET enable_bitmapscan = off;
SELECT count(*) AS seq_count FROM rules WHERE value OPERATOR(categorize.~@) 'whole foods uber trip x15 x25';
RESET enable_bitmapscan;
SET enable_seqscan = off;
SELECT count(*) AS idx_count FROM rules WHERE value OPERATOR(categorize.~@) 'whole foods uber trip x15 x25';
RESET enable_seqscan;

-- case: the extension's own patterns table has the index
INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Transport');
INSERT INTO categorize.patterns (category_id, kind, value)
  VALUES (1, 'merchant', 'Starbucks'), (1, 'keyword', 'coffee'), (2, 'keyword', 'uber trip'), (2, 'regex', 'uber\s+eats');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
  SELECT kind, value FROM categorize.patterns WHERE kind <> 'regex' AND value OPERATOR(categorize.~@) 'POS DEBIT STARBUCKS #1234';
SELECT kind, value FROM categorize.patterns
 WHERE kind <> 'regex' AND value OPERATOR(categorize.~@) 'Starbucks coffee, paid by UBER TRIP' ORDER BY value;
RESET enable_seqscan;

-- case: with the operators on the search_path
SET search_path = categorize, public;
SELECT 'POS DEBIT STARBUCKS' @~ 'starbucks' AS with_search_path, 'starbucks' ~@ 'POS DEBIT STARBUCKS' AS commuted;
RESET search_path;

DROP TABLE docs, probes, seq_result, idx_result, rules;
