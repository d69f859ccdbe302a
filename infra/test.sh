#!/usr/bin/env bash
# The test command: installs what is missing, then type-checks and runs unit and integration
# tests, printing how long each group took.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash infra/setup.sh --tests

total_start=$SECONDS
trap 'echo "=== all test groups: $((SECONDS - total_start)) s"' EXIT
group() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then echo "=== $name: passed in $((SECONDS - t0)) s"; else
    echo "=== $name: FAILED after $((SECONDS - t0)) s"; exit 1; fi
}

group typecheck npx tsc -p tsconfig.json --noEmit
group lint bash infra/lint.sh --quiet
# test/ mirrors the source folders; integration tests run one file at a time below.
mapfile -t unit_tests < <(find test -name '*.test.ts' -not -path 'test/integration/*' | sort)
group "unit tests" node --import tsx --test --test-reporter=spec "${unit_tests[@]}"
# Each integration file starts its own Temporal server and workers on its own ports.
for file in test/integration/*.test.ts; do
  group "integration: $(basename "$file" .test.ts)" node --import tsx --test --test-reporter=spec "$file"
done
