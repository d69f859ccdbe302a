// Payload encryption end to end: workers and client share SYNTHSCALE_CODEC_KEY; a tiny sweep runs;
// its raw histories, read WITHOUT the codec, hold only ciphertext payloads (search attributes
// excepted: the server must index them), failure messages included; `synthscale codec-server`
// decodes them over HTTP for the Temporal UI (CORS) and CLI (--codec-endpoint). The stack that
// infra/stack.sh starts with a key runs that codec server itself and points the UI at it, so the
// sweep's workflow page shows the input decoded whether the UI is opened as localhost or 127.0.0.1
// (headless Chromium via playwright-core; skipped without Chromium unless CI=true); the CLI
// (`sweep list`, `sweep status` by sweep id and by workflow id, `synthscale temporal`) reads it too.
// Over 300 lines on purpose: every test reads the one stack and sweep the first test makes (a stack
// and a sweep cost about a minute here).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON, payloadToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { chromium } from 'playwright-core';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../core/payload-codec.js';
import { connectClient, startSweep, sweepWorkflowId } from '../../cli/client.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { ROOT, freePort, startTestStack, type TestStack } from './stack.js';

const PORT = 7453;
const KEY_ID = 'it-codec-1';
// Distinctive strings: in the spec (so in the payloads), never in clear in what Temporal stores.
const SWEEP = 'it-codec-c0ffee';
const SOURCE = 'realsecretsrc';
const spec = validateSpec({
  sweepId: SWEEP,
  dataset: 'fashion-mnist',
  sources: [{ name: SOURCE, kind: 'real' }],
  sizes: [100],
  seeds: [0],
  training: { hidden: [16], epochs: 1, minSteps: 10, batchSize: 32, checkpointEvery: 10 },
  eval: [{ name: 'fmnist-test', split: 'test' }],
  maxConcurrentCells: 1,
});

let stack: TestStack;
before(
  async () => {
    // startTestStack hands process.env to the workers: they encrypt with this key.
    Object.assign(process.env, { SYNTHSCALE_CODEC_KEY: randomBytes(32).toString('base64'), SYNTHSCALE_CODEC_KEY_ID: KEY_ID });
    stack = await startTestStack(PORT);
    process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS;
  },
  { timeout: 300_000 },
);
after(async () => stack?.teardown());

/** A client with Temporal's default data converter: it sees what the server stores. */
async function rawClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
  return { client: new Client({ connection, namespace: 'default' }), close: () => connection.close() };
}

interface FoundPayload {
  path: string;
  payload: Payload;
}

function isPayload(node: object): node is Payload {
  const metadata = (node as { metadata?: unknown }).metadata;
  return 'data' in node && typeof metadata === 'object' && metadata !== null && Object.values(metadata).every((v) => v instanceof Uint8Array);
}

/** Every Payload message anywhere in a history, with where it sits. */
function payloadsIn(node: unknown, path: string, out: FoundPayload[] = []): FoundPayload[] {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  if (isPayload(node)) out.push({ path, payload: node });
  else if (Array.isArray(node)) node.forEach((n, i) => payloadsIn(n, `${path}[${i}]`, out));
  else for (const [k, v] of Object.entries(node)) payloadsIn(v, path ? `${path}.${k}` : k, out);
  return out;
}

const meta = (p: Payload, name: string) => Buffer.from(p.metadata?.[name] ?? []).toString('utf8');
const generalize = (path: string) => path.replace(/\[\d+\]/g, '[]').replace(/^events\[\]\./, '');

/**
 * Histories as stored, of the workflows `query` lists. Listing needs the codec (the TS client decodes
 * each listed workflow's memo, which is encrypted); fetching the history is done without it.
 */
async function rawHistoriesOf(query: string): Promise<Map<string, History>> {
  const ids: [string, string][] = [];
  const withKey = await connectClient();
  try {
    for await (const wf of withKey.client.workflow.list({ query })) ids.push([wf.workflowId, wf.runId]);
  } finally {
    await withKey.close();
  }
  const raw = await rawClient();
  try {
    // A client without the key cannot list them at all: the memo does not decode.
    await assert.rejects(async () => {
      for await (const _ of raw.client.workflow.list({ query })) void _;
    }, /Unknown encoding: binary\/encrypted/);
    const out = new Map<string, History>();
    for (const [id, runId] of ids) out.set(id, await raw.client.workflow.getHandle(id, runId).fetchHistory());
    // Nor read a result: it is ciphertext to the default converter.
    await assert.rejects(raw.client.workflow.getHandle(sweepWorkflowId(SWEEP)).result(), /Unknown encoding: binary\/encrypted/);
    return out;
  } finally {
    await raw.close();
  }
}


let rawHistories: Map<string, History>;

test('a sweep run with the key stores only ciphertext payloads, and the client with the key reads its result', { timeout: 600_000 }, async () => {
  const cpuLog = await readFile(join(stack.home, 'run', 'worker-cpu.log'), 'utf8');
  assert.match(cpuLog, new RegExp(`encryption=aes-256-gcm\\(key id ${KEY_ID}\\)`), 'the worker says it encrypts, and with which key id');

  const { client, close } = await connectClient();
  try {
    const handle = await startSweep(client, spec);
    const result = (await handle.result()) as SweepResult;
    assert.equal(result.cells, 1);
    const memo = (await handle.describe()).memo as { specHash?: string; sources?: string };
    assert.match(memo.specHash ?? '', /^[0-9a-f]+$/, 'memo decodes through the codec');
    assert.equal(memo.sources, SOURCE);
  } finally {
    await close();
  }

  rawHistories = await rawHistoriesOf(`SynthscaleSweepId="${SWEEP}"`);
  // The sweep, its data-source child and its cell child.
  assert.ok(rawHistories.has(sweepWorkflowId(SWEEP)), [...rawHistories.keys()].join(', '));
  assert.ok(rawHistories.size >= 3, [...rawHistories.keys()].join(', '));

  const encrypted = new Map<string, number>();
  const plain = new Map<string, number>();
  for (const [workflowId, history] of rawHistories) {
    for (const { path, payload } of payloadsIn(history, '')) {
      const where = generalize(path);
      const data = Buffer.from(payload.data ?? []).toString('latin1');
      if (/searchAttributes\.indexedFields/.test(path)) {
        // Visibility data: the server indexes it, so no codec can touch it.
        assert.notEqual(meta(payload, 'encoding'), ENCRYPTED_ENCODING);
        plain.set(where, (plain.get(where) ?? 0) + 1);
        continue;
      }
      if (/markerRecordedEventAttributes\.details\.patch-data/.test(path)) {
        // patched() markers are written by the SDK's core, past the codec: they hold the patch id (code, not data).
        for (const secret of [SWEEP, SOURCE]) assert.ok(!data.includes(secret), `${workflowId} ${path} holds "${secret}" in clear`);
        plain.set(where, (plain.get(where) ?? 0) + 1);
        continue;
      }
      assert.equal(meta(payload, 'encoding'), ENCRYPTED_ENCODING, `${workflowId} ${path} is not encrypted`);
      assert.equal(meta(payload, KEY_ID_METADATA), KEY_ID, `${workflowId} ${path}`);
      for (const secret of [SWEEP, SOURCE]) assert.ok(!data.includes(secret), `${workflowId} ${path} holds "${secret}" in clear`);
      encrypted.set(where, (encrypted.get(where) ?? 0) + 1);
    }
  }
  const seen = [...encrypted.keys()].join('\n');
  for (const kind of [
    'workflowExecutionStartedEventAttributes.input',
    'activityTaskScheduledEventAttributes.input',
    'activityTaskCompletedEventAttributes.result',
    'workflowExecutionCompletedEventAttributes.result',
    'startChildWorkflowExecutionInitiatedEventAttributes.input',
    'childWorkflowExecutionCompletedEventAttributes.result',
  ]) {
    assert.ok(seen.includes(kind), `an encrypted ${kind} was found:\n${seen}`);
  }
  assert.ok([...encrypted.keys()].some((k) => k.includes('memo')), `memo payloads are encrypted too:\n${seen}`);
  // The sweep id is in clear in the search attributes (and in workflow ids): visibility is not encrypted.
  assert.ok(plain.size > 0, 'search attribute payloads were found and are plain');
  console.log(`encrypted payloads by place:\n  ${[...encrypted].map(([k, n]) => `${k}: ${n}`).join('\n  ')}`);
  console.log(`plain payloads by place (search attributes):\n  ${[...plain].map(([k, n]) => `${k}: ${n}`).join('\n  ')}`);
});

test('a failure message is encrypted too: the raw history says only "Encoded failure", the client with the key sees the field', { timeout: 300_000 }, async () => {
  const badId = 'it-codec-bad-spec';
  const { client, close } = await connectClient();
  try {
    const handle = await client.workflow.start('scalingSweepWorkflow', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: badId,
      args: [{ ...spec, sweepId: badId, eval: [{ name: 'fmnist-test', split: 'train' }] }],
    });
    const err = await handle.result().then(
      () => assert.fail('a bad spec must fail the workflow'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) messages.push(e.message);
    assert.ok(messages.some((m) => /eval\S*split/.test(m)), `the decoded failure names the field: ${messages.join(' <- ')}`);
  } finally {
    await close();
  }
  const raw = await rawClient();
  try {
    const history = await raw.client.workflow.getHandle(badId).fetchHistory();
    const text = historyToJSON(history);
    assert.ok(!/eval\S*split/.test(text) && !text.includes('evaluation split'), 'the failure message is not stored in clear');
    const failures = (history.events ?? []).flatMap((e) => [e.activityTaskFailedEventAttributes?.failure, e.workflowExecutionFailedEventAttributes?.failure]).filter((f) => f);
    assert.ok(failures.length >= 2, 'an activity failure (from the worker process) and a workflow failure (from the sandbox)');
    for (const top of failures) {
      assert.equal(top!.message, 'Encoded failure');
      assert.equal(top!.stackTrace, '');
      for (let f = top; f; f = f.cause) {
        if (!f.encodedAttributes) continue;
        assert.equal(f.message, 'Encoded failure');
        assert.equal(meta(f.encodedAttributes, 'encoding'), ENCRYPTED_ENCODING);
      }
    }
  } finally {
    await raw.close();
  }
});

test('`synthscale codec-server` decodes the stored payloads for the UI and the Temporal CLI, with CORS for the UI origin only', { timeout: 300_000 }, async () => {
  assert.ok(rawHistories, 'the first test fetched the raw histories');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const uiOrigin = `http://localhost:${stack.env.SYNTHSCALE_UI_PORT}`;
  const server: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/synthscale.js'), 'codec-server', '--port', String(port)], {
    cwd: ROOT,
    env: stack.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stdout!.on('data', (d) => (output += d));
  server.stderr!.on('data', (d) => (output += d));
  try {
    for (let i = 0; i < 300 && !output.includes('listening on'); i++) {
      if (server.exitCode !== null) assert.fail(`codec-server exited ${server.exitCode}: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(output.includes(`listening on ${endpoint}`), output);
    assert.ok(output.includes(`Codec Server browser endpoint: ${endpoint}`), `prints the UI setting: ${output}`);
    assert.ok(output.includes(`CORS: only ${uiOrigin}`), output);

    const started = rawHistories.get(sweepWorkflowId(SWEEP))!.events!.find((e) => e.workflowExecutionStartedEventAttributes)!;
    const input = started.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const post = (headers: Record<string, string>) =>
      fetch(`${endpoint}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: JSON.stringify({ payloads: input.map(payloadToJSON) }),
      });

    // The UI's request: its origin is allowed, and the answer is the spec in clear.
    const res = await post({ origin: uiOrigin });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), uiOrigin);
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    const decoded = JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString('utf8'));
    assert.equal(decoded.sweepId, SWEEP);
    assert.equal(decoded.sources[0].name, SOURCE);
    assert.deepEqual(decoded.sizes, [100]);

    // Another origin gets no CORS grant (and no decoding); no Origin at all (CLI, curl) is fine.
    const foreign = await post({ origin: 'http://localhost:9999' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    assert.equal((await post({})).status, 200);

    // The browser's preflight for the UI's POST.
    const preflight = await fetch(`${endpoint}/decode`, {
      method: 'OPTIONS',
      headers: { origin: uiOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), uiOrigin);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    for (const h of ['content-type', 'x-namespace', 'authorization']) assert.match(preflight.headers.get('access-control-allow-headers') ?? '', new RegExp(h));
    const foreignPreflight = await fetch(`${endpoint}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(foreignPreflight.headers.get('access-control-allow-origin'), null);

    // The Temporal CLI through --codec-endpoint: the sweep's input shows decoded.
    const temporal = stack.env.TEMPORAL_CLI!;
    const show = (extra: string[]) =>
      promisify(execFile)(temporal, ['workflow', 'show', '--workflow-id', sweepWorkflowId(SWEEP), '--output', 'json', '--address', stack.env.TEMPORAL_ADDRESS!, ...extra], { maxBuffer: 64 << 20 });
    type JsonPayload = { metadata: Record<string, string>; data: string };
    const inputOf = (text: string): JsonPayload =>
      JSON.parse(text).events.find((e: { workflowExecutionStartedEventAttributes?: unknown }) => e.workflowExecutionStartedEventAttributes)
        .workflowExecutionStartedEventAttributes.input.payloads[0];
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    assert.equal(b64(inputOf((await show([])).stdout).metadata.encoding!), ENCRYPTED_ENCODING, 'without the codec the CLI shows ciphertext');
    const viaCli = inputOf((await show(['--codec-endpoint', endpoint])).stdout);
    assert.equal(b64(viaCli.metadata.encoding!), 'json/plain', 'with --codec-endpoint the CLI shows the input decoded');
    assert.equal(JSON.parse(b64(viaCli.data)).sources[0].name, SOURCE);
    assert.ok(!output.includes(stack.env.SYNTHSCALE_CODEC_KEY!), 'the key is never printed');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
  }
});

const cli = (args: string[], env: NodeJS.ProcessEnv = stack.env) =>
  promisify(execFile)(process.execPath, [join(ROOT, 'bin/synthscale.js'), ...args], { cwd: ROOT, env, maxBuffer: 16 << 20 });

test('the CLI lists and summarises the encrypted sweep by sweep id and by workflow id; `synthscale temporal` decodes through the stack\'s codec server', { timeout: 120_000 }, async () => {
  const list = (await cli(['sweep', 'list'])).stdout;
  assert.match(list, new RegExp(`^${SWEEP}\\s+${sweepWorkflowId(SWEEP)}\\s+COMPLETED\\s+1/1\\s`, 'm'), list);
  for (const id of [SWEEP, sweepWorkflowId(SWEEP)]) {
    const status = (await cli(['sweep', 'status', id])).stdout;
    assert.match(status, new RegExp(`^${sweepWorkflowId(SWEEP)}: COMPLETED`), status);
    assert.match(status, /finished: 1 cells \(0 from cache\), 0 images generated, \d+ training steps, wall time \d+/, status);
    assert.match(status, /time per stage: plan [\d.]+s/, status);
    assert.match(status, new RegExp(`headline error slopes b .* on fmnist-test:\\n  ${SOURCE}  withheld \\(`), 'one size: the slope is withheld, with its reason');
    assert.match(status, /report: .*report\.html/, status);
  }
  // Without the key the CLI says what is wrong and how to fix it.
  const { SYNTHSCALE_CODEC_KEY: _key, SYNTHSCALE_CODEC_KEY_ID: _keyId, ...noKey } = stack.env;
  const refused = await cli(['sweep', 'list'], noKey).then(() => assert.fail('listing encrypted sweeps needs the key'), (e: { stderr: string }) => e.stderr);
  assert.match(refused, /payloads are encrypted .* Fix: set SYNTHSCALE_CODEC_KEY/, refused);

  // `synthscale temporal`: the address comes from SYNTHSCALE_TEMPORAL_PORT, the codec endpoint from the stack.
  const { TEMPORAL_ADDRESS: _address, TEMPORAL_CLI: _cliPath, ...fromPort } = stack.env;
  const endpoint = (await readFile(join(stack.home, 'run', 'codec.endpoint'), 'utf8')).trim();
  assert.equal(endpoint, `http://127.0.0.1:${Number(stack.env.SYNTHSCALE_UI_PORT) + 655}`);
  const shown = JSON.parse((await cli(['temporal', 'workflow', 'show', '--workflow-id', sweepWorkflowId(SWEEP), '--output', 'json'], fromPort)).stdout);
  const input = shown.events.find((e: { workflowExecutionStartedEventAttributes?: unknown }) => e.workflowExecutionStartedEventAttributes).workflowExecutionStartedEventAttributes.input.payloads[0];
  assert.equal(Buffer.from(input.metadata.encoding, 'base64').toString(), 'json/plain', 'decoded by the stack\'s codec server');
  assert.equal(JSON.parse(Buffer.from(input.data, 'base64').toString()).sources[0].name, SOURCE);
});

const chromiumPath = await promisify(execFile)('bash', [join(ROOT, 'infra/browser.sh'), 'path'], { cwd: ROOT }).then(
  ({ stdout }) => stdout.trim(),
  () => undefined,
);
const noBrowser = chromiumPath || /^(1|true|yes)$/i.test(process.env.CI ?? '') ? false : 'no Chromium (bash infra/browser.sh ensure installs it)';

test('the Temporal UI shows the sweep decoded through the stack\'s codec server, opened as localhost and as 127.0.0.1', { timeout: 240_000, skip: noBrowser }, async () => {
  assert.ok(chromiumPath, 'CI=true: the browser check must run. Fix: bash infra/browser.sh ensure');
  const serverLog = await readFile(join(stack.home, 'run', 'codec.log'), 'utf8');
  const uiPort = stack.env.SYNTHSCALE_UI_PORT;
  assert.match(serverLog, new RegExp(`CORS: only http://localhost:${uiPort}, http://127\\.0\\.0\\.1:${uiPort}`), serverLog);
  const codecPort = new URL((await readFile(join(stack.home, 'run', 'codec.endpoint'), 'utf8')).trim()).port;
  const codecLog = () => readFile(join(stack.home, 'run', 'codec.log'), 'utf8').then((t) => t.split('\n'));
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, chromiumSandbox: false, args: ['--disable-dev-shm-usage'] });
  try {
    for (const host of ['localhost', '127.0.0.1']) {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const seen: string[] = [];
      page.on('requestfinished', (req) => void (req.url().includes(`:${codecPort}/`) && seen.push(`${req.method()} ${req.url()}`)));
      const logBefore = (await codecLog()).length;
      try {
        const url = `http://${host}:${uiPort}/namespaces/default/workflows/${encodeURIComponent(sweepWorkflowId(SWEEP))}`;
        await page.goto(url, { waitUntil: 'domcontentloaded' });
        // The input (the spec) has a field name that appears nowhere else in clear (child workflow
        // ids name the source, so the source's name is no proof); in ciphertext it would not appear.
        const marker = 'checkpointEvery';
        const deadline = Date.now() + 60_000;
        let text = '';
        while (Date.now() < deadline && !text.includes(marker)) {
          await new Promise((r) => setTimeout(r, 500));
          text = await page.locator('body').innerText().catch(() => '');
        }
        const served = (await codecLog()).slice(logBefore - 1).filter((line) => /^(POST|OPTIONS) \/\S*decode/.test(line));
        assert.ok(text.includes(marker), `${url}: the page shows the decoded input ("${marker}"); codec server log (first 5 of ${served.length}) ${JSON.stringify(served.slice(0, 5))}; text starts ${JSON.stringify(text.slice(0, 400))}`);
        assert.ok(served.some((line) => /^POST \S*decode\S* 200 /.test(line)), `${url}: the UI decoded through the stack's codec server (its log: ${JSON.stringify(served)}; browser: ${JSON.stringify(seen)})`);
        assert.ok(!served.some((line) => / 403 /.test(line)), `${url}: no request was refused for its origin: ${JSON.stringify(served)}`);
        console.log(`[codec-it] ${url}: decoded (${served.length} codec requests: ${served.slice(0, 3).join('; ')})`);
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
});
