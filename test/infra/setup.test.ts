// infra/setup.sh installs what the demo needs; only `--tests` adds the test-only tools (GCS
// emulator, Chromium, schemathesis, webuiapi). Runs the real script on this checkout (already set
// up, so each run only checks) with a shell trace, and reads which installers it called.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEST_ONLY = ['gcs-emulator.sh', 'browser.sh', 'schemathesis.sh'];

async function tracedSetup(args: string[]): Promise<string> {
  const { stderr } = await promisify(execFile)('bash', ['-x', join(ROOT, 'infra/setup.sh'), ...args], {
    cwd: ROOT,
    // Native TF is checked by its own tests; skipping it keeps this run to a few seconds.
    env: { ...process.env, SYNTHSCALE_NATIVE_TF: '0' },
    maxBuffer: 16 << 20,
  });
  return stderr;
}

const calls = (trace: string, script: string) => trace.split('\n').some((line) => /^\++ bash infra\//.test(line) && line.includes(script));

test('setup for the demo calls none of the test-only installers', { timeout: 120_000 }, async () => {
  const trace = await tracedSetup([]);
  assert.ok(calls(trace, 'stack.sh'), 'the Temporal CLI is still ensured');
  for (const script of TEST_ONLY) assert.equal(calls(trace, script), false, `demo setup ran infra/${script}`);
});

test('setup --tests adds the test-only installers', { timeout: 300_000 }, async () => {
  const trace = await tracedSetup(['--tests']);
  for (const script of TEST_ONLY) assert.ok(calls(trace, script), `setup --tests did not run infra/${script}`);
});

test('setup refuses an unknown option and says the usage', async () => {
  await assert.rejects(promisify(execFile)('bash', [join(ROOT, 'infra/setup.sh'), '--demo'], { cwd: ROOT }), (err: { stderr: string; code: number }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /usage: infra\/setup\.sh \[--tests\]/);
    return true;
  });
});
