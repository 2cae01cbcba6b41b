#!/usr/bin/env bash
# tools/valgrind_installcheck.sh -- the pg_regress suites against a server
# running under valgrind's memcheck (not part of `make test`: it takes a
# few minutes and reports PostgreSQL's own known padding writes too).
#
#   tools/valgrind_installcheck.sh SUPPRESSIONS [TEST...]
#
# SUPPRESSIONS is PostgreSQL's src/tools/valgrind.supp, from the source of
# the server you run (`apt-get source postgresql-15`, or a git checkout of
# REL_15_STABLE).  Debian's binaries are stripped, so its suppressions,
# which name PostgreSQL functions, match less than on a build with symbols;
# errors whose stacks do not pass through categorize.so are PostgreSQL's.
# TESTs default to every suite but bad_input (its 100 MB inputs and
# statement timeouts make no sense at valgrind's speed).
#
# Starts a throwaway cluster in a new directory (mktemp, under /tmp; kept
# at the end for its logs) with the installed extension preloaded, as the
# postgres user when run as root, runs pg_regress against it, stops it, and
# prints every memcheck error whose stack mentions categorize, then the
# totals.  valgrind must be installed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/common.sh"

supp=$(cd "$(dirname "${1:?usage: $0 SUPPRESSIONS [TEST...]}")" && pwd)/$(basename "$1")
shift
dir=$(mktemp -d /tmp/categorize-valgrind.XXXXXX)
[ "$(id -u)" = 0 ] && chown "$(cluster_user)": "$dir"
cp "$supp" "$dir/valgrind.supp"
as_cluster_user "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
port=$(free_port 55480)
cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'categorize'
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
max_worker_processes = 16
fsync = off
jit = off
CONF
chmod 755 "$dir"
chmod 644 "$dir/valgrind.supp"

as_cluster_user sh -c "valgrind --quiet --trace-children=yes --track-origins=yes --num-callers=30 \
    --suppressions=$dir/valgrind.supp --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
    --log-file=$dir/valgrind.%p.log $PG_BIN/postgres -D $dir/data >$dir/server.log 2>&1 &"
for _ in $(seq 1 120); do
    as_cluster_user "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -X -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 2
done

work=$(mktemp -d /tmp/categorize-valgrind-tree.XXXXXX)
rsync -a --exclude .git "$top"/ "$work"/
[ "$(id -u)" = 0 ] && chown -R "$(cluster_user)": "$work"
if [ $# -eq 0 ]; then
    set -- $(cd "$work" && ls sql/*.sql | grep -v -e 'categorize--' -e bad_input | sed 's|sql/||; s|\.sql$||')
fi
status=0
(cd "$work" && as_cluster_user "$("$PG_CONFIG" --pgxs | sed 's|/src/makefiles/pgxs.mk||')/src/test/regress/pg_regress" \
    --inputdir=. --bindir="$PG_BIN" --host="$dir" --port="$port" --user=postgres \
    --dbname=contrib_regression "$@") || status=1
as_cluster_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
rm -rf "$work"

errors=$(cat "$dir"/valgrind.*.log | grep -c VALGRINDERROR-BEGIN || true)
# Ours: an error whose first three frames are in categorize (PostgreSQL
# functions that our code merely called, such as the worker's connection
# setup writing the relcache init file, are further down)
ours=$(cat "$dir"/valgrind.*.log |
    awk '/VALGRINDERROR-BEGIN/ { b = ""; in_error = 1; frames = 0; top = 0 }
         in_error { b = b "\n" $0 }
         in_error && /(at|by) 0x/ { if (++frames <= 3 && $0 ~ /catz_|categorize_|categorize\.so/) top = 1 }
         /VALGRINDERROR-END/ { in_error = 0; if (top) { n++; print b > "/dev/stderr" } }
         END { print n + 0 }')
echo "valgrind: $errors memcheck errors in all, $ours with categorize in their stack (logs in $dir)"
[ "$status" = 0 ] && [ "$ours" = 0 ]
