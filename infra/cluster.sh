#!/usr/bin/env bash
# A production-shaped Temporal cluster on this machine, and worker hosts beside it. As root.
#   infra/cluster.sh build                 Temporal server + SQL schema tool v1.32.2 from the Go module (cached)
#   infra/cluster.sh up [--hosts N]        PostgreSQL, schemas, frontend/history/matching/worker as
#                                          separate processes, namespace + search attributes; with
#                                          --hosts also `hosts up N`
#   infra/cluster.sh hosts up N | down     N network namespaces on a private link, each running its workers
#   infra/cluster.sh hosts link K down|up   cut host K off the link (its veth's root side) / back
#   infra/cluster.sh service start|stop NAME   one Temporal service (frontend, history, matching, worker)
#   infra/cluster.sh postgres start|stop   PostgreSQL alone (the fault tests restart it under the services)
#   infra/cluster.sh down | status | env   stop everything / each part's state / the clients' variables
#   infra/cluster.sh dbsize                bytes of the persistence and visibility databases (benchmarks)
# Environment: SYNTHSCALE_CLUSTER_HOME (.synthscale/cluster), SYNTHSCALE_CLUSTER_CACHE (the build,
# outside the checkout: ~/.cache/synthscale/temporal-v1.32.2), SYNTHSCALE_CLUSTER_PORT (frontend
# gRPC, 17233; the other services use the next 8 ports), SYNTHSCALE_CLUSTER_PG_PORT (15432),
# SYNTHSCALE_CLUSTER_GCS_PORT (9323), SYNTHSCALE_CLUSTER_LINK=0 (loopback only, no hosts),
# SYNTHSCALE_CLUSTER_STORE (gs://synthscale-cluster/store), SYNTHSCALE_CLUSTER_HOST_QUEUES.
set -euo pipefail
if [[ "${1:-}" =~ ^(up|down|hosts|service|postgres|dbsize)$ && $EUID -ne 0 ]]; then
  echo "[cluster] '$1' needs root (network namespaces, and PostgreSQL runs as its own user through runuser). Fix: sudo bash infra/cluster.sh $1" >&2
  exit 1
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_HOME="${SYNTHSCALE_CLUSTER_HOME:-$ROOT/.synthscale/cluster}"
mkdir -p "$CLUSTER_HOME"; CLUSTER_HOME="$(cd "$CLUSTER_HOME" && pwd)"
RUN="$CLUSTER_HOME/run"
SERVER_VERSION="v1.32.2"
GO_TOOLCHAIN="go1.27.3"   # v1.32.2 needs Go >= 1.26.10; the go command fetches this toolchain
CACHE="${SYNTHSCALE_CLUSTER_CACHE:-$HOME/.cache/synthscale/temporal-$SERVER_VERSION}"
FRONTEND_PORT="${SYNTHSCALE_CLUSTER_PORT:-17233}"
PG_PORT="${SYNTHSCALE_CLUSTER_PG_PORT:-15432}"
NAMESPACE="${SYNTHSCALE_CLUSTER_NAMESPACE:-default}"
RETENTION="${SYNTHSCALE_CLUSTER_RETENTION:-72h}"
SERVICES=(history matching frontend worker)   # start order: the frontend needs history and matching
mkdir -p "$RUN"

log() { echo "[cluster] $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# A zombie counts as gone: where PID 1 does not reap orphans, a killed process lingers as one.
pid_alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }
alive() { [[ -f "$1" ]] && pid_alive "$(cat "$1")"; }

stop_pidfile() {
  local pidfile="$1" name="$2" pid
  if alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do pid_alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# shellcheck source=cluster/postgres.sh
source "$ROOT/infra/cluster/postgres.sh"
# shellcheck source=cluster/hosts.sh
source "$ROOT/infra/cluster/hosts.sh"

# Where the services listen: the private link's root side when the cluster has one (so hosts
# reach it), else loopback. Fixed by `up` in $RUN/bind-ip so later commands agree with it.
if [[ -f "$RUN/bind-ip" ]]; then BIND_IP="$(cat "$RUN/bind-ip")"
elif [[ "${SYNTHSCALE_CLUSTER_LINK:-1}" == 0 ]]; then BIND_IP=127.0.0.1
else BIND_IP="$LINK_ROOT_IP"
fi
ADDRESS="$BIND_IP:$FRONTEND_PORT"

service_port() {   # service_port SERVICE grpc|http|membership
  local offset
  case "$1:$2" in
    frontend:grpc) offset=0 ;; frontend:http) offset=1 ;; frontend:membership) offset=2 ;;
    history:grpc) offset=3 ;; history:membership) offset=4 ;;
    matching:grpc) offset=5 ;; matching:membership) offset=6 ;;
    worker:grpc) offset=7 ;; worker:membership) offset=8 ;;
  esac
  echo $((FRONTEND_PORT + offset))
}

# One build at a time per cache (a second caller then finds it built). The lock lives in a
# subshell so no process started later (PostgreSQL, the services) inherits it.
build() {
  mkdir -p "$(dirname "$CACHE")"
  ( flock 9; build_locked ) 9>"$CACHE.lock"
}

build_locked() {
  local t0=$SECONDS
  if [[ -x "$CACHE/bin/server" && -x "$CACHE/bin/sql" && -f "$CACHE/schema/postgresql/v12/temporal/schema.sql" ]]; then
    log "build: cache hit ($CACHE, Temporal server $SERVER_VERSION)"; return
  fi
  command -v go >/dev/null 2>&1 || { log "the go command is required to build the Temporal server. Fix: apt-get install golang-go (any Go >= 1.21 fetches $GO_TOOLCHAIN)"; exit 1; }
  mkdir -p "$CACHE/bin"
  local goenv=(GOTOOLCHAIN="$GO_TOOLCHAIN" GOBIN="$CACHE/bin" GOMODCACHE="$CACHE/gomod" GOCACHE="$CACHE/gocache" GOFLAGS=-modcacherw)
  log "build: go install go.temporal.io/server/cmd/server@$SERVER_VERSION and cmd/tools/sql (about 200 s from scratch; log $CACHE/build.log)"
  { env "${goenv[@]}" go install "go.temporal.io/server/cmd/server@$SERVER_VERSION" \
      && env "${goenv[@]}" go install "go.temporal.io/server/cmd/tools/sql@$SERVER_VERSION"; } >"$CACHE/build.log" 2>&1 \
    || { log "build failed; see $CACHE/build.log"; tail -20 "$CACHE/build.log" >&2; exit 1; }
  local dir
  dir="$(cd /tmp && env "${goenv[@]}" go mod download -json "go.temporal.io/server@$SERVER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$dir/schema/postgresql/v12/temporal/schema.sql" ]] || { log "no schema/postgresql/v12 in the module (dir '$dir')"; exit 1; }
  rm -rf "$CACHE/schema"; mkdir -p "$CACHE/schema"
  cp -r "$dir/schema/postgresql" "$CACHE/schema/"
  log "build: done in $((SECONDS - t0)) s ($("$CACHE/bin/server" --version 2>/dev/null | head -1))"
}

render_config() {
  local out="$CLUSTER_HOME/temporal.yaml" s kind args=()
  args+=(-e "s|@BIND_IP@|$BIND_IP|g" -e "s|@PG_PORT@|$PG_PORT|g" -e "s|@HISTORY_SHARDS@|${SYNTHSCALE_CLUSTER_SHARDS:-4}|g"
         -e "s|@LOG_LEVEL@|${SYNTHSCALE_CLUSTER_LOG_LEVEL:-warn}|g" -e "s|@DYNAMIC_CONFIG@|$ROOT/infra/cluster/dynamicconfig.yaml|g"
         -e "s|@FRONTEND_HTTP_PORT@|$(service_port frontend http)|g")
  for s in frontend history matching worker; do
    for kind in grpc membership; do
      local key="${s^^}_PORT"; [[ "$kind" == membership ]] && key="${s^^}_MEMBERSHIP_PORT"
      args+=(-e "s|@$key@|$(service_port "$s" "$kind")|g")
    done
  done
  (umask 077; sed "${args[@]}" -e "s|@PG_PASSWORD@|$(cat "$PG_PASSWORD_FILE")|g" "$ROOT/infra/cluster/temporal.yaml.in" >"$out")
  if grep -q '@[A-Z_]*@' "$out"; then log "unrendered placeholders in $out: $(grep -o '@[A-Z_]*@' "$out" | sort -u | tr '\n' ' ')"; exit 1; fi
}

# One Temporal service as its own process (exec: the recorded PID is the server's own).
service_start() {
  local s="$1" port
  [[ " ${SERVICES[*]} " == *" $s "* ]] || { log "unknown service '$s' (frontend, history, matching or worker)"; exit 2; }
  if alive "$RUN/$s.pid"; then return; fi
  port="$(service_port "$s" grpc)"
  if port_open "$BIND_IP" "$port"; then log "$BIND_IP:$port ($s) is taken by another process. Fix: set SYNTHSCALE_CLUSTER_PORT"; exit 1; fi
  ( exec "$CACHE/bin/server" --config-file "$CLUSTER_HOME/temporal.yaml" --allow-no-auth start --service "$s" >>"$RUN/$s.log" 2>&1 ) &
  echo $! >"$RUN/$s.pid"
  for _ in $(seq 1 600); do
    port_open "$BIND_IP" "$port" && { log "$s up on $BIND_IP:$port (pid $(cat "$RUN/$s.pid"))"; return; }
    alive "$RUN/$s.pid" || { log "$s exited during start; see $RUN/$s.log"; tail -5 "$RUN/$s.log" >&2; exit 1; }
    sleep 0.1
  done
  log "$s did not listen on $BIND_IP:$port within 60 s; see $RUN/$s.log"; exit 1
}

temporal_cli() { TEMPORAL_ADDRESS="$ADDRESS" bash "$ROOT/infra/stack.sh" ensure-cli; }

# The search attributes the sweep sets: the list infra/stack.sh gives the dev server.
search_attributes() {
  local line; line="$(grep -m1 '^SEARCH_ATTRIBUTES=(' "$ROOT/infra/stack.sh")" || { log "no SEARCH_ATTRIBUTES list in infra/stack.sh"; exit 1; }
  line="${line#SEARCH_ATTRIBUTES=(}"; echo "${line%)*}"
}

# The namespace with its retention, then the custom search attributes (SQL visibility keeps
# them per namespace). Waits out the namespace cache: a new namespace is usable after a refresh.
setup_namespace() {
  local cli sa name type ok=""; cli="$(temporal_cli)"
  for _ in $(seq 1 120); do "$cli" operator cluster health --address "$ADDRESS" >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
  [[ -n "$ok" ]] || { log "the frontend at $ADDRESS did not report healthy in 60 s; see $RUN/frontend.log"; exit 1; }
  if ! "$cli" operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    "$cli" operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" >/dev/null
    log "namespace $NAMESPACE created (retention $RETENTION)"
  fi
  local existing=""
  for sa in $(search_attributes); do
    name="${sa%%=*}"; type="${sa#*=}"
    for _ in $(seq 1 60); do
      existing="$("$cli" operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>/dev/null)" && break; sleep 0.5
    done
    grep -qw "$name" <<<"$existing" && continue
    for _ in $(seq 1 60); do
      "$cli" operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" --name "$name" --type "$type" >/dev/null 2>&1 && break
      sleep 0.5
    done
  done
  for _ in $(seq 1 120); do
    "$cli" workflow list --address "$ADDRESS" --namespace "$NAMESPACE" --limit 1 --query "SynthscaleSweepId='probe'" >/dev/null 2>&1 && { log "namespace $NAMESPACE ready with search attributes $(search_attributes)"; return; }
    sleep 0.5
  done
  log "namespace $NAMESPACE or its search attributes did not become usable in 60 s"; exit 1
}

up() {
  local t0=$SECONDS hosts=""
  while [[ $# -gt 0 ]]; do
    case "$1" in --hosts) hosts="${2:?--hosts takes a number}"; shift 2 ;; *) log "up: unknown option '$1'"; exit 2 ;; esac
  done
  build
  if [[ "$BIND_IP" == "$LINK_ROOT_IP" ]]; then link_up; fi
  echo "$BIND_IP" >"$RUN/bind-ip"
  pg_start
  pg_setup_schema
  render_config
  local s; for s in "${SERVICES[@]}"; do service_start "$s"; done
  setup_namespace
  log "cluster up in $((SECONDS - t0)) s: frontend $ADDRESS (namespace $NAMESPACE), PostgreSQL 127.0.0.1:$PG_PORT"
  if [[ -n "$hosts" ]]; then hosts_up "$hosts"; fi
}

down() {
  hosts_down
  local s; for s in frontend worker matching history; do stop_pidfile "$RUN/$s.pid" "$s"; done
  pg_stop
  link_down
  rm -f "$RUN/bind-ip"
}

status() {
  local s
  pg_status
  for s in "${SERVICES[@]}"; do
    if alive "$RUN/$s.pid"; then echo "$s: running (pid $(cat "$RUN/$s.pid"), $BIND_IP:$(service_port "$s" grpc))"; else echo "$s: stopped"; fi
  done
  hosts_status
}

case "${1:-}" in
  build) build ;;
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  dbsize)
    for db in temporal temporal_visibility; do echo "$db $(pg_psql -tAc "SELECT pg_database_size('$db')")"; done ;;
  env)
    echo "TEMPORAL_ADDRESS=$ADDRESS"; echo "TEMPORAL_NAMESPACE=$NAMESPACE"
    # The hosts' shared store exists only with the link (`hosts up` starts it).
    if [[ "$BIND_IP" == "$LINK_ROOT_IP" ]]; then
      echo "SYNTHSCALE_STORE=$CLUSTER_STORE"
      if [[ "$CLUSTER_STORE" == gs://* ]]; then echo "STORAGE_EMULATOR_HOST=http://$LINK_ROOT_IP:$GCS_PORT"; fi
    fi ;;
  hosts)
    case "${2:-}" in
      up) hosts_up "${3:-2}" ;; down) hosts_down ;; status) hosts_status ;;
      link) host_link "${3:?host number}" "${4:?down or up}" ;;
      *) log "usage: $0 hosts up N|down|status|link K down|up"; exit 2 ;;
    esac ;;
  postgres)
    case "${2:-}" in start) pg_start ;; stop) pg_stop ;; *) log "usage: $0 postgres start|stop"; exit 2 ;; esac ;;
  service)
    case "${2:-}" in
      start) service_start "${3:?service name}" ;;
      stop) stop_pidfile "$RUN/${3:?service name}.pid" "$3" ;;
      *) log "usage: $0 service start|stop frontend|history|matching|worker"; exit 2 ;;
    esac ;;
  *) echo "usage: $0 {build|up [--hosts N]|down|status|env|hosts up N|hosts down|hosts link K down|up|service start|stop NAME|postgres start|stop|dbsize}" >&2; exit 2 ;;
esac
