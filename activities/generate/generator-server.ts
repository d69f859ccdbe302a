// A real HTTP text-to-image server around the embedded generator, speaking the two APIs the HTTP
// backends (./http-backends.ts) talk to, so they are tested (and can be demoed) end to end:
// - POST /sdapi/v1/txt2img       AUTOMATIC1111 / Forge web UI API
// - POST /v1/images/generations  OpenAI images API (b64_json only), plus extras seed/cfg_scale/steps
// - GET  /sdapi/v1/sd-models, GET /v1/models  one-entry listings
// - GET  /healthz                no auth
// - GET  /openapi.json           no auth: the OpenAPI 3.1 description (./generator-openapi.ts),
//                                 with this server's limits as minimum/maximum
//
// Each image is sampled by the embedded GMM-DDIM generator at 28x28 (class weights from the
// prompt, as the embedded backend does), then upscaled to the requested width x height with sharp
// (Lanczos-3) and sent as an RGB PNG, so a client really has to decode and resize it. Image i of a
// request uses seed + i (as A1111 does), and the sample seed string is String(seed + i): equal
// (prompt, seed, cfg_scale, steps, size) give byte-identical images through either API. A missing
// seed or -1 ("random") takes the next seed of a per-server counter hashed to 32 bits, so a fresh
// server answers the same sequence of requests with the same images.
//
// Hardening: binds loopback by default; optional bearer token (compared in constant time) on
// every route except /healthz and /openapi.json; request bodies capped while they are read (413);
// n, size and steps capped (400); errors as JSON in each API's own shape. String lengths count
// code points, as JSON Schema's maxLength does, so the OpenAPI document describes the checks exactly.
// Default sizes and steps shrink to the limits, so a request that leaves them out is always within them.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { sha256Hex } from '../../core/hash.js';
import { generatorOpenApi, NON_BLANK_PATTERN } from './generator-openapi.js';
import { sampleBatch, serializeGmmModel, type GmmGeneratorModel } from './gmm-diffusion.js';
import { grayToRgbPng } from '../../core/image/resize.js';
import { promptAttributes, promptToClassWeights } from '../../core/text/text-condition.js';

export interface GeneratorServerLimits {
  /** Images per request (A1111 batch_size * n_iter, OpenAI n). */
  maxN: number;
  maxWidth: number;
  maxHeight: number;
  maxSteps: number;
  /** Request bodies larger than this get 413. */
  maxBodyBytes: number;
}

export const DEFAULT_SERVER_LIMITS: GeneratorServerLimits = {
  maxN: 8,
  maxWidth: 2048,
  maxHeight: 2048,
  maxSteps: 150,
  maxBodyBytes: 256 * 1024,
};

export interface GeneratorServerOptions {
  model: GmmGeneratorModel;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  limits?: Partial<GeneratorServerLimits>;
  /** One line per request (default: silent). */
  log?: (line: string) => void;
}

export interface GeneratorServer {
  /** e.g. http://127.0.0.1:7860 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

export const SERVED_MODEL_NAME = 'synthscale-embedded-gmm';
const DEFAULT_STEPS = 20;
const DEFAULT_CFG_SCALE = 7;
const MAX_PROMPT_CHARS = 4000;
/** Past this much of an oversized body, stop draining it and drop the connection. */
const DRAIN_FACTOR = 16;

type ErrorStyle = 'a1111' | 'openai' | 'plain';

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  500: 'server_error',
};

function errorBody(style: ErrorStyle, status: number, message: string): unknown {
  if (style === 'openai') return { error: { message, type: ERROR_TYPES[status] ?? 'error', param: null, code: null } };
  if (style === 'a1111') return { error: status === 404 ? 'Not Found' : 'HTTPException', detail: message };
  return { error: message };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** The request body, rejected with 413 as soon as it passes `cap` (the excess is drained, then dropped). */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new RequestError(413, `request body exceeds ${cap} bytes`);
    const declared = Number(req.headers['content-length'] ?? NaN);
    const drain = () => {
      let drained = 0;
      req.removeAllListeners('data');
      req.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > cap * DRAIN_FACTOR) req.destroy();
      });
      req.resume();
    };
    if (Number.isFinite(declared) && declared > cap) {
      drain();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        done = true;
        drain();
        return reject(tooLarge());
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
    });
  });
}

// Field readers: absent or null takes the default; a wrong type or range is a 400 naming the field.
type Body = Record<string, unknown>;

function intField(body: Body, key: string, fallback: number, min: number, max: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new RequestError(400, `${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

function numberField(body: Body, key: string, fallback: number, min: number, max: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RequestError(400, `${key} must be a number in [${min}, ${max}], got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

/** Code points, as JSON Schema's maxLength counts (a lone surrogate counts as one). */
function codePoints(text: string, atMost: number): number {
  if (text.length <= atMost) return text.length; // code points <= UTF-16 units
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function stringField(body: Body, key: string, fallback: string | undefined, maxChars: number): string {
  const v = body[key] ?? fallback;
  if (typeof v !== 'string') throw new RequestError(400, `${key} must be a string`);
  if (codePoints(v, maxChars) > maxChars) throw new RequestError(400, `${key} is longer than ${maxChars} characters`);
  return v;
}

const NON_BLANK = new RegExp(NON_BLANK_PATTERN);

function checkLimits(limits: GeneratorServerLimits): void {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`generator server limit ${key} must be a positive integer, got ${value}`);
  }
}

interface Render {
  prompt: string;
  seed: number;
  steps: number;
  cfgScale: number;
  width: number;
  height: number;
  count: number;
}

type Handler = (body: Body) => Promise<unknown> | unknown;

interface Route {
  method: 'GET' | 'POST';
  style: ErrorStyle;
  auth: boolean;
  handle: Handler;
}

export async function startGeneratorServer(opts: GeneratorServerOptions): Promise<GeneratorServer> {
  const { model } = opts;
  const limits: GeneratorServerLimits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  checkLimits(limits);
  // Sent as `Authorization: Bearer <token>`: one visible-ASCII word.
  if (opts.token !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(opts.token)) {
    throw new Error('the bearer token must be 1-1024 visible ASCII characters (no spaces)');
  }
  const defaultSteps = Math.min(DEFAULT_STEPS, limits.maxSteps);
  const defaultWidth = Math.min(512, limits.maxWidth);
  const defaultHeight = Math.min(512, limits.maxHeight);
  const defaultSize = `${Math.min(1024, limits.maxWidth)}x${Math.min(1024, limits.maxHeight)}`;
  const maxSeed = Number.MAX_SAFE_INTEGER - limits.maxN;
  const log = opts.log ?? (() => {});
  const modelSha = sha256Hex(serializeGmmModel(model));
  const openApi = generatorOpenApi({
    limits,
    auth: opts.token !== undefined,
    maxPromptChars: MAX_PROMPT_CHARS,
    defaults: { steps: defaultSteps, cfgScale: DEFAULT_CFG_SCALE, width: defaultWidth, height: defaultHeight, size: defaultSize },
    modelName: SERVED_MODEL_NAME,
    maxSeed,
  });
  const tokenDigest = opts.token === undefined ? null : createHash('sha256').update(opts.token).digest();
  let randomCounter = 0;

  const nextRandomSeed = () => Number.parseInt(sha256Hex(`synthscale-server-random-seed|${randomCounter++}`).slice(0, 8), 16);

  const checkSize = (width: number, height: number) => {
    if (width > limits.maxWidth || height > limits.maxHeight) {
      throw new RequestError(400, `size ${width}x${height} exceeds the limit of ${limits.maxWidth}x${limits.maxHeight}`);
    }
  };

  /** count images as base64 RGB PNGs; image i uses seed + i. */
  const render = async (r: Render): Promise<string[]> => {
    const classWeights = promptToClassWeights(r.prompt, model.classes);
    const attributes = promptAttributes(r.prompt, model.classes);
    const items = Array.from({ length: r.count }, (_, i) => ({ classWeights, attributes, cfgScale: r.cfgScale, steps: r.steps, seed: String(r.seed + i) }));
    const pixels = sampleBatch(model, items);
    const side = IMAGE_SIDE * IMAGE_SIDE;
    const out: string[] = [];
    for (let i = 0; i < r.count; i++) {
      const png = await grayToRgbPng(pixels.subarray(i * side, (i + 1) * side), IMAGE_SIDE, r.width, r.height);
      out.push(png.toString('base64'));
    }
    return out;
  };

  const seedField = (body: Body): number => {
    const seed = intField(body, 'seed', -1, -1, maxSeed);
    return seed === -1 ? nextRandomSeed() : seed;
  };

  const txt2img: Handler = async (body) => {
    const prompt = stringField(body, 'prompt', '', MAX_PROMPT_CHARS);
    const negativePrompt = stringField(body, 'negative_prompt', '', MAX_PROMPT_CHARS);
    const samplerName = stringField(body, 'sampler_name', 'DDIM', 64);
    const steps = intField(body, 'steps', defaultSteps, 1, limits.maxSteps);
    const cfgScale = numberField(body, 'cfg_scale', DEFAULT_CFG_SCALE, 0, 50);
    const width = intField(body, 'width', defaultWidth, 1, limits.maxWidth);
    const height = intField(body, 'height', defaultHeight, 1, limits.maxHeight);
    const batchSize = intField(body, 'batch_size', 1, 1, limits.maxN);
    const nIter = intField(body, 'n_iter', 1, 1, limits.maxN);
    const count = batchSize * nIter;
    if (count > limits.maxN) throw new RequestError(400, `batch_size * n_iter = ${count} exceeds the limit of ${limits.maxN}`);
    const seed = seedField(body);
    const images = await render({ prompt, seed, steps, cfgScale, width, height, count });
    const allSeeds = images.map((_, i) => seed + i);
    // negative_prompt and sampler_name are accepted and echoed: the embedded model always samples
    // with DDIM (eta 0) and has no negative conditioning.
    const parameters = { prompt, negative_prompt: negativePrompt, seed, steps, cfg_scale: cfgScale, width, height, batch_size: batchSize, n_iter: nIter, sampler_name: samplerName };
    const info = {
      prompt,
      all_prompts: allSeeds.map(() => prompt),
      negative_prompt: negativePrompt,
      seed,
      all_seeds: allSeeds,
      steps,
      cfg_scale: cfgScale,
      width,
      height,
      sampler_name: samplerName,
      batch_size: batchSize,
      sd_model_name: SERVED_MODEL_NAME,
      sd_model_hash: modelSha.slice(0, 10),
    };
    return { images, parameters, info: JSON.stringify(info) };
  };

  const generations: Handler = async (body) => {
    const prompt = stringField(body, 'prompt', undefined, MAX_PROMPT_CHARS);
    if (!NON_BLANK.test(prompt)) throw new RequestError(400, 'prompt must not be empty or blank');
    if (body.model !== undefined && typeof body.model !== 'string') throw new RequestError(400, 'model must be a string');
    const count = intField(body, 'n', 1, 1, limits.maxN);
    const size = stringField(body, 'size', defaultSize, 16);
    const m = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(size);
    if (!m) throw new RequestError(400, `size must be 'WIDTHxHEIGHT', got ${JSON.stringify(size)}`);
    const width = Number(m[1]);
    const height = Number(m[2]);
    checkSize(width, height);
    // OpenAI's default for dall-e is 'url'; we host no files, so an absent format means b64_json.
    const format = stringField(body, 'response_format', 'b64_json', 16);
    if (format === 'url') throw new RequestError(400, "response_format 'url' is not supported (this server hosts no files); use 'b64_json'");
    if (format !== 'b64_json') throw new RequestError(400, `response_format must be 'b64_json', got ${JSON.stringify(format)}`);
    // Extensions (the OpenAI API has none of these).
    const seed = seedField(body);
    const steps = intField(body, 'steps', defaultSteps, 1, limits.maxSteps);
    const cfgScale = numberField(body, 'cfg_scale', DEFAULT_CFG_SCALE, 0, 50);
    const images = await render({ prompt, seed, steps, cfgScale, width, height, count });
    return { created: Math.floor(Date.now() / 1000), data: images.map((b64_json) => ({ b64_json, revised_prompt: prompt })) };
  };

  const routes: Record<string, Route> = {
    '/sdapi/v1/txt2img': { method: 'POST', style: 'a1111', auth: true, handle: txt2img },
    '/v1/images/generations': { method: 'POST', style: 'openai', auth: true, handle: generations },
    '/sdapi/v1/sd-models': {
      method: 'GET',
      style: 'a1111',
      auth: true,
      handle: () => [
        { title: `${SERVED_MODEL_NAME} [${modelSha.slice(0, 10)}]`, model_name: SERVED_MODEL_NAME, hash: modelSha.slice(0, 10), sha256: modelSha, filename: 'embedded', config: null },
      ],
    },
    '/v1/models': {
      method: 'GET',
      style: 'openai',
      auth: true,
      handle: () => ({ object: 'list', data: [{ id: SERVED_MODEL_NAME, object: 'model', created: 0, owned_by: 'synthscale' }] }),
    },
    '/healthz': { method: 'GET', style: 'plain', auth: false, handle: () => ({ status: 'ok', model: SERVED_MODEL_NAME, sha256: modelSha }) },
    '/openapi.json': { method: 'GET', style: 'plain', auth: false, handle: () => openApi },
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!tokenDigest) return true;
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), tokenDigest);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, started: number) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const style: ErrorStyle = route?.style ?? (path.startsWith('/v1/') ? 'openai' : path.startsWith('/sdapi/') ? 'a1111' : 'plain');
    try {
      if (!route) throw new RequestError(404, `no route ${path}`);
      if (req.method !== route.method) throw new RequestError(405, `use ${route.method} for ${path}`, { allow: route.method });
      if (route.auth && !authorized(req)) throw new RequestError(401, 'missing or invalid bearer token', { 'www-authenticate': 'Bearer' });
      let body: Body = {};
      if (route.method === 'POST') {
        const raw = await readBody(req, limits.maxBodyBytes);
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          throw new RequestError(400, `body is not valid JSON (${(err as Error).message.slice(0, 100)})`);
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RequestError(400, 'body must be a JSON object');
        body = parsed as Body;
      } else {
        req.resume();
      }
      sendJson(res, 200, await route.handle(body));
      log(`${req.method} ${path} 200 ${Date.now() - started} ms`);
    } catch (err) {
      const status = err instanceof RequestError ? err.status : 500;
      const message = err instanceof RequestError ? err.message : 'internal error';
      if (!(err instanceof RequestError)) log(`${req.method} ${path} failed: ${(err as Error).stack ?? String(err)}`);
      log(`${req.method} ${path} ${status} ${message}`);
      if (!res.headersSent) sendJson(res, status, errorBody(style, status, message), err instanceof RequestError ? err.headers : {});
      else res.destroy();
    }
  };

  const server = createServer((req, res) => void serve(req, res, Date.now()));
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
