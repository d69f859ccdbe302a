#!/usr/bin/env bash
# Native TensorFlow for TF.js, built offline: makes @tensorflow/tfjs-node (or, with --gpu,
# @tensorflow/tfjs-node-gpu) usable by activities/train/backend.ts without the package's install
# script, which downloads libtensorflow 2.9.1 from storage.googleapis.com.
#
#   bash infra/install-native-tf.sh [--gpu] [--strict] [--force]
#
# Steps, each skipped when already done:
#   1. npm install --no-save --ignore-scripts the package, at the version of the project's
#      @tensorflow/tfjs so that both share the one @tensorflow/tfjs-core. It stays out of
#      package.json and package-lock.json, so `npm ci` never runs its download script. `npm ci` and
#      a plain `npm install` remove it again; rerunning this script puts it back in seconds.
#   2. pip download the pinned TensorFlow wheel (tensorflow-cpu; for --gpu, tensorflow plus the
#      nvidia-*-cu12 wheels its [and-cuda] extra lists, pinned to their lower bounds: the CUDA 12.5 /
#      cuDNN 9.3 set that TF was built against) into $SYNTHSCALE_HOME/cache/wheels.
#   3. Stage libtensorflow_cc.so.2, libtensorflow_framework.so.2, the symlinks binding.gyp links
#      against and the C API headers the binding includes into a build directory,
#      $SYNTHSCALE_HOME/native-tf/<package>-<version>-tf<version>/deps; for --gpu also each nvidia
#      wheel's nvidia/ folder into deps/nvidia, where the libraries' RUNPATH
#      ($ORIGIN/../nvidia/<pkg>/lib) finds it without LD_LIBRARY_PATH.
#   4. Link the package's deps/ and lib/ to that build directory and build the addon with node-gyp
#      against the local Node.js headers (no download) into lib/napi-v<N>/. The build lives
#      outside node_modules, so after `npm ci` only the links have to be made again.
#   5. Smoke-test it in a separate process (infra/native-tf-smoke.ts): it loads, shares
#      tfjs-core, and matMul and its gradients match the cpu backend.
#
# Any failure prints ONE line saying why, removes a half-built addon (so the package fails to
# import cleanly and backend.ts falls back to wasm) and exits 0: a native build never fails an
# install. --strict exits 1 instead (for CI checks). --force rebuilds even when the stamp matches.
# Details of every step go to $SYNTHSCALE_HOME/cache/native-tf-<cpu|gpu>.log.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TF_VERSION=2.21.0
STAMP_FORMAT=1
VARIANT=cpu STRICT=0 FORCE=0
for arg in "$@"; do
  case "$arg" in
    --gpu) VARIANT=gpu ;;
    --strict) STRICT=1 ;;
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "[native-tf] unknown argument '$arg' (use --gpu, --strict, --force)" >&2; exit 2 ;;
  esac
done

if [[ $VARIANT == gpu ]]; then
  PKG=@tensorflow/tfjs-node-gpu WHEEL_PROJECT=tensorflow
else
  PKG=@tensorflow/tfjs-node WHEEL_PROJECT=tensorflow-cpu
fi
PKG_DIR="$ROOT/node_modules/$PKG"
HOME_DIR="${SYNTHSCALE_HOME:-.synthscale}"
[[ $HOME_DIR == /* ]] || HOME_DIR="$ROOT/$HOME_DIR"
CACHE="$HOME_DIR/cache"
WHEELS="$CACHE/wheels"
LOG="$CACHE/native-tf-$VARIANT.log"
BUILDS="$HOME_DIR/native-tf"
PYTHON="${PYTHON:-python3}"
# Wheels are chosen for this tag set, not the host interpreter's: the libraries do not link
# libpython, so any cpXY build works, and pinning the tags keeps the download reproducible.
PIP_TAGS=(--python-version 3.11 --implementation cp --abi cp311
  --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

START_NS=$(date +%s%N)
TOUCHED=0 # 1 once deps/ or the addon may have been modified: a failure then removes them
elapsed() { echo "$(((($(date +%s%N) - START_NS) / 1000000 + 50) / 100))" | sed 's/.$/.&/; s/^\./0./'; }
say() { echo "[native-tf] $*" >&2; }

cleanup_broken() {
  rm -rf "${EXT:-/nonexistent}/deps.staging"
  if ((TOUCHED)); then
    rm -rf "$EXT" "$PKG_DIR/build"
    unlink_package "$PKG_DIR"
  fi
}

fail() {
  local fallback="training uses wasm"
  ((TOUCHED)) || [[ ! -f ${EXT:-/nonexistent}/stamp ]] || fallback="the previous build stays in place"
  cleanup_broken
  say "$PKG not (re)built: $1; $fallback (after $(elapsed) s; log: ${LOG#"$ROOT"/})"
  exit $((STRICT ? 1 : 0))
}
trap 'STRICT=1 fail "interrupted"' INT TERM # an abort is not a success, even without --strict

# The most telling line of the log's last section: the last error-looking line, else the last line.
last_error() {
  local section
  section=$(awk '/^--- /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$LOG" | sed '1d' | grep -v '^[[:space:]]*$')
  { grep -E '(^|[^[:alnum:]_])(fatal )?error:' <<<"$section" | head -1 | grep . ||
    grep -iE 'error|fail|not found|no such|cannot|denied|undefined|unsatisf|no matching' <<<"$section" | tail -1 | grep . ||
    tail -1 <<<"$section"; } | sed 's/^[[:space:]]*//' | cut -c1-240
}

# step DESCRIPTION COMMAND...: run it, output to the log; on failure, fail with the reason.
step() {
  local what="$1"
  shift
  echo "--- $what: $*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 || fail "$what failed ($(last_error))"
}

mkdir -p "$WHEELS" 2>/dev/null || { say "cannot create $WHEELS; training uses wasm"; exit $((STRICT ? 1 : 0)); }
if command -v flock >/dev/null 2>&1; then # one run at a time per $SYNTHSCALE_HOME
  exec 9>"$CACHE/.native-tf.lock"
  flock -w 1800 9 || { say "another install-native-tf.sh run holds $CACHE/.native-tf.lock; training uses wasm"; exit $((STRICT ? 1 : 0)); }
fi
: >"$LOG"

# --- helpers ---------------------------------------------------------------------------------------
pkg_version() { node -p "require('$1/package.json').version" 2>/dev/null; }
# Absolute path where @mapbox/node-pre-gyp, i.e. the package at run time, looks for the addon.
addon_path() {
  node -e '
    const { createRequire } = require("node:module");
    const pj = process.argv[1] + "/package.json";
    console.log(createRequire(pj)("@mapbox/node-pre-gyp").find(pj));' "$1" 2>/dev/null
}
# The build directory of a package: survives npm ci; keyed by every version that goes into it.
build_dir() { echo "$BUILDS/${1#@tensorflow/}-$TFJS_VERSION-tf$TF_VERSION"; }
# Point PKG_DIR/deps and PKG_DIR/lib at EXT/deps and EXT/lib (no-op when they already do).
link_package() {
  local pkg_dir="$1" ext="$2" d
  for d in deps lib; do
    [[ -L $pkg_dir/$d && $(readlink "$pkg_dir/$d") == "$ext/$d" ]] && continue
    rm -rf "${pkg_dir:?}/$d" && ln -s "$ext/$d" "$pkg_dir/$d" || return 1
  done
}
unlink_package() {
  local d
  for d in deps lib; do [[ -L $1/$d ]] && rm -f "$1/$d"; done
  return 0
}
smoke() { node --import tsx infra/native-tf-smoke.ts "$PKG"; }
report() { # SMOKE_JSON WHAT_HAPPENED
  local info="$1" note="" tf deps wheels="" used
  tf=$(node -p 'JSON.parse(process.argv[1]).tensorflow' "$info" 2>/dev/null)
  if [[ $VARIANT == gpu ]]; then
    if [[ $(node -p 'JSON.parse(process.argv[1]).gpu' "$info" 2>/dev/null) == true ]]; then
      note=" (using the GPU)"
    else
      note=" but no GPU is usable here (no CUDA driver/device): it computes on the CPU"
    fi
  fi
  deps=$(du -sh "$EXT" 2>/dev/null | cut -f1)
  mapfile -t used < <(sed -n 's/^wheel=//p' "$EXT/stamp" 2>/dev/null)
  ((${#used[@]})) && wheels=$(du -ch "${used[@]}" 2>/dev/null | tail -1 | cut -f1)
  say "$PKG $TFJS_VERSION with TensorFlow ${tf:-?} is ready$note; $2 in $(elapsed) s; disk: build ${deps:-?} (${EXT#"$ROOT"/}), wheels ${wheels:-?} (${WHEELS#"$ROOT"/})"
}

# --- prerequisites for every run -------------------------------------------------------------------
[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] || fail "only Linux x86_64 is supported (this is $(uname -s) $(uname -m))"
for tool in node npm; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed"; done
[[ -f node_modules/@tensorflow/tfjs/package.json ]] || fail "@tensorflow/tfjs is not installed (run npm ci first)"
TFJS_VERSION=$(pkg_version "$ROOT/node_modules/@tensorflow/tfjs")
EXT=$(build_dir "$PKG")

# --- 1. the npm package, without its install script ---------------------------------------------
if [[ $(pkg_version "$PKG_DIR") != "$TFJS_VERSION" ]]; then
  # A --no-save install removes every package missing from package.json and re-extracts the ones
  # it is given, so name the other native package when it is there and link it to its build again.
  others=()
  for other in @tensorflow/tfjs-node @tensorflow/tfjs-node-gpu; do
    [[ $other != "$PKG" && $(pkg_version "$ROOT/node_modules/$other") == "$TFJS_VERSION" ]] && others+=("$other")
  done
  step "npm install $PKG@$TFJS_VERSION" npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=warn \
    "$PKG@$TFJS_VERSION" "${others[@]/%/@$TFJS_VERSION}"
  for other in "${others[@]}"; do
    [[ -f $(build_dir "$other")/stamp ]] && link_package "$ROOT/node_modules/$other" "$(build_dir "$other")"
  done
fi
# One @tensorflow/tfjs-core for the project and the package, or the backend registers elsewhere.
core_of() { node -e 'console.log(require("node:module").createRequire(process.argv[1] + "/package.json").resolve("@tensorflow/tfjs-core"))' "$1"; }
[[ $(core_of "$PKG_DIR") == "$(core_of "$ROOT")" ]] ||
  fail "$PKG resolves another @tensorflow/tfjs-core ($(core_of "$PKG_DIR")) than the project"
ADDON=$(addon_path "$PKG_DIR") || fail "cannot resolve the addon path with @mapbox/node-pre-gyp"
[[ $ADDON == "$PKG_DIR/lib/napi-v"*/tfjs_binding.node ]] || fail "unexpected addon path $ADDON"
ADDON_REL=${ADDON#"$PKG_DIR"/}
NAPI_DIR=${ADDON_REL%/*}
KEY="format=$STAMP_FORMAT package=$PKG@$TFJS_VERSION tensorflow=$WHEEL_PROJECT==$TF_VERSION addon=$ADDON_REL"

# --- fast path: built before with the same versions; (re)link, then check it loads and computes ---
if ((!FORCE)) && [[ -f $EXT/stamp && $(head -1 "$EXT/stamp") == "$KEY" && -f $EXT/$ADDON_REL ]]; then
  was_linked=1
  [[ $(readlink "$PKG_DIR/deps") == "$EXT/deps" && $(readlink "$PKG_DIR/lib") == "$EXT/lib" ]] || was_linked=0
  if link_package "$PKG_DIR" "$EXT" && info=$(smoke 2>>"$LOG"); then
    if ((was_linked)); then report "$info" "already built (checked)"; else report "$info" "linked to the existing build"; fi
    exit 0
  fi
  echo "--- the existing build failed its smoke test; rebuilding" >>"$LOG"
  unlink_package "$PKG_DIR" # until rebuilt, the package must not load it
  rm -f "$EXT/stamp"
fi

# --- prerequisites for building ---------------------------------------------------------------------
for tool in g++ make "$PYTHON"; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed"; done
# Node's own headers, so node-gyp does not download them: npm_config_nodedir, else the prefix of
# the running node (/usr for Debian's nodejs, /usr/local for the nodejs.org tarballs).
NODEDIR="${npm_config_nodedir:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}"
[[ -f $NODEDIR/include/node/node_api.h && -f $NODEDIR/include/node/common.gypi ]] ||
  fail "Node.js headers not found in $NODEDIR/include/node (install the package that ships them, e.g. Debian's libnode-dev, or set npm_config_nodedir), and node-gyp cannot download them offline"
# npm's bundled node-gyp (npm itself sets npm_config_node_gyp when it runs scripts).
NODE_GYP="${npm_config_node_gyp:-}"
if [[ ! -f $NODE_GYP ]]; then
  NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $NODE_GYP ]] || NODE_GYP="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $NODE_GYP ]] || fail "npm's bundled node-gyp was not found"
fi

# --- 2. wheels ------------------------------------------------------------------------------------
cached_wheel() { compgen -G "$WHEELS/${1//-/_}-$2-*.whl" | head -1; } # NAME VERSION -> path
fetch_wheels() { # NAME==VERSION...: download those not cached yet
  local missing=() req
  for req in "$@"; do [[ -n $(cached_wheel "${req%%==*}" "${req##*==}") ]] || missing+=("$req"); done
  ((${#missing[@]} == 0)) && return 0
  say "downloading ${missing[*]} ..."
  step "pip download" "$PYTHON" -m pip download --no-deps --only-binary=:all: "${PIP_TAGS[@]}" --progress-bar off -d "$WHEELS" "${missing[@]}"
}
fetch_wheels "$WHEEL_PROJECT==$TF_VERSION"
TF_WHEEL=$(cached_wheel "$WHEEL_PROJECT" "$TF_VERSION")
[[ -f $TF_WHEEL ]] || fail "pip reported success but no $WHEEL_PROJECT $TF_VERSION wheel is in $WHEELS"
WHEEL_FILES=("$TF_WHEEL")
if [[ $VARIANT == gpu ]]; then
  # The [and-cuda] extra's Requires-Dist, each pinned to its lower bound.
  step "reading the CUDA wheel list from $(basename "$TF_WHEEL")" "$PYTHON" - "$TF_WHEEL" "$CACHE/and-cuda.txt" <<'PY'
import sys, zipfile
from pip._vendor.packaging.requirements import Requirement
wheel, out = sys.argv[1], sys.argv[2]
linux = {'sys_platform': 'linux', 'platform_system': 'Linux', 'platform_machine': 'x86_64'}
with zipfile.ZipFile(wheel) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    lines = z.read(meta).decode().splitlines()
pins = []
for line in lines:
    if not line.startswith('Requires-Dist:'):
        continue
    req = Requirement(line.split(':', 1)[1].strip())
    if not req.marker or not req.marker.evaluate({**linux, 'extra': 'and-cuda'}):
        continue
    if req.marker.evaluate({**linux, 'extra': ''}):
        continue  # a base requirement, not the extra's
    low = [s.version for s in req.specifier if s.operator in ('>=', '==', '~=')]
    if not low:
        sys.exit(f'{req}: no lower bound to pin')
    pins.append(f'{req.name}=={low[0]}')
if not pins:
    sys.exit('the wheel lists no [and-cuda] requirements')
open(out, 'w').write('\n'.join(pins) + '\n')
print('\n'.join(pins))
PY
  mapfile -t CUDA_PINS <"$CACHE/and-cuda.txt"
  fetch_wheels "${CUDA_PINS[@]}"
  for req in "${CUDA_PINS[@]}"; do
    w=$(cached_wheel "${req%%==*}" "${req##*==}")
    [[ -f $w ]] || fail "no wheel for $req in $WHEELS after pip download"
    WHEEL_FILES+=("$w")
  done
fi

# --- 3. stage EXT/deps ------------------------------------------------------------------------------
TOUCHED=1
rm -f "$EXT/stamp"
mkdir -p "$EXT" || fail "cannot create $EXT"
step "staging libraries and headers into ${EXT#"$ROOT"/}/deps" "$PYTHON" - "$PKG_DIR" "$EXT" "${WHEEL_FILES[@]}" <<'PY'
import os, re, shutil, sys, zipfile
pkg, ext, tf_wheel, cuda_wheels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
staging, deps = os.path.join(ext, 'deps.staging'), os.path.join(ext, 'deps')
shutil.rmtree(staging, ignore_errors=True)
lib = os.path.join(staging, 'lib')
os.makedirs(lib)

def extract(z, info, dest, mode=None):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(info) as src, open(dest, 'wb') as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(dest, mode or ((info.external_attr >> 16) & 0o777) or 0o644)

with zipfile.ZipFile(tf_wheel) as z:
    names = set(z.namelist())
    for so in ('libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'):
        if f'tensorflow/{so}' not in names:
            sys.exit(f'{os.path.basename(tf_wheel)} has no tensorflow/{so}')
        extract(z, z.getinfo(f'tensorflow/{so}'), os.path.join(lib, so), 0o755)
    # The headers the binding's sources include, and everything they include in turn, found by
    # following #include lines through the wheel's tensorflow/include tree (the layout moves
    # between TF releases: tensorflow/core/platform vs tsl/platform, ...).
    inc = 'tensorflow/include/'
    include_re = re.compile(rb'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
    todo = []
    binding = os.path.join(pkg, 'binding')
    for f in sorted(os.listdir(binding)):
        if f.endswith(('.cc', '.h')):
            todo += [m.decode() for m in include_re.findall(open(os.path.join(binding, f), 'rb').read())]
    seen = set()
    while todo:
        h = todo.pop()
        if h in seen or inc + h not in names:
            continue
        seen.add(h)
        data = z.read(inc + h)
        todo += [m.decode() for m in include_re.findall(data)]
        os.makedirs(os.path.join(staging, 'include', os.path.dirname(h)), exist_ok=True)
        with open(os.path.join(staging, 'include', h), 'wb') as out:
            out.write(data)
    for need in ('tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h'):
        if need not in seen:
            sys.exit(f'{os.path.basename(tf_wheel)} lacks {inc}{need}')
    print(f'{len(seen)} headers staged')

# binding.gyp links -ltensorflow -ltensorflow_framework; the addon then records the sonames
# (libtensorflow_cc.so.2, libtensorflow_framework.so.2), so those files keep their names.
# libtensorflow.so.2.9.1 is what tfjs-node's scripts/install.js checks before downloading.
for link, target in (('libtensorflow.so', 'libtensorflow_cc.so.2'),
                     ('libtensorflow.so.2.9.1', 'libtensorflow_cc.so.2'),
                     ('libtensorflow_framework.so', 'libtensorflow_framework.so.2'),
                     ('libtensorflow_framework.so.2.9.1', 'libtensorflow_framework.so.2')):
    os.symlink(target, os.path.join(lib, link))

# CUDA: each nvidia wheel's nvidia/<pkg>/... beside lib/, where the TF libraries' RUNPATH
# $ORIGIN/../nvidia/<pkg>/lib (and the nvidia libraries' own $ORIGIN/../../<pkg>/lib) point.
for wheel in cuda_wheels:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            n = info.filename
            if not n.startswith('nvidia/') or n.endswith('/') or '__pycache__' in n or n.endswith('.py'):
                continue
            if '..' in n.split('/'):
                sys.exit(f'{wheel}: unsafe path {n}')
            extract(z, info, os.path.join(staging, n))
    print(f'unpacked {os.path.basename(wheel)}')

shutil.rmtree(deps, ignore_errors=True)
os.rename(staging, deps)
PY

# --- 4. link the package to the build directory and build the addon ---------------------------------
rm -rf "$EXT/lib" && mkdir -p "$EXT/lib" || fail "cannot create $EXT/lib"
link_package "$PKG_DIR" "$EXT" || fail "cannot link $PKG_DIR/deps and lib to $EXT"
rm -rf "$PKG_DIR/build"
cd "$PKG_DIR" || fail "cannot enter $PKG_DIR"
step "building the addon (node-gyp)" node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --jobs=2 \
  --napi_build_version="${NAPI_DIR#lib/napi-v}" --module_name=tfjs_binding --module_path="$PKG_DIR/$NAPI_DIR"
cd "$ROOT" || fail "cannot return to $ROOT"
[[ -f $EXT/$ADDON_REL ]] || fail "node-gyp succeeded but $EXT/$ADDON_REL is missing"
rm -rf "$PKG_DIR/build" # intermediate files; the addon was copied to lib/

# --- 5. smoke test in a separate process ----------------------------------------------------------
echo "--- smoke test: node --import tsx infra/native-tf-smoke.ts $PKG" >>"$LOG"
info=$(smoke 2>>"$LOG") || fail "smoke test failed ($(last_error))"
echo "$info" >>"$LOG"
{ echo "$KEY"; printf 'wheel=%s\n' "${WHEEL_FILES[@]}"; } >"$EXT/stamp" || fail "cannot write $EXT/stamp"
# Builds for other versions of this package are stale now.
for stale in "$BUILDS/${PKG#@tensorflow/}"-*; do
  [[ $stale != "$EXT" && -f $stale/stamp && $(sed -n 's/^format=[0-9]* package=\([^ ]*\) .*/\1/p' "$stale/stamp") == "$PKG@"* ]] && rm -rf "$stale"
done
report "$info" "built"
