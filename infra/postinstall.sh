#!/usr/bin/env bash
# npm runs this after `npm install` and `npm ci` (package.json "postinstall"). It prebuilds the CLI
# (bin/build-cli.js: an esbuild bundle in .synthscale/cli-dist, so `synthscale` starts without
# compiling TypeScript; the first run builds it otherwise), then puts back the native TensorFlow
# package that infra/install-native-tf.sh adds outside the lockfile, which both npm commands
# remove: relinking an existing build takes seconds, a first build ~40 s. Same switch as
# infra/setup.sh: SYNTHSCALE_NATIVE_TF=0 skips it, =gpu builds tfjs-node-gpu. Never fails npm.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 0
node bin/build-cli.js || true
case "${SYNTHSCALE_NATIVE_TF:-cpu}" in
  0) exit 0 ;;
  gpu) bash infra/install-native-tf.sh --gpu ;;
  *) bash infra/install-native-tf.sh ;;
esac
exit 0
