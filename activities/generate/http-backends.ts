// Remote text-to-image backends behind the per-item seam (ItemGenerator in ./activity.ts):
// - 'a1111': the AUTOMATIC1111 / Forge web UI API, POST {baseUrl}/sdapi/v1/txt2img;
// - 'openai-images': an OpenAI-compatible POST {baseUrl}/images/generations.
// Each call sends one prompt and expects exactly one image back, which is decoded and resized to
// the dataset's resolution with sharp (./image-resize.ts) and re-encoded as our canonical 28x28
// grayscale PNG, so stored bytes do not depend on the server's PNG encoder.
//
// Servers are untrusted: the body is streamed under a byte cap (rejected before more than the cap
// is buffered), each request has a deadline (combined with the caller's signal), redirects are
// refused (they could carry the token elsewhere), the base64 and the image header are validated
// before decoding, and the image's pixel count is capped. Errors are GeneratorHttpError: 408/425/
// 429/500/502/503/504, network failures and deadlines are transient (429/503 carry retryAfterMs
// from Retry-After); other statuses and malformed responses are not, so the activity does not retry
// them. Messages name the endpoint (host and path) and never the token.
//
// Seeds: item.seed is a string ("<generationSeed>|<index>"); both APIs take an integer, so we send
// the first 32 bits of sha256("synthscale-http-seed|" + item.seed): deterministic, uniform, and the
// same number through both APIs, so a server that honours seeds gives the same image either way.
// Steps: item.steps is what the sweep means (the workflow passes `source.generator.steps` into every
// item and the shard fingerprint), so it is sent as is; for 'a1111' that is the spec's `steps`.
// 'openai-images' has no steps in its spec: a positive item.steps is sent as the `steps` extra,
// anything else (e.g. 0) leaves it to the server's default.
import { IMAGE_SIDE } from '../../core/fashion-mnist.js';
import { sha256Hex } from '../../core/hash.js';
import { isTransientError } from '../../core/resilience.js';
import type { GenerateItem, ItemGenerator } from './activity.js';
import { parseImageSize, type A1111GeneratorSpec, type HttpGeneratorSpec, type OpenAiImagesGeneratorSpec } from './http-config.js';
import { toCanonicalGrayPng, UnusableImageError, type SourceImageInfo } from './image-resize.js';

/** Part of the shard fingerprint of HTTP-generated samples: bump when the request or the decode/resize changes. */
export const HTTP_BACKEND_CODE_VERSION = 'http-sharp-cover-2';
/** Longest Retry-After we report (a hostile or confused server could ask for days). */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** Of an error response, at most this much is read (for the message). */
const ERROR_BODY_BYTES = 16 * 1024;
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export class GeneratorHttpError extends Error {
  readonly code: string;
  readonly transient: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, opts: { code: string; transient: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GeneratorHttpError';
    this.code = opts.code;
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

/** Retry-After (delta-seconds or HTTP-date) in ms, clamped to [0, MAX_RETRY_AFTER_MS]; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
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
    new GeneratorHttpError(`${where}: environment variable ${spec.apiKeyEnv} (apiKeyEnv) ${problem} on this worker`, {
      code: 'E_HTTP_TOKEN',
      transient: false,
    });
  if (token === undefined || token.trim() === '') throw fail('is not set or empty');
  if (!/^[\x21-\x7e]+$/.test(token.trim())) throw fail('holds characters a bearer token cannot contain');
  return token.trim();
}

/**
 * The body as bytes, never buffering more than `cap` of it. Over the cap: rejects (or, with
 * truncate, returns the first `cap` bytes) and cancels the rest of the stream.
 */
async function readCapped(res: Response, cap: number, where: string, truncate = false): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = (what: string) =>
    new GeneratorHttpError(`${where}: response body ${what} exceeds the ${cap}-byte cap (maxResponseBytes)`, {
      code: 'E_HTTP_TOO_LARGE',
      transient: false,
      status: res.status,
    });
  if (!truncate && Number.isFinite(declared) && declared > cap) {
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
    if (size + value.byteLength > cap) {
      await reader.cancel().catch(() => undefined);
      if (!truncate) throw tooLarge(`of more than ${cap} bytes`);
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

function statusError(res: Response, where: string, excerpt: string, tokenEnv: string | undefined): GeneratorHttpError {
  const status = res.status;
  const transient = TRANSIENT_STATUSES.has(status);
  let hint = '';
  if (status === 401 || status === 403) {
    hint = tokenEnv ? ` (check the bearer token in $${tokenEnv})` : ' (the server wants a token: set apiKeyEnv in the generator spec)';
  }
  const retryAfterMs = transient ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
  const retry = retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`;
  return new GeneratorHttpError(`${where}: HTTP ${status}${hint}${retry}${excerpt ? `: ${excerpt}` : ''}`, {
    code: 'E_HTTP_STATUS',
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

/** POST JSON, within the spec's deadline and body cap; returns the parsed JSON of a 2xx response. */
async function postJson({ url, body, spec, token, signal, fetchImpl }: PostOptions): Promise<unknown> {
  const where = describeUrl(url);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new GeneratorHttpError(`${where}: no complete response within ${spec.timeoutMs} ms (timeoutMs)`, { code: 'E_HTTP_TIMEOUT', transient: true }),
      ),
    spec.timeoutMs,
  );
  const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
  // Whoever aborted decides the error: the caller's reason (cancellation) or our deadline.
  const rethrow = (err: unknown, during: string): never => {
    if (signal?.aborted) throw signal.reason ?? err;
    if (deadline.signal.aborted) throw deadline.signal.reason;
    if (err instanceof GeneratorHttpError) throw err;
    const cause = (err as { cause?: { message?: unknown } }).cause;
    const detail = typeof cause?.message === 'string' ? cause.message : (err as Error).message;
    throw new GeneratorHttpError(`${where}: ${during} failed (${detail})`, {
      code: 'E_HTTP_NETWORK',
      transient: isTransientError(err),
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
    let bytes: Uint8Array;
    try {
      if (!res.ok) throw statusError(res, where, errorExcerpt(await readCapped(res, ERROR_BODY_BYTES, where, true), token), spec.apiKeyEnv);
      bytes = await readCapped(res, spec.maxResponseBytes, where);
    } catch (err) {
      return rethrow(err, 'reading the response');
    }
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      throw new GeneratorHttpError(`${where}: response is not JSON (${(err as Error).message.slice(0, 100)})`, {
        code: 'E_HTTP_BAD_RESPONSE',
        transient: false,
        status: res.status,
      });
    }
  } finally {
    clearTimeout(timer);
  }
}

const badResponse = (where: string, problem: string) => new GeneratorHttpError(`${where}: ${problem}`, { code: 'E_HTTP_BAD_RESPONSE', transient: false });

/** Strict base64 (an optional data: URL prefix is allowed) to bytes. */
export function decodeBase64Image(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string') throw badResponse(where, `image is ${value === null ? 'null' : typeof value}, expected a base64 string`);
  const b64 = value.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw badResponse(where, `image is not valid base64 (${b64.length} characters, starting ${JSON.stringify(b64.slice(0, 16))})`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

async function toPng(bytes: Uint8Array, spec: HttpGeneratorSpec, where: string): Promise<{ png: Uint8Array; source: SourceImageInfo }> {
  try {
    return await toCanonicalGrayPng(bytes, { side: IMAGE_SIDE, maxPixels: spec.maxPixels });
  } catch (err) {
    if (err instanceof UnusableImageError) throw new GeneratorHttpError(`${where}: ${err.message}`, { code: 'E_HTTP_BAD_IMAGE', transient: false });
    throw err;
  }
}

interface Decoded {
  image: Uint8Array;
  reportedSeed?: number;
  revisedPrompt?: string;
}

interface Backend {
  url: URL;
  request(item: GenerateItem, seed: number): unknown;
  parse(json: unknown, where: string): Decoded;
}

function imageList(json: unknown, key: 'images' | 'data', where: string): unknown[] {
  const list = json && typeof json === 'object' ? (json as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(list)) throw badResponse(where, `response has no "${key}" array`);
  if (list.length !== 1) throw badResponse(where, `response has ${list.length} images, expected 1`);
  return list;
}

function a1111Backend(spec: A1111GeneratorSpec): Backend {
  return {
    url: endpointUrl(spec.baseUrl, 'sdapi/v1/txt2img'),
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
    parse(json, where) {
      const [image] = imageList(json, 'images', where);
      const out: Decoded = { image: decodeBase64Image(image, where) };
      // `info` is a JSON string with the seeds actually used; informational only.
      const info = (json as Record<string, unknown>).info;
      if (typeof info === 'string' && info.length < 1_000_000) {
        try {
          const seed = (JSON.parse(info) as Record<string, unknown>).seed;
          if (Number.isSafeInteger(seed)) out.reportedSeed = seed as number;
        } catch {
          /* not JSON: ignore */
        }
      }
      return out;
    },
  };
}

function openAiBackend(spec: OpenAiImagesGeneratorSpec): Backend {
  if (!parseImageSize(spec.size)) throw new GeneratorHttpError(`openai-images: size ${JSON.stringify(spec.size)} is not WIDTHxHEIGHT`, { code: 'E_HTTP_CONFIG', transient: false });
  return {
    url: endpointUrl(spec.baseUrl, 'images/generations'),
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
    parse(json, where) {
      const [entry] = imageList(json, 'data', where);
      if (!entry || typeof entry !== 'object') throw badResponse(where, 'data[0] is not an object');
      const e = entry as Record<string, unknown>;
      if (e.b64_json === undefined && typeof e.url === 'string') throw badResponse(where, 'server returned a URL, not b64_json');
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
      throw new GeneratorHttpError(`${where}: item ${item.index} has steps=${item.steps}, expected a positive integer`, { code: 'E_HTTP_CONFIG', transient: false });
    }
    const seed = httpSeed(item.seed);
    const json = await postJson({ url: backend.url, body: backend.request(item, seed), spec, token, signal, fetchImpl });
    const decoded = backend.parse(json, where);
    const { png, source } = await toPng(decoded.image, spec, where);
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
