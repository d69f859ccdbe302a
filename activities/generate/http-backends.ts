// Remote text-to-image backends behind the per-item seam (ItemGenerator in ./activity.ts):
// - 'a1111': the AUTOMATIC1111 / Forge web UI API, POST {baseUrl}/sdapi/v1/txt2img;
// - 'openai-images': an OpenAI-compatible POST {baseUrl}/images/generations.
// Each call sends one prompt and expects exactly one image back, which is decoded and resized to
// the dataset's resolution with sharp (./image-resize.ts) and re-encoded as our canonical 28x28
// grayscale PNG, so stored bytes do not depend on the server's PNG encoder.
//
// Servers are untrusted, and both backends share every guard (limits in ./http-config.ts):
// - the body is streamed under a byte cap and cut off past it (an over-large Content-Length is
//   refused before reading); an error body is read only up to 16 KiB, for the message;
// - a total deadline (timeoutMs) and, once the response has started, an idle deadline
//   (idleTimeoutMs), combined with the caller's signal;
// - redirects are refused (they could carry the token elsewhere);
// - the JSON must hold exactly one image, as strict base64; the image header is checked before
//   decoding: PNG/JPEG/WebP only, at most maxPixels pixels, and the requested size (checkSize).
// Each failure is a GeneratorHttpError whose `code` is a short reason (HttpFailureReason), also the
// first word of its message, so the activity's failedItems record it as `<code>: <details>`.
// 429, 503 and 500/502/504, network failures and deadlines are transient (429/503 carry
// retryAfterMs from Retry-After, capped at maxRetryAfterMs): the activity retries the item,
// waiting at least that long. Other 4xx and malformed responses are not retried. This module does
// not retry by itself: one call is one request. Messages name the endpoint (host and path) and
// never the token.
//
// Seeds: item.seed is a string ("<generationSeed>|<index>"); both APIs take an integer, so we send
// the first 32 bits of sha256("synthscale-http-seed|" + item.seed): deterministic, uniform, and the
// same number through both APIs, so a server that honours seeds gives the same image either way.
// Steps: item.steps is what the sweep means (the workflow passes `source.generator.steps` into every
// item and the shard fingerprint), so it is sent as is; for 'a1111' that is the spec's `steps`.
// 'openai-images' has no steps in its spec: a positive item.steps is sent as the `steps` extra,
// anything else (e.g. 0) leaves it to the server's default.
import { IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { sha256Hex } from '../../core/hash.js';
import { isTransientError } from '../../core/resilience.js';
import type { GenerateItem, ItemGenerator } from './activity.js';
import {
  MAX_RETRY_AFTER_MS,
  parseImageSize,
  type A1111GeneratorSpec,
  type HttpGeneratorSpec,
  type OpenAiImagesGeneratorSpec,
} from '../../contracts/spec/generators.js';
import { toCanonicalGrayPng, UnusableImageError, type SourceImageInfo, type ToGrayOptions } from '../../core/image/resize.js';

/** Part of the shard fingerprint of HTTP-generated samples: bump when the request, the checks or the decode/resize change. */
export const HTTP_BACKEND_CODE_VERSION = 'http-sharp-cover-3';
/** Of an error response, at most this much is read (for the message). */
const ERROR_BODY_BYTES = 16 * 1024;
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

/** What came back besides the pixels: for the sample's metadata. */
export interface HttpImageMeta {
  backend: HttpGeneratorSpec['name'];
  /** host + path of the endpoint. */
  endpoint: string;
  /** The seed we sent. */
  seed: number;
  /** The seed the server says it used (A1111 `info.seed`), when it says. */
  reportedSeed?: number;
  /** OpenAI `revised_prompt`, when given (truncated to 1000 characters). */
  revisedPrompt?: string;
  /** The image as returned, before resizing. */
  source: SourceImageInfo & { bytes: number };
  ms: number;
}

export interface HttpItemGeneratorOptions {
  /** Where the token named by `apiKeyEnv` is read, at each call (default process.env). */
  env?: NodeJS.ProcessEnv;
  fetchImpl?: typeof fetch;
  /** Called with each image's metadata before the PNG is returned. */
  onImage?: (item: GenerateItem, meta: HttpImageMeta) => void;
}

/** The integer seed sent for an item's seed string (uint32). */
export function httpSeed(seed: string): number {
  return Number.parseInt(sha256Hex(`synthscale-http-seed|${seed}`).slice(0, 8), 16);
}

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

function endpointUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(path, base);
}

const describeUrl = (url: URL) => `${url.host}${url.pathname}`;

function readToken(spec: HttpGeneratorSpec, env: NodeJS.ProcessEnv, where: string): string | undefined {
  if (!spec.apiKeyEnv) return undefined;
  const token = env[spec.apiKeyEnv];
  const fail = (problem: string) =>
    new GeneratorHttpError('config', `${where}: environment variable ${spec.apiKeyEnv} (apiKeyEnv) ${problem} on this worker`, { transient: false });
  if (token === undefined || token.trim() === '') throw fail('is not set or empty');
  if (!/^[\x21-\x7e]+$/.test(token.trim())) throw fail('holds characters a bearer token cannot contain');
  return token.trim();
}

/**
 * The body as bytes, never buffering more than `cap` of it. Over the cap: rejects (or, with
 * truncate, returns the first `cap` bytes) and cancels the rest of the stream. `onData` is called
 * as each piece arrives (it restarts the idle deadline).
 */
async function readCapped(res: Response, cap: number, where: string, opts: { truncate?: boolean; onData?: () => void } = {}): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = (what: string) =>
    new GeneratorHttpError('response-too-large', `${where}: response body ${what} exceeds the ${cap}-byte cap (maxResponseBytes)`, {
      transient: false,
      status: res.status,
    });
  if (!opts.truncate && Number.isFinite(declared) && declared > cap) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(`of ${declared} bytes (Content-Length)`);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    opts.onData?.();
    if (size + value.byteLength > cap) {
      await reader.cancel().catch(() => undefined);
      if (!opts.truncate) throw tooLarge(`of more than ${cap} bytes`);
      chunks.push(value.subarray(0, cap - size));
      size = cap;
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A short, printable excerpt of an error body (JSON `detail`/`error.message` when present), token redacted. */
function errorExcerpt(body: Uint8Array, token: string | undefined): string {
  let text = new TextDecoder().decode(body);
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const err = json.error;
    const detail =
      (err && typeof err === 'object' && (err as Record<string, unknown>).message) || json.detail || json.message || json.error;
    if (detail !== undefined) text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  } catch {
    /* not JSON: use the text */
  }
  if (token) text = text.split(token).join('[redacted]');
  text = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function statusReason(status: number): HttpFailureReason {
  if (status === 429) return 'rate-limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'http-5xx';
  if (status >= 400) return 'http-4xx';
  return 'redirect'; // a 3xx that fetch did not refuse (no Location)
}

function statusError(res: Response, where: string, excerpt: string, spec: HttpGeneratorSpec): GeneratorHttpError {
  const status = res.status;
  const transient = TRANSIENT_STATUSES.has(status);
  let hint = '';
  if (status === 401 || status === 403) {
    hint = spec.apiKeyEnv ? ` (check the bearer token in $${spec.apiKeyEnv})` : ' (the server wants a token: set apiKeyEnv in the generator spec)';
  }
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers.get('retry-after'), Date.now(), spec.maxRetryAfterMs) : undefined;
  const retry = retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`;
  return new GeneratorHttpError(statusReason(status), `${where}: HTTP ${status}${hint}${retry}${excerpt ? `: ${excerpt}` : ''}`, {
    transient,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

interface PostOptions {
  url: URL;
  body: unknown;
  spec: HttpGeneratorSpec;
  token: string | undefined;
  signal: AbortSignal | undefined;
  fetchImpl: typeof fetch;
}

/** POST JSON, within the spec's deadlines and body cap; returns the parsed JSON of a 2xx response. */
async function postJson({ url, body, spec, token, signal, fetchImpl }: PostOptions): Promise<unknown> {
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
          ...(token ? { authorization: `Bearer ${token}` } : {}),
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
        const excerpt = errorExcerpt(await readCapped(res, ERROR_BODY_BYTES, where, { truncate: true, onData }), token);
        throw statusError(res, where, excerpt, spec);
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

const badResponse = (code: HttpFailureReason, where: string, problem: string) => new GeneratorHttpError(code, `${where}: ${problem}`, { transient: false });

/** Strict base64 (an optional data: URL prefix is allowed) to bytes. */
export function decodeBase64Image(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string') throw badResponse('bad-response', where, `image is ${value === null ? 'null' : typeof value}, expected a base64 string`);
  const b64 = value.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw badResponse('bad-base64', where, `image is not valid base64 (${b64.length} characters, starting ${JSON.stringify(b64.slice(0, 16))})`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

type Size = { width: number; height: number };

async function toPng(bytes: Uint8Array, opts: ToGrayOptions, where: string): Promise<{ png: Uint8Array; source: SourceImageInfo }> {
  try {
    return await toCanonicalGrayPng(bytes, opts);
  } catch (err) {
    if (err instanceof UnusableImageError) throw new GeneratorHttpError(err.reason, `${where}: ${err.message}`, { transient: false });
    throw err;
  }
}

/** A size the response states (besides the image's own header) must be one we asked for. */
function checkStatedSize(stated: Size | undefined, expect: readonly Size[] | undefined, where: string, what: string): void {
  if (!stated || !expect || expect.some((s) => s.width === stated.width && s.height === stated.height)) return;
  throw badResponse('unexpected-size', where, `${what} says ${stated.width}x${stated.height}, expected ${expect.map((s) => `${s.width}x${s.height}`).join(' or ')}`);
}

interface Decoded {
  image: Uint8Array;
  reportedSeed?: number;
  revisedPrompt?: string;
}

interface Backend {
  url: URL;
  /** The image sizes a correct response may have. */
  sizes: Size[];
  request(item: GenerateItem, seed: number): unknown;
  /** The one image (and what else the response says), or a non-transient GeneratorHttpError. */
  parse(json: unknown, where: string, expect: readonly Size[] | undefined): Decoded;
}

function imageList(json: unknown, key: 'images' | 'data', where: string): unknown[] {
  const list = json && typeof json === 'object' ? (json as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(list)) throw badResponse('bad-response', where, `response has no "${key}" array`);
  if (list.length !== 1) throw badResponse('wrong-image-count', where, `response has ${list.length} images, expected 1`);
  return list;
}

/** Width and height from `info`-like fields, when both are positive integers. */
function sizeOf(value: Record<string, unknown>): Size | undefined {
  const { width, height } = value;
  return Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0 ? { width: width as number, height: height as number } : undefined;
}

function a1111Backend(spec: A1111GeneratorSpec): Backend {
  // The latent is 1/8 of the image: A1111 and Forge return each side rounded down to a multiple of 8.
  const floor8 = (v: number) => Math.max(8, v - (v % 8));
  const sizes = [{ width: spec.width, height: spec.height }];
  if (floor8(spec.width) !== spec.width || floor8(spec.height) !== spec.height) sizes.push({ width: floor8(spec.width), height: floor8(spec.height) });
  return {
    url: endpointUrl(spec.baseUrl, 'sdapi/v1/txt2img'),
    sizes,
    request: (item, seed) => ({
      prompt: item.prompt.text,
      negative_prompt: spec.negativePrompt,
      seed,
      steps: item.steps,
      cfg_scale: item.cfgScale,
      width: spec.width,
      height: spec.height,
      batch_size: 1,
      n_iter: 1,
      sampler_name: spec.samplerName,
      send_images: true,
      save_images: false,
    }),
    parse(json, where, expect) {
      const [image] = imageList(json, 'images', where);
      const out: Decoded = { image: decodeBase64Image(image, where) };
      // `info` is a JSON string with the seed and size actually used.
      const info = (json as Record<string, unknown>).info;
      if (typeof info === 'string' && info.length < 1_000_000) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(info);
        } catch {
          /* not JSON: ignore */
        }
        if (parsed && typeof parsed === 'object') {
          const fields = parsed as Record<string, unknown>;
          if (Number.isSafeInteger(fields.seed)) out.reportedSeed = fields.seed as number;
          checkStatedSize(sizeOf(fields), expect, where, 'info');
        }
      }
      return out;
    },
  };
}

function openAiBackend(spec: OpenAiImagesGeneratorSpec): Backend {
  const size = parseImageSize(spec.size);
  if (!size) throw new GeneratorHttpError('config', `openai-images: size ${JSON.stringify(spec.size)} is not WIDTHxHEIGHT`, { transient: false });
  return {
    url: endpointUrl(spec.baseUrl, 'images/generations'),
    sizes: [size],
    request: (item, seed) => ({
      model: spec.model,
      prompt: item.prompt.text,
      n: 1,
      size: spec.size,
      response_format: 'b64_json',
      // Extensions, honoured by `synthscale serve-generator` (and some self-hosted servers). The
      // OpenAI API has no seed or guidance scale: it ignores or rejects them, so sweeps there are
      // not seed-reproducible and CFG is not controllable. Turn off with extraFields: false.
      ...(spec.extraFields ? { seed, cfg_scale: item.cfgScale, ...(Number.isInteger(item.steps) && item.steps >= 1 ? { steps: item.steps } : {}) } : {}),
    }),
    parse(json, where, expect) {
      const [entry] = imageList(json, 'data', where);
      if (!entry || typeof entry !== 'object') throw badResponse('bad-response', where, 'data[0] is not an object');
      const e = entry as Record<string, unknown>;
      if (e.b64_json === undefined && typeof e.url === 'string') throw badResponse('bad-response', where, 'server returned a URL, not b64_json');
      // Newer models state the size they made (top-level "size": "1024x1024").
      const stated = (json as Record<string, unknown>).size;
      if (typeof stated === 'string') checkStatedSize(parseImageSize(stated) ?? undefined, expect, where, `"size"`);
      const out: Decoded = { image: decodeBase64Image(e.b64_json, where) };
      if (typeof e.revised_prompt === 'string') out.revisedPrompt = e.revised_prompt.slice(0, 1000);
      return out;
    },
  };
}

const BACKENDS: { [N in HttpGeneratorSpec['name']]: (spec: Extract<HttpGeneratorSpec, { name: N }>) => Backend } = {
  a1111: a1111Backend,
  'openai-images': openAiBackend,
};

/** An ItemGenerator that renders each item through the remote API described by `spec`. */
export function createHttpItemGenerator(spec: HttpGeneratorSpec, opts: HttpItemGeneratorOptions = {}): ItemGenerator {
  const backend = (BACKENDS[spec.name] as (s: HttpGeneratorSpec) => Backend)(spec);
  const where = describeUrl(backend.url);
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch;
  return async (item, signal) => {
    const started = Date.now();
    const token = readToken(spec, opts.env ?? process.env, where);
    if (spec.name === 'a1111' && !(Number.isInteger(item.steps) && item.steps >= 1)) {
      throw new GeneratorHttpError('config', `${where}: item ${item.index} has steps=${item.steps}, expected a positive integer`, { transient: false });
    }
    const seed = httpSeed(item.seed);
    const json = await postJson({ url: backend.url, body: backend.request(item, seed), spec, token, signal, fetchImpl });
    const expect = spec.checkSize ? backend.sizes : undefined;
    const decoded = backend.parse(json, where, expect);
    const { png, source } = await toPng(decoded.image, { side: IMAGE_SIDE, maxPixels: spec.maxPixels, ...(expect ? { expectSizes: expect } : {}) }, where);
    opts.onImage?.(item, {
      backend: spec.name,
      endpoint: where,
      seed,
      ...(decoded.reportedSeed === undefined ? {} : { reportedSeed: decoded.reportedSeed }),
      ...(decoded.revisedPrompt === undefined ? {} : { revisedPrompt: decoded.revisedPrompt }),
      source: { ...source, bytes: decoded.image.byteLength },
      ms: Date.now() - started,
    });
    return png;
  };
}
