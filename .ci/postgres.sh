#!/usr/bin/env bash
# A PostgreSQL server on loopback for the test suite, from Debian's packages.
#
#   bash .ci/postgres.sh [start]   install if needed, create and start the cluster;
#                                  the LAST stdout line is the SQLAlchemy URL:
#                                  export MONITOR_TEST_POSTGRES_URL=$(bash .ci/postgres.sh | tail -1)
#   bash .ci/postgres.sh restart   restart the server (what tests use to cut the database;
#                                  the same as: pg_ctlcluster 15 monitortest restart)
#   bash .ci/postgres.sh stop      stop it
#   bash .ci/postgres.sh drop      stop it and delete the cluster and its data
#   bash .ci/postgres.sh url       print the URL of the running cluster
#
# Idempotent: run it again and it reuses the cluster. Needs root (apt-get, and the
# packaged cluster tools run the server as the `postgres` user: initdb refuses root).
# The cluster is for tests only: fsync off, listens on 127.0.0.1 only, role and
# database monitor/monitor with password monitor (CREATEDB, so tests make their own).
#
# Environment: MONITOR_PG_CLUSTER (default monitortest), MONITOR_PG_PORT (first port
# tried, default 55432), MONITOR_PG_VERSION (default: newest installed).
set -euo pipefail

CLUSTER=${MONITOR_PG_CLUSTER:-monitortest}
FIRST_PORT=${MONITOR_PG_PORT:-55432}
ROLE=monitor
PASSWORD=monitor
DATABASE=monitor

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and manages a cluster as the postgres user)"

newest_version() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$dir" ] || continue
        dir=${dir#/usr/lib/postgresql/}
        dir=${dir%%/*}
        if [ -z "$best" ] || [ "$dir" -gt "$best" ]; then best=$dir; fi
    done
    printf '%s' "$best"
}

install_server() {
    log "no PostgreSQL server found: installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    # postgresql-common first, so the package does not create and start a "main"
    # cluster on 5432 that nobody asked for.
    apt-get install -y --no-install-recommends postgresql-common >&2
    sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
        /etc/postgresql-common/createcluster.conf
    apt-get install -y --no-install-recommends postgresql postgresql-client >&2
}

# The line of our cluster in pg_lsclusters: "VERSION CLUSTER PORT STATUS OWNER DATA LOG".
cluster_line() {
    command -v pg_lsclusters >/dev/null || return 0
    pg_lsclusters -h 2>/dev/null | awk -v c="$CLUSTER" '$2 == c && !found { print; found = 1 }'
}

port_in_use() {
    # A successful TCP connect means something listens there already.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port=$FIRST_PORT
    while port_in_use "$port" || pg_lsclusters -h 2>/dev/null | awk -v p="$port" '$3 == p { found=1 } END { exit !found }'; do
        port=$((port + 1))
        [ "$port" -lt $((FIRST_PORT + 100)) ] || die "no free port in $FIRST_PORT..$port"
    done
    printf '%s' "$port"
}

url_of() {
    printf 'postgresql+psycopg://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$PASSWORD" "$1" "$DATABASE"
}

as_postgres() { runuser -u postgres -- "$@"; }

wait_ready() {
    local port=$1 _
    for _ in $(seq 1 60); do
        if pg_isready -q -h 127.0.0.1 -p "$port"; then return 0; fi
        sleep 0.5
    done
    die "server on 127.0.0.1:$port not ready after 30 s (see /var/log/postgresql/)"
}

start() {
    local version line port
    version=${MONITOR_PG_VERSION:-$(newest_version)}
    if [ -z "$version" ] || ! command -v pg_createcluster >/dev/null; then
        install_server
        version=${MONITOR_PG_VERSION:-$(newest_version)}
        [ -n "$version" ] || die "postgresql installed, but no server binaries under /usr/lib/postgresql"
    fi

    line=$(cluster_line)
    if [ -z "$line" ]; then
        port=$(free_port)
        log "creating cluster $version/$CLUSTER on 127.0.0.1:$port"
        pg_createcluster "$version" "$CLUSTER" --port "$port" --start-conf manual >&2
        line=$(cluster_line)
    fi
    version=$(awk '{ print $1 }' <<<"$line")
    port=$(awk '{ print $3 }' <<<"$line")

    # Rewritten every run so a changed script applies to an existing cluster.
    cat >"/etc/postgresql/$version/$CLUSTER/conf.d/90-monitor-tests.conf" <<EOF
# Written by .ci/postgres.sh: a throwaway server for tests, not for data you keep.
listen_addresses = '127.0.0.1'
port = $port
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
EOF
    sed -i -E "s|^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+.*|host    all             all             127.0.0.1/32            scram-sha-256|" \
        "/etc/postgresql/$version/$CLUSTER/pg_hba.conf"

    if [ "$(awk '{ print $4 }' <<<"$line")" != online ]; then
        log "starting cluster $version/$CLUSTER"
        pg_ctlcluster "$version" "$CLUSTER" start >&2
    else
        pg_ctlcluster "$version" "$CLUSTER" reload >&2
    fi
    wait_ready "$port"

    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres >&2 <<EOF
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    ELSE
        ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
-- DROP DATABASE ... WITH (FORCE) of a test's database may have to end an autovacuum
-- worker that started on it (a superuser's process).
GRANT pg_signal_backend TO $ROLE;
EOF
    if [ -z "$(as_postgres psql -X -At -p "$port" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
        as_postgres createdb -p "$port" -O "$ROLE" "$DATABASE" >&2
    fi
    # The URL must work exactly as printed: over TCP, with the password.
    PGPASSWORD=$PASSWORD psql -X -q -At -h 127.0.0.1 -p "$port" -U "$ROLE" -d "$DATABASE" \
        -c 'SELECT 1' >/dev/null || die "cannot log in as $ROLE on 127.0.0.1:$port"
    log "ready: PostgreSQL $version cluster $CLUSTER on 127.0.0.1:$port (restart: bash $0 restart)"
    url_of "$port"
}

with_cluster() {
    local line
    line=$(cluster_line)
    [ -n "$line" ] || die "no cluster $CLUSTER (run: bash $0)"
    awk '{ print $1, $3, $4 }' <<<"$line"
}

case "${1:-start}" in
    start)
        start
        ;;
    restart)
        read -r version port _ < <(with_cluster)
        pg_ctlcluster "$version" "$CLUSTER" restart -m fast >&2
        wait_ready "$port"
        url_of "$port"
        ;;
    stop)
        read -r version port status < <(with_cluster)
        if [ "$status" = online ]; then pg_ctlcluster "$version" "$CLUSTER" stop -m fast >&2; fi
        log "stopped $version/$CLUSTER"
        ;;
    drop)
        line=$(cluster_line)
        if [ -n "$line" ]; then
            pg_dropcluster --stop "$(awk '{ print $1 }' <<<"$line")" "$CLUSTER" >&2
            log "dropped $CLUSTER"
        fi
        ;;
    url)
        read -r version port status < <(with_cluster)
        [ "$status" = online ] || die "cluster $version/$CLUSTER is $status"
        url_of "$port"
        ;;
    *)
        die "usage: $0 [start|restart|stop|drop|url]"
        ;;
esac
