#!/usr/bin/env bash
# test/run_all.sh -- what `make test` runs: every test suite of categorize,
# from a fresh Debian 12 machine, as root or as a user with sudo.
#
#  1. installs the Debian packages it needs (apt-get update first) when any
#     is missing;
#  2. builds with -Wall -Wextra -Werror and installs the extension;
#  3. as a non-root user (postgres when run as root), runs pg_regress and the
#     TAP tests against throwaway servers started with
#     shared_preload_libraries=categorize (make installcheck);
#  4. runs the core's unit tests under ASan+UBSan and a short fuzz run;
#  5. prints "categorize: N passed, M failed" and exits non-zero on failure.
#
# Environment: FUZZ_SECONDS (default 60, 0 skips fuzzing),
# SKIP_PACKAGES=1 (do not touch packages), PROVE_TESTS (one TAP file).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PACKAGES=(make gcc clang libclang-rt-14-dev postgresql-15 postgresql-server-dev-15
    libipc-run-perl perl python3 pgbouncer gnuplot-nox rsync)

log() { printf '\n=== %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${SKIP_PACKAGES:-0}" != 1 ]; then
    install_packages || { echo "categorize: could not install packages"; exit 1; }
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
passed=0
failed=0
summary=()

count() {  # count NAME PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    summary+=("$1: $2 passed, $3 failed")
}

log "build (-Werror) and install"
make -s clean >/dev/null 2>&1
if make -s COPT='-Werror' >build.log 2>&1 && as_root make -s install PG_CONFIG="$PG_CONFIG" >>build.log 2>&1; then
    count build 1 0
else
    cat build.log
    count build 0 1
    echo "categorize: $passed passed, $failed failed"
    exit 1
fi

log "consistency: versions, META.json, the examples of the reference and the README, the layers of src/"
check() {  # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then count "$name" 1 0; else count "$name" 0 1; fi
}
check versions ./tools/check_version.sh
check meta.json python3 tools/check_meta.py
check doc_examples python3 tools/doc_examples.py --check
check readme_walkthrough python3 tools/doc_examples.py --readme --check
check layers python3 tools/check_layers.py --quiet

# The server refuses to run as root: run the SQL suites as postgres in a copy
# of the tree that user owns, so the checkout itself is left as it was.
runner=()
workdir=$top
if [ "$(id -u)" = 0 ]; then
    workdir=$(mktemp -d /tmp/categorize-test.XXXXXX)
    rsync -a --exclude .git "$top"/ "$workdir"/
    chown -R postgres:postgres "$workdir"
    runner=(runuser -u postgres --)
fi

log "pg_regress (make installcheck, regression suites)"
regress_out=$(cd "$workdir" && "${runner[@]}" make -s installcheck-regress PG_CONFIG="$PG_CONFIG" 2>&1)
echo "$regress_out" | grep -E '^(ok|not ok|test |     |# )|tests (passed|failed)' || echo "$regress_out" | tail -30
r_ok=$(echo "$regress_out" | grep -cE '^(ok [0-9]|test .* \.\.\. ok)')
r_fail=$(echo "$regress_out" | grep -cE '^(not ok|test .* \.\.\. FAILED)')
if [ "$r_ok" = 0 ] && [ "$r_fail" = 0 ]; then r_fail=1; echo "$regress_out" | tail -40; fi
[ "$r_fail" -gt 0 ] && [ -f "$workdir/regression.diffs" ] && head -200 "$workdir/regression.diffs"
count pg_regress "$r_ok" "$r_fail"

log "TAP (make installcheck, test/t)"
tap_out=$(cd "$workdir" && "${runner[@]}" make -s installcheck-tap PG_CONFIG="$PG_CONFIG" ${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"} 2>&1)
echo "$tap_out" | grep -vE '^\s*$' | tail -40
t_total=$(echo "$tap_out" | sed -n 's/.*Tests=\([0-9]*\).*/\1/p' | tail -1)
t_fail=$(echo "$tap_out" | grep -oE 'Failed [0-9]+/[0-9]+ subtests' | awk '{split($2,a,"/"); s+=a[1]} END {print s+0}')
tap_details=
if ! echo "$tap_out" | grep -q 'Result: PASS'; then
    [ "$t_fail" = 0 ] && t_fail=1
    # The logs of the failed files only, kept for the end of the output,
    # where a CI excerpt that shows only the head and tail still has them
    for t in $(echo "$tap_out" | sed -n 's|^test/t/\([^ ]*\)\.pl  *(Wstat.*|\1|p'); do
        f=$workdir/tmp_check/log/regress_log_$t
        [ -f "$f" ] && tap_details+=$(printf '\n--- %s (last 25 lines of its log)\n' "$t"; tail -25 "$f")$'\n'
    done
fi
t_total=${t_total:-0}
count tap $((t_total - t_fail > 0 ? t_total - t_fail : 0)) "$t_fail"

log "unit tests of src/core (ASan + UBSan)"
unit_out=$(make -s -C test/unit clean check CC=clang 2>&1)
echo "$unit_out" | tail -20
u_ok=$(echo "$unit_out" | sed -n 's/^test_[a-z_]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | awk '{s+=$1} END {print s+0}')
u_fail=$(echo "$unit_out" | sed -n 's/^test_[a-z_]*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | awk '{s+=$1} END {print s+0}')
if ! echo "$unit_out" | grep -q ' passed, '; then u_fail=$((u_fail + 1)); fi
if echo "$unit_out" | grep -qE 'ERROR: (Address|Undefined)Sanitizer|runtime error|Error [0-9]'; then u_fail=$((u_fail + 1)); fi
count unit "$u_ok" "$u_fail"

if [ "${FUZZ_SECONDS:-60}" != 0 ]; then
    log "fuzzing src/core (${FUZZ_SECONDS:-60} s in all)"
    fuzz_out=$(make -s -C test/fuzz clean run SECONDS="${FUZZ_SECONDS:-60}" 2>&1)
    echo "$fuzz_out" | tail -30
    f_ok=$(echo "$fuzz_out" | grep -cE '^fuzz_[a-z_]+: ok')
    f_fail=$(echo "$fuzz_out" | grep -cE '^fuzz_[a-z_]+: FAILED')
    [ "$f_ok" = 0 ] && [ "$f_fail" = 0 ] && f_fail=1
    count fuzz "$f_ok" "$f_fail"
fi

[ "$workdir" != "$top" ] && rm -rf "$workdir"

[ -n "$tap_details" ] && { log "failed TAP files"; printf '%s' "$tap_details"; }
log "summary"
printf '%s\n' "${summary[@]}"
echo "categorize: $passed passed, $failed failed"
[ "$failed" = 0 ]
