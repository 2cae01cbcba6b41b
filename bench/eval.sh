#!/usr/bin/env bash
# bench/eval.sh -- `make eval`: online accuracy of categorize on real and
# synthetic data.
#
#   bench/eval.sh [--only NAME] [--no-build] [--results DIR]
#                 [--synth-args "GENERATOR ARGS"] [NAME=FILE.csv ...]
#
# Data sets: birmingham and oxford (data/*.csv, description,amount,date,
# category), synthetic (made now by bench/synth/generate.py: user_id,
# merchant,description,amount,date,category, with the seed rules of
# bench/synth/seed_rules.sql), and any given as NAME=FILE.csv in the
# council format.  --only NAME runs one of them.
#
# For each, in a throwaway cluster with the library preloaded and a fresh
# extension: stream the rows in date order through categorize_detail()/
# categorize(), correct every miss with learn_correction(), and print
# accuracy, coverage, precision, the reliability table, throughput and the
# issues' targets (bench/eval.sql); at the end, one summary line a set.
# --no-build evaluates the extension as installed; --results DIR keeps
# each set's per-expense results (and the synthetic CSV) in DIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/common.sh"

# Print the comment block above as help
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

only=
build=1
results=
synth_args=
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --only) only=${2:?--only needs a data set name}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --results) results=${2:?--results needs a directory}; shift 2 ;;
        --results=*) results=${1#*=}; shift ;;
        --synth-args) synth_args=${2?}; shift 2 ;;
        --synth-args=*) synth_args=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *=*) extra+=("$1"); shift ;;
        *) echo "eval.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

datasets=("birmingham=$top/data/birmingham_pcard.csv" "oxford=$top/data/oxford_pcard.csv"
          "synthetic=" ${extra[@]+"${extra[@]}"})
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
[ "$build" = 1 ] && build_install "$top"

dir=$(mktemp -d /tmp/categorize-eval.XXXXXX)
work=$(mktemp -d /tmp/categorize-eval-data.XXXXXX)
trap 'cluster_stop "$dir"; rm -rf "$work"' EXIT
chmod 755 "$work"
# A stream corrects one owner thousands of times a minute: no rate limit
cluster_start "$dir" "$(free_port 55440)" "categorize.max_corrections_per_minute = 0"
[ -n "$results" ] && mkdir -p "$results" && results=$(cd "$results" && pwd)

# The SQL that loads data set $1 from file $2 into eval.rows
load_sql() {
    local name=$1 file=$2
    if [ "$name" = synthetic ]; then
        cat <<SQL
\i $top/bench/synth/seed_rules.sql
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
}

# Tables that say where a data set loses accuracy (the synthetic set's
# categories are few enough to list)
detail_sql() {
    local name=$1
    echo "SELECT * FROM eval.by_decider('$name');"
    echo "SELECT * FROM eval.by_tenth('$name');"
    if [ "$name" = synthetic ]; then
        echo "SELECT * FROM eval.by_category('$name');"
        echo "SELECT * FROM eval.confusions('$name', 15);"
    fi
}

summaries=()
for spec in "${datasets[@]}"; do
    name=${spec%%=*}
    file=${spec#*=}
    if [ "$name" = synthetic ]; then
        file=$work/synthetic.csv
        # shellcheck disable=SC2086
        python3 "$top/bench/synth/generate.py" --out "$file" --meta "$work/synthetic_meta.csv" \
            --quiet $synth_args
        echo
        echo "=== $name (bench/synth/generate.py ${synth_args:-with its defaults}: $(($(wc -l <"$file") - 1)) rows)"
    else
        echo
        echo "=== $name ($file)"
    fi
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
\i $top/bench/eval.sql
$(load_sql "$name" "$file")
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
        if [ "$name" = synthetic ]; then
            cp "$file" "$results/synthetic.csv"
            cp "$work/synthetic_meta.csv" "$results/synthetic_meta.csv"
        fi
    fi
done

echo
echo "=== summary"
printf '%s\n' "${summaries[@]}"
