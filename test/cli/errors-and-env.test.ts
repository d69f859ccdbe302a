// Without a server: every Temporal error kind carries its fix; the address follows
// SYNTHSCALE_TEMPORAL_PORT; `synthscale temporal` gets our address, namespace and the stack's codec
// endpoint and passes arguments and exit codes through; the codec server answers both loopback
// spellings of the UI's origin; a finished sweep's headline slopes print from report.json.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../cli/code-fingerprint.js';
import { createCodecServer, localUiOrigins } from '../../cli/codec-server.js';
import { slopeLines } from '../../cli/sweep-summary.js';
import { temporalCliEnv } from '../../cli/temporal-cli.js';
import { explainTemporalError, isNamespaceNotFound } from '../../cli/temporal-errors.js';
import { codecFromEnv } from '../../core/payload-codec.js';
import { connectionOptionsFromEnv, temporalAddressFromEnv } from '../../core/temporal-env.js';

const env = { address: 'temporal.lab:7233', namespace: 'sweeps', auth: 'none' as const };

test('each kind of Temporal error says its fix', () => {
  const ns = explainTemporalError(new Error("Namespace not found: 'sweeps'"), env, { namespaces: ['default', 'lab'] });
  assert.ok(isNamespaceNotFound(new Error("Namespace not found: 'sweeps'")));
  assert.match(ns.message, /namespace "sweeps" does not exist on temporal\.lab:7233/);
  assert.match(ns.message, /Namespaces on this server: default, lab\./);
  assert.match(ns.message, /synthscale temporal operator namespace create --namespace sweeps/);
  const sa = explainTemporalError(new Error('INVALID_ARGUMENT: search attribute SynthscaleSize is not defined'), env).message;
  assert.match(sa, /no search attribute SynthscaleSize/);
  assert.match(sa, /--name SynthscaleSweepId --type Keyword .*--name SynthscaleSize --type Int/);
  assert.match(explainTemporalError(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { ...env, auth: 'api-key' }).message, /refused these credentials \(auth: api-key.*Fix: set TEMPORAL_API_KEY/);
  assert.match(explainTemporalError(new Error('14 UNAVAILABLE: ssl handshake failed'), env).message, /TLS to temporal\.lab:7233 failed .*Fix: the server wants TLS: set TEMPORAL_TLS=true/);
  assert.match(explainTemporalError(new Error('no poller seen for task queue recently'), env).message, /no worker answered .*synthscale dev --status/);
  assert.match(explainTemporalError(new Error('Failed to connect before the deadline'), env).message, /cannot reach .*SYNTHSCALE_TEMPORAL_PORT/);
  assert.match(explainTemporalError(new Error('Unknown encoding: binary/encrypted'), env).message, /Fix: set SYNTHSCALE_CODEC_KEY/);
  const done = new Error('no sweep "x". Fix: `synthscale sweep list`');
  assert.equal(explainTemporalError(done, env), done, 'an error that already says its fix passes through');
  const cause = new Error('14 UNAVAILABLE: connect ECONNREFUSED');
  assert.equal(explainTemporalError(cause, env).cause, cause, 'the original error stays reachable');
});

test('the address follows SYNTHSCALE_TEMPORAL_PORT unless TEMPORAL_ADDRESS is set', () => {
  assert.equal(temporalAddressFromEnv({}), 'localhost:7233');
  assert.equal(temporalAddressFromEnv({ SYNTHSCALE_TEMPORAL_PORT: '7820' }), '127.0.0.1:7820');
  assert.equal(temporalAddressFromEnv({ SYNTHSCALE_TEMPORAL_PORT: '7820', TEMPORAL_ADDRESS: 'lab:7233' }), 'lab:7233');
  assert.equal(connectionOptionsFromEnv({ SYNTHSCALE_TEMPORAL_PORT: '7820' }).connection.address, '127.0.0.1:7820', 'workers and CLI read it the same way');
  assert.throws(() => temporalAddressFromEnv({ SYNTHSCALE_TEMPORAL_PORT: '78x' }), /SYNTHSCALE_TEMPORAL_PORT must be a port number from 1 to 65535, not "78x"/);
  assert.throws(() => temporalAddressFromEnv({ SYNTHSCALE_TEMPORAL_PORT: '70000' }), /SYNTHSCALE_TEMPORAL_PORT/);
});

test('`synthscale temporal` runs with our address and namespace, the stack\'s codec endpoint, and passes arguments and exit codes through', { timeout: 120_000 }, async () => {
  const home = await mkdtemp(join(tmpdir(), 'synthscale-tcli-'));
  try {
    const base = { SYNTHSCALE_HOME: home, SYNTHSCALE_TEMPORAL_PORT: '7820' };
    assert.deepEqual(
      [temporalCliEnv(base).TEMPORAL_ADDRESS, temporalCliEnv(base).TEMPORAL_NAMESPACE, temporalCliEnv(base).TEMPORAL_CODEC_ENDPOINT],
      ['127.0.0.1:7820', 'default', undefined],
    );
    await mkdir(join(home, 'run'));
    await writeFile(join(home, 'run', 'codec.endpoint'), 'http://127.0.0.1:9475\n');
    await writeFile(join(home, 'run', 'codec.pid'), '999999999');
    assert.equal(temporalCliEnv(base).TEMPORAL_CODEC_ENDPOINT, undefined, 'a codec server that is not running is not used');
    await writeFile(join(home, 'run', 'codec.pid'), String(process.pid));
    assert.equal(temporalCliEnv(base).TEMPORAL_CODEC_ENDPOINT, 'http://127.0.0.1:9475');
    assert.equal(temporalCliEnv({ ...base, TEMPORAL_CODEC_ENDPOINT: 'http://x:1' }).TEMPORAL_CODEC_ENDPOINT, 'http://x:1', 'an explicit endpoint wins');

    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin/synthscale.js'), 'temporal', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...base } });
    assert.match((await cli(['--version'])).stdout, /temporal version \d+\.\d+/);
    assert.match((await cli(['workflow', 'list', '--help'])).stdout, /--query/, '--help is the Temporal CLI\'s');
    const failed = await cli(['no-such-command']).then(() => assert.fail('exit status passes through'), (e: { code: number; stderr: string }) => e);
    assert.notEqual(failed.code, 0);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('the codec server answers the local UI under both loopback spellings by default, and only those', async () => {
  assert.deepEqual(localUiOrigins(8233), ['http://localhost:8233', 'http://127.0.0.1:8233']);
  const codec = codecFromEnv({ SYNTHSCALE_CODEC_KEY: randomBytes(32).toString('base64') })!;
  const server = createCodecServer({ codec, uiOrigins: localUiOrigins(8233), maxBodyBytes: 1 << 20, log: () => undefined });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const preflight = (origin: string) =>
      fetch(`http://127.0.0.1:${port}/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    for (const origin of ['http://localhost:8233', 'http://127.0.0.1:8233']) {
      const res = await preflight(origin);
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), origin);
    }
    for (const origin of ['http://127.0.0.2:8233', 'http://localhost:8234', 'http://[::1]:8233']) {
      const res = await preflight(origin);
      assert.equal(res.status, 403, origin);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
  } finally {
    server.close();
  }
});

test('headline slopes: per source on the first eval set with the ratio to real; withheld ones say why; odd names are not printed', () => {
  const metric = (slope: number | null, withheldBy: string[] = []) => ({ scalingSlope: slope, scalingSlopeCI95: slope === null ? null : [slope - 0.02, slope + 0.02], withheldBy });
  const lines = slopeLines({
    evalSets: ['clean', 'ood'],
    curves: [
      { source: 'real', evalSet: 'clean', error: metric(0.2) },
      { source: 'cfg2', evalSet: 'clean', error: metric(0.1) },
      { source: 'cfg7', evalSet: 'clean', error: metric(null, ['poor-fit']) },
      { source: '\u001b[31mevil', evalSet: 'clean', error: metric(0.3) },
      { source: 'real', evalSet: 'ood', error: metric(0.9) },
    ] as never,
    comparisons: [{ source: 'cfg2', realSource: 'real', evalSet: 'clean', errorSlopeRatio: 0.5, errorSlopeRatioCI95: { lo: 0.4, hi: 0.6 } }] as never,
  });
  assert.deepEqual(lines, [
    'headline error slopes b (error = a·N^-b, 95% CI) on clean:',
    '  real  b = 0.200 [0.180, 0.220]',
    '  cfg2  b = 0.100 [0.080, 0.120]   vs real: ratio 0.50 [0.40, 0.60]',
    '  cfg7  withheld (poor-fit)',
    '  ?     b = 0.300 [0.280, 0.320]',
  ]);
  assert.deepEqual(slopeLines({}), ['headline slopes: none in report.json']);
});
