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
#      would (bench/eval.sql does the work); then the figures (online
#      accuracy, corrections, the share categorized at
#      categorize.min_confidence and its precision), the reliability of the
#      confidence, accuracy by tenth of the stream, the cost of a call, and
#      categorize_detail() explaining a few decisions;
#   2. what an application does with it: a table with the auto_categorize()
#      trigger, preview() of a rule over a match_ops index, recategorize()
#      of a backlog, and categorize.health().
#
# It prints the story, not the harness: the evaluation's tables, functions
# and loading run out of sight, psql prints no command tags and the server
# sends no notices; the statements an application would write (part 2) are
# printed before their results.  The cluster is removed at the end.
# Options: --no-build (use the installed extension).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/common.sh"

build=1
[ "${1:-}" = --no-build ] && build=0

ensure_packages "${BASE_PACKAGES[@]}"
[ "$build" = 1 ] && build_install "$top"

dir=$(mktemp -d /tmp/categorize-demo.XXXXXX)
trap 'cluster_stop "$dir"' EXIT
# The stream plays minutes between two expenses in a moment: a pattern's
# counts go straight to its row, not to the worker's queue, which the
# stream would otherwise wait for (up to feedback_delay) at every expense
cluster_start "$dir" "$(free_port 55460)" "categorize.feedback_delay = 0"
chmod 755 "$dir"
data=$dir/birmingham.csv
cp "$top/data/birmingham_pcard.csv" "$data"
chmod 644 "$data"

# No notices from the server (CREATE ... IF NOT EXISTS, recategorize's
# progress); warnings and errors still show
export PGOPTIONS="-c client_min_messages=warning"

# Run SQL quietly: results only, without the statements, command tags or
# row-count footers
sql() {
    psql -X -q -v ON_ERROR_STOP=1 -P pager=off -P footer=off "$@"
}

# Print the SQL read from stdin, indented, then run it
show() {
    local text
    text=$(cat)
    printf '%s\n\n' "$text" | sed 's/^./    &/'
    sql <<<"$text"
}

say() { printf '\n== %s\n\n' "$*"; }

# The evaluation's schema and the data set, loaded out of sight
sql >/dev/null <<SQL
CREATE EXTENSION categorize;
\i $top/bench/eval.sql
CREATE TEMP TABLE raw (line int GENERATED ALWAYS AS IDENTITY, description text, amount numeric,
                       date date, category text);
\copy raw (description, amount, date, category) FROM '$data' WITH (FORMAT csv, HEADER true)
INSERT INTO eval.rows (dataset, seq, merchant, amount, date, category)
SELECT 'birmingham', line, description, amount, date, category FROM raw;
CALL eval.create_categories('birmingham');
SQL

say "Birmingham City Council's card transactions, and an engine that knows nothing"
sql -At <<'SQL'
SELECT format('%s expenses from %s to %s, under %s expense types (the categories).',
              to_char(count(*), 'FM999,999'), to_char(min(date), 'YYYY-MM-DD'),
              to_char(max(date), 'YYYY-MM-DD'), count(DISTINCT category))
  FROM eval.rows WHERE dataset = 'birmingham';
SELECT 'No patterns and no model: the engine learns only from the corrections below.';
SQL

say "1. Every expense in date order: categorize(), and learn_correction() when it is wrong"
echo "Streaming the expenses, one transaction each, as a user would meet them ..."
sql <<'SQL'
SET categorize.max_corrections_per_minute = 0;  -- one user corrects thousands a minute here
CALL eval.stream('birmingham');
SQL
echo
sql <<'SQL'
\echo 'What the user saw over the whole stream:'
\echo
SELECT f.figure, f.value
  FROM eval.report('birmingham') r,
       LATERAL (VALUES
           ('right first time (top-1)', to_char(100 * r.top1_accuracy, 'FM990.0') || ' %'),
           ('right among the first three (top-3)', to_char(100 * r.top3_accuracy, 'FM990.0') || ' %'),
           ('corrected by the user', to_char(100 * r.correction_rate, 'FM990.0') || ' %'),
           ('categorized by categorize() at min_confidence '
                || current_setting('categorize.min_confidence'),
            to_char(100 * r.coverage, 'FM990.0') || ' %'),
           ('  of which right', to_char(100 * r.precision_on_coverage, 'FM990.0') || ' %'),
           ('expenses a second, learning included', r.expenses_per_second::text)) AS f (figure, value);
\echo 'Does the confidence mean what it says? Predictions by decile of confidence, and how'
\echo 'often they were right (calibrated: within 0.08; fewer than 100 predictions: not judged):'
\echo
SELECT * FROM eval.reliability('birmingham');
\echo 'Learning catches up: accuracy by tenth of the stream'
\echo
SELECT * FROM eval.by_tenth('birmingham');
\echo 'What a call cost (categorize.stats, in microseconds):'
\echo
SELECT calls, categorized, uncategorized, corrections, patterns, round(mean_us::numeric, 1) AS mean_us,
       round(p50_us::numeric, 1) AS p50_us, round(p99_us::numeric, 1) AS p99_us
  FROM categorize.stats;
SQL

say "Why: categorize_detail() names the pattern or the model behind each candidate"
sql <<'SQL'
\echo 'categorize_detail(''AMAZON MKTPLACE PMTS'', NULL, 25.99):'
\echo
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('AMAZON MKTPLACE PMTS', NULL, 25.99);
\echo 'categorize_detail(''TRAVELODGE HOTELS'', NULL, 75):'
\echo
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('TRAVELODGE HOTELS', NULL, 75);
\echo 'categorize_detail(''NEW MERCHANT PARKING LTD'', NULL, 4.50):'
\echo
SELECT rank, category, round(confidence::numeric, 2) AS confidence, kind, reason
  FROM categorize.categorize_detail('NEW MERCHANT PARKING LTD', NULL, 4.50);
SQL

say "2. In an application: a table whose trigger files what the engine is sure of"
show <<'SQL'
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
SQL
echo "The last 5,000 expenses of the stream, inserted again as new rows:"
echo
sql <<'SQL'
SELECT clock_timestamp() AS started \gset
INSERT INTO expenses (id, merchant_name, amount, date)
SELECT seq, merchant, amount, date FROM eval.rows ORDER BY date DESC, seq DESC LIMIT 5000;
SELECT clock_timestamp() - :'started'::timestamptz AS took \gset
SELECT count(*) AS inserted, count(e.category_id) AS filed,
       round(100.0 * count(*) FILTER (WHERE k.name = r.category) / nullif(count(e.category_id), 0), 1) AS right_pct,
       round(extract(epoch FROM :'took'::interval) * 1000) AS ms
  FROM expenses e JOIN eval.rows r ON r.seq = e.id LEFT JOIN categorize.categories k ON k.id = e.category_id;
SQL

say "A rule before it exists: preview() over an index of the merchant names"
echo "Which rows would a merchant rule \"argos\" match, and would it decide them?"
echo
show <<'SQL'
CREATE INDEX expenses_merchant_match ON expenses USING gin (merchant_name categorize.match_ops);
SELECT p.id, p.merchant_name, p.amount, cur.name AS category_now, eng.name AS engine_says,
       p.rule_decides
  FROM categorize.preview('merchant', 'argos', 'expenses', lim => 5) p
  LEFT JOIN categorize.categories cur ON cur.id = p.current_category_id
  LEFT JOIN categorize.categories eng ON eng.id = p.engine_category_id;
SQL

say "A backlog loaded without the trigger, filed in batches by recategorize()"
echo "A third of the rows lose their category first, as if loaded without the trigger."
echo
sql <<'SQL'
UPDATE expenses SET category_id = NULL, category_confidence = NULL WHERE id % 3 = 0;
SQL
show <<'SQL'
CALL categorize.recategorize('expenses', batch_size => 1000);
SELECT relation, rows_done, rows_total, rows_changed, finished_at IS NOT NULL AS finished
  FROM categorize.recategorize_progress;
SELECT check_name, status, detail FROM categorize.health();
SQL

say "Done: the cluster in $dir is removed now"
