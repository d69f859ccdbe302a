// word2sentence against a real OpenAI-compatible chat-completions server (node:http on 127.0.0.1,
// an ephemeral port; no mocked fetch). The `model` of each request picks the server's behaviour,
// so tests share one server without shared state. Covers the happy path (deterministic requests,
// sentences kept in the list, provenance, the key sent but never stored) and each failure mode.
// Run: node --import tsx --test test/prompts-llm.test.ts
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { PromptConfigError } from '../../../contracts/spec/prompts.js';
import { LlmError, MAX_RESPONSE_BYTES } from '../../../activities/prompts/llm.js';
import { buildPromptList, type PromptList } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const CLASSES = FASHION_MNIST_CLASSES;
const KEY = 'sk-test-do-not-store-0123456789';

interface Seen {
  model: string;
  seed: unknown;
  temperature: unknown;
  authorization: string | undefined;
  className: string;
  user: string;
}

const seen: Seen[] = [];
const attempts = new Map<string, number>();
let server: Server;
let baseUrl: string;

function reply(res: ServerResponse, content: string, status = 200) {
  const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return void res.writeHead(404).end('{"error":"not found"}');
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; seed: unknown; temperature: unknown; messages: { role: string; content: string }[] };
  const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
  const className = /exact words "([^"]+)"/.exec(user)?.[1] ?? '?';
  const hint = /a photo of a .+? (.+)\. It must/.exec(user)?.[1] ?? '';
  seen.push({ model: body.model, seed: body.seed, temperature: body.temperature, authorization: req.headers.authorization, className, user });
  const tries = (attempts.get(`${body.model}|${body.seed}`) ?? 0) + 1;
  attempts.set(`${body.model}|${body.seed}`, tries);
  const sentence = `A model poses with a ${className} ${hint}.`;
  switch (body.model) {
    case 'echo':
      return reply(res, sentence);
    case 'keyed':
      if (req.headers.authorization !== `Bearer ${KEY}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad key"}');
      return reply(res, sentence);
    case 'no-bag':
      return reply(res, className === 'Bag' ? 'A person holds something at the beach.' : sentence);
    case 'never-named':
      return reply(res, 'A lovely day outside.');
    case 'messy':
      return reply(res, `  "A red\u0007 ${className}\n\tat the beach."  `);
    case 'html':
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Gateway login</body></html>');
    case 'wrong-shape':
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[1,2,3]}');
    case 'huge':
      return reply(res, 'x'.repeat(MAX_RESPONSE_BYTES + 10));
    case 'huge-chunked': // no content-length: the cap must hold while streaming
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 40; i++) res.write('x'.repeat(4096));
      return void res.end();
    case 'flaky':
      return tries === 1 ? void res.writeHead(503).end('busy') : reply(res, sentence);
    case 'down':
      return void res.writeHead(503).end('busy');
    case 'slow':
      return; // never answers; the client's timeout must fire
    default:
      return void res.writeHead(404).end();
  }
}

before(async () => {
  server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const config = (model: string, extra: object = {}, sentencesPerClass = 2) => ({
  strategy: 'word2sentence' as const,
  sentencesPerClass,
  llm: { baseUrl, model, maxRetries: 1, timeoutMs: 2000, ...extra },
});
const build = (model: string, count = 25, extra: object = {}, env: Record<string, string> = {}) =>
  buildPromptList(config(model, extra), CLASSES, count, 4, { retryBackoffMs: 1, env });
const requestsFor = (model: string) => seen.filter((s) => s.model === model);

test('LLM sentences: deterministic requests, one per (class, sentence) used, kept in the list with provenance', async () => {
  const list = await build('echo');
  // 25 prompts, 10 classes, 2 sentences per class: 20 requests; prompts 20..24 reuse sentence 0.
  assert.equal(requestsFor('echo').length, 20);
  assert.deepEqual(list.provenance, {
    strategy: 'word2sentence',
    source: 'llm',
    model: 'echo',
    endpoint: baseUrl,
    llmSentences: 20,
    llmFallbacks: 0,
    summary: `sentences from LLM echo at ${baseUrl} (20 of 20 used)`,
  });
  for (const p of list.prompts) assert.match(p.text, new RegExp(`^A model poses with a ${CLASSES[p.classIndex]!.replace('/', '\\/')} .+\\.$`));
  assert.equal(list.prompts[20]!.text, list.prompts[0]!.text);
  assert.notEqual(list.prompts[10]!.text, list.prompts[0]!.text, 'sentence 1 of a class differs from sentence 0');
  assert.equal((list.cache as { sentences: unknown[] }).sentences.length, 20);
  for (const s of requestsFor('echo')) {
    assert.equal(s.temperature, 0);
    assert.ok(Number.isInteger(s.seed) && (s.seed as number) >= 0);
    assert.equal(s.authorization, undefined, 'no key configured, none sent');
  }
  // Same config, same requests and list; a prefix asks only for what it uses.
  const seeds = requestsFor('echo').map((s) => `${s.className}|${s.seed}|${s.user}`).sort();
  assert.deepEqual(await build('echo'), list);
  assert.deepEqual(requestsFor('echo').slice(20).map((s) => `${s.className}|${s.seed}|${s.user}`).sort(), seeds);
  const short = await build('echo', 7);
  assert.deepEqual(short.prompts, list.prompts.slice(0, 7));
  assert.equal(requestsFor('echo').length, 47);
});

test('the API key is read from the named env var, sent as a bearer token, and never stored', async () => {
  const list: PromptList = await build('keyed', 10, { apiKeyEnv: 'SYNTHSCALE_TEST_LLM_KEY' }, { SYNTHSCALE_TEST_LLM_KEY: KEY });
  assert.equal(list.provenance.llmSentences, 10);
  assert.ok(requestsFor('keyed').every((s) => s.authorization === `Bearer ${KEY}`));
  assert.ok(!JSON.stringify(list).includes(KEY));
  await assert.rejects(
    build('keyed', 10, { apiKeyEnv: 'SYNTHSCALE_TEST_LLM_KEY' }, {}),
    (err: unknown) => err instanceof PromptConfigError && err.field === 'prompts.llm.apiKeyEnv' && /SYNTHSCALE_TEST_LLM_KEY is not set on the worker/.test(err.message),
  );
  // A wrong key: a 4xx is final at once (no retries), named as such, and the key is not echoed.
  const before = requestsFor('keyed').length;
  await assert.rejects(build('keyed', 1, { apiKeyEnv: 'K' }, { K: 'sk-wrong-key' }), (err: unknown) => {
    assert.ok(err instanceof PromptConfigError && err.field === 'prompts.llm', String(err));
    assert.match(err.message, /answered HTTP 401 \(check the key in the apiKeyEnv variable\)/);
    assert.ok(!err.message.includes('sk-wrong-key'));
    return true;
  });
  assert.equal(requestsFor('keyed').length, before + 1);
});

test('a sentence without the class name is replaced by the template grammar, and counted', async () => {
  const list = await build('no-bag', 30, {}, {});
  assert.equal(list.provenance.llmFallbacks, 2);
  assert.equal(list.provenance.llmSentences, 18);
  assert.match(list.provenance.summary, /18 of 20 used; 2 rejected and replaced by the template grammar/);
  const rejected = (list.cache as { sentences: { classIndex: number; rejected?: string }[] }).sentences.filter((s) => s.rejected);
  assert.deepEqual(rejected.map((s) => [CLASSES[s.classIndex], s.rejected]), [['Bag', 'sentence does not contain "Bag"'], ['Bag', 'sentence does not contain "Bag"']]);
  for (const p of list.prompts.filter((q) => CLASSES[q.classIndex] === 'Bag')) {
    assert.ok(p.text.includes('Bag') && !p.text.startsWith('A model poses'), p.text);
  }
  // When no sentence is usable the endpoint is misconfigured: an error, not a silent grammar run.
  await assert.rejects(build('never-named', 10), /prompts\.llm: none of 10 sentences from never-named .* was usable \(first: sentence does not contain "T-shirt\/top"\)/);
});

test('control characters and wrapping quotes are stripped from sentences', async () => {
  const list = await build('messy', 2);
  assert.equal(list.prompts[0]!.text, 'A red T-shirt/top at the beach.');
});

test('answers that are not chat completions fail clearly after the bounded retries', async () => {
  const cases: [string, RegExp][] = [
    ['html', /did not answer JSON \(starts "<html><body>Gateway login<\/body><\/html>"\); is baseUrl an OpenAI-compatible API root/],
    ['wrong-shape', /answered JSON without choices\[0\]\.message\.content/],
    ['huge', new RegExp(`sent a response larger than ${MAX_RESPONSE_BYTES} bytes`)],
    ['huge-chunked', new RegExp(`sent a response larger than ${MAX_RESPONSE_BYTES} bytes`)],
  ];
  for (const [model, why] of cases) {
    await assert.rejects(build(model, 1), (err: unknown) => {
      assert.ok(err instanceof PromptConfigError && err.field === 'prompts.llm', `${model}: ${String(err)}`);
      assert.match(err.message, why);
      assert.match(err.message, /after 2 attempts/);
      return true;
    });
    assert.equal(requestsFor(model).length, 2, `${model}: maxRetries 1 => 2 attempts`);
  }
});

test('transport trouble is retried with backoff, and stays a retryable error when it persists', async () => {
  const flaky = await build('flaky', 10);
  assert.equal(flaky.provenance.llmSentences, 10);
  assert.equal(requestsFor('flaky').length, 20, 'each request failed once with 503, then succeeded');
  const transient = (why: RegExp) => (err: unknown) => err instanceof LlmError && err.retryable && why.test(err.message);
  await assert.rejects(build('down', 1), transient(/answered HTTP 503 \(after 2 attempts\)/));
  const started = Date.now();
  await assert.rejects(build('slow', 1, { timeoutMs: 150 }), transient(/no answer within 150 ms \(after 2 attempts\)/));
  assert.ok(Date.now() - started < 2000);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(
    buildPromptList({ strategy: 'word2sentence', llm: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', maxRetries: 0 } }, CLASSES, 1, 0),
    transient(/fetch failed|ECONNREFUSED/),
  );
});

test('without an endpoint the template grammar writes the sentences, and the provenance says so', async () => {
  const list = await buildPromptList({ strategy: 'word2sentence' }, CLASSES, 20, 4);
  assert.equal(list.provenance.source, 'template-grammar');
  assert.match(list.provenance.summary, /no LLM endpoint configured/);
  assert.equal(list.cache, undefined);
});
