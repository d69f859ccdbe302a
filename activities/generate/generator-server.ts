// A real HTTP text-to-image server around the embedded generator, speaking the two APIs the HTTP
// backends (./http/) talk to, so they are tested (and can be demoed) end to end:
// - POST /sdapi/v1/txt2img       AUTOMATIC1111 / Forge web UI API
// - POST /v1/images/generations  OpenAI images API (b64_json only), plus extras seed/cfg_scale/steps
// - GET  /sdapi/v1/sd-models, GET /v1/models  one-entry listings
// - GET  /healthz                no auth
// - GET  /openapi.json           no auth: the OpenAPI 3.1 description (./generator-openapi.ts),
//                                 with this server's limits as minimum/maximum
//
// Each image is sampled by the embedded GMM-DDIM generator at its model's geometry (28x28 grey for
// Fashion-MNIST; class weights from the prompt, as the embedded backend does), then upscaled to the requested width x height with sharp
// (Lanczos-3) and sent as an RGB PNG, so a client really has to decode and resize it. Image i of a
// request uses seed + i (as A1111 does), and the sample seed string is String(seed + i): equal
// (prompt, seed, cfg_scale, steps, size) give byte-identical images through either API. A missing
// seed or -1 ("random") takes the next seed of a per-server counter hashed to 32 bits, so a fresh
// server answers the same sequence of requests with the same images.
//
// Hardening: binds loopback by default; optional bearer token and/or HTTP Basic credentials (A1111
// --api-auth style; ./server/auth.ts: Basic on the A1111 routes, compared in constant time) on
// every route except /healthz and /openapi.json; request bodies capped while they are read (413);
// n, size and steps capped (400); errors as JSON in each API's own shape. String lengths count
// code points, as JSON Schema's maxLength does, so the OpenAPI document describes the checks exactly.
// Default sizes and steps shrink to the limits, so a request that leaves them out is always within them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generatorOpenApi } from './generator-openapi.js';
import type { GmmGeneratorModel } from './gmm/model.js';
import { serverAuth, type BasicCredentials, type RouteApi, type ServerAuth } from './server/auth.js';
import { DEFAULT_CFG_SCALE, DEFAULT_SERVER_LIMITS, MAX_PROMPT_CHARS, SERVED_MODEL_NAME, serverContext, type GeneratorServerLimits, type ServerContext } from './server/context.js';
import { generations, txt2img, type Handler } from './server/handlers.js';
import { errorBody, readJsonObject, RequestError, sendJson, type Body, type ErrorStyle } from './server/request.js';

export { DEFAULT_SERVER_LIMITS, SERVED_MODEL_NAME, type GeneratorServerLimits } from './server/context.js';

export interface GeneratorServerOptions {
  model: GmmGeneratorModel;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** When set, requests need `Authorization: Bearer <token>` (or, on the A1111 routes, the Basic credentials when set too). */
  token?: string;
  /** When set, the A1111 routes (and the OpenAI ones unless a token is set) need `Authorization: Basic`, as A1111's --api-auth does. */
  basic?: BasicCredentials;
  limits?: Partial<GeneratorServerLimits>;
  /** One line per request (default: silent). */
  log?: (line: string) => void;
}

export interface GeneratorServer {
  /** e.g. http://127.0.0.1:7860 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

function checkLimits(limits: GeneratorServerLimits): void {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`generator server limit ${key} must be a positive integer, got ${value}`);
  }
}

interface Route {
  method: 'GET' | 'POST';
  style: ErrorStyle;
  /** Which API's credentials the route needs; none: open. */
  auth: RouteApi | null;
  handle: Handler;
}

export async function startGeneratorServer(opts: GeneratorServerOptions): Promise<GeneratorServer> {
  const limits: GeneratorServerLimits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  checkLimits(limits);
  const auth = serverAuth(opts.token, opts.basic);
  const ctx = serverContext(opts.model, limits);
  const openApi = generatorOpenApi({
    limits,
    auth: { a1111: auth.schemes('a1111'), openai: auth.schemes('openai') },
    maxPromptChars: MAX_PROMPT_CHARS,
    defaults: { steps: ctx.defaults.steps, cfgScale: DEFAULT_CFG_SCALE, width: ctx.defaults.width, height: ctx.defaults.height, size: ctx.defaults.size },
    modelName: SERVED_MODEL_NAME,
    maxSeed: ctx.maxSeed,
  });
  const serve = requestHandler(routes(ctx, openApi), { maxBodyBytes: limits.maxBodyBytes, auth, log: opts.log ?? (() => {}) });
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

/** The routes by path. */
function routes(ctx: ServerContext, openApi: unknown): Record<string, Route> {
  const { modelSha } = ctx;
  return {
    '/sdapi/v1/txt2img': { method: 'POST', style: 'a1111', auth: 'a1111', handle: txt2img(ctx) },
    '/v1/images/generations': { method: 'POST', style: 'openai', auth: 'openai', handle: generations(ctx) },
    '/sdapi/v1/sd-models': {
      method: 'GET',
      style: 'a1111',
      auth: 'a1111',
      handle: () => [
        { title: `${SERVED_MODEL_NAME} [${modelSha.slice(0, 10)}]`, model_name: SERVED_MODEL_NAME, hash: modelSha.slice(0, 10), sha256: modelSha, filename: 'embedded', config: null },
      ],
    },
    '/v1/models': {
      method: 'GET',
      style: 'openai',
      auth: 'openai',
      handle: () => ({ object: 'list', data: [{ id: SERVED_MODEL_NAME, object: 'model', created: 0, owned_by: 'synthscale' }] }),
    },
    '/healthz': { method: 'GET', style: 'plain', auth: null, handle: () => ({ status: 'ok', model: SERVED_MODEL_NAME, sha256: modelSha }) },
    '/openapi.json': { method: 'GET', style: 'plain', auth: null, handle: () => openApi },
  };
}

interface Serving {
  maxBodyBytes: number;
  auth: ServerAuth;
  log(line: string): void;
}

/** Serve one request by its route: method, auth, body, then the handler's JSON (or an error in the route's API's shape). */
function requestHandler(table: Record<string, Route>, s: Serving) {
  const { log } = s;
  return async (req: IncomingMessage, res: ServerResponse, started: number) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(table, path) ? table[path] : undefined;
    const style: ErrorStyle = route?.style ?? (path.startsWith('/v1/') ? 'openai' : path.startsWith('/sdapi/') ? 'a1111' : 'plain');
    try {
      if (!route) throw new RequestError(404, `no route ${path}`);
      if (req.method !== route.method) throw new RequestError(405, `use ${route.method} for ${path}`, { allow: route.method });
      if (route.auth && !s.auth.authorized(req, route.auth)) {
        const schemes = s.auth.schemes(route.auth);
        throw new RequestError(401, `missing or invalid ${schemes.map((x) => (x === 'basic' ? 'Basic credentials' : 'bearer token')).join(' or ')}`, { 'www-authenticate': s.auth.challenge(route.auth) });
      }
      let body: Body = {};
      if (route.method === 'POST') body = await readJsonObject(req, s.maxBodyBytes);
      else req.resume();
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
}
