#!/usr/bin/env bash
# Install what is missing: npm packages, the Temporal CLI, native TensorFlow, the Fashion-MNIST
# dataset. Idempotent. `setup.sh --tests` also installs what only the tests use: the GCS emulator,
# headless Chromium, schemathesis and webuiapi (`npm run demo` needs none of them).
set -euo pipefail
for_tests=0
case "${1:-}" in
  --tests) for_tests=1 ;;
  '') ;;
  *) echo "usage: infra/setup.sh [--tests]" >&2; exit 2 ;;
esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[setup] $*" >&2; }

if [[ ! -d node_modules/@temporalio/worker || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash infra/stack.sh ensure-cli >/dev/null

if [[ $for_tests == 1 ]]; then
  # GCS emulator (PyPI gcp-storage-emulator, a small venv under .synthscale) for the gs:// store tests.
  if command -v python3 >/dev/null 2>&1; then bash infra/gcs-emulator.sh ensure; fi
  bash infra/browser.sh ensure  # headless Chromium (apt) for the browser tests; never fails setup
  bash infra/schemathesis.sh ensure  # PyPI schemathesis venv for test/integration/generator-fuzz.test.ts; never fails setup
  if [[ -f infra/webuiapi.sh ]]; then bash infra/webuiapi.sh ensure; fi  # PyPI webuiapi for the A1111 Basic-auth test; never fails setup
fi

# Native TensorFlow for TF.js, built offline from PyPI's tensorflow-cpu wheel (~40 s once, ~3 s
# after, ~1.1 GB under .synthscale). It never fails setup: on any problem it logs one line and
# training stays on wasm. SYNTHSCALE_NATIVE_TF=0 skips it; =gpu builds tfjs-node-gpu instead.
case "${SYNTHSCALE_NATIVE_TF:-cpu}" in
  0) ;;
  gpu) bash infra/install-native-tf.sh --gpu ;;
  *) bash infra/install-native-tf.sh ;;
esac

DEBIAN_DIR=/usr/share/datasets/fashion-mnist
if [[ -z "${FASHION_MNIST_DIR:-}" && ! -f "$DEBIAN_DIR/train-images-idx3-ubyte.gz" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian package dataset-fashion-mnist"
    apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } ||
      log "apt-get could not install dataset-fashion-mnist; the workers will try the public mirror"
  fi
fi
# Resolve now (Debian dir, data dir, or download) so a missing dataset fails here with the fix, not mid-sweep.
node --import tsx infra/ensure-dataset.ts
