// One POST of JSON to an untrusted server, under every guard the HTTP backends share: a total
// deadline (timeoutMs) and, once the response has started, an idle deadline (idleTimeoutMs),
// combined with the caller's signal; redirects refused (they could carry the token elsewhere); the
// body read under a byte cap (an error body only up to 16 KiB, for the message). One call is one
// request: retrying is the activity's business. Messages name the endpoint, never the credentials.
import { isTransientError } from '../../../core/resilience.js';
import type { HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import { authHint, type RequestAuth } from './auth.js';
import { errorExcerpt, readCapped } from './body.js';
import { GeneratorHttpError, statusError } from './errors.js';

/** Of an error response, at most this much is read (for the message). */
const ERROR_BODY_BYTES = 16 * 1024;

export function endpointUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(path, base);
}

export const describeUrl = (url: URL) => `${url.host}${url.pathname}`;

export interface PostOptions {
  url: URL;
  body: unknown;
  spec: HttpGeneratorSpec;
  /** The Authorization to send (./auth.ts readAuth), if any. */
  auth: RequestAuth | undefined;
  signal: AbortSignal | undefined;
  fetchImpl: typeof fetch;
}

/** POST JSON, within the spec's deadlines and body cap; returns the parsed JSON of a 2xx response. */
export async function postJson({ url, body, spec, auth, signal, fetchImpl }: PostOptions): Promise<unknown> {
  const where = describeUrl(url);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  const deadline = new AbortController();
  const expire = (detail: string) => () => deadline.abort(new GeneratorHttpError('deadline', `${where}: ${detail}`, { transient: true }));
  const total = setTimeout(expire(`no complete response within ${spec.timeoutMs} ms (timeoutMs)`), spec.timeoutMs);
  // The idle deadline starts with the response headers (the server may think long before it
  // answers: that wait is bounded by timeoutMs) and restarts with each piece of the body.
  let idle: NodeJS.Timeout | undefined;
  const onData = () => {
    clearTimeout(idle);
    idle = setTimeout(expire(`response stalled: nothing received for ${spec.idleTimeoutMs} ms (idleTimeoutMs)`), spec.idleTimeoutMs);
  };
  const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
  // Whoever aborted decides the error: the caller's reason (cancellation) or our deadline.
  const rethrow = (err: unknown, during: string): never => {
    if (signal?.aborted) throw signal.reason ?? err;
    if (deadline.signal.aborted) throw deadline.signal.reason;
    if (err instanceof GeneratorHttpError) throw err;
    const cause = (err as { cause?: { message?: unknown } }).cause;
    const detail = typeof cause?.message === 'string' ? cause.message : (err as Error).message;
    const redirect = /redirect/i.test(detail);
    throw new GeneratorHttpError(redirect ? 'redirect' : 'network', `${where}: ${during} failed (${detail})`, {
      transient: !redirect && isTransientError(err),
      cause: err,
    });
  };
  try {
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(auth ? { authorization: auth.header } : {}),
        },
        body: JSON.stringify(body),
        signal: combined,
        redirect: 'error',
      });
    } catch (err) {
      return rethrow(err, 'request');
    }
    onData();
    let bytes: Uint8Array;
    try {
      if (!res.ok) {
        const excerpt = errorExcerpt(await readCapped(res, ERROR_BODY_BYTES, where, { truncate: true, onData }), auth?.secrets ?? []);
        throw statusError(res, where, excerpt, spec, authHint(spec, res.headers.get('www-authenticate')));
      }
      bytes = await readCapped(res, spec.maxResponseBytes, where, { onData });
    } catch (err) {
      return rethrow(err, 'reading the response');
    }
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      const type = res.headers.get('content-type');
      throw new GeneratorHttpError('not-json', `${where}: response is not JSON (${type ? `${type.slice(0, 60)}; ` : ''}${(err as Error).message.slice(0, 100)})`, {
        transient: false,
        status: res.status,
      });
    }
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
  }
}

