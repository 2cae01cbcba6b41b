/* categorize--1.1--1.2.sql: learning 2.0, a read path that never writes, rule health, scale-out */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION categorize UPDATE TO '1.2'" to load this file. \quit

--
-- Usage per rule (issue 14, for issue 15): how many rows each pattern
-- decided for the auto_categorize() trigger, when it last did, and how the
-- corrections of what it decided went.  Reads (categorize() and the like)
-- count nothing; the trigger's decisions count when their transactions
-- commit, in shared memory, and the categorize worker adds them to
-- pattern_usage about once a second.  Nothing writes categorize.patterns
-- for usage: that would make every backend reload its compiled sets.
--
-- pattern_usage is a configuration table (pg_dump keeps its rows): its
-- counts are the history behind unused_rules(), which a restore that
-- forgot them would turn into "every rule unused".
--
CREATE TABLE categorize.pattern_usage (
    pattern_id      bigint PRIMARY KEY REFERENCES categorize.patterns ON DELETE CASCADE,
    decided         bigint NOT NULL DEFAULT 0,
    last_matched_at timestamptz NULL,
    CONSTRAINT pattern_usage_decided_check CHECK (decided >= 0)
);

COMMENT ON TABLE categorize.pattern_usage IS
'rows each pattern decided for the auto_categorize() trigger (committed) and when it last did; written by the categorize worker, never by reads';

SELECT pg_catalog.pg_extension_config_dump('categorize.pattern_usage', '');

-- The corrections of what a pattern decided, for rule_usage
CREATE INDEX corrections_from_pattern_idx ON categorize.corrections (from_pattern_id)
    WHERE from_pattern_id IS NOT NULL;

CREATE VIEW categorize.rule_usage AS
SELECT p.id AS pattern_id,
       p.kind,
       p.value,
       p.category_id,
       p.owner_id,
       p.source,
       u.last_matched_at,
       COALESCE(u.decided, 0) AS decided,
       COALESCE(c.confirmed, 0) AS confirmed,
       COALESCE(c.corrected, 0) AS corrected
FROM categorize.patterns p
LEFT JOIN categorize.pattern_usage u ON u.pattern_id OPERATOR(pg_catalog.=) p.id
LEFT JOIN (
    SELECT x.from_pattern_id,
           pg_catalog.count(*) FILTER (WHERE x.to_category_id OPERATOR(pg_catalog.=) q.category_id) AS confirmed,
           pg_catalog.count(*) FILTER (WHERE x.to_category_id OPERATOR(pg_catalog.<>) q.category_id) AS corrected
    FROM categorize.corrections x
    JOIN categorize.patterns q ON q.id OPERATOR(pg_catalog.=) x.from_pattern_id
    GROUP BY x.from_pattern_id
) c ON c.from_pattern_id OPERATOR(pg_catalog.=) p.id;

COMMENT ON VIEW categorize.rule_usage IS
'usage per pattern: rows it decided for the trigger and when it last did (pattern_usage), and the corrections of expenses it decided that kept its category (confirmed) or changed it (corrected)';

CREATE FUNCTION categorize.unused_rules(older_than interval)
RETURNS SETOF categorize.rule_usage
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.*
    FROM categorize.rule_usage r
    JOIN categorize.patterns p ON p.id = r.pattern_id
    WHERE p.active
      AND (r.last_matched_at IS NULL OR r.last_matched_at < now() - older_than)
    ORDER BY r.last_matched_at NULLS FIRST, r.pattern_id
$$;

COMMENT ON FUNCTION categorize.unused_rules(interval) IS
'active patterns that decided no row for the trigger since now() - older_than, those that never did included; oldest use first';

REVOKE ALL ON FUNCTION categorize.unused_rules(interval) FROM PUBLIC;
GRANT SELECT ON categorize.pattern_usage, categorize.rule_usage TO categorize_admin;
GRANT EXECUTE ON FUNCTION categorize.unused_rules(interval) TO categorize_admin;
