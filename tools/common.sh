# tools/common.sh -- shell functions shared by `make test`, `make demo`,
# `make eval` and `bench/run`: Debian packages, build and install, and a
# throwaway PostgreSQL 15 cluster with categorize preloaded.
#
# Source it from bash:  . "$top/tools/common.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
export PG_CONFIG

# Run a command as root (directly, or through sudo for a sudo user)
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Install the Debian packages given as arguments that are not installed yet
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages every entry point needs to build and run the extension
BASE_PACKAGES=(make gcc postgresql-15 postgresql-server-dev-15 perl)

# Build (with -Werror) and install the extension from directory $1
build_install() {
    (cd "$1" && make -s COPT='-Werror' PG_CONFIG="$PG_CONFIG" >/dev/null &&
        as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null)
}

# The user that owns throwaway clusters: postgres when we are root
cluster_user() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

# Run a command as the cluster user
as_cluster_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_start DIR PORT [extra postgresql.conf lines...]
# Start a throwaway cluster in DIR (created), listening on a Unix socket in
# DIR and on 127.0.0.1:PORT, with categorize preloaded.
cluster_start() {
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_cluster_user "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null || return 1
    {
        echo "shared_preload_libraries = 'categorize'"
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "max_connections = 200"
        echo "shared_buffers = 512MB"
        echo "max_worker_processes = 16"
        echo "fsync = off"
        echo "synchronous_commit = off"
        local line
        for line in "$@"; do echo "$line"; done
    } | as_cluster_user tee -a "$dir/data/postgresql.conf" >/dev/null
    as_cluster_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null || {
        tail -20 "$dir/server.log"
        return 1
    }
    export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

# cluster_stop DIR: stop the cluster and remove it
cluster_stop() {
    local dir=$1
    [ -d "$dir/data" ] && as_cluster_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    rm -rf "$dir"
}

# A free TCP port on loopback, near $1
free_port() {
    local p=${1:-55432}
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}
