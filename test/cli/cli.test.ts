// CLI pieces without a server: Temporal errors are said with their fix, the code fingerprint is
// stable and moves with the pipeline's sources, the progress view draws bars, commands check flags.
// Run: node --import tsx --test test/cli.test.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { codeFingerprint, PROJECT_ROOT } from '../../cli/code-fingerprint.js';
import { createProgressView, formatProgress } from '../../cli/progress-view.js';
import { explainTemporalError, temporalEnvSummary } from '../../cli/temporal-errors.js';
import type { SweepProgress } from '../../contracts/sweep.js';

const run = promisify(execFile);
const env = { address: 'temporal.lab:7233', namespace: 'sweeps', auth: 'none' as const };

test('Temporal errors name the fix: namespace, search attribute, unreachable server', () => {
  assert.match(explainTemporalError(new Error('Namespace sweeps is not found.'), env).message, /temporal operator namespace create --namespace sweeps/);
  const sa = explainTemporalError(new Error('INVALID_ARGUMENT: search attribute SynthscaleSweepId is not defined'), env).message;
  assert.match(sa, /no search attribute SynthscaleSweepId/);
  assert.match(sa, /temporal operator search-attribute create --namespace sweeps --name SynthscaleSweepId --type Keyword/);
  assert.match(explainTemporalError(new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233'), env).message, /cannot reach the Temporal server at temporal\.lab:7233.*synthscale dev/);
  const other = new Error('something else');
  assert.equal(explainTemporalError(other, env), other);
});

test('the auth summary names the kind of credentials, never their values', () => {
  assert.deepEqual(temporalEnvSummary({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_API_KEY: 'sekrit' }), { address: 'x:1', namespace: 'default', auth: 'api-key' });
  assert.equal(temporalEnvSummary({}).auth, 'none');
  assert.ok(!JSON.stringify(temporalEnvSummary({ TEMPORAL_API_KEY: 'sekrit' })).includes('sekrit'));
});

test('the code fingerprint is stable and changes with any pipeline source', async () => {
  const copy = await mkdtemp(join(tmpdir(), 'synthscale-fp-'));
  for (const dir of ['activities', 'workflows', 'core', 'workers']) await cp(join(PROJECT_ROOT, dir), join(copy, dir), { recursive: true });
  await cp(join(PROJECT_ROOT, 'package-lock.json'), join(copy, 'package-lock.json'));
  const before = await codeFingerprint(copy);
  assert.match(before, /^[0-9a-f]{16}$/);
  assert.equal(await codeFingerprint(copy), before);
  await mkdir(join(copy, 'docs'), { recursive: true });
  await writeFile(join(copy, 'docs', 'x.ts'), 'export {};');
  assert.equal(await codeFingerprint(copy), before, 'files outside the pipeline do not count');
  await appendFile(join(copy, 'activities', 'train', 'classifier.ts'), '\n// changed\n');
  assert.notEqual(await codeFingerprint(copy), before);
});

test('progress: one line for logs, bars per stage with the ETA', async () => {
  const progress: SweepProgress = {
    sweepId: 'demo',
    stage: 'cells',
    paused: false,
    sources: { done: 3, total: 4 },
    images: { done: 1200, total: 2000 },
    cells: { done: 10, running: 2, total: 40, cached: 4 },
    stats: {} as SweepProgress['stats'],
    elapsedSeconds: 125,
    etaSeconds: 3725,
  };
  assert.equal(formatProgress(progress), '[demo] stage=cells sources 3/4 images 1200/2000 cells 10/40 (running 2, cached 4), 2m05s elapsed, ETA 1h02m');
  const capture = (isTTY: boolean) => {
    const out = new PassThrough();
    const text = { value: '' };
    out.on('data', (c: Buffer) => (text.value += c.toString()));
    return { stream: Object.assign(out, { isTTY, columns: 160, rows: 40 }) as unknown as NodeJS.WriteStream, text };
  };
  const tty = capture(true);
  const bars = createProgressView(tty.stream);
  bars.update(progress);
  bars.stop();
  assert.match(tty.text.value, /cells\s+\|[█░]+\| 10\/40 running 2, cached 4, 2m05s elapsed, ETA 1h02m/);
  assert.match(tty.text.value, /data sources \|[█░]+\| 3\/4 stage=cells/);
  // Not a terminal (CI logs): one line per change, no control characters.
  const log = capture(false);
  const lines = createProgressView(log.stream);
  lines.update(progress);
  lines.update({ ...progress, elapsedSeconds: 127 }); // only the clock moved: nothing new to say
  lines.update({ ...progress, cells: { ...progress.cells, done: 11 } }); // within 10 s: held back until stop
  lines.stop();
  assert.deepEqual(log.text.value.trim().split('\n'), [formatProgress(progress), formatProgress({ ...progress, cells: { ...progress.cells, done: 11 } })]);
});

test('commands check their flags and say what is allowed', async () => {
  const cli = (args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin/synthscale.js'), ...args], { cwd: PROJECT_ROOT }).then(
    () => '',
    (err: { stderr: string }) => err.stderr,
  );
  assert.match(await cli(['worker', '--queue', 'gpu']), /--queue must be one of cpu, generate, train, not "gpu"/);
  assert.match(await cli(['worker', '--queue', 'train', '--gpu', 'all']), /--gpu takes a GPU index/);
  assert.match(await cli(['spec', join(PROJECT_ROOT, 'package.json')]), /sweepId|invalid/);
});
