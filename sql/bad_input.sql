-- Bad input: a catalogue of what categorize does with input it should not
-- trust.  Every case says its outcome in its header: an error with its
-- SQLSTATE, or a defined result.  The server never crashes, nothing hangs
-- (statement_timeout bounds what could run long) and a failed call writes
-- nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO categorize.categories (id, name, owner_id) VALUES
    (1, 'Coffee', NULL), (2, 'Groceries', NULL), (3, 'Electronics', NULL),
    (10, 'Alice hobby', 100), (20, 'Bob hobby', 200);
INSERT INTO categorize.patterns (id, category_id, kind, value, amount_min, amount_max) VALUES
    (1, 1, 'merchant', 'Starbucks', NULL, NULL),
    (2, 2, 'keyword', 'tesco', NULL, NULL),
    (3, 2, 'merchant', 'Costco', NULL, 100),
    (4, 3, 'merchant', 'Costco', 100.01, NULL);
SELECT setval(pg_get_serial_sequence('categorize.categories', 'id'), 1000) > 0 AS category_ids_above_fixtures,
       setval(pg_get_serial_sequence('categorize.patterns', 'id'), 1000) > 0 AS pattern_ids_above_fixtures;

CREATE TABLE expenses (
    id bigint,
    user_id bigint,
    merchant_name text,
    description text,
    amount numeric,
    category_id bigint
);

-- what is in the extension's tables, to show that failed calls write nothing
CREATE VIEW written AS
    SELECT (SELECT count(*) FROM categorize.categories) AS categories,
           (SELECT count(*) FROM categorize.patterns) AS patterns,
           (SELECT count(*) FROM categorize.corrections) AS corrections;

--
-- NULL rows and NULL fields
--

-- invalid input: NULL as the whole expense, untyped or typed -> NULL (STRICT), no error
SELECT categorize.categorize(NULL) AS untyped,
       categorize.categorize(NULL::record) AS record,
       categorize.categorize(NULL::expenses) AS table_row;

-- invalid input: a row whose every field is NULL -> NULL
SELECT categorize.categorize(ROW(NULL, NULL, NULL, NULL, NULL, NULL)::expenses) AS all_fields_null;

-- invalid input: NULL merchant, description, amount and user_id values -> NULL
SELECT categorize.categorize(NULL, NULL, NULL, NULL) AS all_values_null,
       categorize.categorize(NULL::text, NULL::text) AS two_values_null;

-- invalid input: categorize_detail of a NULL row, or with k NULL -> no rows (STRICT)
SELECT count(*) AS null_row FROM categorize.categorize_detail(NULL::expenses);
SELECT count(*) AS null_k FROM categorize.categorize_detail(ROW(1, NULL, 'Starbucks', NULL, NULL, NULL)::expenses, NULL);
SELECT count(*) AS null_k_values FROM categorize.categorize_detail('Starbucks', NULL, NULL, NULL, NULL);

-- invalid input: learn_correction of a NULL row -> error 22004
SELECT categorize.learn_correction(NULL::expenses, 1);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: learn_correction with a NULL category, value and row forms -> error 22004
SELECT categorize.learn_correction('Starbucks', NULL, 1, 100, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction(ROW(1, 100, 'Starbucks', NULL, 1, NULL)::expenses, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: learn_correction of a row whose every field is NULL -> the correction is recorded with learn_scope 'none': nothing to learn from
SELECT categorize.learn_correction(ROW(NULL, NULL, NULL, NULL, NULL, NULL)::expenses, 1);
SELECT owner_id, expense_id, merchant_name, description, amount, to_category_id, learn_scope
  FROM categorize.corrections;
SELECT * FROM written;
DELETE FROM categorize.corrections;

-- invalid input: normalize(NULL) -> NULL (STRICT)
SELECT categorize.normalize(NULL) IS NULL AS is_null;

-- invalid input: a pattern with NULL kind, value or category_id -> error 23502 (NOT NULL)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (NULL, 'merchant', 'x');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a category with a NULL name -> error 23502
INSERT INTO categorize.categories (name) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE

--
-- Row types without the expected fields, or with fields of other types
--

-- invalid input: an anonymous row (fields f1, f2, ...) -> no known field: NULL
SELECT categorize.categorize(ROW('Starbucks', 'tesco', 5)) AS anonymous_row;

-- invalid input: field names in another case ("Merchant_Name") -> not the field: NULL
SELECT categorize.categorize(r) AS quoted_name FROM (SELECT 'Starbucks'::text AS "Merchant_Name") r;

-- invalid input: the same field name twice -> the first one is read
SELECT categorize.categorize(r) AS first_is_starbucks FROM (SELECT 'Starbucks'::text AS merchant_name, 'x'::text AS merchant_name) r;
SELECT categorize.categorize(r) AS first_is_x FROM (SELECT 'x'::text AS merchant_name, 'Starbucks'::text AS merchant_name) r;

-- invalid input: a text amount -> error 42804
SELECT categorize.categorize(r) FROM (SELECT 'Costco'::text AS merchant_name, '50'::text AS amount) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a uuid user_id -> error 42804
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name,
                                             '00000000-0000-0000-0000-000000000001'::uuid AS user_id) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a boolean or float user_id -> error 42804
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, true AS user_id) r;
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 100::float8 AS user_id) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a uuid or text id -> categorize ignores it; learn_correction records expense_id NULL, so a repeat is recorded twice (not idempotent)
SELECT categorize.categorize(r) AS uuid_id FROM (SELECT 'Starbucks'::text AS merchant_name,
                                                        '00000000-0000-0000-0000-000000000001'::uuid AS id) r;
CREATE TABLE uuid_expenses (id uuid, user_id bigint, merchant_name text);
INSERT INTO uuid_expenses VALUES ('00000000-0000-0000-0000-000000000001', 100, 'Uuid Bakery');
SELECT categorize.learn_correction(e, 2) FROM uuid_expenses e;
SELECT categorize.learn_correction(e, 2) FROM uuid_expenses e;
SELECT count(*) AS corrections, count(expense_id) AS with_expense_id
  FROM categorize.corrections WHERE merchant_name = 'Uuid Bakery';
DROP TABLE uuid_expenses;

-- invalid input: a jsonb merchant_name -> read through its text output (punctuation is dropped): 1
SELECT categorize.categorize(r) AS jsonb_string FROM (SELECT '"Starbucks"'::jsonb AS merchant_name) r;
SELECT categorize.categorize(r) AS jsonb_object FROM (SELECT '{"name": "Starbucks"}'::jsonb AS merchant_name) r;

-- invalid input: an array merchant_name -> its text output: 1; an array amount -> error 42804
SELECT categorize.categorize(r) AS text_array FROM (SELECT ARRAY['Starbucks', 'x'] AS merchant_name) r;
SELECT categorize.categorize(r) FROM (SELECT 'Costco'::text AS merchant_name, ARRAY[50, 60] AS amount) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a composite value in a field -> text fields read its text output: 1; a composite amount -> error 42804
CREATE TYPE bad_input_place AS (street text, city text);
SELECT categorize.categorize(r) AS composite_merchant FROM (SELECT ROW('Starbucks', 'Leeds')::bad_input_place AS merchant_name) r;
SELECT categorize.categorize(r) AS nested_composite FROM (SELECT ROW(ROW('Starbucks', 'x')::bad_input_place, 'y') AS description) r;
SELECT categorize.categorize(r) FROM (SELECT 'Costco'::text AS merchant_name, ROW(50) AS amount) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: bytea, xml, char(n), date and integer text fields -> their text output (bytea is hex, so no match)
SELECT categorize.categorize(r) AS bytea_merchant FROM (SELECT 'Starbucks'::bytea AS merchant_name) r;
SELECT categorize.categorize(r) AS xml_merchant FROM (SELECT '<m>Starbucks</m>'::xml AS merchant_name) r;
SELECT categorize.categorize(r) AS char_merchant FROM (SELECT 'Starbucks'::char(20) AS merchant_name) r;
SELECT categorize.categorize(r) AS date_merchant FROM (SELECT '2024-01-01'::date AS merchant_name) r;
SELECT categorize.categorize(r) AS int_merchant_name_description FROM (SELECT 42 AS merchant_name, 'tesco'::name AS description) r;

-- invalid input: domains -> read as their base type; a domain over text as amount -> error 42804
CREATE DOMAIN bad_input_label AS text CHECK (VALUE <> '');
CREATE DOMAIN bad_input_price AS numeric CHECK (VALUE >= 0);
SELECT categorize.categorize(r) AS domain_fields FROM (SELECT 'Costco'::bad_input_label AS merchant_name, 500::bad_input_price AS amount) r;
SELECT categorize.categorize(r) FROM (SELECT 'Costco'::text AS merchant_name, '500'::bad_input_label AS amount) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a numeric user_id of NaN or Infinity -> error 22003, naming user_id
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 'NaN'::numeric AS user_id) r;
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 'Infinity'::numeric AS user_id) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a numeric user_id of 10^30 -> error 22003, naming user_id
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 1e30 AS user_id) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a fractional numeric id (read only for learning) -> ignored: categorized as usual
SELECT categorize.categorize(r) FROM (SELECT 'Starbucks'::text AS merchant_name, 1.5 AS id) r;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a table row whose merchant_name column was dropped -> missing field: NULL
CREATE TABLE dropped_expenses (merchant_name text, description text);
INSERT INTO dropped_expenses VALUES ('Starbucks', 'x');
ALTER TABLE dropped_expenses DROP COLUMN merchant_name;
SELECT categorize.categorize(d) AS dropped_column FROM dropped_expenses d;
DROP TABLE dropped_expenses;

-- invalid input: toasted, compressed 1 MB fields read from a table -> detoasted and matched
INSERT INTO expenses VALUES
    (1, 100, repeat('x', 1048576), repeat('lorem ', 174762) || 'tesco', 1, NULL),
    (2, 100, 'Starbucks', repeat(md5('a'), 32768), 1, NULL);
SELECT id, pg_column_size(description) < octet_length(description) AS compressed,
       categorize.categorize(e)
  FROM expenses e ORDER BY id;
DELETE FROM expenses;

--
-- Empty and whitespace-only strings
--

-- invalid input: empty merchant and description -> NULL
SELECT categorize.categorize('', '') AS both_empty, categorize.categorize('', NULL) AS empty_merchant;

-- invalid input: a whitespace-only merchant (ASCII or Unicode spaces) -> treated as no merchant: merchant patterns look at the description
SELECT categorize.categorize(E' \t\n\r ', 'starbucks') AS ascii_spaces,
       categorize.categorize(E'\u00a0\u2003\u3000', 'starbucks') AS unicode_spaces,
       categorize.categorize(E' \t\n ', NULL) AS spaces_only;

-- invalid input: normalize() of empty or whitespace-only text -> ''
SELECT categorize.normalize('') = '' AS empty, categorize.normalize(E' \t\n\u00a0\u3000 ') = '' AS whitespace;

-- invalid input: an empty or whitespace-only pattern value, any kind -> error 22023
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', '');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', E' \t\n');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '   ');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a merchant or keyword value of punctuation, Unicode spaces or emoji only -> error 22023 (no letters or digits)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', '*** ---');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', E'\u00a0\u3000\u200b');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', E'\u2615\U0001F389');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: an empty or spaces-only category name -> error 23514
INSERT INTO categorize.categories (name) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.categories (name) VALUES ('   ');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: a category name of a tab or of no-break spaces -> accepted (the CHECK's btrim() strips only spaces)
INSERT INTO categorize.categories (id, name) VALUES (90, E' \t '), (91, E'\u00a0\u3000')
    RETURNING id, octet_length(name) AS name_bytes;
DELETE FROM categorize.categories WHERE id IN (90, 91);

-- invalid input: learn_correction with empty texts -> the correction is recorded with learn_scope 'none', no pattern is learned
SELECT categorize.learn_correction('', '   ', 1, 100, 1);
SELECT * FROM written;
DELETE FROM categorize.corrections;

--
-- Very large texts
--

-- invalid input: a 1 MB description -> matched like any other: NULL without a known word, 2 with a keyword at its end
SELECT categorize.categorize(NULL, repeat('x', 1048576)) AS one_word,
       categorize.categorize(NULL, repeat('lorem ', 174762) || 'tesco') AS keyword_at_end;

-- invalid input: a 1 MB merchant name -> 1
SELECT categorize.categorize(repeat('Starbucks ', 104858), NULL) AS big_merchant;

-- invalid input: normalize() of 1 MB -> the whole text, normalized
SELECT octet_length(categorize.normalize(repeat('Ab ', 349525))) AS normalized_bytes;

-- invalid input: categorize_detail of a 1 MB description -> one row; its reason quotes the first 200 bytes of the normalized description
SELECT rank, category_id, kind, length(reason) AS reason_length
  FROM categorize.categorize_detail(NULL, repeat('lorem ', 174762) || 'tesco');

-- invalid input: a 100k-token description -> matched: 2 with a keyword, NULL without
SELECT categorize.categorize(NULL, (SELECT string_agg('w' || i, ' ') FROM generate_series(1, 100000) i) || ' tesco') AS with_keyword,
       categorize.categorize(NULL, (SELECT string_agg('w' || i, ' ') FROM generate_series(1, 100000) i)) AS without;

-- invalid input: learn_correction of a 100k-token description and of a 1 MB merchant -> recorded in full; no pattern learned (the key is over 1024 bytes)
SELECT categorize.learn_correction(NULL, (SELECT string_agg('w' || i, ' ') FROM generate_series(1, 100000) i), 1, 100, 1);
SELECT categorize.learn_correction(repeat('Big ', 262144), NULL, 1, 100, 1);
SELECT octet_length(merchant_name) AS merchant_bytes, octet_length(description) AS description_bytes
  FROM categorize.corrections ORDER BY id;
SELECT count(*) AS learned_from_these FROM categorize.patterns
 WHERE source = 'learned' AND (value_norm LIKE 'w1 %' OR value_norm LIKE 'big %');
SELECT rank, category_id, kind FROM categorize.categorize_detail(NULL, 'w5 w6 w99999', NULL, 100, 1);
DELETE FROM categorize.corrections;

-- invalid input: a merchant pattern of 65 words, of 1025 bytes, of 1 MB -> error 22023 (too long)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', repeat('word ', 65));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'keyword', repeat('a', 1025));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', repeat('x', 1048576));
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a regex pattern of 1025 bytes -> error 22023 (too long), before compiling it
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', repeat('x', 1025));
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a regex pattern of 1 MB -> error 22023 (too long) at once, nothing written
BEGIN;
SET LOCAL statement_timeout = '1s';
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', repeat('x', 1048576));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM written;

-- invalid input: a 100 MB description -> error 54000 (beyond what can be normalized in memory)
SELECT categorize.categorize(NULL, repeat('a', 100000000));
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize('Starbucks', NULL) AS next_call_works;

--
-- Invalid UTF-8 and odd code points
--

-- invalid input: invalid UTF-8 in bytea converted to text -> error 22021 from PostgreSQL, before categorize runs
SELECT categorize.categorize(convert_from('\xff'::bytea, 'UTF8'), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(convert_from('\x53746172c328'::bytea, 'UTF8'), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(NULL, convert_from('\xc0af'::bytea, 'UTF8'));
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction(convert_from('\xeda080'::bytea, 'UTF8'), NULL, 1, 100, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', convert_from('\xf4908080'::bytea, 'UTF8'));
\echo :LAST_ERROR_SQLSTATE

-- invalid input: an invalid byte in an escape string literal -> error 22021 from PostgreSQL
SELECT categorize.categorize(E'Star\xffbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: bytea cast to text, and bytes converted from LATIN1 -> valid text (hex digits; 'Starbucks ÿ'): defined results
SELECT categorize.categorize('\xff'::bytea::text, NULL) AS bytea_cast,
       categorize.categorize(convert_from('\x537461726275636b7320ff'::bytea, 'LATIN1'), NULL) AS latin1,
       categorize.categorize(convert_from('\x537461726275636b73'::bytea, 'UTF8'), NULL) AS valid_utf8;

-- invalid input: chr() of NUL, of a surrogate, beyond U+10FFFF -> error 54000 from PostgreSQL
SELECT categorize.categorize(chr(0), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(chr(55296), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.categorize(chr(1114112), NULL);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: noncharacters (U+FFFE, U+FFFF, U+10FFFF) and private use (U+E000) -> separators between words
SELECT categorize.normalize('Star' || chr(65534) || 'bucks' || chr(1114111) || ' x' || chr(57344) || 'y' || chr(65535)) AS normalized,
       categorize.categorize('Starbucks' || chr(65534) || chr(65535) || chr(1114111) || chr(57344), NULL) AS category;

--
-- Emoji, combining marks, right-to-left text, zero-width and control characters
--

-- invalid input: emoji around a merchant, an emoji ZWJ sequence alone -> emoji are dropped: 1, and ''
SELECT categorize.normalize(E'\u2615 STARBUCKS \U0001F389') AS normalized,
       categorize.categorize(E'\u2615 STARBUCKS \U0001F389', NULL) AS category,
       categorize.normalize(E'\U0001F468\u200D\U0001F469\u200D\U0001F467') = '' AS zwj_sequence_empty;

-- invalid input: combining marks (decomposed accents, strike-through, marks alone) -> removed with the accents
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (20, 1, 'merchant', 'Café Nero');
SELECT categorize.normalize(E'CAFE\u0301 NERO') AS decomposed, categorize.normalize('café nero') AS composed,
       categorize.normalize(E'S\u0336t\u0336a\u0336r\u0336bucks') AS struck,
       categorize.normalize(repeat(E'\u0301', 1000)) = '' AS marks_only;
SELECT categorize.categorize(E'CAFE\u0301 NERO', NULL) AS decomposed, categorize.categorize('CAFE NERO', NULL) AS unaccented;

-- invalid input: right-to-left text, direction marks and overrides -> logical order kept, marks dropped
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (21, 1, 'merchant', E'\u05E7\u05E4\u05D4');
SELECT categorize.normalize(E'\u05E7\u05E4\u05D4 \u05EA\u05DC \u05D0\u05D1\u05D9\u05D1') AS hebrew,
       categorize.normalize(E'\u200F\u0645\u0642\u0647\u0649\u200E Starbucks') AS arabic_with_marks,
       categorize.normalize(E'\u202EskcubratS\u202C') AS overridden;
SELECT categorize.categorize(E'\u05E7\u05E4\u05D4 \u05EA\u05DC \u05D0\u05D1\u05D9\u05D1', NULL) AS hebrew,
       categorize.categorize(E'\u200F\u0645\u0642\u0647\u0649\u200E Starbucks', NULL) AS arabic_with_marks,
       categorize.categorize(E'\u202EskcubratS\u202C', NULL) AS overridden;

-- invalid input: zero-width characters inside a word -> ZWSP, ZWJ, soft hyphen, word joiner and BOM are dropped: the word stays whole
SELECT categorize.normalize(E'Star\u200Bbucks') AS zwsp, categorize.normalize(E'Star\u200Dbucks') AS zwj,
       categorize.normalize(E'Star\u00ADbucks') AS soft_hyphen, categorize.normalize(E'Star\u2060bucks') AS word_joiner,
       categorize.normalize(E'\uFEFFStarbucks') AS bom;
SELECT categorize.categorize(E'Star\u200Bbucks', NULL) AS zwsp, categorize.categorize(E'\uFEFFStarbucks', NULL) AS bom;

-- invalid input: NUL-free control characters (C0, DEL, ESC sequences, C1) -> separators
SELECT categorize.normalize(chr(1) || 'Star' || chr(127) || 'bucks' || chr(27) || '[31m' || chr(128) || chr(159) || 'x') AS normalized,
       categorize.categorize(chr(1) || 'Starbucks' || chr(27) || '[0m' || chr(7), NULL) AS category,
       categorize.categorize(E'STAR\tBUCKS', NULL) AS tab_inside;

-- invalid input: fullwidth letters, ligatures, final sigma, sharp s -> case-folded and compatibility-mapped
SELECT categorize.normalize(E'\uFF33\uFF54\uFF41\uFF52\uFF42\uFF55\uFF43\uFF4B\uFF53') AS fullwidth,
       categorize.categorize(E'\uFF33\uFF54\uFF41\uFF52\uFF42\uFF55\uFF43\uFF4B\uFF53', NULL) AS fullwidth_category,
       categorize.normalize(E'\uFB03 STRASSE Straße ΣΑΣ') AS folded;

-- invalid input: a code point whose mapping is 11 times longer (U+FDFA), 300000 times -> the output buffer bound holds
SELECT length(categorize.normalize(repeat(E'\uFDFA', 300000))) AS chars,
       octet_length(categorize.normalize(repeat(E'\uFDFA', 300000))) AS bytes;

--
-- Invalid regexes
--

-- invalid input: regexes that do not compile, at INSERT -> error 2201B
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '(');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '[a-');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', 'a{2,1}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '*a');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', E'a\\');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', E'(a)\\2');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', 'a{1,256}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '[[:foo:]]');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '(?z)a');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '[z-a]');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a regex too complex to compile -> error 2201B
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'regex', '((((a{1,100}){1,100}){1,100}){1,100})');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: an UPDATE to an invalid regex -> error 2201B, the row keeps its old value
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (30, 3, 'regex', '^gadget\s+world');
UPDATE categorize.patterns SET value = 'gadget(' WHERE id = 30;
\echo :LAST_ERROR_SQLSTATE
SELECT value FROM categorize.patterns WHERE id = 30;
SELECT categorize.categorize('GADGET   WORLD', NULL) AS still_matches;
DELETE FROM categorize.patterns WHERE id = 30;
SELECT * FROM written;

-- invalid input: regex syntax with directors and options (***=, (?x), (?q), (?c), (?b), \x escapes, \m\M) -> the same answer as PostgreSQL's ~*
INSERT INTO categorize.categories (id, name) VALUES
    (60, 'R literal'), (61, 'R expanded'), (62, 'R quoted'), (63, 'R hex'), (64, 'R case'), (65, 'R word'), (66, 'R basic');
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
    (60, 60, 'regex', '***=a+b?'), (61, 61, 'regex', '(?x) zz q  x'), (62, 62, 'regex', '(?q)c.d'),
    (63, 63, 'regex', E'\\x5a\\x5aY'), (64, 64, 'regex', '(?c)QQW'), (65, 65, 'regex', E'\\mvv\\Mww'),
    (66, 66, 'regex', E'(?b)k\\{2\\}');
SELECT t, categorize.categorize(NULL, t) AS category,
       (SELECT min(p.category_id) FROM categorize.patterns p WHERE p.kind = 'regex' AND t ~* p.value) AS by_postgres
  FROM (VALUES ('xx A+B? yy'), ('AB'), ('zzqx'), ('zz q x'), ('c.d'), ('cxd'), ('ZZY'), ('zzy'),
               ('qqw'), ('QQW'), ('vvww'), ('kk'), ('k{2}')) v(t);
DELETE FROM categorize.patterns WHERE id BETWEEN 60 AND 66;

--
-- Catastrophic regexes (nested quantifiers, backreferences)
--

INSERT INTO categorize.categories (id, name) VALUES (71, 'Nested plus'), (72, 'Alternation'), (73, 'Nested star'), (74, 'Backreference');

-- invalid input: (a+)+$, (a|aa)*b and ((a*)*)*c against 100000 'a's -> PostgreSQL's regex engine needs no backtracking for them: each finishes at once
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
    (71, 71, 'regex', '(a+)+$'), (72, 72, 'regex', '(a|aa)*b'), (73, 73, 'regex', '((a*)*)*c');
SELECT pattern_id FROM categorize.categorize_detail(NULL, repeat('a', 100000), NULL, NULL, 10) ORDER BY pattern_id;
SELECT pattern_id FROM categorize.categorize_detail(NULL, repeat('a', 100000) || '!', NULL, NULL, 10) ORDER BY pattern_id;
SELECT pattern_id FROM categorize.categorize_detail(NULL, repeat('a', 100000) || 'b!', NULL, NULL, 10) ORDER BY pattern_id;
SELECT pattern_id FROM categorize.categorize_detail(NULL, repeat('a', 100000) || 'c!', NULL, NULL, 10) ORDER BY pattern_id;
SELECT pattern_id FROM categorize.categorize_detail(repeat('a', 1048576) || '!', NULL, NULL, NULL, 10) ORDER BY pattern_id;
DELETE FROM categorize.patterns WHERE id IN (71, 72, 73);

-- invalid input: a backreference regex that backtracks, ^(aa+)\1+$ against a long prime-length text -> statement_timeout cancels it: error 57014, no hung backend
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (74, 74, 'regex', E'^(aa+)\\1+$');
SELECT categorize.categorize(NULL, repeat('a', 1009)) AS short_prime, categorize.categorize(NULL, repeat('a', 1010)) AS short_composite;
BEGIN;
SET LOCAL statement_timeout = '1s';
SELECT categorize.categorize(NULL, repeat('a', 100003));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT categorize.categorize(NULL, repeat('a', 1010)) AS next_call_works;

-- invalid input: the same regex cancelled inside learn_correction -> error 57014, nothing written
SELECT * FROM written;
BEGIN;
SET LOCAL statement_timeout = '1s';
SELECT categorize.learn_correction(NULL, repeat('a', 100003), 1, 100, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM written;

-- invalid input: the same regex cancelled inside the trigger during a multi-row INSERT -> error 57014, no row inserted
CREATE TABLE regex_expenses (description text, category_id bigint);
CREATE TRIGGER regex_expenses_categorize BEFORE INSERT ON regex_expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
BEGIN;
SET LOCAL statement_timeout = '1s';
INSERT INTO regex_expenses (description) VALUES ('aaaa'), (repeat('a', 100003));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS rows_inserted FROM regex_expenses;
DROP TABLE regex_expenses;
DELETE FROM categorize.patterns WHERE id = 74;

--
-- Amounts: negative, zero, NaN, Infinity, -Infinity, 10^30
--

-- invalid input: odd amounts in categorize() (Costco is 2 up to 100, 3 from 100.01) -> compared as numbers; NaN counts as no amount
SELECT a, categorize.categorize('COSTCO', NULL, a) AS category
  FROM (VALUES (-20::numeric), (0), (-0.0), ('NaN'), ('Infinity'), ('-Infinity'), (1e30), (-1e30)) t(a);
SELECT categorize.categorize('COSTCO', NULL, 1e300) AS ten_to_300;

-- invalid input: float NaN, Infinity, -Infinity, -0 and negative money in a row -> as the numeric forms
SELECT a, categorize.categorize(r) AS category
  FROM (VALUES ('NaN'::float8), ('Infinity'), ('-Infinity'), ('-0'), (1e308)) t(a),
       LATERAL (SELECT 'COSTCO'::text AS merchant_name, a AS amount) r;
SELECT categorize.categorize(r) AS negative_money FROM (SELECT 'COSTCO'::text AS merchant_name, '-500'::money AS amount) r;

-- invalid input: amounts within a double's precision of a bound -> compared in double precision (100.000000000000000001 counts as <= 100)
SELECT categorize.categorize('COSTCO', NULL, 100.000000000000000001) AS just_above_100,
       categorize.categorize('COSTCO', NULL, 100.00999999999999999999) AS just_below_100_01;

-- invalid input: a NaN pattern bound, at INSERT or UPDATE -> error 22023
INSERT INTO categorize.patterns (category_id, kind, value, amount_min) VALUES (3, 'merchant', 'Bound Shop', 'NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value, amount_max) VALUES (3, 'merchant', 'Bound Shop', 'NaN');
\echo :LAST_ERROR_SQLSTATE
UPDATE categorize.patterns SET amount_min = 'NaN' WHERE id = 3;
\echo :LAST_ERROR_SQLSTATE

-- invalid input: amount_min above amount_max -> error 23514
INSERT INTO categorize.patterns (category_id, kind, value, amount_min, amount_max) VALUES (3, 'merchant', 'Bound Shop', 10, -10);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: bounds of Infinity, -Infinity, 10^30, [0, 0] -> accepted, and applied as numbers
INSERT INTO categorize.patterns (id, category_id, kind, value, amount_min, amount_max) VALUES
    (40, 3, 'merchant', 'Inf Shop', 1e30, 'Infinity'),
    (41, 3, 'merchant', 'NegInf Shop', '-Infinity', -1e30),
    (42, 3, 'merchant', 'Zero Shop', 0, 0),
    (43, 3, 'merchant', 'Infinf Shop', 'Infinity', 'Infinity');
SELECT m, string_agg(a, ', ' ORDER BY n) AS amounts_that_match
  FROM (VALUES ('Inf Shop'), ('NegInf Shop'), ('Zero Shop'), ('Infinf Shop')) x(m),
       (VALUES (1, 'NULL', NULL::numeric), (2, '-Infinity', '-Infinity'), (3, '-1e31', -1e31), (4, '-1', -1),
               (5, '0', 0), (6, '-0.0', -0.0), (7, '1e-30', 1e-30), (8, '1e30', 1e30), (9, '1e31', 1e31),
               (10, 'Infinity', 'Infinity'), (11, 'NaN', 'NaN')) y(n, a, v)
 WHERE categorize.categorize(m, NULL, v) IS NOT NULL
 GROUP BY m ORDER BY m;
DELETE FROM categorize.patterns WHERE id BETWEEN 40 AND 43;

-- invalid input: learn_correction with NaN, Infinity, -Infinity, 10^30, negative and zero amounts -> recorded exactly
SELECT categorize.learn_correction('Amount Shop', NULL, a, 100, 1)
  FROM (VALUES ('NaN'::numeric), ('Infinity'), ('-Infinity'), (1e30), (-5), (0)) t(a);
SELECT amount FROM categorize.corrections WHERE merchant_name = 'Amount Shop' ORDER BY id;
DELETE FROM categorize.corrections;
DELETE FROM categorize.patterns WHERE source = 'learned';

--
-- Nonexistent, deleted and other owners' categories
--

-- invalid input: learn_correction to categories that do not exist (999, 0, -1, the largest bigint) -> error 23503, nothing written
SELECT * FROM written;
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 999);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: learn_correction to a deleted category, also deleted earlier in the same transaction -> error 23503, nothing written
INSERT INTO categorize.categories (id, name) VALUES (30, 'Temporary');
DELETE FROM categorize.categories WHERE id = 30;
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 30);
\echo :LAST_ERROR_SQLSTATE
BEGIN;
INSERT INTO categorize.categories (id, name) VALUES (31, 'Short-lived');
DELETE FROM categorize.categories WHERE id = 31;
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 31);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM written;

-- invalid input: learn_correction to another owner's category, for a user or for no user -> error 22023, nothing written
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, 100, 20);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction('Ghost Shop', NULL, 1, NULL, 20);
\echo :LAST_ERROR_SQLSTATE
SELECT categorize.learn_correction(ROW(5, 200, 'Ghost Shop', NULL, 1, NULL)::expenses, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: a bad category on the third row of one statement -> error 23503; the first two corrections are not written either
SELECT categorize.learn_correction('Batch Shop ' || i, NULL, 1, 100, CASE WHEN i = 3 THEN 999 ELSE 1 END)
  FROM generate_series(1, 3) i;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;
SELECT categorize.categorize('Batch Shop 1', NULL, NULL, 100) AS not_learned;

-- invalid input: a pattern for another owner's category, or for a missing one -> error 22023, 23503
INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (20, 'merchant', 'Hobby Shop', 100);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (20, 'merchant', 'Hobby Shop');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (999, 'merchant', 'Hobby Shop');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM written;

-- invalid input: a category deleted after corrections were learned for it -> its corrections and patterns go with it, categorize gives NULL
INSERT INTO categorize.categories (id, name) VALUES (32, 'Doomed');
SELECT categorize.learn_correction('Doomed Shop', NULL, 1, 100, 32);
SELECT categorize.categorize('Doomed Shop', NULL, NULL, 100) AS before_delete;
DELETE FROM categorize.categories WHERE id = 32;
SELECT categorize.categorize('Doomed Shop', NULL, NULL, 100) AS after_delete,
       (SELECT count(*) FROM categorize.corrections WHERE to_category_id = 32) AS corrections,
       (SELECT count(*) FROM categorize.patterns WHERE category_id = 32) AS patterns;

--
-- Duplicated corrections
--

-- invalid input: the same correction with an expense_id three times in one statement -> one correction, one hit
SELECT categorize.learn_correction('Idem Shop', NULL, 1, 100, 1, 77) FROM generate_series(1, 3);
SELECT count(*) AS corrections, (SELECT hits FROM categorize.patterns WHERE value_norm = 'idem shop') AS hits
  FROM categorize.corrections WHERE merchant_name = 'Idem Shop';

-- invalid input: the same correction without an expense_id twice -> two corrections, two hits
SELECT categorize.learn_correction('Twice Shop', NULL, 1, 100, 1);
SELECT categorize.learn_correction('Twice Shop', NULL, 1, 100, 1);
SELECT count(*) AS corrections, (SELECT hits FROM categorize.patterns WHERE value_norm = 'twice shop') AS hits
  FROM categorize.corrections WHERE merchant_name = 'Twice Shop';

-- invalid input: one expense filed under 1, then 2, then 1 again -> three corrections: the latest wins, the expense is under 1 again
SELECT categorize.learn_correction('Refiled Shop', NULL, 1, 100, 1, 78);
SELECT categorize.learn_correction('Refiled Shop', NULL, 1, 100, 2, 78);
SELECT categorize.learn_correction('Refiled Shop', NULL, 1, 100, 1, 78);
SELECT categorize.categorize('Refiled Shop', NULL, NULL, 100) AS category;
SELECT expense_id, to_category_id FROM categorize.corrections WHERE merchant_name = 'Refiled Shop' ORDER BY id;

--
-- SQL text in pattern values and expense texts
--

-- invalid input: SQL in merchant and keyword pattern values -> stored verbatim, matched as words
INSERT INTO categorize.categories (id, name) VALUES (50, $$Robert'); DROP TABLE categorize.patterns; --$$);
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
    (50, 50, 'merchant', $$'; DROP TABLE categorize.categories; --$$),
    (51, 50, 'keyword', $$1' OR '1'='1$$);
SELECT id, value, value_norm FROM categorize.patterns WHERE id IN (50, 51) ORDER BY id;
SELECT categorize.categorize($$x'; DROP TABLE categorize.categories; --$$, NULL) AS sql_merchant,
       categorize.categorize(NULL, $$WHERE 1' or '1'='1$$) AS sql_keyword;

-- invalid input: SQL in a regex pattern -> a regex like any other
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
    (52, 50, 'regex', $$^select .* from pg_catalog\.pg_authid;?$$);
SELECT categorize.categorize(NULL, 'SELECT rolpassword FROM pg_catalog.pg_authid') AS sql_regex;

-- invalid input: the category name with quotes and SQL -> returned verbatim by categorize_detail
SELECT rank, category_id, category, pattern_id
  FROM categorize.categorize_detail($$'; DROP TABLE categorize.categories; --$$, NULL, NULL, NULL, 1);

-- invalid input: SQL in the texts of a correction -> stored verbatim; no table touched
SELECT categorize.learn_correction($$Bobby'); DELETE FROM categorize.corrections; --$$,
                                   $q$$$; TRUNCATE categorize.patterns; $q$, 1, 100, 50);
SELECT merchant_name, description FROM categorize.corrections WHERE to_category_id = 50;
SELECT * FROM written;
DELETE FROM categorize.patterns WHERE id IN (50, 51, 52);

--
-- categorize_detail's k
--

-- invalid input: k of 0, -1, 1001 or the largest integer -> error 22023
SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL, NULL, NULL, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL, NULL, NULL, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL, NULL, NULL, 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM categorize.categorize_detail(ROW(1, NULL, 'Starbucks', NULL, NULL, NULL)::expenses, 2147483647);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: k of 0 with every expense value NULL -> error 22023 (k is checked first)
SELECT count(*) FROM categorize.categorize_detail(NULL, NULL, NULL, NULL, 0);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: k beyond integer -> error 22003 from PostgreSQL
SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL, NULL, NULL, 2147483648::bigint::int);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: k = 1000, the largest allowed -> as many rows as candidates
SELECT count(*) AS rows FROM categorize.categorize_detail('Starbucks', 'tesco', NULL, NULL, 1000);

--
-- user_id values
--

-- invalid input: the largest and smallest bigint user_id -> owners like any other
SELECT categorize.learn_correction('Edge User Shop', NULL, 1, 9223372036854775807, 2);
SELECT categorize.categorize('Edge User Shop', NULL, NULL, 9223372036854775807) AS max_user,
       categorize.categorize('Edge User Shop', NULL, NULL, -9223372036854775808) AS min_user,
       categorize.categorize('Edge User Shop', NULL, NULL, 0) AS user_zero;

-- invalid input: a user_id beyond bigint -> error 22003 from PostgreSQL
SELECT categorize.categorize('Starbucks', NULL, NULL, 9223372036854775808::numeric::bigint);
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a negative owner -> an owner like any other
INSERT INTO categorize.categories (id, name, owner_id) VALUES (45, 'Negative owner', -5);
SELECT categorize.learn_correction('Negative Shop', NULL, 1, -5, 45);
SELECT categorize.categorize('Negative Shop', NULL, NULL, -5) AS owner_minus_5,
       categorize.categorize('Negative Shop', NULL, NULL, 5) AS owner_5;

--
-- The trigger on tables whose target column is missing or of the wrong type
--

-- invalid input: a target column of type boolean, smallint or text -> error 42804, no row
CREATE TABLE bool_target (merchant_name text, category_id boolean);
CREATE TRIGGER c BEFORE INSERT ON bool_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO bool_target VALUES ('Starbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE small_target (merchant_name text, category_id smallint);
CREATE TRIGGER c BEFORE INSERT ON small_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO small_target VALUES ('Starbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE text_target (merchant_name text, category text);
CREATE TRIGGER c BEFORE INSERT ON text_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category');
INSERT INTO text_target VALUES ('Starbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT count(*) FROM bool_target) + (SELECT count(*) FROM small_target) + (SELECT count(*) FROM text_target) AS rows;

-- invalid input: a target column that is missing, dropped after CREATE TRIGGER, or named '' -> error 42703
CREATE TABLE missing_target (merchant_name text);
CREATE TRIGGER c BEFORE INSERT ON missing_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO missing_target VALUES ('Starbucks');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE dropped_target (merchant_name text, category_id bigint);
CREATE TRIGGER c BEFORE INSERT ON dropped_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
ALTER TABLE dropped_target DROP COLUMN category_id;
INSERT INTO dropped_target VALUES ('Starbucks');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE empty_name_target (merchant_name text, category_id bigint);
CREATE TRIGGER c BEFORE INSERT ON empty_name_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('');
INSERT INTO empty_name_target VALUES ('Starbucks');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: a confidence column of type text, or missing -> error 42804, 42703
CREATE TABLE conf_target (merchant_name text, category_id bigint, conf text);
CREATE TRIGGER c BEFORE INSERT ON conf_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'conf');
INSERT INTO conf_target VALUES ('Starbucks');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER c ON conf_target;
CREATE TRIGGER c BEFORE INSERT ON conf_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'nope');
INSERT INTO conf_target VALUES ('Starbucks');
\echo :LAST_ERROR_SQLSTATE

-- invalid input: an integer target and a category id above 2^31 -> error 22003
INSERT INTO categorize.categories (id, name) VALUES (3000000000, 'Big id');
INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (60, 3000000000, 'merchant', 'Bigid Store');
CREATE TABLE int_target (merchant_name text, category_id integer);
CREATE TRIGGER c BEFORE INSERT ON int_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO int_target VALUES ('Starbucks', NULL), ('Bigid Store', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM int_target;

-- invalid input: fired BEFORE DELETE, FOR EACH STATEMENT, or INSTEAD OF on a view -> error 39P01
CREATE TABLE misfired (merchant_name text, category_id bigint);
INSERT INTO misfired VALUES ('Starbucks', NULL);
CREATE TRIGGER c BEFORE DELETE ON misfired FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
DELETE FROM misfired;
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER s BEFORE INSERT ON misfired FOR EACH STATEMENT EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO misfired VALUES ('Starbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW misfired_view AS SELECT NULL::text AS merchant_name, NULL::bigint AS category_id;
CREATE TRIGGER c INSTEAD OF INSERT ON misfired_view FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO misfired_view VALUES ('Starbucks', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM misfired;

-- invalid input: a table whose amount column is text -> error 42804, no row
CREATE TABLE text_amount (merchant_name text, amount text, category_id bigint);
CREATE TRIGGER c BEFORE INSERT ON text_amount FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO text_amount VALUES ('Starbucks', '5', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM text_amount;

-- invalid input: a jsonb merchant_name column -> read through its text output: filled
CREATE TABLE jsonb_merchant (merchant_name jsonb, category_id bigint);
CREATE TRIGGER c BEFORE INSERT ON jsonb_merchant FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO jsonb_merchant VALUES ('{"name": "Starbucks"}', NULL);
SELECT * FROM jsonb_merchant;

-- invalid input: a target of a domain whose CHECK rejects the category -> error 23514, no row
CREATE DOMAIN bad_input_negative_id AS bigint CHECK (VALUE < 0);
CREATE TABLE domain_target (merchant_name text, category_id bad_input_negative_id);
CREATE TRIGGER c BEFORE INSERT ON domain_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
INSERT INTO domain_target VALUES ('Starbucks', NULL);
SELECT merchant_name, category_id FROM domain_target;

-- invalid input: numeric(p, s) target and confidence columns too narrow for the values -> error 22003 (confidence rounded to the scale), no row
CREATE TABLE narrow_target (merchant_name text, category_id numeric(2, 0), conf numeric(2, 1));
CREATE TRIGGER c BEFORE INSERT ON narrow_target FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'conf');
INSERT INTO narrow_target VALUES ('Bigid Store', NULL, NULL), ('tesco', NULL, NULL);
-- a category that fits goes in, its confidence rounded to the column's scale
INSERT INTO narrow_target VALUES ('tesco', NULL, NULL);
SELECT merchant_name, category_id, scale(conf) AS conf_scale FROM narrow_target ORDER BY merchant_name;

DROP TABLE bool_target, small_target, text_target, missing_target, dropped_target, empty_name_target,
    conf_target, int_target, misfired, text_amount, jsonb_merchant, domain_target, narrow_target;
DROP VIEW misfired_view;
DROP VIEW written;
DROP TABLE expenses;
DROP TYPE bad_input_place;
DROP DOMAIN bad_input_label, bad_input_price, bad_input_negative_id;
