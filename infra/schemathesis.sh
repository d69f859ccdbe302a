#!/usr/bin/env bash
# Schemathesis (PyPI), the property-based API fuzzer, in a venv under $SYNTHSCALE_HOME; it fuzzes
# `synthscale serve-generator` from the OpenAPI document the server publishes at /openapi.json
# (test/integration/generator-fuzz.test.ts).
# Usage: infra/schemathesis.sh {ensure|path|run BASE_URL [MAX_EXAMPLES] [extra schemathesis args...]}
#   ensure   install it if missing. Never fails: without python3-venv or PyPI it logs the fix and
#            exits 0, and the fuzz test skips (or, with CI=true, fails with that fix).
#   path     print the schemathesis executable; exit 1 with the fix when it is not installed.
#   run      fuzz every operation of BASE_URL/openapi.json with all checks, MAX_EXAMPLES (default
#            50) generated cases per operation, against BASE_URL. Exit code is schemathesis's:
#            0 when every check passed. SCHEMATHESIS_TOKEN, when set, is sent as a bearer token.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SYNTHSCALE_HOME:-$ROOT/.synthscale}"
SCHEMATHESIS_VERSION="4.32.5"   # PyPI schemathesis; CLI flags below checked against this version's --help
VENV="$STATE/schemathesis-venv-$SCHEMATHESIS_VERSION"
BIN="$VENV/bin/schemathesis"

log() { echo "[schemathesis] $*" >&2; }
FIX="bash infra/schemathesis.sh ensure (needs python3 with venv and PyPI access)"

installed() { [[ -x "$BIN" && "$("$BIN" --version 2>/dev/null)" == *"version $SCHEMATHESIS_VERSION"* ]]; }

ensure() {
  installed && return 0
  if ! command -v python3 >/dev/null 2>&1; then log "python3 is missing; the generator fuzz test will skip. Fix: $FIX"; return 0; fi
  local t0=$SECONDS
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  if { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"; } >&2 && installed; then
    log "installed in $((SECONDS - t0)) s"
  else
    rm -rf "$VENV"
    log "could not install schemathesis==$SCHEMATHESIS_VERSION from PyPI; the generator fuzz test will skip. Fix: $FIX"
  fi
  return 0
}

run() {
  local base="${1:?usage: schemathesis.sh run BASE_URL [MAX_EXAMPLES] [args...]}" examples="${2:-50}"
  shift; [[ $# -gt 0 ]] && shift
  installed || { log "schemathesis is not installed. Fix: $FIX"; exit 1; }
  local auth=()
  [[ -n "${SCHEMATHESIS_TOKEN:-}" ]] && auth=(--header "Authorization: Bearer $SCHEMATHESIS_TOKEN")
  # --checks all: 5xx, response schema/content type/headers conformance, status codes documented,
  #   negative data rejected, positive data accepted, missing auth rejected, ...
  # --mode all: schema-conforming and schema-violating cases.
  # --seed: reproducible runs. --max-failures 20: stop a broken server early.
  # Hypothesis keeps its example database in the working directory, so run in a scratch one.
  local work rc=0; work="$(mktemp -d)"
  ( cd "$work" && SCHEMATHESIS_HOOKS="" "$BIN" run "$base/openapi.json" \
      --url "$base" \
      --checks all \
      --mode all \
      --max-examples "$examples" \
      --seed "${SCHEMATHESIS_SEED:-1}" \
      --generation-database none \
      --max-failures 20 \
      --request-timeout 60 \
      --no-color \
      ${auth[@]+"${auth[@]}"} "$@" ) || rc=$?
  rm -rf "$work"
  return "$rc"
}

case "${1:-}" in
  ensure) ensure ;;
  path) installed && echo "$BIN" || { log "schemathesis==$SCHEMATHESIS_VERSION is not installed. Fix: $FIX"; exit 1; } ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 {ensure|path|run BASE_URL [MAX_EXAMPLES] [args...]}" >&2; exit 2 ;;
esac
