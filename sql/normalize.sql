-- normalize(): the text normalization shared by patterns and expenses
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;

-- case: card-statement noise
SELECT input, categorize.normalize(input)
  FROM (VALUES ('POS DEBIT STARBUCKS #1234'),
               ('SQ *BLUE BOTTLE COFFEE'),
               ('TST* Joe''s Pizza'),
               ('CHECKCARD 0412 SHELL OIL 57442'),
               ('AMAZON MKTPLACE XXXX1234'),
               ('PAYPAL *EBAY INC'),
               ('LYFT *2276605635 SAN FRANCISCO CA'),
               ('facebk  z9uj3aep92'),
               ('tesco pay at pump 4231'),
               ('aldi 97'),
               ('7-Eleven'),
               ('www.britishgas.co.')) t(input);

-- case: Unicode case folding and accents
SELECT input, categorize.normalize(input)
  FROM (VALUES ('  Café   Müller  '),
               ('STRASSE Straße'),
               ('ＳＨＯＰ ｆｕｌｌｗｉｄｔｈ'),
               ('Ελληνικά ΣΟΦΙΑ'),
               ('İstanbul Kebap'),
               ('naïve crème brûlée'),
               ('☕ coffee 🍩 donuts')) t(input);

-- case: nothing but noise keeps its words
SELECT categorize.normalize('1234'), categorize.normalize('#5678 XXXX1234');

-- case: empty and punctuation-only
SELECT categorize.normalize(''), categorize.normalize('!!!'), categorize.normalize('   ');

-- case: NULL in, NULL out
SELECT categorize.normalize(NULL) IS NULL AS is_null;

-- case: idempotent
SELECT bool_and(categorize.normalize(categorize.normalize(x)) = categorize.normalize(x))
  FROM (VALUES ('POS DEBIT STARBUCKS #1234'), ('Café Müller'), ('SQ *A*B*C'), ('x  y')) t(x);

-- case: usable in an index (IMMUTABLE)
CREATE TABLE norm_t (d text);
CREATE INDEX ON norm_t (categorize.normalize(d));
DROP TABLE norm_t;
