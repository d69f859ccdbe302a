// One sentence around a class name from an OpenAI-compatible chat API (POST {baseUrl}/chat/completions).
// Requests are deterministic where the server allows (temperature 0 and a seed); responses are
// untrusted: the body is capped before it is buffered, its JSON shape checked, and the sentence
// cleaned (control characters out, length capped) and required to contain the class name.
// Transport trouble (timeouts, refused connections, 408/429/5xx) and malformed bodies are retried
// with backoff, a bounded number of times; a 4xx is final at once. A sentence that parses but
// fails the content checks is returned as a rejection for the caller to replace (retrying at
// temperature 0 would only give it again).
import type { LlmEndpoint } from '../../contracts/spec/prompts.js';

export const MAX_RESPONSE_BYTES = 64 * 1024;
export const MAX_SENTENCE_CHARS = 300;

/**
 * 'transport': no usable answer (timeout, refused, 408/429/5xx), worth retrying later too;
 * 'protocol': an answer that is not a chat completion (not JSON, wrong shape, too large);
 * 'http': a 4xx refusal (bad key, unknown model or path). Only 'transport' is retryable.
 */
export type LlmErrorKind = 'transport' | 'protocol' | 'http';

export class LlmError extends Error {
  readonly code = 'E_LLM';
  constructor(
    message: string,
    readonly kind: LlmErrorKind,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'transport';
  }
}

export interface SentenceRequest {
  className: string;
  /** Scene hint that makes distinct requests ask for distinct sentences, e.g. "at the beach". */
  hint: string;
  seed: number;
}

export type SentenceResult = { ok: true; text: string } | { ok: false; reason: string };

export interface LlmCallOptions {
  endpoint: LlmEndpoint;
  /** The key's value, read from the worker's environment; sent as a bearer token, never stored. */
  apiKey?: string;
  signal?: AbortSignal;
  /** First retry delay; doubles per retry (tests shorten it). */
  backoffMs?: number;
}

const printable = (text: string, max: number) => text.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, max);

/** Clean an LLM sentence and check it: non-empty, at most MAX_SENTENCE_CHARS, names the class. */
export function checkSentence(raw: string, className: string): SentenceResult {
  const text = printable(raw, MAX_SENTENCE_CHARS + 1).replace(/^["'“”‘’]+|["'“”‘’]+$/g, '').trim();
  if (text.length === 0) return { ok: false, reason: 'empty sentence' };
  if (text.length > MAX_SENTENCE_CHARS) return { ok: false, reason: `sentence longer than ${MAX_SENTENCE_CHARS} characters` };
  if (!text.toLowerCase().includes(className.toLowerCase())) return { ok: false, reason: `sentence does not contain "${className}"` };
  return { ok: true, text };
}

async function readCapped(res: Response, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = () => new LlmError(`${url} sent a response larger than ${MAX_RESPONSE_BYTES} bytes`, 'protocol');
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooBig();
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function contentOf(body: string, url: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new LlmError(`${url} did not answer JSON (starts ${JSON.stringify(printable(body, 80))}); is baseUrl an OpenAI-compatible API root such as https://host/v1?`, 'protocol');
  }
  const content = (doc as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new LlmError(`${url} answered JSON without choices[0].message.content (a string)`, 'protocol');
  return content;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Ask for one sentence; throws LlmError once retries are spent or for an error no retry can fix. */
export async function requestSentence(opts: LlmCallOptions, req: SentenceRequest): Promise<SentenceResult> {
  const { endpoint } = opts;
  const url = `${endpoint.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const body = JSON.stringify({
    model: endpoint.model,
    messages: [
      { role: 'system', content: 'You write short, concrete, literal sentences that describe a photo. Reply with the sentence only.' },
      {
        role: 'user',
        content: `Write one short sentence (at most 25 words) describing a photo of a ${req.className} ${req.hint}. It must contain the exact words "${req.className}".`,
      },
    ],
    temperature: 0,
    seed: req.seed,
    max_tokens: 80,
    n: 1,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let last: LlmError | undefined;
  for (let attempt = 0; attempt <= endpoint.maxRetries; attempt++) {
    if (attempt > 0) await sleep(Math.min(10_000, (opts.backoffMs ?? 500) * 2 ** (attempt - 1)), opts.signal);
    const timeout = AbortSignal.timeout(endpoint.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        await res.body?.cancel().catch(() => {});
        last = new LlmError(`${url} answered HTTP ${res.status}`, 'transport');
        continue;
      }
      if (!res.ok) {
        const detail = printable(await readCapped(res, url).catch(() => ''), 200);
        const hint = res.status === 401 || res.status === 403 ? ' (check the key in the apiKeyEnv variable)' : res.status === 404 ? ' (check baseUrl and model)' : '';
        throw new LlmError(`${url} answered HTTP ${res.status}${hint}: ${detail}`, 'http');
      }
      return checkSentence(contentOf(await readCapped(res, url), url), req.className);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (err instanceof LlmError && err.kind === 'http') throw err;
      last = err instanceof LlmError ? err : new LlmError(`${url}: ${timeout.aborted ? `no answer within ${endpoint.timeoutMs} ms` : (err as Error).message}`, 'transport');
    }
  }
  throw new LlmError(`${last?.message ?? url} (after ${endpoint.maxRetries + 1} attempts)`, last?.kind ?? 'transport');
}
