#!/usr/bin/env bash
# webuiapi (PyPI), the common Python client of the AUTOMATIC1111 web UI API, in a venv under
# $SYNTHSCALE_HOME. test/integration/a1111-auth.test.ts drives `synthscale serve-generator` with it
# (txt2img with and without its set_auth, i.e. HTTP Basic as a server started with --api-auth wants).
# Usage: infra/webuiapi.sh {ensure|python}
#   ensure   install it if missing. Never fails: without python3-venv or PyPI it logs the fix and
#            exits 0, and the test skips (or, with CI=true, fails with that fix).
#   python   print the venv's python; exit 1 with the fix when webuiapi is not installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SYNTHSCALE_HOME:-$ROOT/.synthscale}"
WEBUIAPI_VERSION="0.9.17"   # PyPI webuiapi; WebUIApi.set_auth and txt2img checked against this version
VENV="$STATE/webuiapi-venv"
PY="$VENV/bin/python"

log() { echo "[webuiapi] $*" >&2; }
FIX="bash infra/webuiapi.sh ensure (needs python3 with venv and PyPI access)"

installed() {
  [[ -x "$PY" ]] && [[ "$("$PY" -c 'import importlib.metadata as m; print(m.version("webuiapi"))' 2>/dev/null)" == "$WEBUIAPI_VERSION" ]]
}

ensure() {
  installed && return 0
  if ! command -v python3 >/dev/null 2>&1; then log "python3 is missing; the A1111 auth test will skip. Fix: $FIX"; return 0; fi
  local t0=$SECONDS
  log "installing webuiapi==$WEBUIAPI_VERSION into $VENV"
  rm -rf "$VENV"
  if { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "webuiapi==$WEBUIAPI_VERSION"; } >&2 && installed; then
    log "installed in $((SECONDS - t0)) s"
  else
    rm -rf "$VENV"
    log "could not install webuiapi==$WEBUIAPI_VERSION from PyPI; the A1111 auth test will skip. Fix: $FIX"
  fi
  return 0
}

case "${1:-}" in
  ensure) ensure ;;
  python) installed && echo "$PY" || { log "webuiapi==$WEBUIAPI_VERSION is not installed. Fix: $FIX"; exit 1; } ;;
  *) echo "usage: $0 {ensure|python}" >&2; exit 2 ;;
esac
