#!/usr/bin/env bash
# bench/eval.sh -- `make eval`: online accuracy of categorize on real data.
#
# For each data set (data/birmingham_pcard.csv, data/oxford_pcard.csv, and
# any given as arguments NAME=FILE.csv), in a throwaway cluster with the
# library preloaded and a fresh extension: stream the rows in date order
# through categorize_detail()/categorize(), correct every miss with
# learn_correction(), and print accuracy, coverage, precision, the
# reliability table and throughput (bench/eval.sql).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/common.sh"

ensure_packages "${BASE_PACKAGES[@]}"
build_install "$top"

dir=$(mktemp -d /tmp/categorize-eval.XXXXXX)
trap 'cluster_stop "$dir"' EXIT
cluster_start "$dir" "$(free_port 55440)"

datasets=("birmingham=$top/data/birmingham_pcard.csv" "oxford=$top/data/oxford_pcard.csv" "$@")
for spec in "${datasets[@]}"; do
    name=${spec%%=*}
    file=${spec#*=}
    echo
    echo "=== $name ($file)"
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS categorize CASCADE;
CREATE EXTENSION categorize;
\i $top/bench/eval.sql
CREATE TEMP TABLE raw (description text, amount numeric, date date, category text);
\copy raw FROM '$file' WITH (FORMAT csv, HEADER true)
DELETE FROM eval.rows WHERE dataset = '$name';
INSERT INTO eval.rows (dataset, seq, merchant, amount, date, category)
SELECT '$name', row_number() OVER (), description, amount, date, category FROM raw;
CALL eval.create_categories('$name');
CALL eval.stream('$name');
\pset footer off
SELECT * FROM eval.report('$name');
SELECT * FROM eval.reliability('$name');
SQL
done
