#!/usr/bin/env bash
# The test command: installs what is missing, then type-checks and runs unit and integration
# tests, printing how long each group took.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash infra/setup.sh

group() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then echo "=== $name: passed in $((SECONDS - t0)) s"; else
    echo "=== $name: FAILED after $((SECONDS - t0)) s"; exit 1; fi
}

group typecheck npx tsc -p tsconfig.json --noEmit
group "unit tests" node --import tsx --test --test-reporter=spec test/*.test.ts
group "integration tests" node --import tsx --test --test-reporter=spec --test-concurrency=1 test/integration/*.test.ts
