# Worker hosts for infra/cluster.sh (sourced): a private link and network namespaces on it.
# The link is a bridge made for this (syn-br0, 10.231.0.1/24 on the root side); host k is the
# namespace syn-host<k> with one end of a veth pair at 10.231.0.<k+1>/24 and no other route, so its
# workers reach only the frontend and the store on 10.231.0.1. Nothing else is touched: no other
# interface, no default route, no forwarding or NAT.
LINK_BRIDGE="syn-br0"
LINK_NET="${SYNTHSCALE_CLUSTER_LINK_NET:-10.231.0}"
LINK_ROOT_IP="$LINK_NET.1"
HOST_PREFIX="syn-host"
GCS_PORT="${SYNTHSCALE_CLUSTER_GCS_PORT:-9323}"
GCS_BUCKET="synthscale-cluster"
CLUSTER_STORE="${SYNTHSCALE_CLUSTER_STORE:-gs://$GCS_BUCKET/store}"

link_exists() { ip link show "$LINK_BRIDGE" >/dev/null 2>&1; }

link_up() {
  link_exists && return
  command -v ip >/dev/null 2>&1 || { log "ip (iproute2) is required for the private link. Fix: apt-get install iproute2, or SYNTHSCALE_CLUSTER_LINK=0"; exit 1; }
  # The subnet must be ours alone: refuse when any interface already has an address or route in it.
  if [[ -n "$(ip -4 route show to match "$LINK_ROOT_IP" | grep -v '^default' || true)" ]]; then
    log "$LINK_NET.0/24 is already routed on this machine. Fix: set SYNTHSCALE_CLUSTER_LINK_NET to a free 10.x.y prefix"; exit 1
  fi
  ip link add "$LINK_BRIDGE" type bridge
  ip addr add "$LINK_ROOT_IP/24" dev "$LINK_BRIDGE"
  ip link set "$LINK_BRIDGE" up
  log "private link $LINK_BRIDGE up: $LINK_ROOT_IP/24"
}

link_down() {
  if link_exists; then ip link del "$LINK_BRIDGE"; log "removed the private link $LINK_BRIDGE"; fi
}

# The queues host k runs: SYNTHSCALE_CLUSTER_HOST_QUEUES lists one comma-separated set per host,
# space-separated ("cpu,generate train"); by default one host runs all three, and with more hosts
# host 1 runs cpu and generate and every other host runs train.
host_queues() {
  local k="$1" n="$2" sets
  if [[ -n "${SYNTHSCALE_CLUSTER_HOST_QUEUES:-}" ]]; then
    read -ra sets <<<"$SYNTHSCALE_CLUSTER_HOST_QUEUES"
    echo "${sets[$(( (k - 1) % ${#sets[@]} ))]}"
  elif (( n == 1 )); then echo "cpu,generate,train"
  elif (( k == 1 )); then echo "cpu,generate"
  else echo "train"
  fi
}

host_netns_up() {
  local k="$1" ns="$HOST_PREFIX$1" root_end="syn-h$1r" ns_end="syn-h$1n"
  ip netns list | grep -qw "^$ns" || ip netns add "$ns"
  if ! ip link show "$root_end" >/dev/null 2>&1; then
    ip link add "$root_end" type veth peer name "$ns_end" netns "$ns"
    ip link set "$root_end" master "$LINK_BRIDGE" up
    ip -n "$ns" addr add "$LINK_NET.$((k + 1))/24" dev "$ns_end"
    ip -n "$ns" link set "$ns_end" up
    ip -n "$ns" link set lo up
  fi
}

# Cut host k off the link, or bring it back: only the root-side end of its own veth pair changes
# state (the namespace's end loses its carrier with it), so its processes keep running, unreachable.
host_link() {
  local k="$1" state="$2" root_end="syn-h$1r"
  [[ "$k" =~ ^[1-9][0-9]?$ && "$state" =~ ^(up|down)$ ]] || { log "hosts link takes a host number and up or down, not '$k $state'"; exit 2; }
  ip link show "$root_end" >/dev/null 2>&1 || { log "host $k has no link ($root_end); hosts up first"; exit 1; }
  ip link set "$root_end" "$state"
  log "host $HOST_PREFIX$k link $state ($root_end)"
}

gcs_python() {
  SYNTHSCALE_HOME="$ROOT/.synthscale" bash "$ROOT/infra/gcs-emulator.sh" ensure
  if python3 -c 'import gcp_storage_emulator' >/dev/null 2>&1; then command -v python3; else echo "$ROOT/.synthscale/gcs-emulator-venv/bin/python"; fi
}

# The shared store: the GCS emulator on the link's root side (infra/gcs-emulator.sh binds loopback
# only, so it is started here directly, with the interpreter that script installs).
gcs_up() {
  [[ "$CLUSTER_STORE" == gs://* ]] || return 0
  if alive "$RUN/gcs.pid"; then return; fi
  local python; python="$(gcs_python)"
  mkdir -p "$CLUSTER_HOME/gcs"
  ( exec "$python" -m gcp_storage_emulator -d "$CLUSTER_HOME/gcs" start --host "$LINK_ROOT_IP" --port "$GCS_PORT" --quiet >"$RUN/gcs.log" 2>&1 ) &
  echo $! >"$RUN/gcs.pid"
  for _ in $(seq 1 100); do port_open "$LINK_ROOT_IP" "$GCS_PORT" && break; alive "$RUN/gcs.pid" || break; sleep 0.1; done
  port_open "$LINK_ROOT_IP" "$GCS_PORT" || { log "the GCS emulator did not start; see $RUN/gcs.log"; tail -5 "$RUN/gcs.log" >&2; exit 1; }
  local bucket="${CLUSTER_STORE#gs://}"; bucket="${bucket%%/*}"
  curl -sf -o /dev/null "http://$LINK_ROOT_IP:$GCS_PORT/storage/v1/b/$bucket" \
    || curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$bucket\"}" \
         "http://$LINK_ROOT_IP:$GCS_PORT/storage/v1/b?project=synthscale-cluster" \
    || { log "could not create the bucket $bucket in the emulator"; exit 1; }
  log "store: $CLUSTER_STORE through the GCS emulator on http://$LINK_ROOT_IP:$GCS_PORT (pid $(cat "$RUN/gcs.pid"))"
}

# One `synthscale worker` process in host k's namespace; `ip netns exec` and `env` both exec, so
# the recorded PID is node's own.
host_worker_start() {
  local k="$1" queue="$2" name="h$1-$2"
  alive "$RUN/worker-$name.pid" && return
  local env=(TEMPORAL_ADDRESS="$LINK_ROOT_IP:$FRONTEND_PORT" TEMPORAL_NAMESPACE="$NAMESPACE" SYNTHSCALE_STORE="$CLUSTER_STORE"
             SYNTHSCALE_CLI_BUILD=0 SYNTHSCALE_HOST="$HOST_PREFIX$k")
  [[ "$CLUSTER_STORE" == gs://* ]] && env+=(STORAGE_EMULATOR_HOST="http://$LINK_ROOT_IP:$GCS_PORT")
  ( cd "$ROOT" && exec ip netns exec "$HOST_PREFIX$k" env "${env[@]}" node bin/synthscale.js worker --queue "$queue" >"$RUN/worker-$name.log" 2>&1 ) &
  echo $! >"$RUN/worker-$name.pid"
}

hosts_up() {
  local n="${1:-2}" k q queues started=()
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || { log "hosts up takes a number of hosts from 1 to 99, not '$n'"; exit 2; }
  [[ "$BIND_IP" == "$LINK_ROOT_IP" ]] || { log "the cluster listens on $BIND_IP only; worker hosts need the private link. Fix: run 'down', then 'up' without SYNTHSCALE_CLUSTER_LINK=0"; exit 1; }
  link_up
  gcs_up
  for ((k = 1; k <= n; k++)); do
    host_netns_up "$k"
    IFS=',' read -ra queues <<<"$(host_queues "$k" "$n")"
    for q in "${queues[@]}"; do
      [[ "$q" =~ ^(cpu|generate|train)$ ]] || { log "host $k: unknown queue '$q' (cpu, generate or train)"; exit 2; }
      host_worker_start "$k" "$q"; started+=("h$k-$q")
    done
  done
  local name
  for name in "${started[@]}"; do
    for _ in $(seq 1 600); do
      grep -q "synthscale worker: queue=" "$RUN/worker-$name.log" 2>/dev/null && break
      alive "$RUN/worker-$name.pid" || { log "worker $name exited:"; tail -20 "$RUN/worker-$name.log" >&2; exit 1; }
      sleep 0.2
    done
    grep -q "synthscale worker: queue=" "$RUN/worker-$name.log" || { log "worker $name did not start polling in 120 s; see $RUN/worker-$name.log"; exit 1; }
  done
  log "worker hosts: ${started[*]} (namespaces $HOST_PREFIX<k> at $LINK_NET.<k+1>, frontend $LINK_ROOT_IP:$FRONTEND_PORT)"
}

hosts_down() {
  local pidfile ns
  for pidfile in "$RUN"/worker-h*.pid; do
    [[ -e "$pidfile" ]] || continue
    stop_pidfile "$pidfile" "worker $(basename "$pidfile" .pid)"
  done
  stop_pidfile "$RUN/gcs.pid" "GCS emulator"
  # Deleting a namespace deletes its veth end, and with it the root-side end.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$HOST_PREFIX[0-9]*$" || true); do
    ip netns del "$ns"; log "removed host $ns"
  done
}

hosts_status() {
  local ns pidfile
  if link_exists; then echo "link: $LINK_BRIDGE $LINK_ROOT_IP/24"; else echo "link: none"; fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$HOST_PREFIX[0-9]*$" || true); do
    echo "host $ns: $(ip -n "$ns" -4 -br addr show | awk '$1 != "lo" {print $3}')"
  done
  for pidfile in "$RUN"/worker-h*.pid "$RUN/gcs.pid"; do
    [[ -e "$pidfile" ]] || continue
    if alive "$pidfile"; then echo "$(basename "$pidfile" .pid): running (pid $(cat "$pidfile"))"; else echo "$(basename "$pidfile" .pid): stopped"; fi
  done
}
