// notifySweep against a real loopback receiver (node:http), run in MockActivityEnvironment: the
// message and its HMAC-SHA256 signature (checked here with node:crypto, as a receiver would), a 500
// that the retry policy retries and then a 200, Retry-After as the next retry's delay, a 404 that
// is final, no URL (nothing sent), bad configuration, unreachable and silent receivers, an endless
// answer read only up to its cap, and that no log line or failure holds the URL's path, query,
// credentials or the secret.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotifyActivities, type NotifyDeps } from '../../../activities/notify/activity.js';
import { verifySignature } from '../../../activities/notify/webhook.js';
import type { SweepNotice } from '../../../contracts/notify.js';

const SECRET = 'whsec-0f4c8e2a9b7d6153';
const PATH_SECRET = '/hooks/T0001/B0002/pathtoken93c1';
const QUERY_SECRET = '?token=querytoken5e7a';
const NOW = new Date('2026-12-03T01:02:03.000Z');
const notice: SweepNotice = {
  sweepId: 'demo-fashion-mnist',
  workflowId: 'sweep-demo-fashion-mnist',
  event: 'completed',
  message: 'all 24 cells trained; report written',
  reportUri: 'file:///store/reports/demo-fashion-mnist/ab12/report.html',
  cells: { done: 24, total: 24 },
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'endless';

let server: Server;
let base: string;
let received: Received[] = [];
let plan: Answer[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = plan.shift() ?? { status: 200, body: 'ok' };
      if (answer === 'hang') return; // never answers
      if (answer === 'endless') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        const piece = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (res.write(piece));
        };
        res.on('drain', pump);
        res.on('error', () => undefined);
        pump();
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  received = [];
  plan = [];
});

/** Every log line (message and attributes), to check that nothing secret is logged. */
const logged: string[] = [];
const logger: Logger = {
  log: (level, message, meta) => void logged.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`),
  trace: (m, meta) => void logged.push(`${m} ${JSON.stringify(meta ?? {})}`),
  debug: (m, meta) => void logged.push(`${m} ${JSON.stringify(meta ?? {})}`),
  info: (m, meta) => void logged.push(`${m} ${JSON.stringify(meta ?? {})}`),
  warn: (m, meta) => void logged.push(`${m} ${JSON.stringify(meta ?? {})}`),
  error: (m, meta) => void logged.push(`${m} ${JSON.stringify(meta ?? {})}`),
};

function notify(env: NodeJS.ProcessEnv, over: Partial<NotifyDeps> = {}, input: SweepNotice = notice, attempt = 1) {
  const { notifySweep } = createNotifyActivities({ env, now: () => NOW, ...over });
  return new MockActivityEnvironment({ attempt }, { logger }).run(notifySweep, input);
}

/** The failure notifySweep threw. */
async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected notifySweep to throw');
}

const noSecret = (text: string) => {
  for (const s of [SECRET, 'pathtoken93c1', 'querytoken5e7a', 'hookpass77', base + PATH_SECRET]) assert.ok(!text.includes(s), `secret leaked into: ${text.slice(0, 300)}`);
};

test('no SYNTHSCALE_WEBHOOK_URL: nothing is sent', async () => {
  assert.deepEqual(await notify({}), { sent: false });
  assert.deepEqual(await notify({ SYNTHSCALE_WEBHOOK_URL: '  ', SYNTHSCALE_WEBHOOK_SECRET: SECRET }), { sent: false });
  assert.equal(received.length, 0);
});

test('the message: JSON with the notice, a chat-ready text line, signed with HMAC-SHA256 over the exact body', async () => {
  const out = await notify({ SYNTHSCALE_WEBHOOK_URL: base + PATH_SECRET, SYNTHSCALE_WEBHOOK_SECRET: SECRET });
  assert.deepEqual(out, { sent: true, status: 200 });
  assert.equal(received.length, 1);
  const [got] = received;
  assert.equal(got!.method, 'POST');
  assert.equal(got!.url, PATH_SECRET);
  assert.equal(got!.headers['content-type'], 'application/json');
  assert.equal(got!.headers['x-synthscale-event'], 'completed');
  assert.match(String(got!.headers['x-synthscale-delivery']), /^[0-9a-f]{32}$/);
  const expected = `sha256=${createHmac('sha256', SECRET).update(got!.body).digest('hex')}`;
  assert.equal(got!.headers['x-synthscale-signature-256'], expected);
  assert.ok(verifySignature(got!.body, expected, SECRET));
  assert.ok(!verifySignature(got!.body.replace('24 cells', '25 cells'), expected, SECRET), 'a changed body no longer verifies');
  assert.ok(!verifySignature(got!.body, expected, `${SECRET}x`), 'another secret does not verify');
  assert.deepEqual(JSON.parse(got!.body), {
    kind: 'synthscale.sweep',
    version: 1,
    delivery: got!.headers['x-synthscale-delivery'],
    sentAt: '2026-12-03T01:02:03.000Z',
    sweepId: 'demo-fashion-mnist',
    workflowId: 'sweep-demo-fashion-mnist',
    event: 'completed',
    message: 'all 24 cells trained; report written',
    reportUri: 'file:///store/reports/demo-fashion-mnist/ab12/report.html',
    cells: { done: 24, total: 24 },
    text: 'synthscale sweep demo-fashion-mnist completed (24/24 cells): all 24 cells trained; report written',
  });
  // Without a secret: the same message, unsigned.
  await notify({ SYNTHSCALE_WEBHOOK_URL: base }, {}, { sweepId: 's', workflowId: 'w', event: 'failure-budget-exceeded', message: '41 of 400 items failed' });
  assert.equal(received[1]!.headers['x-synthscale-signature-256'], undefined);
  assert.equal(JSON.parse(received[1]!.body).text, 'synthscale sweep s exceeded its failure budget: 41 of 400 items failed');
  assert.ok(logged.some((l) => l.includes('webhook delivered') && l.includes(`"receiver":"${base}"`)), 'deliveries are logged, by origin');
  for (const line of logged) noSecret(line);
});

test('500 then 200: a retryable failure, then delivered; the retry carries the same delivery id', async () => {
  const env = { SYNTHSCALE_WEBHOOK_URL: base + PATH_SECRET + QUERY_SECRET, SYNTHSCALE_WEBHOOK_SECRET: SECRET };
  plan = [{ status: 500, body: `internal error at ${PATH_SECRET}${QUERY_SECRET}` }, { status: 200 }];
  const first = await failure(notify(env, {}, { ...notice, event: 'failed' }, 1));
  assert.equal(first.nonRetryable, false);
  assert.equal(first.type, 'WebhookUnavailable');
  assert.match(first.message, new RegExp(`^webhook: ${base.replace(/[.:/]/g, '\\$&')} answered HTTP 500: internal error at \\[redacted\\]`));
  noSecret(first.message);
  assert.deepEqual(await notify(env, {}, { ...notice, event: 'failed' }, 2), { sent: true, status: 200 });
  assert.equal(received.length, 2);
  assert.equal(received[0]!.headers['x-synthscale-delivery'], received[1]!.headers['x-synthscale-delivery']);
  for (const r of received) assert.ok(verifySignature(r.body, String(r.headers['x-synthscale-signature-256']), SECRET));
  // 503 with Retry-After: the next retry waits that long (capped).
  plan = [{ status: 503, headers: { 'retry-after': '7' } }, { status: 429, headers: { 'retry-after': '3600' } }];
  assert.equal((await failure(notify(env))).nextRetryDelay, 7000);
  assert.equal((await failure(notify(env, { maxRetryAfterMs: 30_000 }))).nextRetryDelay, 30_000);
  assert.ok(logged.some((l) => l.includes('will retry') && l.includes('"attempt":1') && l.includes('[redacted]')), 'failed attempts are logged, scrubbed');
  for (const line of logged) noSecret(line);
});

test('404 (and other 4xx, and redirects) are final: non-retryable', async () => {
  const env = { SYNTHSCALE_WEBHOOK_URL: base + PATH_SECRET, SYNTHSCALE_WEBHOOK_SECRET: SECRET };
  plan = [{ status: 404, body: 'no such hook' }];
  let err = await failure(notify(env));
  assert.equal(err.nonRetryable, true);
  assert.equal(err.type, 'WebhookRejected');
  assert.equal(err.message, `webhook: ${base} answered HTTP 404: no such hook`);
  plan = [{ status: 401 }];
  err = await failure(notify(env));
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /HTTP 401 \(check SYNTHSCALE_WEBHOOK_SECRET or the URL's credentials\)$/);
  plan = [{ status: 302, headers: { location: 'http://elsewhere.example/' } }];
  err = await failure(notify(env));
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /HTTP 302 \(redirects are not followed: set the final URL\)$/);
  assert.equal(received.length, 3, 'the redirect was not followed');
});

test('credentials in the URL become a Basic header; no log or failure holds them', async () => {
  const url = new URL(base + PATH_SECRET + QUERY_SECRET);
  url.username = 'hookuser';
  url.password = 'hookpass77';
  plan = [{ status: 500, body: 'echo hookpass77' }, { status: 200 }];
  const err = await failure(notify({ SYNTHSCALE_WEBHOOK_URL: url.href }));
  noSecret(err.message);
  assert.deepEqual(await notify({ SYNTHSCALE_WEBHOOK_URL: url.href }), { sent: true, status: 200 });
  assert.equal(received[1]!.headers.authorization, `Basic ${Buffer.from('hookuser:hookpass77').toString('base64')}`);
  assert.equal(received[1]!.url, PATH_SECRET + QUERY_SECRET);
  for (const line of logged) noSecret(line);
});

test('bad configuration and bad notices are non-retryable and never echo the URL', async () => {
  for (const [env, pattern] of [
    [{ SYNTHSCALE_WEBHOOK_URL: 'ftp://files.example/pathtoken93c1' }, /^webhook: SYNTHSCALE_WEBHOOK_URL must be an http or https URL, not ftp:$/],
    [{ SYNTHSCALE_WEBHOOK_URL: 'not a url pathtoken93c1' }, /^webhook: SYNTHSCALE_WEBHOOK_URL is not a URL; set it to the receiver's http\(s\) URL/],
    [{ SYNTHSCALE_WEBHOOK_URL: base, SYNTHSCALE_WEBHOOK_SECRET: 'short' }, /SYNTHSCALE_WEBHOOK_SECRET is shorter than 16 characters; use a random one, e\.g\. `openssl rand -hex 32`/],
  ] as const) {
    const err = await failure(notify(env));
    assert.equal(err.nonRetryable, true);
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, pattern);
    noSecret(err.message);
  }
  const bad = await failure(notify({ SYNTHSCALE_WEBHOOK_URL: base }, {}, { ...notice, cells: { done: -1, total: 3 } }));
  assert.equal(bad.nonRetryable, true);
  assert.match(bad.message, /^webhook notice: cells must be \{ done, total \}/);
  assert.equal(received.length, 0);
});

test('unreachable, silent and endless receivers: retryable, bounded in time and in bytes read', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}${PATH_SECRET}`;
  await new Promise((resolve) => closed.close(resolve));
  let err = await failure(notify({ SYNTHSCALE_WEBHOOK_URL: closedUrl }));
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /^webhook: http:\/\/127\.0\.0\.1:\d+: request failed \(ECONNREFUSED\)$/);

  plan = ['hang'];
  let started = Date.now();
  err = await failure(notify({ SYNTHSCALE_WEBHOOK_URL: base + PATH_SECRET }, { timeoutMs: 300 }));
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /no answer within 300 ms$/);
  assert.ok(Date.now() - started < 5000);

  plan = ['endless'];
  started = Date.now();
  err = await failure(notify({ SYNTHSCALE_WEBHOOK_URL: base + PATH_SECRET }, { timeoutMs: 5000 }));
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /answered HTTP 500: x{200}\.\.\.$/);
  assert.ok(Date.now() - started < 4000, `the endless body was not read to the end (${Date.now() - started} ms)`);
  for (const line of logged) noSecret(line);
});
