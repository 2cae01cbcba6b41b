#!/usr/bin/env bash
# bench/eval.sh -- `make eval`: online accuracy of categorize on real and
# synthetic data.
#
#   bench/eval.sh [--only NAME] [--no-build] [--results DIR] [--no-baselines]
#                 [--rows N] [--synth-args "GENERATOR ARGS"] [NAME=FILE.csv ...]
#
# Data sets: birmingham and oxford (data/*.csv, description,amount,date,
# category), synthetic (made now by bench/synth/generate.py: user_id,
# merchant,description,amount,date,category, with the seed rules of
# bench/synth/seed_rules.sql), synthetic_heldout (the same generator with
# another seed and other parameters, $HELDOUT_ARGS below: a held-out set,
# never tuned on; nothing in the engine or the baselines may be changed
# for its figures), and any given as NAME=FILE.csv in the council format.
# --only NAME runs one of them.
#
# For each, in a throwaway cluster with the library preloaded and a fresh
# extension: stream the rows in date order through categorize_detail()/
# categorize(), correct every miss with learn_correction(), and print
# accuracy, coverage, precision, the reliability table, throughput and the
# issues' targets (bench/eval.sql); at the end, one summary line a set.
# --no-build evaluates the extension as installed; --results DIR keeps
# each set's per-expense results (and the synthetic CSVs) in DIR; --rows N
# streams only the first N rows of each set in date order (to try a change
# quickly; the figures of a full run are those of all rows).
#
# Unless --no-baselines, the standard learners a user could pick instead
# (bench/baselines/run_baselines.py, Debian's Python 3 and scikit-learn,
# which this installs when missing) stream the same rows in the same order,
# with the extension's own normalize() of every text (computed by this
# server), on another core while the engine streams; then bench/baselines/
# side_by_side.py prints the engine beside them and writes
# bench/results/side_by_side.md and bench/results/reliability.png.
#
# PG_CONFIG chooses the PostgreSQL (its bindir's initdb, pg_ctl and psql);
# EVAL_PORT the first TCP port tried for the throwaway server (55440).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# The PostgreSQL of PG_CONFIG, not the system one, when it is given
if [ -n "${PG_CONFIG:-}" ] && [ -z "${PG_BIN:-}" ]; then
    PG_BIN=$("$PG_CONFIG" --bindir)
fi
. "$top/tools/common.sh"
export PATH="$PG_BIN:$PATH"

# The held-out synthetic set (chosen once, before any run on it, and never
# tuned on): another seed and start date, fewer users over a longer window,
# owners who disagree less but slip more, more refunds, bills, salaries and
# trips, a steeper chain popularity and less loyalty
HELDOUT_ARGS="--seed 7 --start 2023-09-04 --users 900 --days 90 --expenses 16000 --zipf 1.2 --loyalty 0.6 --disagreement 0.6 --inconsistency 0.04 --refunds 0.06 --bills 0.4 --payroll 0.2 --trips 0.25"

# Print the comment block above as help
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

argv="$*"
only=
build=1
results=
synth_args=
rows=
baselines=1
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --only) only=${2:?--only needs a data set name}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --no-baselines) baselines=0; shift ;;
        --results) results=${2:?--results needs a directory}; shift 2 ;;
        --results=*) results=${1#*=}; shift ;;
        --rows) rows=${2:?--rows needs a number}; shift 2 ;;
        --rows=*) rows=${1#*=}; shift ;;
        --synth-args) synth_args=${2?}; shift 2 ;;
        --synth-args=*) synth_args=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *=*) extra+=("$1"); shift ;;
        *) echo "eval.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

datasets=("birmingham=$top/data/birmingham_pcard.csv" "oxford=$top/data/oxford_pcard.csv"
          "synthetic=" "synthetic_heldout=" ${extra[@]+"${extra[@]}"})
if [ -n "$only" ]; then
    selected=()
    for spec in "${datasets[@]}"; do
        [ "${spec%%=*}" = "$only" ] && selected+=("$spec")
    done
    if [ ${#selected[@]} -eq 0 ]; then
        echo "eval.sh: no data set named \"$only\" (have: $(printf '%s ' "${datasets[@]%%=*}"))" >&2
        exit 2
    fi
    datasets=("${selected[@]}")
fi

ensure_packages "${BASE_PACKAGES[@]}" python3
# The baselines run on Debian's Python and scikit-learn
[ "$baselines" = 1 ] && ensure_packages python3-sklearn python3-numpy python3-scipy python3-matplotlib
[ "$build" = 1 ] && build_install "$top"

dir=$(mktemp -d /tmp/categorize-eval.XXXXXX)
work=$(mktemp -d /tmp/categorize-eval-data.XXXXXX)
baselines_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    [ -n "$baselines_pid" ] && kill "$baselines_pid" 2>/dev/null
    cluster_stop "$dir"
    rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
# A stream corrects one owner thousands of times a minute: no rate limit.
# It plays minutes between two expenses in a moment, so the counts of a
# pattern corrected a moment ago go straight to its row rather than to the
# queue for the worker (which the stream would wait for at every expense)
cluster_start "$dir" "$(free_port "${EVAL_PORT:-55440}")" "categorize.max_corrections_per_minute = 0" \
    "categorize.feedback_delay = 0"
[ -n "$results" ] && mkdir -p "$results" && results=$(cd "$results" && pwd)
# The baselines read the engine's per-expense results: keep them somewhere
if [ "$baselines" = 1 ] && [ -z "$results" ]; then
    results=$work/results
    mkdir -p "$results"
fi

# The SQL that loads data set $1 from file $2 into eval.rows (the first
# --rows of them in stream order, when it is given)
load_sql() {
    local name=$1 file=$2
    if [[ $name == synthetic* ]]; then
        cat <<SQL
-- line: the row's number in the file (a heap does not keep COPY's order)
CREATE TEMP TABLE raw (line bigint GENERATED ALWAYS AS IDENTITY, user_id bigint, merchant text,
                       description text, amount numeric, date date, category text);
\copy raw (user_id, merchant, description, amount, date, category) FROM '$file' WITH (FORMAT csv, HEADER true)
DELETE FROM eval.rows WHERE dataset = '$name';
INSERT INTO eval.rows (dataset, seq, merchant, description, amount, date, category, user_id)
SELECT '$name', line, merchant, nullif(description, ''), amount, date, category, user_id
  FROM raw;
SQL
    else
        cat <<SQL
CREATE TEMP TABLE raw (line bigint GENERATED ALWAYS AS IDENTITY, description text, amount numeric,
                       date date, category text);
\copy raw (description, amount, date, category) FROM '$file' WITH (FORMAT csv, HEADER true)
DELETE FROM eval.rows WHERE dataset = '$name';
INSERT INTO eval.rows (dataset, seq, merchant, amount, date, category)
SELECT '$name', line, description, amount, date, category FROM raw;
SQL
    fi
    if [ -n "$rows" ]; then
        cat <<SQL
DELETE FROM eval.rows e WHERE e.dataset = '$name' AND e.seq NOT IN
    (SELECT seq FROM eval.rows WHERE dataset = '$name' ORDER BY date, seq LIMIT $rows);
SQL
    fi
}

# Tables that say where a data set loses accuracy (the synthetic set's
# categories are few enough to list)
detail_sql() {
    local name=$1
    echo "SELECT * FROM eval.by_decider('$name');"
    echo "SELECT * FROM eval.by_tenth('$name');"
    if [[ $name == synthetic* ]]; then
        echo "SELECT * FROM eval.by_category('$name');"
        echo "SELECT * FROM eval.confusions('$name', 15);"
    fi
}

# Load every set first: the baselines can then stream them on one core
# while the engine streams them on another
names=()
headings=()
for spec in "${datasets[@]}"; do
    name=${spec%%=*}
    file=${spec#*=}
    names+=("$name")
    if [[ $name == synthetic* ]]; then
        file=$work/$name.csv
        args=$synth_args
        [ "$name" = synthetic_heldout ] && args=$HELDOUT_ARGS
        # shellcheck disable=SC2086
        python3 "$top/bench/synth/generate.py" --out "$file" --meta "$work/${name}_meta.csv" \
            --quiet $args
        headings+=("$name (bench/synth/generate.py ${args:-with its defaults}: $(($(wc -l <"$file") - 1)) rows${rows:+, the first $rows streamed})")
    else
        headings+=("$name ($file${rows:+, the first $rows rows in date order})")
    fi
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS categorize;
\i $top/bench/eval.sql
$(load_sql "$name" "$file")
SQL
    if [ -n "$results" ]; then
        # The rows in the order of eval.stream(), with the server's
        # categorize.normalize() of each text: what the baselines stream
        psql -X -q -v ON_ERROR_STOP=1 <<SQL
\copy (SELECT seq, user_id, date, amount, category, categorize.normalize(merchant) AS merchant_key, categorize.normalize(description) AS description_key FROM eval.rows WHERE dataset = '$name' ORDER BY date, seq) TO '$results/$name.stream.csv' WITH (FORMAT csv, HEADER true)
SQL
        if [[ $name == synthetic* ]]; then
            cp "$file" "$results/$name.csv"
            cp "$work/${name}_meta.csv" "$results/${name}_meta.csv"
        fi
    fi
done

# One baselines worker beside the engine's stream, a second one when the
# engine is done; each takes the next set no one has taken
# (run_baselines.py), the largest first
if [ "$baselines" = 1 ]; then
    rm -f "$results"/*.baselines.claim
    mapfile -t by_size < <(for n in "${names[@]}"; do
        echo "$(wc -l <"$results/$n.stream.csv") $n"; done | sort -k1,1nr -k2 | cut -d' ' -f2)
    /usr/bin/python3 "$top/bench/baselines/run_baselines.py" --results "$results" "${by_size[@]}" \
        >"$results/baselines.log" 2>&1 &
    baselines_pid=$!
fi

summaries=()
for i in "${!names[@]}"; do
    name=${names[$i]}
    echo
    echo "=== ${headings[$i]}"
    seed=
    [[ $name == synthetic* ]] && seed="\\i $top/bench/synth/seed_rules.sql"
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
\i $top/bench/eval.sql
$seed
CALL eval.create_categories('$name');
CALL eval.stream('$name');
\pset footer off
SELECT * FROM eval.report('$name');
SELECT * FROM eval.reliability('$name');
$(detail_sql "$name")
SELECT * FROM eval.check_targets('$name');
SQL
    summaries+=("$(psql -X -At -c "SELECT eval.summary('$name')")")
    if [ -n "$results" ]; then
        psql -X -q -v ON_ERROR_STOP=1 <<SQL
\copy (SELECT r.seq, e.user_id, e.date, e.merchant, e.description, e.amount, e.category, p.name AS predicted, r.confidence, r.correct, r.top3, r.categorized, eval.decider(r.kind, r.reason) AS decider, r.reason FROM eval.results r JOIN eval.rows e USING (dataset, seq) LEFT JOIN categorize.categories p ON p.id = r.predicted WHERE r.dataset = '$name' ORDER BY r.seq) TO '$results/$name.results.csv' WITH (FORMAT csv, HEADER true)
SQL
        psql -X -At -c "SELECT seconds FROM eval.timing WHERE dataset = '$name'" >"$results/$name.seconds"
    fi
done

echo
echo "=== summary"
printf '%s\n' "${summaries[@]}"

if [ "$baselines" = 1 ]; then
    echo
    echo "=== side by side (bench/baselines; waiting for run_baselines.py)"
    status=0
    /usr/bin/python3 "$top/bench/baselines/run_baselines.py" --results "$results" "${by_size[@]}" \
        >"$results/baselines2.log" 2>&1 || status=$?
    wait "$baselines_pid" || status=$?
    baselines_pid=
    cat "$results/baselines.log" "$results/baselines2.log"
    if [ "$status" != 0 ]; then
        echo "eval.sh: bench/baselines/run_baselines.py failed (exit $status)" >&2
        exit 1
    fi
    /usr/bin/python3 "$top/bench/baselines/side_by_side.py" --results "$results" \
        --out "$top/bench/results" --command "${EVAL_COMMAND:-bench/eval.sh $argv}" "${names[@]}"
fi
