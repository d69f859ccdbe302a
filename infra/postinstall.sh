#!/usr/bin/env bash
# npm runs this after `npm install` and `npm ci` (package.json "postinstall"). Both remove the
# native TensorFlow package that infra/install-native-tf.sh adds outside the lockfile, so put it
# back here: relinking an existing build takes seconds, a first build ~40 s. Same switch as
# infra/setup.sh: SYNTHSCALE_NATIVE_TF=0 skips it, =gpu builds tfjs-node-gpu. Never fails npm.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 0
case "${SYNTHSCALE_NATIVE_TF:-cpu}" in
  0) exit 0 ;;
  gpu) bash infra/install-native-tf.sh --gpu ;;
  *) bash infra/install-native-tf.sh ;;
esac
exit 0
