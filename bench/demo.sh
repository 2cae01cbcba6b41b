#!/usr/bin/env bash
# bench/demo.sh -- `make demo`: categorize on real data, in a throwaway
# cluster, in a few minutes.
#
# Installs what it needs (Debian packages), builds and installs the
# extension, starts a throwaway PostgreSQL 15 with categorize preloaded,
# and runs it on Birmingham City Council's published card transactions
# (data/birmingham_pcard.csv, 29,005 expenses, 104 expense types):
#
#   1. the stream: every expense in date order goes through categorize(),
#      and every miss is corrected with learn_correction(), as a user
#      would; then the online accuracy, the correction rate, the share
#      categorized above categorize.min_confidence and its precision, the
#      reliability of the confidence, the stats view and a few
#      categorize_detail() explanations (bench/eval.sql does the work);
#   2. what an application does with it: a table with the auto_categorize()
#      trigger, preview() of a rule over a match_ops index, recategorize()
#      of a backlog, and categorize.health().
#
# Every statement is printed before its result.  The cluster is removed at
# the end.  Options: --no-build (use the installed extension).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/common.sh"

build=1
[ "${1:-}" = --no-build ] && build=0

ensure_packages "${BASE_PACKAGES[@]}"
[ "$build" = 1 ] && build_install "$top"

dir=$(mktemp -d /tmp/categorize-demo.XXXXXX)
trap 'cluster_stop "$dir"' EXIT
cluster_start "$dir" "$(free_port 55460)"
chmod 755 "$dir"
data=$dir/birmingham.csv
cp "$top/data/birmingham_pcard.csv" "$data"
chmod 644 "$data"

# Run SQL, echoing each statement
sql() {
    psql -X -q -e -v ON_ERROR_STOP=1 -P pager=off "$@"
}

say() { printf '\n== %s\n\n' "$*"; }

say "The extension, and the council's 104 expense types as categories"
sql <<SQL
CREATE EXTENSION categorize;
SET categorize.max_corrections_per_minute = 0;  -- one user corrects thousands a minute here
\i $top/bench/eval.sql
CREATE TEMP TABLE raw (line int GENERATED ALWAYS AS IDENTITY, description text, amount numeric,
                       date date, category text);
\copy raw (description, amount, date, category) FROM '$data' WITH (FORMAT csv, HEADER true)
INSERT INTO eval.rows (dataset, seq, merchant, amount, date, category)
SELECT 'birmingham', line, description, amount, date, category FROM raw;
CALL eval.create_categories('birmingham');
SELECT count(*) AS expenses, count(DISTINCT category) AS categories, min(date), max(date)
  FROM eval.rows;
SQL

say "1. The stream: categorize() each expense in date order, learn_correction() every miss"
sql <<'SQL'
SET categorize.max_corrections_per_minute = 0;
CALL eval.stream('birmingham');
-- online top-1 and top-3 accuracy, correction rate, coverage at the default
-- categorize.min_confidence and the precision of what was categorized
\x on
SELECT * FROM eval.report('birmingham');
\x off
-- does the confidence mean what it says? decile -> observed precision
SELECT * FROM eval.reliability('birmingham');
-- does learning catch up? accuracy by tenth of the stream
SELECT * FROM eval.by_tenth('birmingham');
SELECT calls, categorized, uncategorized, corrections, patterns, round(mean_us::numeric, 1) AS mean_us,
       round(p50_us::numeric, 1) AS p50_us, round(p99_us::numeric, 1) AS p99_us
  FROM categorize.stats;
SQL

say "Why: categorize_detail() names the pattern or the model that decided"
sql <<'SQL'
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('AMAZON MKTPLACE PMTS', NULL, 25.99);
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('TRAVELODGE HOTELS', NULL, 75);
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('NEW MERCHANT PARKING LTD', NULL, 4.50);
SQL

say "2. In an application: a table whose trigger files what the engine is sure of"
sql <<'SQL'
CREATE TABLE expenses (
    id int PRIMARY KEY,
    merchant_name text,
    amount numeric,
    date date,
    category_id bigint,
    category_confidence real
);
CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
-- the last 5,000 expenses again, as new rows
\timing on
INSERT INTO expenses (id, merchant_name, amount, date)
SELECT seq, merchant, amount, date FROM eval.rows ORDER BY date DESC, seq DESC LIMIT 5000;
\timing off
SELECT count(*) AS inserted, count(e.category_id) AS filed,
       round(100.0 * count(*) FILTER (WHERE k.name = r.category) / nullif(count(e.category_id), 0), 1) AS right_pct
  FROM expenses e JOIN eval.rows r ON r.seq = e.id LEFT JOIN categorize.categories k ON k.id = e.category_id;
SQL

say "A rule before it exists: preview() over an index of the merchant names"
sql <<'SQL'
CREATE INDEX expenses_merchant_match ON expenses USING gin (merchant_name categorize.match_ops);
SELECT id, merchant_name, amount, current_category_id, engine_category_id, rule_decides
  FROM categorize.preview('merchant', 'travelodge', 'expenses', lim => 5);
SQL

say "A backlog loaded without the trigger, filed in batches by recategorize()"
sql <<'SQL'
UPDATE expenses SET category_id = NULL, category_confidence = NULL WHERE id % 3 = 0;
SET client_min_messages = notice;
CALL categorize.recategorize('expenses', batch_size => 1000);
SELECT relation, rows_done, rows_total, rows_changed, finished_at IS NOT NULL AS finished
  FROM categorize.recategorize_progress;
SELECT check_name, status, detail FROM categorize.health();
SQL

say "Done: the cluster in $dir is removed now"
