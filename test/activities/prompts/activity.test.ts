// The synthesizePrompts activity (MockActivityEnvironment, file store in a temp dir): takes a
// prompt config, caches by content key (config, classes, count, seed, external data), stores and
// returns provenance, keeps secrets out of keys and stored lists, heartbeats LLM progress, and
// fails bad config without retries.
// Run: node --import tsx --test test/prompts-activity.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPromptActivities, type SynthesizePromptsInput, type SynthesizePromptsOutput } from '../../../activities/prompts/activity.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { openStore, type BlobStore } from '../../../core/storage.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const KEY_ENV = 'SYNTHSCALE_PROMPTS_ACTIVITY_TEST_KEY';
const KEY = 'sk-activity-test-secret-42';
const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let store: BlobStore;
let server: Server;
let baseUrl: string;
let activities: ReturnType<typeof createPromptActivities>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-prompts-activity-'));
  store = openStore(join(dir, 'store'));
  activities = createPromptActivities({ store, dataDir: dir });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${KEY}`) return void res.writeHead(401).end('{}');
      const user = (JSON.parse(Buffer.concat(chunks).toString()) as { messages: { content: string }[] }).messages[1]!.content;
      const name = /exact words "([^"]+)"/.exec(user)![1]!;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { content: `Someone folds a ${name}.` } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  delete process.env[KEY_ENV];
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function run(input: SynthesizePromptsInput, heartbeats: unknown[] = []): Promise<SynthesizePromptsOutput> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silentLogger });
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return (await env.run(activities.synthesizePrompts, input)) as SynthesizePromptsOutput;
}

const storedDoc = async (uri: string) => JSON.parse(await readFile(fileURLToPath(uri), 'utf8')) as Record<string, unknown>;

test('builds, stores and then reuses a prompt list, with provenance either way', async () => {
  const input = { prompts: { strategy: 'clip-templates' as const }, classes: CLASSES, count: 120, seed: 3 };
  const first = await run(input);
  assert.equal(first.cached, false);
  assert.equal(first.count, 120);
  assert.deepEqual(first.provenance, { strategy: 'clip-templates', source: 'clip-templates', summary: first.provenance.summary });
  const doc = await storedDoc(first.promptsUri);
  assert.deepEqual(doc.prompts, synthesizePromptList('clip-templates', CLASSES, 120, 3));
  assert.deepEqual(doc.config, { strategy: 'clip-templates' });
  assert.deepEqual(doc.provenance, first.provenance);
  const again = await run(input);
  assert.deepEqual(again, { ...first, cached: true });
  // The old input shape ({ strategy }) still works and keys the same as { prompts: { strategy } }.
  assert.deepEqual(await run({ strategy: 'clip-templates', classes: CLASSES, count: 120, seed: 3 }), { ...first, cached: true });
  // A different config is a different list.
  const described = await run({ prompts: { strategy: 'classname-description' }, classes: CLASSES, count: 20, seed: 3 });
  assert.notEqual(described.promptsUri, first.promptsUri);
  assert.equal(described.provenance.source, 'wordnet-3.0');
});

test('a corrupt stored list is rebuilt', async () => {
  const input = { prompts: { strategy: 'classnames' as const }, classes: CLASSES, count: 10, seed: 0 };
  const first = await run(input);
  await writeFile(fileURLToPath(first.promptsUri), '{"prompts": "garbage"}');
  const rebuilt = await run(input);
  assert.equal(rebuilt.cached, false);
  assert.equal(rebuilt.promptsUri, first.promptsUri);
  assert.equal(((await storedDoc(rebuilt.promptsUri)).prompts as unknown[]).length, 10);
});

test('bad config fails without retries, naming the field', async () => {
  const cases: [SynthesizePromptsInput, RegExp][] = [
    [{ prompts: { strategy: 'haiku' } as never, classes: CLASSES, count: 1, seed: 0, field: 'sources.1.prompts' }, /^sources\.1\.prompts\.strategy: unknown prompt strategy "haiku"/],
    [{ prompts: { strategy: 'classname-hypernym' }, classes: ['Hat'], count: 1, seed: 0 }, /^prompts\.synsets: no WordNet synset for class "Hat"/],
    [{ prompts: { strategy: 'captions', file: join(dir, 'none.txt') }, classes: CLASSES, count: 1, seed: 0 }, /^prompts\.file: captions file .* is unreadable/],
    [{ prompts: { strategy: 'word2sentence', llm: { baseUrl, model: 'm', apiKeyEnv: 'SYNTHSCALE_UNSET_VAR' } }, classes: CLASSES, count: 1, seed: 0 }, /^prompts\.llm\.apiKeyEnv: environment variable SYNTHSCALE_UNSET_VAR is not set/],
  ];
  for (const [input, why] of cases) {
    await assert.rejects(run(input), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.nonRetryable, true);
      assert.equal(err.type, 'InvalidPromptConfig');
      assert.match(err.message, why);
      return true;
    });
  }
});

test('LLM sentences: heartbeats while calling, key only in the env, provenance names the model', async () => {
  process.env[KEY_ENV] = KEY;
  const heartbeats: unknown[] = [];
  const input = { prompts: { strategy: 'word2sentence' as const, sentencesPerClass: 1, llm: { baseUrl, model: 'tiny', apiKeyEnv: KEY_ENV } }, classes: CLASSES, count: 30, seed: 1 };
  const out = await run(input, heartbeats);
  assert.equal(out.provenance.source, 'llm');
  assert.equal(out.provenance.model, 'tiny');
  assert.equal(heartbeats.length, 10);
  assert.deepEqual(heartbeats.at(-1), { done: 10, total: 10 });
  const raw = await readFile(fileURLToPath(out.promptsUri), 'utf8');
  assert.ok(!raw.includes(KEY) && !out.promptsUri.includes(KEY));
  assert.ok(raw.includes(KEY_ENV), 'the env var name is part of the stored config');
  assert.match(((await storedDoc(out.promptsUri)).prompts as { text: string }[])[8]!.text, /^Someone folds a Bag\.$/);
  // Cached: no calls needed, even with the server unreachable by key.
  delete process.env[KEY_ENV];
  assert.equal((await run(input)).cached, true);
});

test('a changed captions file is a new list, not a stale cache hit', async () => {
  const path = join(dir, 'caps.txt');
  await writeFile(path, 'one caption\n');
  const input = { prompts: { strategy: 'captions' as const, file: path }, classes: CLASSES, count: 10, seed: 0 };
  const a = await run(input);
  await writeFile(path, 'another caption\n');
  const b = await run(input);
  assert.equal(b.cached, false);
  assert.notEqual(a.promptsUri, b.promptsUri);
  assert.equal(((await storedDoc(b.promptsUri)).prompts as { text: string }[])[0]!.text, 'T-shirt/top, another caption');
});
