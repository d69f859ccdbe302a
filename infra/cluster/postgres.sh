# PostgreSQL for infra/cluster.sh (sourced; uses its log, CLUSTER_HOME, RUN, PG_PORT, CACHE).
# One private instance: data dir under the cluster's home, run as the unprivileged `postgres`
# user, listening on 127.0.0.1:$PG_PORT only; role `temporal` (scram password kept in
# $CLUSTER_HOME/secrets, mode 0600) owns the databases `temporal` and `temporal_visibility`.
PG_BIN="${SYNTHSCALE_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER="${SYNTHSCALE_PG_USER:-postgres}"
PG_DATA="$CLUSTER_HOME/postgres"
PG_SOCKET_DIR="$RUN/pg-socket"
PG_PASSWORD_FILE="$CLUSTER_HOME/secrets/postgres-temporal.password"

pg_as_user() { runuser -u "$PG_USER" -- "$@"; }

pg_ensure_user() {
  if ! id "$PG_USER" >/dev/null 2>&1; then
    log "creating the system user $PG_USER (PostgreSQL refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  [[ -x "$PG_BIN/initdb" ]] || PG_BIN="$(dirname "$(readlink -f "$(command -v initdb || echo /nonexistent)")")"
  [[ -x "$PG_BIN/initdb" ]] || { log "no PostgreSQL binaries (initdb) found. Fix: apt-get install postgresql-15, or set SYNTHSCALE_PG_BIN to their directory"; exit 1; }
}

pg_running() { [[ -f "$PG_DATA/postmaster.pid" ]] && pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_pid() { head -1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_init() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return
  mkdir -p "$PG_DATA" "$CLUSTER_HOME/secrets"
  chmod 700 "$CLUSTER_HOME/secrets"
  chown "$PG_USER" "$PG_DATA"; chmod 700 "$PG_DATA"
  pg_as_user test -w "$PG_DATA" || { log "user $PG_USER cannot reach $PG_DATA. Fix: make the directories above it traversable (chmod o+x) or set SYNTHSCALE_CLUSTER_HOME elsewhere"; exit 1; }
  (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$PG_PASSWORD_FILE")
  log "initdb $PG_DATA"
  pg_as_user "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 >"$RUN/postgres-initdb.log" 2>&1 \
    || { log "initdb failed; see $RUN/postgres-initdb.log"; tail -5 "$RUN/postgres-initdb.log" >&2; exit 1; }
}

pg_start() {
  pg_ensure_user
  mkdir -p "$RUN"
  pg_init
  if pg_running; then return; fi
  if port_open 127.0.0.1 "$PG_PORT"; then log "port $PG_PORT is taken by something else. Fix: set SYNTHSCALE_CLUSTER_PG_PORT"; exit 1; fi
  mkdir -p "$PG_SOCKET_DIR"; chown "$PG_USER" "$PG_SOCKET_DIR"
  touch "$RUN/postgres.log"; chown "$PG_USER" "$RUN/postgres.log"
  # max_connections: 4 Temporal processes x 15 connections, plus the schema tool and psql.
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$RUN/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_SOCKET_DIR -c max_connections=200" start >/dev/null \
    || { log "PostgreSQL did not start; see $RUN/postgres.log"; tail -5 "$RUN/postgres.log" >&2; exit 1; }
  log "PostgreSQL up on 127.0.0.1:$PG_PORT (pid $(pg_pid), data $PG_DATA)"
}

pg_stop() {
  if pg_running; then
    local pid; pid="$(pg_pid)"
    pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    log "stopped PostgreSQL (pid $pid)"
  fi
}

pg_psql() { pg_as_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres "$@"; }

# The role, both databases, and Temporal's schemas at the version this build ships (update-schema
# applies only the versions not yet applied, so this is cheap when they are current).
pg_setup_schema() {
  local password; password="$(cat "$PG_PASSWORD_FILE")"
  if [[ -z "$(pg_psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='temporal'")" ]]; then
    pg_psql -c "CREATE ROLE temporal LOGIN PASSWORD '$password'"
  fi
  local db schema
  for db in temporal temporal_visibility; do
    [[ -n "$(pg_psql -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" ]] || pg_psql -c "CREATE DATABASE $db OWNER temporal"
    schema=temporal; [[ "$db" == temporal_visibility ]] && schema=visibility
    # The schema tool reads the password from SQL_PASSWORD, keeping it off the command line.
    local tool=(env SQL_PASSWORD="$password" "$CACHE/bin/sql" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --db "$db")
    if [[ -z "$(pg_psql -d "$db" -tAc "SELECT 1 FROM pg_tables WHERE tablename='schema_version'")" ]]; then
      "${tool[@]}" setup-schema -v 0.0 >>"$RUN/schema.log" 2>&1 || { log "setup-schema $db failed; see $RUN/schema.log"; tail -5 "$RUN/schema.log" >&2; exit 1; }
    fi
    "${tool[@]}" update-schema -d "$CACHE/schema/postgresql/v12/$schema/versioned" >>"$RUN/schema.log" 2>&1 \
      || { log "update-schema $db failed; see $RUN/schema.log"; tail -5 "$RUN/schema.log" >&2; exit 1; }
  done
  log "schemas: temporal $(pg_psql -d temporal -tAc 'SELECT curr_version FROM schema_version'), visibility $(pg_psql -d temporal_visibility -tAc 'SELECT curr_version FROM schema_version')"
}

pg_status() {
  if pg_running; then echo "postgres: running (pid $(pg_pid), 127.0.0.1:$PG_PORT, data $PG_DATA)"; else echo "postgres: stopped"; fi
}
