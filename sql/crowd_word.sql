-- Everyone's learned patterns of a merchant, for users who taught nothing
-- for it (issue 13): they follow what such users say (each pattern's hits:
-- its promotion's owners, then every correction or confirmation naming its
-- category), not whichever category was promoted last; and they face the
-- rules by their record
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES
    (1, 'Subscriptions'), (2, 'Entertainment'), (3, 'Shopping'), (4, 'Groceries');

-- Everyone's learned patterns of a merchant, with their records
CREATE FUNCTION pg_temp.everyones(v text)
RETURNS TABLE (category_id bigint, hits bigint, misses bigint)
LANGUAGE sql AS $$
    SELECT p.category_id, p.hits, p.misses FROM categorize.patterns p
     WHERE p.owner_id IS NULL AND p.source = 'learned' AND p.value = v
     ORDER BY p.category_id
$$;

-- case: three users agree: everyone's pattern, its hits the three of them
SELECT count(categorize.learn_correction('STREAMFLIX', NULL, 9.99, u, 1)) AS taught
  FROM generate_series(1, 3) u;
SELECT * FROM pg_temp.everyones('streamflix');

-- case: users new to it who keep that answer are its hits
SELECT count(categorize.learn_correction('STREAMFLIX', NULL, 9.99, u, 1)) AS confirmed
  FROM generate_series(4, 8) u;
SELECT * FROM pg_temp.everyones('streamflix');

-- case: three others file it another way: a second pattern of everyone's,
-- and each of their corrections was a miss of the first
SELECT count(categorize.learn_correction('STREAMFLIX', NULL, 9.99, u, 2)) AS taught
  FROM generate_series(9, 11) u;
SELECT * FROM pg_temp.everyones('streamflix');

-- the answer for a newcomer is what most of those users said, not the
-- latest promotion; nobody's word, so both show, the majority first
SELECT rank, category, kind
  FROM categorize.categorize_detail('STREAMFLIX', NULL, 9.99, 99, 2);
SELECT categorize.categorize('STREAMFLIX', NULL, 9.99, 99) AS newcomer;

-- case: a correction naming a category one of everyone's patterns has,
-- when another answered, is a hit of that one
SELECT count(categorize.learn_correction('STREAMFLIX', NULL, 9.99, u, 2)) AS corrected
  FROM generate_series(12, 21) u;
SELECT * FROM pg_temp.everyones('streamflix');
-- the crowd changed its mind: so does the answer
SELECT categorize.categorize('STREAMFLIX', NULL, 9.99, 99) AS newcomer_now;

-- users who taught it keep their word, whatever the crowd says
SELECT categorize.categorize('STREAMFLIX', NULL, 9.99, 1) AS user_1,
       categorize.categorize('STREAMFLIX', NULL, 9.99, 12) AS user_12;

-- case: for a user, everyone's learned pattern matching a part of the name
-- faces a rule of the same priority by its record (match quality times
-- reliability), not by being learned: here the rule's (three misses) is
-- still the better one
INSERT INTO categorize.patterns (kind, value, category_id) VALUES ('merchant', 'megamart', 3);
SELECT count(categorize.learn_correction('MEGAMART', NULL, 40, u, 4)) AS taught
  FROM generate_series(31, 33) u;
SELECT * FROM pg_temp.everyones('megamart');
SELECT rank, category, kind
  FROM categorize.categorize_detail('MEGAMART SUPERCENTER 42', NULL, 40, 99, 2);
-- the whole name: everyone's pattern's record beats the rule's, and
-- everyone agrees, so it is the newcomer's word
SELECT categorize.categorize('MEGAMART', NULL, 40, 99) AS whole_name;
-- an expense without a user: everyone's patterns are that user's own, and
-- a learned one ranks before a manual one
SELECT rank, category, kind
  FROM categorize.categorize_detail('MEGAMART SUPERCENTER 42', NULL, 40, NULL, 1);
