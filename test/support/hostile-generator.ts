// A text-to-image server that misbehaves on purpose, for tests of the HTTP backends
// (activities/generate/http-backends.ts). It is a real node:http server on 127.0.0.1 speaking
//   POST /sdapi/v1/txt2img        (AUTOMATIC1111)
//   POST /v1/images/generations   (OpenAI images, b64_json)
// and answers every prompt with a good RGB PNG of the requested size, except the prompts its plan
// names, which get one bad response each (HostileKind). The plan is per server, so per test.
//
// Which prompt a request is for: the backends send seed = httpSeed(`${generationSeed}|${index}`),
// so the server maps the seed back to the prompt index (indices below `indexLimit`). A request
// without a recognised seed (OpenAI with extraFields off) is numbered by arrival instead (0, 1, ...).
// The '-once' kinds misbehave on the first request for their index only; later ones are 'ok'.
//
// Good images carry a little signal, so a sweep can train on them: a bright band whose row says
// the class the prompt names (text-condition.ts), jittered by index. Every request is logged
// (`requests`), with how many bytes a huge body got out before the client hung up.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { GeneratorHttpError, httpSeed } from '../../activities/generate/http-backends.js';
import { grayToRgbPng } from '../../core/image/resize.js';
import { matchClasses } from '../../core/text/text-condition.js';

export const HOSTILE_KINDS = [
  'ok', // a good PNG of the requested size
  'jpeg', // a good JPEG of the requested size
  'huge-body', // 200, a JSON body streamed on and on (no Content-Length), by default 2 GiB in 64 KiB pieces
  'huge-declared', // 200 with Content-Length: 2 GiB, then a few bytes and silence
  'pixel-bomb', // a tiny PNG whose header claims 100000 x 100000 pixels
  'html-body', // 200 text/html: a proxy's error page
  'not-an-image', // valid base64 of HTML text
  'svg', // valid base64 of an SVG (a format we do not decode)
  'bad-base64', // an image field that is not base64
  'no-images', // an empty image list
  'two-images', // two images instead of one
  'wrong-size', // half the requested size (A1111's info says so; OpenAI's response does not)
  'url-only', // OpenAI: data[0].url instead of b64_json; A1111: a URL in images[0]
  'rate-limited-once', // 429 with Retry-After: <retryAfterSeconds>, then ok
  'rate-limited', // 429 with Retry-After, every time
  'unavailable-once', // 503 with Retry-After as an HTTP-date <retryAfterSeconds> ahead (rounded up), then ok
  'unavailable', // 503 with Retry-After, every time
  'bad-request', // 400 whose message echoes the Authorization header (the client must redact it)
  'unauthorized', // 401
  'redirect', // 302 elsewhere (the client must not follow)
  'stall-headers', // never answers
  'stall-body', // headers and the start of a body, then silence
  'drip', // headers, then a space every dripIntervalMs, forever (never idle, never done)
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** Prompt index -> kind ('ok' where absent), or a function of the index. */
export type HostilePlan = Readonly<Partial<Record<number, HostileKind>>> | ((index: number) => HostileKind);

export interface HostileGeneratorOptions {
  plan?: HostilePlan;
  /** The sweep's generation seed, to map seeds back to prompt indices (default 0). */
  generationSeed?: number;
  /** Seeds of prompt indices [0, indexLimit) are recognised (default 4096). */
  indexLimit?: number;
  /** 'huge-body': total bytes (default 2 GiB), piece size (64 KiB) and pause between pieces (1 ms). */
  hugeBody?: { bytes?: number; chunkBytes?: number; intervalMs?: number };
  /** 'drip': pause between spaces (default 100 ms). */
  dripIntervalMs?: number;
  /** Retry-After of the 429s and 503s, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** 'pixel-bomb': the side the header claims (default 100000). */
  bombSide?: number;
}

export interface HostileRequest {
  /** Arrival order, from 0. */
  seq: number;
  index: number;
  kind: HostileKind;
  api: 'a1111' | 'openai';
  /** Date.now() on arrival. */
  at: number;
  /** 'huge-body': bytes written before the client hung up (or all of them). */
  bytesSent?: number;
}

export interface HostileGenerator {
  /** http://127.0.0.1:PORT (A1111 base URL; the OpenAI one is `${url}/v1`). */
  url: string;
  requests: HostileRequest[];
  requestsFor(index: number): HostileRequest[];
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 1024 * 1024;

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A valid, tiny PNG whose IHDR claims width x height (a decompression bomb's header; the data is a few zeros). */
export function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth 8; colour type 0 (gray), no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

/** 28x28 gray: a band at the row of the prompt's class (a centred square when it names none), jittered by index. */
function goodPixels(prompt: string, index: number): Uint8Array {
  const cls = matchClasses(prompt, FASHION_MNIST_CLASSES)[0]?.cls;
  const px = new Uint8Array(IMAGE_SIDE * IMAGE_SIDE);
  const [top, bottom, left, right] = cls === undefined ? [9, 19, 9, 19] : [2 + 2 * cls, 8 + 2 * cls, 3 + (index % 5), 25 - (index % 3)];
  for (let r = top; r < bottom; r++) for (let c = left; c < right; c++) px[r * IMAGE_SIDE + c] = 180 + (index % 60);
  return px;
}

async function goodImage(prompt: string, index: number, width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const png = await grayToRgbPng(goodPixels(prompt, index), IMAGE_SIDE, width, height);
  return format === 'png' ? png : sharp(png).jpeg({ quality: 90 }).toBuffer();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function readRequest(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_REQUEST_BYTES) return resolve(null);
      try {
        const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve(json && typeof json === 'object' ? (json as Record<string, unknown>) : null);
      } catch {
        resolve(null);
      }
    });
    req.on('error', () => resolve(null));
  });
}

/** Write `bytes` of filler inside a JSON string, honouring backpressure, until done or the client hangs up. */
async function streamHuge(res: ServerResponse, log: HostileRequest, bytes: number, chunkBytes: number, intervalMs: number): Promise<void> {
  let closed = false;
  let wake: (() => void) | undefined;
  res.on('close', () => {
    closed = true;
    wake?.();
  });
  res.on('drain', () => wake?.());
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"images":["');
  const piece = Buffer.alloc(chunkBytes, 0x41); // 'A': base64 as far as anyone can tell
  log.bytesSent = 0;
  while (!closed && log.bytesSent < bytes) {
    const n = Math.min(chunkBytes, bytes - log.bytesSent);
    const flushed = res.write(n === chunkBytes ? piece : piece.subarray(0, n));
    log.bytesSent += n;
    if (!flushed && !closed) await new Promise<void>((r) => (wake = r));
    if (intervalMs > 0) await sleep(intervalMs);
  }
  if (!closed) res.end('"]}');
}

export async function startHostileGenerator(opts: HostileGeneratorOptions = {}): Promise<HostileGenerator> {
  const plan = opts.plan ?? {};
  const kindOf = (index: number): HostileKind => (typeof plan === 'function' ? plan(index) : (plan[index] ?? 'ok'));
  const generationSeed = opts.generationSeed ?? 0;
  const seeds = new Map<number, number>();
  for (let i = 0; i < (opts.indexLimit ?? 4096); i++) seeds.set(httpSeed(`${generationSeed}|${i}`), i);
  const huge = { bytes: 2 * 1024 ** 3, chunkBytes: 64 * 1024, intervalMs: 1, ...opts.hugeBody };
  const dripMs = opts.dripIntervalMs ?? 100;
  const retryAfter = opts.retryAfterSeconds ?? 1;
  const bomb = pngClaiming(opts.bombSide ?? 100_000, opts.bombSide ?? 100_000);
  const requests: HostileRequest[] = [];
  const seen = new Map<number, number>();
  let url = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const api = path === '/sdapi/v1/txt2img' ? 'a1111' : path === '/v1/images/generations' ? 'openai' : null;
    if (req.method !== 'POST' || !api) {
      req.resume();
      return sendJson(res, 404, { detail: 'Not Found' });
    }
    const body = await readRequest(req);
    if (!body) return sendJson(res, 400, { detail: 'request body is not a JSON object (or over 1 MiB)' });
    const seq = requests.length;
    const index = typeof body.seed === 'number' && seeds.has(body.seed) ? seeds.get(body.seed)! : seq;
    const nth = (seen.get(index) ?? 0) + 1;
    seen.set(index, nth);
    let kind = kindOf(index);
    if (kind.endsWith('-once') && nth > 1) kind = 'ok';
    const log: HostileRequest = { seq, index, kind, api, at: Date.now() };
    requests.push(log);

    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    let width = 512;
    let height = 512;
    if (api === 'a1111') {
      if (Number.isInteger(body.width)) width = body.width as number;
      if (Number.isInteger(body.height)) height = body.height as number;
    } else {
      const m = /^(\d+)x(\d+)$/.exec(String(body.size ?? ''));
      if (m) [width, height] = [Number(m[1]), Number(m[2])];
    }
    if (width < 8 || height < 8 || width > 2048 || height > 2048) return sendJson(res, 400, { detail: `size ${width}x${height} out of range` });
    const seed = typeof body.seed === 'number' ? body.seed : 0;
    /** A 200 in this API's shape around these base64 images (and, for A1111, what info should say). */
    const images = (list: string[], size = { width, height }) =>
      api === 'a1111'
        ? sendJson(res, 200, { images: list, parameters: {}, info: JSON.stringify({ seed, all_seeds: list.map(() => seed), ...size }) })
        : sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: list.map((b64_json) => ({ b64_json, revised_prompt: prompt })) });
    const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
    const good = async (format: 'png' | 'jpeg' = 'png') => b64(await goodImage(prompt, index, width, height, format));
    const error = (status: number, message: string, headers: Record<string, string> = {}) =>
      sendJson(res, status, api === 'a1111' ? { error: 'HTTPException', detail: message } : { error: { message, type: 'error' } }, headers);

    switch (kind) {
      case 'ok':
        return images([await good()]);
      case 'jpeg':
        return images([await good('jpeg')]);
      case 'huge-body':
        return streamHuge(res, log, huge.bytes, huge.chunkBytes, huge.intervalMs);
      case 'huge-declared':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 ** 3) });
        res.write('{"images":["');
        return;
      case 'pixel-bomb':
        return images([b64(bomb)]);
      case 'html-body':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>');
        return;
      case 'not-an-image':
        return images([b64('<html><body>this is not an image</body></html>')]);
      case 'svg':
        return images([b64(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"/>`)]);
      case 'bad-base64':
        return images(['***this is not base64***']);
      case 'no-images':
        return images([]);
      case 'two-images': {
        const one = await good();
        return images([one, one]);
      }
      case 'wrong-size': {
        const small = { width: Math.max(8, width >> 1), height: Math.max(8, height >> 1) };
        const image = b64(await goodImage(prompt, index, small.width, small.height, 'png'));
        if (api === 'a1111') return images([image], small);
        return sendJson(res, 200, { created: 0, data: [{ b64_json: image }] });
      }
      case 'url-only':
        if (api === 'a1111') return images([`${url}/outputs/${index}.png`]);
        return sendJson(res, 200, { created: 0, data: [{ url: `${url}/outputs/${index}.png` }] });
      case 'rate-limited-once':
      case 'rate-limited':
        return error(429, 'Too many requests, slow down', { 'retry-after': String(retryAfter) });
      case 'unavailable-once': {
        // The other form of Retry-After: an HTTP-date (whole seconds, so rounded up).
        const at = new Date(Math.ceil((Date.now() + retryAfter * 1000) / 1000) * 1000);
        return error(503, 'model is loading', { 'retry-after': at.toUTCString() });
      }
      case 'unavailable':
        return error(503, 'model is loading', { 'retry-after': String(retryAfter) });
      case 'bad-request':
        return error(400, `prompt rejected by the safety filter; you sent ${req.headers.authorization ?? 'no token'}`);
      case 'unauthorized':
        return error(401, 'Not authenticated');
      case 'redirect':
        res.writeHead(302, { location: `${url}/elsewhere${path}` });
        res.end();
        return;
      case 'stall-headers':
        return;
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"images":["iVBORw0KGgo');
        return;
      case 'drip': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), dripMs);
        res.on('close', () => clearInterval(timer));
        return;
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { detail: `hostile server bug: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    requestsFor: (index) => requests.filter((r) => r.index === index),
    close: () =>
      new Promise<void>((resolve) => {
        // Stalled and dripping responses hold their sockets open: drop them.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The rejection of `promise`, which must be a GeneratorHttpError. */
export async function httpError(promise: Promise<unknown>): Promise<GeneratorHttpError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GeneratorHttpError, `expected a GeneratorHttpError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
