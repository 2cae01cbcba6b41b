#!/usr/bin/env bash
# test/package.sh -- build the Debian package of categorize and smoke-test it
# on a clean Debian 12 root, leaving the host's PostgreSQL untouched.
#
#   sudo test/package.sh            (root is required: debootstrap, chroot)
#
#  1. copies the working tree (tracked and untracked files, not the ignored
#     build products; FROM_HEAD=1: the last commit) to a temporary
#     directory, runs tools/check_version.sh and then
#     `dpkg-buildpackage -us -uc -b` there;
#  2. checks the .deb: its name, that it holds categorize.so, the control
#     file and the sql/categorize--*.sql scripts and nothing else from sql/
#     (the pg_regress inputs must not ship), and that it depends on
#     postgresql-15;
#  3. in a private mount namespace, unpacks a Debian 12 (bookworm) root made
#     with debootstrap from the archive this machine's apt uses (cached as
#     a tarball, see below),
#     installs postgresql-15 in it with apt, then the package with
#     `apt-get install ./postgresql-15-categorize_*.deb`;
#  4. starts a cluster inside the root as the postgres user with
#     shared_preload_libraries = 'categorize' (Unix socket only, no TCP),
#     runs CREATE EXTENSION categorize, categorize.normalize() and
#     categorize.categorize() on one pattern, installs the oldest version
#     in another database and walks ALTER EXTENSION categorize UPDATE to
#     the default version, stops the cluster, removes the package;
#  5. prints the time of each phase and "package: N passed, M failed", and
#     exits non-zero on failure.
#
# Nothing is installed on the host except the build tools (dpkg-dev,
# debhelper, postgresql-server-dev-all, fakeroot, debootstrap) when missing;
# the package itself is only ever installed inside the root.  Mounts (/proc,
# /dev/shm) live in the private namespace and vanish with it.
#
# Environment:
#   ROOT_CACHE=DIR    where the debootstrap root tarball and downloaded .debs
#                     are kept (default /var/cache/categorize-package-root)
#   REFRESH_ROOT=1    run debootstrap again even when the tarball is there
#                     (it is also redone when older than 30 days)
#   NO_ROOT_CACHE=1   neither read nor write the cache
#   DEBIAN_MIRROR     default: the archive apt uses here for bookworm (read
#                     with `apt-get indextargets` from the machine's own
#                     sources, so it works wherever apt works)
#   SECURITY_MIRROR   default: the archive apt uses here for bookworm-security
#                     (none: the root gets no security source)
#   FROM_HEAD=1       build the last commit instead of the work tree
#   KEEP_WORK=1       keep the temporary directory (build log, root) for
#                     inspection
#   SKIP_PACKAGES=1   do not install missing build tools on the host
#
# Timing on a 2-CPU machine: about 90 s on a first run (debootstrap and
# about 75 MB of packages downloaded), 50 to 100 s with the cache (build
# and apt dominate; more on a loaded host).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PGV=15
ROOT_CACHE=${ROOT_CACHE:-/var/cache/categorize-package-root}
SUITE=bookworm

# The archive this machine's apt takes suite $1 from, as its sources name it
apt_mirror() {
    apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
        awk -v suite="$1" '$1 == suite { sub(/\/$/, "", $2); print $2; exit }'
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(apt_mirror $SUITE)}
SECURITY_MIRROR=${SECURITY_MIRROR-$(apt_mirror $SUITE-security)}
root_tarball=$ROOT_CACHE/$SUITE-minbase.tar.gz

# The second half of the script runs here, inside `unshare --mount`
if [ "${1:-}" = __in_namespace ]; then
    in_namespace=1
    work=$2
    deb=$3
    default_version=$4
    base_version=$5
else
    in_namespace=0
fi

log() { printf '\n=== %s\n' "$*"; }

# check DESCRIPTION COMMAND...: run COMMAND, record ok or not ok
check() {
    local desc=$1
    shift
    if "$@"; then
        echo "ok - $desc"
        echo pass >>"$work/results"
    else
        echo "not ok - $desc"
        echo fail >>"$work/results"
    fi
}

# Record a check whose outcome is already known: record DESCRIPTION 0|1
record() {
    if [ "$2" = 0 ]; then check "$1" true; else check "$1" false; fi
}

# ---------------------------------------------------------------------------
# Inside the private mount namespace: the clean root
# ---------------------------------------------------------------------------

if [ "$in_namespace" = 1 ]; then
    root=$work/root
    pg_bin=/usr/lib/postgresql/$PGV/bin

    # Run a command inside the root
    in_root() {
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
    }

    # Run a command inside the root as postgres
    as_postgres() {
        in_root runuser -u postgres -- "$@"
    }

    # Stop the cluster and any process still running in the root, by pid
    stop_root_processes() {
        [ -f "$root/var/tmp/pgdata/postmaster.pid" ] &&
            as_postgres "$pg_bin/pg_ctl" -D /var/tmp/pgdata -m fast -w stop >/dev/null 2>&1
        local p
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
        done
    }
    trap stop_root_processes EXIT

    mount -t proc proc "$root/proc" || exit 1
    mkdir -p "$root/dev/shm" && mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" || exit 1
    if [ "${NO_ROOT_CACHE:-0}" != 1 ]; then
        # Keep downloaded .debs between runs (apt verifies them against the
        # signed indexes it fetches every time)
        mkdir -p "$ROOT_CACHE/archives/partial"
        mount --bind "$ROOT_CACHE/archives" "$root/var/cache/apt/archives" || exit 1
    fi

    log "apt-get install postgresql-$PGV (in the root)"
    t0=$SECONDS
    apt_out=$work/apt.log
    in_root apt-get update -qq >"$apt_out" 2>&1 &&
        in_root apt-get install -y -qq --no-install-recommends postgresql-$PGV >>"$apt_out" 2>&1
    rc=$?
    [ $rc = 0 ] || tail -20 "$apt_out"
    record "postgresql-$PGV installs in a clean $SUITE root" $rc
    echo "$SUITE root: postgresql-$PGV $(in_root dpkg-query -W -f='${Version}' postgresql-$PGV 2>/dev/null)"
    check "the clean root holds no categorize files" \
        test ! -e "$root/usr/lib/postgresql/$PGV/lib/categorize.so" -a \
        ! -e "$root/usr/share/postgresql/$PGV/extension/categorize.control"
    echo "time: postgresql install $((SECONDS - t0)) s"

    log "apt-get install ./$(basename "$deb") (in the root)"
    t0=$SECONDS
    cp "$deb" "$root/tmp/"
    in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >>"$apt_out" 2>&1
    rc=$?
    [ $rc = 0 ] || tail -20 "$apt_out"
    record "apt-get install ./$(basename "$deb")" $rc
    owner=$(in_root dpkg-query -S "/usr/lib/postgresql/$PGV/lib/categorize.so" 2>/dev/null)
    check "categorize.so belongs to postgresql-$PGV-categorize" \
        test "${owner%%:*}" = "postgresql-$PGV-categorize"
    echo "time: package install $((SECONDS - t0)) s"

    log "smoke test (cluster in the root, categorize preloaded)"
    t0=$SECONDS
    in_root install -d -o postgres -g postgres /var/tmp/pgdata /var/tmp/pgsock
    started=1
    if as_postgres "$pg_bin/initdb" -D /var/tmp/pgdata -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$work/initdb.log" 2>&1; then
        {
            echo "shared_preload_libraries = 'categorize'"
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '/var/tmp/pgsock'"
            echo "fsync = off"
        } >>"$root/var/tmp/pgdata/postgresql.conf"
        as_postgres "$pg_bin/pg_ctl" -D /var/tmp/pgdata -l /var/tmp/pgdata/server.log -w start \
            >/dev/null 2>&1 && started=0
    else
        cat "$work/initdb.log"
    fi
    [ $started = 0 ] || tail -20 "$root/var/tmp/pgdata/server.log" 2>/dev/null
    record "a cluster starts with shared_preload_libraries = 'categorize'" $started

    # psql_q SQL: one query's output, unaligned, tuples only
    psql_q() {
        as_postgres "$pg_bin/psql" -h /var/tmp/pgsock -U postgres -d postgres -X -A -t -q \
            -v ON_ERROR_STOP=1 -c "$1" 2>&1
    }
    out=$(psql_q "CREATE EXTENSION categorize; SELECT extversion FROM pg_extension WHERE extname = 'categorize'")
    echo "CREATE EXTENSION categorize -> extversion ${out:-<none>}"
    check "CREATE EXTENSION categorize installs version $default_version" test "$out" = "$default_version"
    out=$(psql_q "SELECT categorize.normalize('POS DEBIT STARBUCKS #1')")
    echo "categorize.normalize('POS DEBIT STARBUCKS #1') -> ${out:-<empty>}"
    check "normalize() strips card-statement noise" test "$out" = starbucks
    out=$(psql_q "INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee');
        INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'Starbucks');
        SELECT coalesce(categorize.categorize('POS DEBIT STARBUCKS #1', NULL)::text, 'NULL')
            || ',' || coalesce(categorize.categorize('Costa Coffee', NULL)::text, 'NULL')")
    echo "categorize.categorize('POS DEBIT STARBUCKS #1'), ('Costa Coffee') -> ${out:-<empty>}"
    check "categorize() matches the pattern and nothing else" test "$out" = "1,NULL"
    out=$(psql_q "SELECT count(*) > 0 FROM categorize.stats")
    check "the categorize.stats view answers" test "$out" = t
    if [ -n "$base_version" ] && [ "$base_version" != "$default_version" ]; then
        # the packaged update scripts: install the oldest version, update
        out=$(psql_q "CREATE DATABASE upgrade" &&
            as_postgres "$pg_bin/psql" -h /var/tmp/pgsock -U postgres -d upgrade -X -A -t -q \
                -v ON_ERROR_STOP=1 -c "CREATE EXTENSION categorize VERSION '$base_version'" \
                -c "ALTER EXTENSION categorize UPDATE" \
                -c "SELECT extversion FROM pg_extension WHERE extname = 'categorize'" 2>&1)
        echo "CREATE EXTENSION categorize VERSION '$base_version'; ALTER EXTENSION categorize UPDATE -> ${out:-<none>}"
        check "ALTER EXTENSION categorize UPDATE goes from $base_version to $default_version" \
            test "$out" = "$default_version"
    fi
    grep -q 'categorize is not loaded' "$root/var/tmp/pgdata/server.log" 2>/dev/null
    check "the library ran preloaded (no 'not loaded' warning)" test $? != 0
    stop_root_processes
    echo "time: smoke test $((SECONDS - t0)) s"

    in_root dpkg --purge "postgresql-$PGV-categorize" >>"$apt_out" 2>&1
    check "dpkg --purge removes the package's files" \
        test ! -e "$root/usr/lib/postgresql/$PGV/lib/categorize.so" -a \
        ! -e "$root/usr/share/postgresql/$PGV/extension/categorize.control"
    exit 0
fi

# ---------------------------------------------------------------------------
# On the host: build, inspect, prepare the root
# ---------------------------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
    echo "test/package.sh needs root (debootstrap, chroot, mounts); run it with sudo"
    echo "package: 0 passed, 1 failed"
    exit 1
fi

. "$top/tools/common.sh"
if [ "${SKIP_PACKAGES:-0}" != 1 ]; then
    ensure_packages make gcc dpkg-dev debhelper postgresql-server-dev-all fakeroot \
        debootstrap util-linux git || {
        echo "package: 0 passed, 1 failed"
        exit 1
    }
fi

start=$SECONDS
work=$(mktemp -d /var/tmp/categorize-package.XXXXXX)
: >"$work/results"

# Remove the work directory (after the namespace is gone, nothing is mounted)
cleanup() {
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT

log "dpkg-buildpackage -us -uc -b (in a copy of the tree)"
t0=$SECONDS
src=$work/build/categorize
mkdir -p "$src"
if [ "${FROM_HEAD:-0}" = 1 ]; then
    # the last commit only (a clone: git archive would drop debian/)
    rmdir "$src" && git clone -q "$top" "$src" && rm -rf "$src/.git"
elif git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # what git would see: tracked and untracked files, not the ignored ones
    (cd "$top" && git ls-files -z -co --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$src"
else
    cp -a "$top"/. "$src"/ && make -s -C "$src" clean >/dev/null 2>&1
fi
rm -rf "$src/debian/postgresql-$PGV-categorize" "$src/debian/.debhelper"

# The versions, from the copy
deb_version=$(cd "$src" && dpkg-parsechangelog -S Version)
default_version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$src/categorize.control")
deb_name=postgresql-$PGV-categorize_${deb_version}_$(dpkg --print-architecture).deb
# the oldest full install script (categorize--X.sql, not an update script)
base_version=$(find "$src/sql" -name 'categorize--*.sql' ! -name 'categorize--*--*' -printf '%f\n' |
    sed 's/^categorize--\(.*\)\.sql$/\1/' | sort -V | head -1)
"$src/tools/check_version.sh"
record "categorize.control, META.json and debian/changelog agree" $?

(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -40 "$work/build.log"
record "dpkg-buildpackage -us -uc -b succeeds" $rc
deb=$work/build/$deb_name
check "it produces $deb_name" test -f "$deb"
echo "time: build $((SECONDS - t0)) s"

if [ -f "$deb" ]; then
    log "contents of $deb_name ($(stat -c %s "$deb") bytes)"
    files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
    echo "$files" | grep -vE '/$|/bitcode/'
    echo "(+ $(echo "$files" | grep -c '/bitcode/.*\.bc$') LLVM bitcode files)"
    ext=/usr/share/postgresql/$PGV/extension
    check "it holds /usr/lib/postgresql/$PGV/lib/categorize.so" \
        grep -qx "/usr/lib/postgresql/$PGV/lib/categorize.so" <<<"$files"
    check "it holds $ext/categorize.control" grep -qx "$ext/categorize.control" <<<"$files"
    missing=0
    for f in "$src"/sql/categorize--*.sql; do
        grep -qx "$ext/$(basename "$f")" <<<"$files" || { echo "missing: $ext/$(basename "$f")"; missing=1; }
    done
    record "it holds every sql/categorize--*.sql" $missing
    extra=$(grep -E '\.(sql|out)$' <<<"$files" | grep -vE "^$ext/categorize--[^/]*\.sql$")
    [ -n "$extra" ] && echo "not an extension script: $extra"
    check "it ships no pg_regress input or output" test -z "$extra"
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "Depends: $depends"
    check "it depends on postgresql-$PGV" grep -qE "(^|, )postgresql-$PGV( |,|$)" <<<"$depends"
fi

log "Debian $SUITE root"
t0=$SECONDS
root=$work/root
mkdir -p "$root"
fresh=1
if [ "${NO_ROOT_CACHE:-0}" != 1 ] && [ "${REFRESH_ROOT:-0}" != 1 ] && [ -f "$root_tarball" ] &&
    [ -n "$(find "$root_tarball" -mtime -30)" ]; then
    tar -xzf "$root_tarball" -C "$root" --numeric-owner && fresh=0
    [ $fresh = 0 ] && echo "unpacked $root_tarball"
fi
if [ $fresh = 1 ]; then
    rm -rf --one-file-system "$root" && mkdir -p "$root"
    if [ -z "$DEBIAN_MIRROR" ]; then
        echo "no apt source of this machine serves $SUITE: set DEBIAN_MIRROR to a Debian archive"
        echo "package: 0 passed, 1 failed"
        exit 1
    fi
    echo "debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR"
    debootstrap --variant=minbase "$SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1
    rc=$?
    [ $rc = 0 ] || tail -20 "$work/debootstrap.log"
    if [ $rc = 0 ]; then
        cat >"$root/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $SUITE main
deb $DEBIAN_MIRROR $SUITE-updates main
EOF
        [ -n "$SECURITY_MIRROR" ] &&
            echo "deb $SECURITY_MIRROR $SUITE-security main" >>"$root/etc/apt/sources.list"
        # no service may start in the root (it shares the host's network)
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 755 "$root/usr/sbin/policy-rc.d"
        # the test makes its own cluster; postgresql-common reads this directory
        mkdir -p "$root/etc/postgresql-common/createcluster.d"
        echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.d/categorize-test.conf"
        chroot "$root" apt-get clean
        if [ "${NO_ROOT_CACHE:-0}" != 1 ]; then
            mkdir -p "$ROOT_CACHE"
            tar -czf "$root_tarball.tmp" -C "$root" --numeric-owner . &&
                mv "$root_tarball.tmp" "$root_tarball" && echo "cached $root_tarball"
        fi
    fi
else
    rc=0
fi
record "a clean Debian $SUITE root (debootstrap$([ $fresh = 0 ] && echo ', cached'))" $rc
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
echo "time: root $((SECONDS - t0)) s"

if [ $rc = 0 ] && [ -f "$deb" ]; then
    unshare --mount --propagation private "$0" __in_namespace "$work" "$deb" "$default_version" "$base_version" ||
        record "the namespace phase ran to its end" 1
else
    record "install and smoke test (skipped: no root or no package)" 1
fi

passed=$(grep -c pass "$work/results")
failed=$(grep -c fail "$work/results")
log "summary"
echo "time: total $((SECONDS - start)) s"
echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
