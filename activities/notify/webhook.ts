// The sweep webhook, without Temporal: where it goes (SYNTHSCALE_WEBHOOK_URL, validated; http/https
// only), what is sent (one JSON message per SweepNotice, with a `text` line that chat webhooks such
// as Slack's and Mattermost's show as is), how it is signed (SYNTHSCALE_WEBHOOK_SECRET: HMAC-SHA256
// of the exact body bytes, GitHub style, in X-Synthscale-Signature-256: sha256=<hex>), and one POST
// under a deadline with redirects refused and at most RESPONSE_BYTES of the answer read.
//
// The URL is a secret too (Slack puts its token in the path; others in the query or user:password@),
// so it is only ever described by its origin; user:password@ becomes a Basic Authorization header
// (fetch refuses URLs with credentials). Every message is scrubbed of the URL's parts and the secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../../core/hash.js';
import type { SweepNotice } from '../../contracts/notify.js';

export const WEBHOOK_URL_ENV = 'SYNTHSCALE_WEBHOOK_URL';
export const WEBHOOK_SECRET_ENV = 'SYNTHSCALE_WEBHOOK_SECRET';
export const SIGNATURE_HEADER = 'x-synthscale-signature-256';
export const DELIVERY_HEADER = 'x-synthscale-delivery';
/** Of the receiver's answer, at most this much is read (for the error message). */
export const RESPONSE_BYTES = 4096;
const MIN_SECRET_CHARS = 16;

export interface WebhookConfig {
  url: URL;
  /** scheme://host[:port]: all a message may say about the URL. */
  origin: string;
  secret?: string;
  /** From user:password@ in the URL. */
  authorization?: string;
  /** Strings scrubbed from every message. */
  secrets: string[];
}

/** Bad configuration: the error names the variable and the fix, never its value. */
export class WebhookConfigError extends Error {}

/** The webhook of this worker's environment; null when SYNTHSCALE_WEBHOOK_URL is unset or empty. */
export function webhookConfig(env: NodeJS.ProcessEnv): WebhookConfig | null {
  const raw = env[WEBHOOK_URL_ENV]?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookConfigError(`${WEBHOOK_URL_ENV} is not a URL; set it to the receiver's http(s) URL, e.g. https://hooks.example.com/synthscale`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookConfigError(`${WEBHOOK_URL_ENV} must be an http or https URL, not ${url.protocol.slice(0, 20)}`);
  }
  const secret = env[WEBHOOK_SECRET_ENV];
  if (secret !== undefined && secret !== '' && secret.length < MIN_SECRET_CHARS) {
    throw new WebhookConfigError(`${WEBHOOK_SECRET_ENV} is shorter than ${MIN_SECRET_CHARS} characters; use a random one, e.g. \`openssl rand -hex 32\``);
  }
  const secrets = [raw, url.href, url.pathname.length > 1 ? url.pathname : '', url.search, url.username, url.password, secret ?? ''].filter((s) => s.length >= 4);
  let authorization: string | undefined;
  if (url.username || url.password) {
    authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    secrets.push(authorization.slice(6));
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  return { url, origin: url.origin, ...(secret ? { secret } : {}), ...(authorization ? { authorization } : {}), secrets };
}

/** `text` with every secret of the config replaced (longest first). */
export function scrub(text: string, config: WebhookConfig): string {
  let out = text;
  for (const s of [...config.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
  return out;
}

const LIMITS = { id: 256, message: 4000, uri: 2048 };

/** The notice checked field by field (it comes from a workflow, but a bad one must not become a bad request). */
export function checkNotice(notice: SweepNotice): string | null {
  const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
  if (!notice || typeof notice !== 'object') return 'notice must be an object';
  if (!text(notice.sweepId, LIMITS.id)) return `sweepId must be a string of 1-${LIMITS.id} characters`;
  if (!text(notice.workflowId, LIMITS.id)) return `workflowId must be a string of 1-${LIMITS.id} characters`;
  if (!['completed', 'failed', 'failure-budget-exceeded'].includes(notice.event)) return "event must be 'completed', 'failed' or 'failure-budget-exceeded'";
  if (typeof notice.message !== 'string') return 'message must be a string';
  if (notice.reportUri !== undefined && !text(notice.reportUri, LIMITS.uri)) return `reportUri must be a string of 1-${LIMITS.uri} characters`;
  const cells = notice.cells;
  if (cells !== undefined) {
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!cells || typeof cells !== 'object' || !count(cells.done) || !count(cells.total)) return 'cells must be { done, total }: non-negative integers';
  }
  return null;
}

const EVENT_WORDS: Record<SweepNotice['event'], string> = { completed: 'completed', failed: 'failed', 'failure-budget-exceeded': 'exceeded its failure budget' };

/** One delivery id per (workflow, event): retries of a delivery carry the same one, so receivers can drop repeats. */
export function deliveryId(notice: SweepNotice): string {
  return sha256Hex(`synthscale-webhook|${notice.workflowId}|${notice.event}`).slice(0, 32);
}

/** The JSON message (as the exact bytes that are signed and sent). */
export function webhookBody(notice: SweepNotice, sentAt: Date): string {
  const message = notice.message.length > LIMITS.message ? `${notice.message.slice(0, LIMITS.message)}...` : notice.message;
  const cells = notice.cells ? ` (${notice.cells.done}/${notice.cells.total} cells)` : '';
  return JSON.stringify({
    kind: 'synthscale.sweep',
    version: 1,
    delivery: deliveryId(notice),
    sentAt: sentAt.toISOString(),
    sweepId: notice.sweepId,
    workflowId: notice.workflowId,
    event: notice.event,
    message,
    ...(notice.reportUri === undefined ? {} : { reportUri: notice.reportUri }),
    ...(notice.cells === undefined ? {} : { cells: { done: notice.cells.done, total: notice.cells.total } }),
    text: `synthscale sweep ${notice.sweepId} ${EVENT_WORDS[notice.event]}${cells}: ${message}`.slice(0, LIMITS.message + 400),
  });
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body). */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifySignature(body: string, header: string | null | undefined, secret: string): boolean {
  const expected = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export type DeliveryResult =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; status?: number; retryAfterMs?: number; reason: string };

export interface DeliveryOptions {
  fetchImpl: typeof fetch;
  timeoutMs: number;
  /** Longest Retry-After honoured. */
  maxRetryAfterMs: number;
  signal?: AbortSignal;
}

/** POST the body once. 2xx: ok; 408, 429, 5xx, network and deadline: retryable; every other status: not. */
export async function deliver(config: WebhookConfig, body: string, id: string, event: string, opts: DeliveryOptions): Promise<DeliveryResult> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  let res: Response;
  try {
    res = await opts.fetchImpl(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'synthscale-webhook/1',
        [DELIVERY_HEADER]: id,
        'x-synthscale-event': event,
        ...(config.secret ? { [SIGNATURE_HEADER]: signBody(body, config.secret) } : {}),
        ...(config.authorization ? { authorization: config.authorization } : {}),
      },
      body,
      signal,
      redirect: 'manual',
    });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    const why = deadline.aborted ? `no answer within ${opts.timeoutMs} ms` : networkDetail(err);
    return { ok: false, retryable: true, reason: scrub(`${config.origin}: ${why}`, config) };
  }
  const excerpt = await readExcerpt(res);
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const retryAfterMs = retryAfter(res.headers.get('retry-after'), opts.maxRetryAfterMs);
  const hint = res.status >= 300 && res.status < 400 ? ' (redirects are not followed: set the final URL)' : res.status === 401 || res.status === 403 ? ` (check ${WEBHOOK_SECRET_ENV} or the URL's credentials)` : '';
  return {
    ok: false,
    retryable,
    status: res.status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    reason: scrub(`${config.origin} answered HTTP ${res.status}${hint}${excerpt ? `: ${excerpt}` : ''}`, config),
  };
}

function networkDetail(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
  return `request failed (${String(detail).slice(0, 120)})`;
}

/** At most RESPONSE_BYTES of the answer, as one printable line of at most 200 characters. */
async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.subarray(0, RESPONSE_BYTES - size));
      size += Math.min(value.byteLength, RESPONSE_BYTES - size);
    }
  } catch {
    // A body cut off mid-way: the status is what counts.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function retryAfter(value: string | null, maxMs: number): number | undefined {
  if (value === null || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  return Math.min(maxMs, Number(value) * 1000);
}
