// The prebuilt CLI (bin/build-cli.js, bin/synthscale.js): built on first run, reused while every
// bundled source is unchanged, rebuilt when one changes or a missing command module appears, tsx
// when the build is switched off; commands load lazily and the usage lists them all.
// Runs on a copy of the sources under .synthscale/ (so node_modules resolves and the checkout's
// own build is untouched).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../cli/code-fingerprint.js';

const run = promisify(execFile);
let copy: string;

before(async () => {
  copy = await mkdtemp(join(PROJECT_ROOT, '.synthscale', 'test-cli-build-'));
  for (const dir of ['bin', 'cli', 'core', 'contracts', 'workflows', 'activities', 'workers', 'specs', 'infra']) {
    await cp(join(PROJECT_ROOT, dir), join(copy, dir), { recursive: true, preserveTimestamps: true });
  }
  await cp(join(PROJECT_ROOT, 'package.json'), join(copy, 'package.json'));
});
after(async () => rm(copy, { recursive: true, force: true }));

const synthscale = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [join(copy, 'bin/synthscale.js'), ...args], { cwd: copy, env: { ...process.env, ...env } });

async function stamp(): Promise<{ dir: string; inputs: [string, number, number][]; absent: string[] }> {
  return JSON.parse(await readFile(join(copy, '.synthscale', 'cli-dist', 'current.json'), 'utf8'));
}

test('the first run builds the CLI; later runs reuse it until a bundled source changes', { timeout: 120_000 }, async () => {
  const first = await synthscale(['spec', 'specs/demo.yaml']);
  assert.match(first.stdout, /specs\/demo\.yaml: valid \(sweep demo-fashion-mnist/);
  const built = await stamp();
  const files = built.inputs.map(([path]) => path);
  for (const path of ['cli/main.ts', 'cli/sweep.ts', 'cli/spec-file.ts', 'contracts/spec/sweep.ts', 'core/temporal-env.ts']) assert.ok(files.includes(path), `bundles ${path}`);
  assert.ok(!files.some((p) => p.includes('node_modules')), 'packages stay external');
  assert.ok(!files.some((p) => p.startsWith('workers/')), 'workers run from their sources, not the bundle');

  await synthscale(['--help']);
  assert.equal((await stamp()).dir, built.dir, 'unchanged sources: the same build');

  const later = new Date(Date.now() + 5000);
  await utimes(join(copy, 'cli', 'sweep.ts'), later, later);
  await synthscale(['--help']);
  assert.notEqual((await stamp()).dir, built.dir, 'a touched source: rebuilt');
});

test('a command module not in the checkout fails only that command, and its arrival makes the build stale', { timeout: 120_000 }, async () => {
  await rm(join(copy, 'cli', 'shards-check.ts'), { force: true });
  await synthscale(['--help']);
  const before = await stamp();
  assert.ok(before.absent.includes('cli/shards-check.ts'), JSON.stringify(before.absent));
  const err = await synthscale(['shards', 'x']).then(() => assert.fail('the missing command must fail'), (e: { stderr: string }) => e.stderr);
  assert.match(err, /cli\/shards-check\.ts is not in this checkout/);
  await writeFile(
    join(copy, 'cli', 'shards-check.ts'),
    "import { defineCommand } from 'citty';\nexport const shardsCommand = defineCommand({ meta: { name: 'shards' }, run: () => console.log('shards here') });\n",
  );
  assert.equal((await synthscale(['shards'])).stdout.trim(), 'shards here');
  assert.notEqual((await stamp()).dir, before.dir);
});

test('the CLI runs through tsx when the build is off, and a source that does not parse falls back to tsx too', { timeout: 120_000 }, async () => {
  const viaTsx = await synthscale(['spec', 'specs/demo.yaml'], { SYNTHSCALE_CLI_BUILD: '0' });
  assert.match(viaTsx.stdout, /valid/);
  await writeFile(join(copy, 'cli', 'broken-probe.ts'), 'export const x: number = ;\n');
  const main = await readFile(join(copy, 'cli', 'main.ts'), 'utf8');
  await writeFile(join(copy, 'cli', 'main.ts'), `${main}\nif (process.env.PROBE) await import('./broken-probe.js');\n`);
  // The build fails on the broken file; tsx runs the CLI, which works until the broken file is imported.
  assert.match((await synthscale(['spec', 'specs/demo.yaml'])).stdout, /valid/);
  const err = await synthscale(['spec', 'specs/demo.yaml'], { PROBE: '1' }).then(() => '', (e: { stderr: string }) => e.stderr);
  assert.match(err, /broken-probe|Transform failed|Expected/);
  await writeFile(join(copy, 'cli', 'main.ts'), main);
});

test('the usage lists every command without loading them; a group without a command is a usage error', { timeout: 60_000 }, async () => {
  const { stdout } = await synthscale(['--help']);
  for (const cmd of ['dev', 'sweep', 'dataset', 'shards', 'worker', 'spec', 'temporal', 'serve-generator', 'codec-server']) assert.match(stdout, new RegExp(`\\b${cmd}\\b`));
  const sweepHelp = (await synthscale(['sweep', '--help'])).stdout;
  for (const sub of ['start', 'rerun', 'list', 'status', 'report', 'pause', 'resume', 'cancel']) assert.match(sweepHelp, new RegExp(`\\b${sub}\\b`));
  assert.match((await synthscale(['sweep', 'start', '--help'])).stdout, /--dry-run/);
  const none = await synthscale(['sweep']).then(() => '', (e: { stderr: string }) => e.stderr);
  assert.match(none, /No command specified.*synthscale --help/);
  const unknown = await synthscale(['sweeps']).then(() => '', (e: { stderr: string }) => e.stderr);
  assert.match(unknown, /Unknown command.*sweeps/);
});

test('a build a running CLI still uses survives a rebuild; unused ones are pruned', { timeout: 120_000 }, async () => {
  await synthscale(['--help']);
  const used = (await stamp()).dir;
  const usedDir = join(copy, '.synthscale', 'cli-dist', used);
  // As `sweep start --wait` leaves it: its marker (this process stands in for it), older than a minute.
  await writeFile(join(usedDir, `.in-use-${process.pid}`), '');
  const old = new Date(Date.now() - 5 * 60_000);
  await utimes(usedDir, old, old);
  const later = new Date(Date.now() + 10_000);
  await utimes(join(copy, 'cli', 'sweep.ts'), later, later);
  await synthscale(['--help']);
  const next = (await stamp()).dir;
  assert.notEqual(next, used, 'rebuilt');
  assert.ok(existsSync(join(usedDir, 'main.js')), 'the build in use is kept');

  // Its user gone (the marker names a pid that does not run), the next rebuild removes it.
  await rm(join(usedDir, `.in-use-${process.pid}`));
  await writeFile(join(usedDir, '.in-use-999999999'), '');
  await utimes(usedDir, old, old);
  const latest = new Date(Date.now() + 20_000);
  await utimes(join(copy, 'cli', 'sweep.ts'), latest, latest);
  await synthscale(['--help']);
  assert.equal(existsSync(usedDir), false, 'an unused old build is pruned');
});
