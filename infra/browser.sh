#!/usr/bin/env bash
# Headless Chromium for the browser checks (test/integration/browser.test.ts), from Debian's
# `chromium` package; playwright-core drives it via executablePath and never downloads browsers.
# Usage: infra/browser.sh {ensure|path|version}
#   ensure   install chromium with apt-get when missing (as root, or with passwordless sudo).
#            Quick when installed. Never fails: without apt it logs the fix and exits 0, and the
#            browser test skips (or, with CI=true, fails with that fix). SYNTHSCALE_BROWSER=0 skips it.
#   path     print the executable (SYNTHSCALE_CHROMIUM overrides); exit 1 with the fix when none.
#   version  print the browser's version.
set -euo pipefail
log() { echo "[browser] $*" >&2; }

FIX="install Debian's chromium (as root: apt-get install -y --no-install-recommends chromium fonts-dejavu-core), or set SYNTHSCALE_CHROMIUM=/path/to/chrome"

# The real binary first: the /usr/bin/chromium wrapper script prints a harmless
# `[: ... unexpected operator` on every start.
find_browser() {
  local c
  if [[ -n "${SYNTHSCALE_CHROMIUM:-}" ]]; then
    [[ -x "$SYNTHSCALE_CHROMIUM" ]] && { echo "$SYNTHSCALE_CHROMIUM"; return 0; }
    log "SYNTHSCALE_CHROMIUM=$SYNTHSCALE_CHROMIUM is not an executable"; return 1
  fi
  for c in /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    [[ -x "$c" ]] && { echo "$c"; return 0; }
  done
  return 1
}

ensure() {
  if [[ "${SYNTHSCALE_BROWSER:-1}" == 0 ]]; then return 0; fi
  if find_browser >/dev/null; then return 0; fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      log "chromium is missing and this user cannot run apt-get; the browser test will skip. Fix: $FIX"; return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "chromium is missing and there is no apt-get; the browser test will skip. Fix: $FIX"; return 0
  fi
  local t0=$SECONDS pkgs=(chromium fonts-dejavu-core)
  log "installing Debian packages ${pkgs[*]} (about 30 s)"
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
  if "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
     { "${apt[@]}" update -q >/dev/null 2>&1 && "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; }; then
    log "chromium installed in $((SECONDS - t0)) s: $(find_browser || echo '?')"
  else
    log "apt-get could not install chromium; the browser test will skip. Fix: $FIX"
  fi
  return 0
}

case "${1:-}" in
  ensure) ensure ;;
  path) find_browser || { log "no chromium found. Fix: bash infra/browser.sh ensure (as root; it uses apt-get), or $FIX"; exit 1; } ;;
  version) "$(find_browser || { log "no chromium found. Fix: $FIX"; exit 1; })" --version 2>/dev/null ;;
  *) echo "usage: $0 {ensure|path|version}" >&2; exit 2 ;;
esac
