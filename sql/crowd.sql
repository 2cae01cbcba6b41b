-- Everyone's token model learns from owners' corrections where owners
-- agree (promote_min_users distinct owners per feature and category), and
-- is rebuilt as the owners' corrections grow
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Food'), (2, 'Coffee'), (3, 'Books');

-- Enough owners' corrections (distinct owners, distinct merchants spelled in
-- letters) for everyone's scope to be rebuilt at its next use
CREATE FUNCTION pg_temp.fillers(first_owner int) RETURNS void
LANGUAGE sql AS $$
    SELECT count(categorize.learn_correction(
               'FILLER ' || translate(g::text, '0123456789', 'abcdefghij'), NULL, 5,
               first_owner + g, 1))::int * 0
      FROM generate_series(1, 70) g;
$$;

-- What everyone's model says of a merchant and category for user 4, who taught nothing
CREATE FUNCTION pg_temp.crowd(merchant text, cat text) RETURNS TABLE (category text, reason text)
LANGUAGE sql AS $$
    SELECT d.category, d.reason
      FROM categorize.categorize_detail(merchant, NULL, 3, 4, 3) d
     WHERE d.kind = 'model' AND d.category = cat
$$;

-- case: two owners agree: not enough (promote_min_users is 3)
SHOW categorize.promote_min_users;
SELECT categorize.learn_correction('ZORBLAX ONE', NULL, 3, 1, 2);
SELECT categorize.learn_correction('ZORBLAX TWO', NULL, 3, 2, 2);
-- one owner teaching again and again is still one owner
SELECT categorize.learn_correction('ZORBLAX ' || m, NULL, 3, 2, 2)
  FROM unnest(ARRAY['FIVE', 'SIX', 'SEVEN']) m;
SELECT pg_temp.fillers(100);
SELECT * FROM pg_temp.crowd('ZORBLAX FOUR', 'Coffee');
-- the owners themselves have their own model
SELECT category FROM categorize.categorize_detail('ZORBLAX FOUR', NULL, 3, 2, 1);

-- case: a third owner agrees: everyone's model has it once the scope is rebuilt
SELECT categorize.learn_correction('ZORBLAX THREE', NULL, 3, 3, 2);
SELECT pg_temp.fillers(200);
SELECT * FROM pg_temp.crowd('ZORBLAX FOUR', 'Coffee');
SELECT category FROM categorize.categorize_detail('ZORBLAX FOUR', NULL, 3, NULL, 1);

-- case: owner-only learning teaches nobody else
SET categorize.learning = owner_only;
SELECT categorize.learn_correction('QUILLORY ' || m, NULL, 9, o, 3)
  FROM (VALUES (11, 'ONE'), (12, 'TWO'), (13, 'THREE'), (14, 'FOUR')) v(o, m);
RESET categorize.learning;
SELECT learn_scope, count(*) FROM categorize.corrections
 WHERE merchant_name LIKE 'QUILLORY%' GROUP BY 1;
SELECT pg_temp.fillers(300);
SELECT * FROM pg_temp.crowd('QUILLORY FIVE', 'Books');

-- case: deleting the corrections takes it back (a reload)
DELETE FROM categorize.corrections WHERE merchant_name LIKE 'ZORBLAX%';
SELECT * FROM pg_temp.crowd('ZORBLAX FOUR', 'Coffee');
