-- A new owner's scope is loaded without its queries when the owner indexes
-- find no row (src/store/owner_probe.c); an owner index altered so that it
-- may miss rows is not trusted
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name) VALUES (1, 'Groceries'), (2, 'Books');

-- case: an owner never seen has nothing of its own
SELECT categorize.categorize('ZORBLAX MARKET', NULL, 5, 4242) AS new_owner;

-- case: an owner whose only row is a correction (its learned pattern
-- deleted) still has it once every scope is reloaded, though its index was
-- recreated to hold only repeats
DROP INDEX categorize.corrections_owner_idx;
CREATE INDEX corrections_owner_idx ON categorize.corrections (owner_id)
  WHERE owner_id IS NOT NULL AND learn_scope = 'repeat';
SELECT categorize.learn_correction('ZORBLAX MARKET', 'ZORBLAX MARKET 17', 5, 4242, 2);
DELETE FROM categorize.patterns WHERE owner_id = 4242;
-- an update of corrections reloads every scope
UPDATE categorize.corrections SET created_at = created_at WHERE owner_id = 4242;
SELECT rank, category, kind FROM categorize.categorize_detail('ZORBLAX MARKET', 'ZORBLAX MARKET 17', 5, 4242, 1);

-- case: with the index as the extension makes it, the same
DROP INDEX categorize.corrections_owner_idx;
CREATE INDEX corrections_owner_idx ON categorize.corrections (owner_id) WHERE owner_id IS NOT NULL;
UPDATE categorize.corrections SET created_at = created_at WHERE owner_id = 4242;
SELECT rank, category, kind FROM categorize.categorize_detail('ZORBLAX MARKET', 'ZORBLAX MARKET 17', 5, 4242, 1);
-- and another new owner still has nothing
SELECT categorize.categorize('ZORBLAX MARKET', NULL, 5, 4343) AS other_owner;
