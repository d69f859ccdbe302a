#!/usr/bin/env node
// The `synthscale` command. Runs the prebuilt CLI (.synthscale/cli-dist, see bin/build-cli.js)
// when it is fresh, so a command starts without compiling TypeScript; builds it when it is missing
// or stale; runs cli/main.ts through tsx when the build fails or SYNTHSCALE_CLI_BUILD=0.
import { pathToFileURL } from 'node:url';
import { buildCli, freshBuild, markBuildInUse } from './build-cli.js';

async function builtMain() {
  if (process.env.SYNTHSCALE_CLI_BUILD === '0') return null;
  const fresh = freshBuild();
  if (fresh) return fresh;
  try {
    return await buildCli();
  } catch {
    return null; // e.g. a source being edited does not parse: tsx reports it with its location
  }
}

const main = await builtMain();
if (main) {
  markBuildInUse(main);
  // Commands that load TypeScript by path at run time (`synthscale worker`) register tsx themselves.
  globalThis[Symbol.for('synthscale.cli.prebuilt')] = true;
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
