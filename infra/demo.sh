#!/usr/bin/env bash
# The demo: install what is missing, start the embedded stack, run the demo sweep to its report.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SPEC="${1:-specs/demo.yaml}"
bash infra/setup.sh
bash infra/stack.sh up
# Workers stop with the demo; the server keeps running (UI on :8233) unless SYNTHSCALE_STOP_SERVER=1.
trap 'bash infra/stack.sh stop-workers; [[ "${SYNTHSCALE_STOP_SERVER:-0}" == 1 ]] && bash infra/stack.sh stop-server || true' EXIT
node bin/synthscale.js sweep start "$SPEC" --wait
