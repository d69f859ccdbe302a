#!/usr/bin/env bash
# A local Google Cloud Storage emulator (PyPI gcp-storage-emulator) for tests and offline runs.
# Usage: infra/gcs-emulator.sh {ensure|start DIR PORT|stop|status}
#   ensure          install it if missing (a venv under $SYNTHSCALE_HOME; no root needed)
#   start DIR PORT  serve DIR on 127.0.0.1:PORT in the background; returns once it answers.
#                   Point clients at it with STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT
#   stop            stop the one started (it takes a few seconds to exit on SIGTERM)
# GCS_EMULATOR_PIDFILE chooses the pid file (default $SYNTHSCALE_HOME/run/gcs-emulator.pid), so
# several emulators (e.g. one per test file) can run side by side; the log sits beside it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SYNTHSCALE_HOME:-$ROOT/.synthscale}"
EMULATOR_VERSION="2026.7.19"   # PyPI gcp-storage-emulator; sends X-Goog-Hash, keeps custom metadata
VENV="$STATE/gcs-emulator-venv"
PIDFILE="${GCS_EMULATOR_PIDFILE:-$STATE/run/gcs-emulator.pid}"
LOGFILE="${PIDFILE%.pid}.log"

log() { echo "[gcs-emulator] $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# Prints the Python that can run `-m gcp_storage_emulator`, installing the package if needed.
emulator_python() {
  if python3 -c 'import gcp_storage_emulator' >/dev/null 2>&1; then command -v python3; return; fi
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import gcp_storage_emulator' >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || { log "python3 is required (it runs the emulator)"; exit 1; }
    log "installing gcp-storage-emulator==$EMULATOR_VERSION into $VENV"
    { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "gcp-storage-emulator==$EMULATOR_VERSION"; } >&2 || {
      log "could not install gcp-storage-emulator==$EMULATOR_VERSION from PyPI (is python3-venv installed?)"
      exit 1
    }
  fi
  echo "$VENV/bin/python"
}

start() {
  local dir="${1:?usage: gcs-emulator.sh start DIR PORT}" port="${2:?usage: gcs-emulator.sh start DIR PORT}"
  if alive; then log "already running (pid $(cat "$PIDFILE"))"; return; fi
  if port_open "$port"; then log "port $port is taken; choose another"; exit 1; fi
  local python; python="$(emulator_python)"
  mkdir -p "$dir" "$(dirname "$PIDFILE")"
  dir="$(cd "$dir" && pwd)"   # the emulator insists on an absolute data dir
  # exec inside the subshell so the recorded PID is the emulator's own, not a wrapper's.
  ( exec "$python" -m gcp_storage_emulator -d "$dir" start --host 127.0.0.1 --port "$port" --quiet >"$LOGFILE" 2>&1 ) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if port_open "$port"; then log "up on http://127.0.0.1:$port (data $dir, pid $(cat "$PIDFILE"))"; return; fi
    alive || { log "exited during start; see $LOGFILE"; tail -5 "$LOGFILE" >&2; rm -f "$PIDFILE"; exit 1; }
    sleep 0.1
  done
  log "did not answer on port $port within 10 s; see $LOGFILE"; stop; exit 1
}

stop() {
  if alive; then
    local pid; pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  ensure) emulator_python >/dev/null ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  status) if alive; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 {ensure|start DIR PORT|stop|status}" >&2; exit 2 ;;
esac
