#!/usr/bin/env bash
# `npm run lint`: ESLint (eslint.config.js: bug-catching rules everywhere, Temporal sandbox rules for
# workflows/) and the layer rules (.dependency-cruiser.cjs, plus what the workflow bundle reaches).
# Runs every check even when one fails, so one run lists all violations.
#   bash infra/lint.sh [--quiet]   (--quiet: ESLint errors only, no warnings)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN=node_modules/.bin
# Every folder with source code; the layer rules name their own folders.
DIRS=(activities bench bin cli contracts core infra test workers workflows)

status=0
echo "--- eslint"
"$BIN/eslint" "$@" . || status=1

echo "--- layer rules (dependency-cruiser)"
# One cruise, read twice: the rule violations, then the workflow-bundle check.
cruise="$(mktemp)"
trap 'rm -f "$cruise"' EXIT
if "$BIN/depcruise" --config .dependency-cruiser.cjs --output-type json "${DIRS[@]}" >"$cruise"; then
  "$BIN/depcruise-fmt" --output-type err --exit-code "$cruise" || status=1
  node --import tsx infra/deps-graph.ts --check --from "$cruise" || status=1
else
  echo "dependency-cruiser failed to run" >&2
  status=1
fi
exit $status
