// How an HTTP generator call fails: a GeneratorHttpError whose `code` is a short reason, also the
// first word of its message, so the activity's failedItems record it as `<code>: <details>`.
// 429, 503 and 500/502/504, network failures and deadlines are transient (429/503 carry
// retryAfterMs from Retry-After, capped at maxRetryAfterMs): the activity retries the item,
// waiting at least that long. Other 4xx and malformed responses are not retried.
import { MAX_RETRY_AFTER_MS, type HttpGeneratorSpec } from '../../../contracts/spec/generators.js';

/** Statuses worth another try; 429 and 503 may say when (Retry-After). Every other 4xx is final. */
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Why an HTTP item failed: GeneratorHttpError's `code`, and the first word of the item's recorded failure reason. */
export const HTTP_FAILURE_REASONS = [
  'response-too-large', // body (declared or streamed) over maxResponseBytes
  'pixel-bomb', // image header claims more than maxPixels pixels
  'not-an-image', // the decoded bytes are no PNG/JPEG/WebP, or do not decode
  'bad-base64', // the image field is not strict base64
  'not-json', // a 2xx body that is not JSON (an HTML error page, say)
  'bad-response', // JSON without the expected fields (no image list, a URL instead of b64_json)
  'wrong-image-count', // not exactly one image
  'unexpected-size', // not the size requested (the image, or the size the response states)
  'http-4xx', // a 4xx other than 429: not retried
  'rate-limited', // 429: retried after Retry-After
  'unavailable', // 503: retried after Retry-After
  'http-5xx', // another 5xx (500/502/504 retried)
  'deadline', // timeoutMs or idleTimeoutMs ran out
  'network', // refused, reset, DNS...
  'redirect', // a 3xx: refused
  'config', // the spec or the worker's environment is wrong (token, steps)
] as const;
export type HttpFailureReason = (typeof HTTP_FAILURE_REASONS)[number];

export class GeneratorHttpError extends Error {
  readonly code: HttpFailureReason;
  readonly transient: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  /** `message` is prefixed with `code`. */
  constructor(code: HttpFailureReason, message: string, opts: { transient: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GeneratorHttpError';
    this.code = code;
    this.transient = opts.transient;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}


export const badResponse = (code: HttpFailureReason, where: string, problem: string) => new GeneratorHttpError(code, `${where}: ${problem}`, { transient: false });

/** Retry-After (delta-seconds or HTTP-date) in ms, clamped to [0, maxMs]; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null, now = Date.now(), maxMs = MAX_RETRY_AFTER_MS): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(maxMs, Math.max(0, ms));
}

function statusReason(status: number): HttpFailureReason {
  if (status === 429) return 'rate-limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'http-5xx';
  if (status >= 400) return 'http-4xx';
  return 'redirect'; // a 3xx that fetch did not refuse (no Location)
}

/** The error of a non-2xx response; `authHint` (./auth.ts) is appended to a 401 or 403. */
export function statusError(res: Response, where: string, excerpt: string, spec: HttpGeneratorSpec, authHint = ''): GeneratorHttpError {
  const status = res.status;
  const transient = TRANSIENT_STATUSES.has(status);
  const hint = status === 401 || status === 403 ? authHint : '';
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers.get('retry-after'), Date.now(), spec.maxRetryAfterMs) : undefined;
  const retry = retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`;
  return new GeneratorHttpError(statusReason(status), `${where}: HTTP ${status}${hint}${retry}${excerpt ? `: ${excerpt}` : ''}`, {
    transient,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

