#!/usr/bin/env bash
# bench/scale_out.sh -- the figures of the README's "Beyond one primary":
# the topology of test/t/011_scale_out.pl (a rules primary, two subscriber
# shards, a postgres_fdw coordinator) in throwaway clusters on loopback, and
#   1. commit-to-visible: a pattern committed on the rules primary, until a
#      session of a subscriber that polls categorize() uses it (median and
#      worst of BENCH_CHANGES changes);
#   2. categorize through the coordinator vs on one shard directly, with
#      pgbench -M prepared (BENCH_SECONDS a run, alternating, best of two):
#      one expense by id, and all 200 expenses of one user, read through
#      the shard's view expenses_categorized; and INSERTs, which the
#      shard's auto_categorize trigger categorizes.
# Prints ratios (coordinator / shard), never bare times alone.
#
#   bench/scale_out.sh            (PG_CONFIG picks the server; as root, the
#                                  clusters run as user postgres)
# Environment: PG_CONFIG, BENCH_SECONDS [10], BENCH_CHANGES [20],
# BENCH_CLIENTS [1].  The extension must be installed in PG_CONFIG's
# server with postgres_fdw.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$("$PG_CONFIG" --bindir)
SECONDS_RUN=${BENCH_SECONDS:-10}
CHANGES=${BENCH_CHANGES:-20}
CLIENTS=${BENCH_CLIENTS:-1}

if [ "$(id -u)" = 0 ]; then
    script=$(readlink -f "$0")
    exec runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" BENCH_SECONDS="$SECONDS_RUN" \
        BENCH_CHANGES="$CHANGES" BENCH_CLIENTS="$CLIENTS" bash "$script"
fi

work=$(mktemp -d /tmp/categorize-scale.XXXXXX)
base_port=$((20000 + RANDOM % 20000))
nodes=(rules shard1 shard2 coord)
declare -A port
i=0
for n in "${nodes[@]}"; do port[$n]=$((base_port + i)); i=$((i + 1)); done

cleanup() {
    for n in "${nodes[@]}"; do
        [ -f "$work/$n/postmaster.pid" ] && "$BIN/pg_ctl" -D "$work/$n" -m fast stop >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

psql_on() {  # psql_on NODE [psql args...]
    local n=$1
    shift
    PGOPTIONS='-c client_min_messages=warning' \
        "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "${port[$n]}" -d postgres "$@"
}

for n in "${nodes[@]}"; do
    "$BIN/initdb" -D "$work/$n" -A trust >/dev/null
    cat >>"$work/$n/postgresql.conf" <<EOF
port = ${port[$n]}
unix_socket_directories = '$work'
listen_addresses = ''
shared_preload_libraries = 'categorize'
wal_level = logical
categorize.promote_min_users = 1000000
EOF
    "$BIN/pg_ctl" -D "$work/$n" -l "$work/$n.log" -w start >/dev/null
done

# The rules primary: 1000 patterns for everyone, published
psql_on rules <<'EOF'
CREATE EXTENSION categorize;
ALTER TABLE categorize.categories REPLICA IDENTITY FULL;
ALTER TABLE categorize.patterns REPLICA IDENTITY FULL;
ALTER TABLE categorize.corrections REPLICA IDENTITY FULL;
INSERT INTO categorize.categories (id, name) SELECT g, 'category ' || g FROM generate_series(1, 20) g;
INSERT INTO categorize.patterns (category_id, kind, value)
    SELECT 1 + g % 20, 'merchant', 'merchant ' || g FROM generate_series(1, 1000) g;
CREATE PUBLICATION categorize_rules FOR TABLE
    categorize.categories WHERE (owner_id IS NULL),
    categorize.patterns WHERE (owner_id IS NULL),
    categorize.corrections WHERE (owner_id IS NULL)
    WITH (publish = 'insert, update, delete');
EOF

for s in shard1 shard2; do
    psql_on "$s" >/dev/null <<EOF
CREATE EXTENSION categorize;
SELECT setval('categorize.categories_id_seq', 1000000000000000);
SELECT setval('categorize.patterns_id_seq', 1000000000000000);
SELECT setval('categorize.corrections_id_seq', 1000000000000000);
CREATE SUBSCRIPTION categorize_rules_$s
    CONNECTION 'host=$work port=${port[rules]} dbname=postgres' PUBLICATION categorize_rules;
CREATE SEQUENCE local_expenses_id_seq START 2000000000;
CREATE TABLE expenses (
    id bigint PRIMARY KEY DEFAULT nextval('local_expenses_id_seq'), user_id bigint NOT NULL,
    merchant_name text, description text, amount numeric(12, 2),
    category_id bigint, category_confidence real);
CREATE INDEX ON expenses (user_id);
CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
CREATE VIEW expenses_categorized AS
    SELECT e.id, e.user_id, e.category_id, categorize.categorize(e) AS category_now FROM expenses e;
EOF
done

psql_on coord <<EOF
CREATE EXTENSION categorize;
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$work', port '${port[shard1]}', dbname 'postgres', extensions 'categorize');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$work', port '${port[shard2]}', dbname 'postgres', extensions 'categorize');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1;
CREATE USER MAPPING FOR CURRENT_USER SERVER shard2;
CREATE SEQUENCE expenses_id_seq START 1000000000;
CREATE TABLE expenses (
    id bigint NOT NULL DEFAULT nextval('expenses_id_seq'), user_id bigint NOT NULL,
    merchant_name text, description text, amount numeric(12, 2),
    category_id bigint, category_confidence real) PARTITION BY HASH (user_id);
CREATE FOREIGN TABLE expenses_shard1 PARTITION OF expenses
    FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'expenses');
CREATE FOREIGN TABLE expenses_shard2 PARTITION OF expenses
    FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'expenses');
CREATE TABLE expenses_categorized (id bigint, user_id bigint NOT NULL, category_id bigint, category_now bigint)
    PARTITION BY HASH (user_id);
CREATE FOREIGN TABLE expenses_categorized_shard1 PARTITION OF expenses_categorized
    FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'expenses_categorized');
CREATE FOREIGN TABLE expenses_categorized_shard2 PARTITION OF expenses_categorized
    FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'expenses_categorized');
EOF

# Wait for the initial copy
for s in shard1 shard2; do
    until [ "$(psql_on "$s" -At -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do
        sleep 0.2
    done
done

# 100 users of shard1 (as the coordinator routes them), 200 expenses each:
# id = user * 1000 + n
users=$(psql_on coord -At -c "
    SELECT string_agg(u::text, ' ') FROM (
      SELECT u FROM generate_series(1, 1000) u
       WHERE satisfies_hash_partition('expenses'::regclass, 2, 0, u::bigint) ORDER BY u LIMIT 100) s")
psql_on shard1 -c "
    INSERT INTO expenses (id, user_id, merchant_name, description, amount)
    SELECT u * 1000 + n, u, 'MERCHANT ' || ((u * 7 + n) % 1200), 'card payment', n % 90
      FROM unnest('{${users// /,}}'::bigint[]) u, generate_series(1, 200) n;
    ANALYZE expenses;"

# pgbench: the user of a run is one of shard1's 100, picked at random
case_expr="case"
k=1
for u in $users; do case_expr+=" when :k = $k then $u"; k=$((k + 1)); done
case_expr+=" else 0 end"
cat >"$work/point.sql" <<EOF
\set k random(1, 100)
\set u $case_expr
\set n random(1, 200)
SELECT category_now FROM expenses_categorized WHERE user_id = :u AND id = :u * 1000 + :n;
EOF
cat >"$work/user.sql" <<EOF
\set k random(1, 100)
\set u $case_expr
SELECT count(category_now) FROM expenses_categorized WHERE user_id = :u;
EOF
cat >"$work/insert.sql" <<EOF
\set k random(1, 100)
\set u $case_expr
\set m random(1, 1200)
INSERT INTO expenses (user_id, merchant_name, description, amount) VALUES (:u, 'MERCHANT ' || :m, 'card payment', 12.50);
EOF

tps_of() {  # tps_of NODE SCRIPT
    "$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_RUN" -f "$2" \
        -h "$work" -p "${port[$1]}" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "categorize scale-out figures ($(nproc) cores, $CLIENTS client(s), ${SECONDS_RUN} s runs, best of 2 alternating)"
echo
echo "| measurement | through the coordinator (tps) | on the shard (tps) | coordinator / shard |"
echo "|---|---|---|---|"
for what in point user insert; do
    c=()
    s=()
    for round in 1 2; do
        c+=("$(tps_of coord "$work/$what.sql")")
        s+=("$(tps_of shard1 "$work/$what.sql")")
    done
    bc=$(best "${c[@]}")
    bs=$(best "${s[@]}")
    case $what in
        point) label='categorize one expense by id (view column)' ;;
        user) label='categorize all 200 expenses of a user (view column)' ;;
        insert) label='INSERT one expense, categorized by the shard'"'"'s trigger' ;;
    esac
    printf '| %s | %.0f | %.0f | %.2f |\n' "$label" "$bc" "$bs" "$(awk -v a="$bc" -v b="$bs" 'BEGIN { print (b > 0 ? a / b : 0) }')"
done

# commit-to-visible: a session on shard2 polls until it uses the new pattern
delays=()
for i in $(seq 1 "$CHANGES"); do
    value="scale bench $i"
    psql_on shard2 -At >"$work/poll.out" 2>&1 <<EOF &
DO \$\$
BEGIN
    -- each COMMIT starts a transaction, which takes in the change signal
    WHILE categorize.categorize('$value', NULL) IS NULL LOOP
        COMMIT;
        PERFORM pg_sleep(0.001);
    END LOOP;
END
\$\$;
SELECT extract(epoch FROM clock_timestamp());
EOF
    poller=$!
    sleep 0.2    # let the poller start (its start time is not measured)
    t0=$(psql_on rules -At -c "INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', '$value')" \
                       -c "SELECT extract(epoch FROM clock_timestamp())")
    wait "$poller"
    t1=$(tail -1 "$work/poll.out")
    delays+=("$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')")
done
sorted=$(printf '%s\n' "${delays[@]}" | sort -g)
median=$(echo "$sorted" | sed -n "$(( (CHANGES + 1) / 2 ))p")
worst=$(echo "$sorted" | tail -1)
echo
printf 'commit on the rules primary to use on a subscriber, %d changes: median %.3f s, worst %.3f s (the issue allows 1 s from the apply)\n' \
    "$CHANGES" "$median" "$worst"
