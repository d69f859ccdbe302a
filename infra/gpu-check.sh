#!/usr/bin/env bash
# GPU check: ResNet training on a GPU through native TensorFlow (tfjs-node-gpu).
#
#   bash infra/gpu-check.sh [--steps N] [--batch N] [--skip-install]
#
#   1. fails at once, saying why, unless a GPU is visible: nvidia-smi lists one and /dev/nvidia<N>
#      exists (honouring CUDA_VISIBLE_DEVICES);
#   2. builds/installs @tensorflow/tfjs-node-gpu (infra/install-native-tf.sh --gpu --strict: the
#      TensorFlow and nvidia-*-cu12 wheels come from pip, or from the wheel cache
#      $SYNTHSCALE_HOME/cache/wheels on a machine without network; the addon is built with
#      node-gyp) unless --skip-install;
#   3. trains ResNet-20 (width 16) at 32x32x3 for N steps (default 200) of batch 128 on synthetic
#      images (bench/gpu-check.ts) and prints the device (nvidia-smi's line and TensorFlow's
#      "Created device" line), the training img/s, the kernel-compilation delay (first step vs the
#      median step) and training against 1/3 of inference img/s. The last line is RESULT <json>.
# Exit status: 0 when the run trained on the GPU; 1 otherwise (no GPU, install failed, the
# backend computes on the CPU).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

INSTALL=1
ARGS=()
while (($#)); do
  case "$1" in
    --skip-install) INSTALL=0 ;;
    --steps | --batch) ARGS+=("$1" "${2:?$1 needs a value}"); shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

# --- 1. a GPU must be visible ---------------------------------------------------------------------
command -v nvidia-smi >/dev/null 2>&1 || fail "no GPU visible: nvidia-smi is not installed (no NVIDIA driver on this machine)"
compgen -G '/dev/nvidia[0-9]*' >/dev/null || fail "no GPU visible: no /dev/nvidia<N> device file"
[[ ${CUDA_VISIBLE_DEVICES-unset} != "" && ${CUDA_VISIBLE_DEVICES-unset} != "-1" ]] || fail "no GPU visible: CUDA_VISIBLE_DEVICES='${CUDA_VISIBLE_DEVICES-}' hides every device"
GPUS=$(nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used,utilization.gpu --format=csv,noheader 2>&1) ||
  fail "no GPU visible: nvidia-smi failed: $(head -1 <<<"$GPUS")"
[[ -n $GPUS ]] || fail "no GPU visible: nvidia-smi lists no device"
echo "gpu-check: nvidia-smi: index, name, driver, memory total, memory used, utilization"
sed 's/^/gpu-check:   /' <<<"$GPUS"

# --- 2. tfjs-node-gpu -------------------------------------------------------------------------------
if ((INSTALL)); then
  echo "gpu-check: installing @tensorflow/tfjs-node-gpu (infra/install-native-tf.sh --gpu --strict) ..."
  bash infra/install-native-tf.sh --gpu --strict || fail "@tensorflow/tfjs-node-gpu could not be built/installed (see the line above and .synthscale/cache/native-tf-gpu.log)"
fi
[[ -f node_modules/@tensorflow/tfjs-node-gpu/package.json ]] || fail "@tensorflow/tfjs-node-gpu is not installed (run without --skip-install)"

# --- 3. the training run ----------------------------------------------------------------------------
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
# TensorFlow's INFO lines name the devices it creates ("Created device ... GPU:0 with ... MB memory").
TF_CPP_MIN_LOG_LEVEL=0 node --import tsx bench/gpu-check.ts "${ARGS[@]}" 2>"$LOG"
status=$?
grep -E 'Created device|StreamExecutor|cuDNN|Could not load|failed call to cuInit|no CUDA' "$LOG" | sed 's/^/gpu-check: [tensorflow] /' | head -20
if ((status != 0)); then
  grep -v '^I0000\|^WARNING: All log' "$LOG" | tail -15 >&2
  fail "the training run exited with status $status"
fi
echo "gpu-check: OK"
