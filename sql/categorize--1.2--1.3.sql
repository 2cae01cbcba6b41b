/* categorize--1.2--1.3.sql: rules users can trust (conflicts, the review queue, dry runs of a rule change) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.3'" to load this file. \quit

--
-- Normalization (1.3): a processor prefix followed by noise is the
-- merchant's own name ("LYFT *2276605635 SAN FRANCISCO CA" now normalizes
-- to "lyft san francisco ca", not "san francisco ca").  Patterns whose
-- value normalizes differently now get their value_norm again (the
-- patterns trigger stamps it on every write); only values with a '*' can.
--
UPDATE categorize.patterns
   SET value = value
 WHERE kind IN ('merchant', 'keyword') AND value LIKE '%*%'
   AND value_norm IS DISTINCT FROM categorize.normalize(value);

-- The extension's own index of pattern values is rebuilt here; other
-- indexes built with the old normalization (expression indexes on
-- categorize.normalize(), GIN indexes with categorize.match_ops) keep the
-- old keys of such texts until they are rebuilt: say which ones.
REINDEX INDEX categorize.patterns_value_match_idx;

DO $$
DECLARE
    stale text;
BEGIN
    SELECT string_agg(DISTINCT d.objid::regclass::text, ', ' ORDER BY d.objid::regclass::text)
      INTO stale
      FROM pg_depend d
      JOIN pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_class'::regclass
       AND c.relkind IN ('i', 'I')
       AND c.relnamespace <> 'categorize'::regnamespace
       AND ((d.refclassid = 'pg_proc'::regclass
             AND d.refobjid = 'categorize.normalize(text)'::regprocedure)
         OR (d.refclassid = 'pg_opclass'::regclass
             AND d.refobjid IN (SELECT oid FROM pg_opclass
                                 WHERE opcname = 'match_ops'
                                   AND opcnamespace = 'categorize'::regnamespace)));
    IF stale IS NOT NULL THEN
        RAISE WARNING 'categorize 1.3 normalizes "NAME *REFERENCE" texts differently; these indexes may hold old keys: %', stale
            USING DETAIL = 'A processor prefix followed by a reference code is now kept as the merchant''s name ("LYFT *2276605635" normalizes to "lyft").',
                  HINT = 'Rebuild them, for instance with REINDEX INDEX CONCURRENTLY, when rows of that form may be indexed.';
    END IF;
END
$$;
