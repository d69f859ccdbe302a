// Prebuilds the CLI (cli/main.ts and what it imports from the project) into one ESM bundle with
// esbuild, so `synthscale` starts without compiling TypeScript: bin/synthscale.js runs the build
// when it is fresh and falls back to tsx otherwise. Run by infra/postinstall.sh and, when the build
// is missing or stale, by the first `synthscale` run. Plain JavaScript: it runs before tsx exists.
//
// Layout: .synthscale/cli-dist/<build id>/main.js (+ chunks: lazily imported commands stay lazy),
// and .synthscale/cli-dist/current.json naming the build and every project source it bundled with
// its mtime and size (what bin/synthscale.js checks, a few hundred stat calls). A new build goes to
// a new folder and current.json is replaced by rename, so concurrent runs never see half a build.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, '.synthscale', 'cli-dist');
export const STAMP = join(DIST, 'current.json');
/** Bump when the build's options change, so older builds count as stale. */
export const BUILD_FORMAT = 1;

/**
 * The build named by current.json when every source it bundled is unchanged (same mtime and size,
 * none removed), else null. Cheap: one small JSON read and one stat per bundled source.
 */
export function freshBuild() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
  if (stamp?.format !== BUILD_FORMAT || typeof stamp.dir !== 'string' || !Array.isArray(stamp.inputs) || !Array.isArray(stamp.absent)) return null;
  for (const path of stamp.absent) if (existsSync(join(ROOT, path))) return null;
  for (const [path, mtimeMs, size] of stamp.inputs) {
    try {
      const st = statSync(join(ROOT, path));
      if (st.mtimeMs !== mtimeMs || st.size !== size) return null;
    } catch {
      return null;
    }
  }
  const main = join(DIST, stamp.dir, 'main.js');
  try {
    statSync(main);
  } catch {
    return null;
  }
  return main;
}

/**
 * Each project module keeps its own import.meta.url (its source file), as under tsx: paths such as
 * PROJECT_ROOT (cli/code-fingerprint.ts) and the failure converter's path (core/payload-codec.ts)
 * are computed from it. The bundle's chunks sit in one folder, so a path relative to it works
 * wherever the checkout is moved.
 */
function sourceUrlPlugin(outdir, seen) {
  return {
    name: 'synthscale-source-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        // Stat before reading: a save during the build leaves a newer mtime, so the build is stale.
        const st = statSync(args.path);
        seen.set(args.path, [st.mtimeMs, st.size]);
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
        const rel = relative(outdir, args.path).split(sep).join('/');
        return { contents: text.replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/**
 * A command module that is not in this checkout (yet: another change adds it) does not fail the
 * whole build: importing it throws, naming the file, and the build counts as stale once it exists.
 */
function missingModulePlugin(absent) {
  return {
    name: 'synthscale-missing-module',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        if (args.importer.split(sep).includes('node_modules') || !args.importer.endsWith('.ts')) return undefined;
        const source = resolve(dirname(args.importer), args.path.replace(/\.js$/, '.ts'));
        if (existsSync(source) || existsSync(resolve(dirname(args.importer), args.path))) return undefined;
        absent.add(relative(ROOT, source));
        return { path: source, namespace: 'synthscale-missing' };
      });
      build.onLoad({ filter: /.*/, namespace: 'synthscale-missing' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${relative(ROOT, args.path)} is not in this checkout`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * Mark the build of `main` as used by this process until it exits: a long command (`sweep start
 * --wait`) loads its lazy chunks late, so a build another CLI replaced must stay while it runs.
 */
export function markBuildInUse(main) {
  const marker = join(dirname(main), `.in-use-${process.pid}`);
  try {
    writeFileSync(marker, '');
    process.on('exit', () => rmSync(marker, { force: true }));
  } catch {
    /* best effort: without the marker the build is only kept for a minute */
  }
}

/** A build some live process marked in use (a marker of a dead process is stale). */
function buildInUse(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  return names.some((name) => {
    const pid = Number(/^\.in-use-(\d+)$/.exec(name)?.[1]);
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/** Remove builds other than `keep` that no running CLI uses. */
function pruneOldBuilds(keep) {
  let entries;
  try {
    entries = readdirSync(DIST, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === keep) continue;
    const dir = join(DIST, entry.name);
    // Leave builds from the last minute alone too: another process may have just made one and not marked it yet.
    const age = Date.now() - statSync(dir).mtimeMs;
    if (age > 60_000 && !buildInUse(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Build the CLI; returns the path of its main.js. Throws esbuild's errors (the caller falls back to tsx). */
export async function buildCli() {
  const { build } = await import('esbuild');
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const outdir = join(DIST, id);
  mkdirSync(outdir, { recursive: true });
  const absent = new Set();
  const seen = new Map();
  let result;
  try {
    result = await build({
      entryPoints: { main: join(ROOT, 'cli', 'main.ts') },
      outdir,
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
      plugins: [missingModulePlugin(absent), sourceUrlPlugin(outdir, seen)],
    });
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.startsWith('synthscale-missing:'))
    .map((p) => resolve(ROOT, p))
    .filter((p) => !p.split(sep).includes('node_modules'))
    .map((p) => {
      const [mtimeMs, size] = seen.get(p) ?? [statSync(p).mtimeMs, statSync(p).size];
      return [relative(ROOT, p), mtimeMs, size];
    });
  const tmp = `${STAMP}.${id}.tmp`;
  writeFileSync(tmp, JSON.stringify({ format: BUILD_FORMAT, dir: id, builtAt: new Date().toISOString(), inputs, absent: [...absent] }));
  renameSync(tmp, STAMP);
  pruneOldBuilds(id);
  return join(outdir, 'main.js');
}

// `node bin/build-cli.js`: build now and say where (infra/postinstall.sh).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  try {
    const main = await buildCli();
    console.log(`[cli] built ${relative(ROOT, main)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    const first = err?.errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line}: ${first.text})` : '';
    console.log(`[cli] prebuild failed, the CLI runs through tsx instead: ${err instanceof Error ? err.message.split('\n')[0] : err}${where}`);
  }
}
