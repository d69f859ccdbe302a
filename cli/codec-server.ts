// `synthscale codec-server`: the Temporal codec-server protocol (POST /encode and /decode with
// `{ payloads: [...] }` in Temporal's JSON form) over this environment's payload keys, so the
// Temporal UI and CLI can show what the workers encrypted. Loopback by default; CORS answers the
// UI's origins only (by default the local UI under both loopback spellings, http://localhost:PORT
// and http://127.0.0.1:PORT, since a browser sends whichever the user typed); an optional bearer
// token from an environment variable (never logged).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineCommand } from 'citty';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import { CODEC_ENV, CodecError, codecFromEnv } from '../core/payload-codec.js';

export const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';
const ROUTE = /^(?:\/[^/]+)?\/(decode|encode)\/?$/; // /decode, or /{namespace}/decode as the CLI templates it

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Exact origins (scheme://host:port) whose pages may call; every other Origin is refused. */
  uiOrigins: string[];
  /** When set, every POST must carry `Authorization: Bearer <token>`. */
  token?: string;
  maxBodyBytes: number;
  log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** `--ui-origin`: comma-separated origins such as http://localhost:8233 (no path, no wildcard). */
export function parseOrigins(text: string): string[] {
  const origins = text.split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length === 0) throw new Error('--ui-origin needs at least one origin, such as http://localhost:8233');
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {}
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
      throw new Error(`--ui-origin "${origin}" is not an origin: write scheme://host[:port] with no path or trailing slash, e.g. http://localhost:8233`);
    }
  }
  return origins;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) throw new HttpError(413, `request body is ${declared} bytes; this codec server takes at most ${max} (--max-body-mib)`);
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      // Stop keeping what arrives (the rest is drained unread) and answer 413 at once.
      req.off('data', onData).resume();
      reject(new HttpError(413, `request body exceeds ${max} bytes (--max-body-mib)`));
    };
    req.on('data', onData);
    req.once('end', () => resolveBody(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function parsePayloads(body: Buffer): Payload[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON; expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}');
  }
  const payloads = (json as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'request body has no "payloads" array; expected {"payloads": [...]}');
  return payloads.map((p, i) => {
    const ok =
      typeof p === 'object' && p !== null &&
      (p.data === undefined || p.data === null || typeof p.data === 'string') &&
      (p.metadata === undefined || p.metadata === null || (typeof p.metadata === 'object' && Object.values(p.metadata).every((v) => typeof v === 'string')));
    if (!ok) throw new HttpError(400, `payloads[${i}] is not a Temporal JSON payload ({"metadata": {name: base64}, "data": base64})`);
    try {
      return JSONToPayload(p);
    } catch (err) {
      throw new HttpError(400, `payloads[${i}] is not a Temporal JSON payload: ${(err as Error).message}`);
    }
  });
}

/** The HTTP server; listen on it yourself. */
export function createCodecServer(opts: CodecServerOptions): Server {
  const log = opts.log ?? ((line: string) => console.log(line));
  const tokenDigest = opts.token ? digest(opts.token) : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<{ status: number; count?: number }> {
    const path = new URL(req.url ?? '/', 'http://codec.invalid').pathname;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!opts.uiOrigins.includes(origin)) throw new HttpError(403, `origin ${origin} may not call this codec server (allowed: ${opts.uiOrigins.join(', ')}; see --ui-origin)`);
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    const route = ROUTE.exec(path)?.[1] as 'decode' | 'encode' | undefined;
    if (!route) throw new HttpError(404, `no such endpoint ${path}: POST /decode or /encode (optionally under /{namespace}/)`);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return { status: 204 };
    }
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: use POST`, { Allow: 'POST, OPTIONS' });
    if (tokenDigest) {
      const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
      if (!given || !timingSafeEqual(digest(given), tokenDigest)) {
        throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer' });
      }
    }
    const payloads = parsePayloads(await readBody(req, opts.maxBodyBytes));
    let out: Payload[];
    try {
      out = route === 'decode' ? await opts.codec.decode(payloads) : await opts.codec.encode(payloads);
    } catch (err) {
      if (err instanceof CodecError) throw new HttpError(422, err.message);
      throw err;
    }
    const body = JSON.stringify({ payloads: out.map(payloadToJSON) });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return { status: 200, count: payloads.length };
  }

  return createServer((req, res) => {
    const t0 = Date.now();
    res.setHeader('Vary', 'Origin');
    handle(req, res)
      .then(({ status, count }) => log(`${req.method} ${req.url} ${status}${count === undefined ? '' : ` ${count} payloads`} ${Date.now() - t0} ms`))
      .catch((err: unknown) => {
        const known = err instanceof HttpError;
        const status = known ? err.status : 500;
        const message = known ? err.message : 'internal error (see the codec server log)';
        log(`${req.method} ${req.url} ${status} ${known ? message : `error: ${(err as Error).message}`}`);
        if (res.headersSent) return res.destroy();
        const body = JSON.stringify({ error: message });
        // A refused or oversized body is not read to its end: close the connection after replying.
        res.writeHead(status, { ...(known ? err.headers : {}), 'Content-Type': 'application/json', ...(status === 413 ? { Connection: 'close' } : {}) });
        res.end(body);
      });
  });
}

/** The local Temporal UI's origin under both spellings a user may type. */
export function localUiOrigins(uiPort: string | number = process.env.SYNTHSCALE_UI_PORT ?? 8233): string[] {
  return [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`];
}

function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export const codecServer = defineCommand({
  meta: {
    name: 'codec-server',
    description: `Decode (and encode) payloads for the Temporal UI and CLI with this environment's keys (${CODEC_ENV.key}, ${CODEC_ENV.keysFile}, ...)`,
  },
  args: {
    host: { type: 'string', description: 'address to listen on (keep it loopback unless behind TLS and a token)', default: '127.0.0.1' },
    port: { type: 'string', description: 'port to listen on (0: any free port)', default: '8888' },
    'ui-origin': {
      type: 'string',
      description: 'origins of the Temporal UI allowed to call, comma-separated',
      default: localUiOrigins().join(','),
    },
    'token-env': { type: 'string', description: 'name of an environment variable holding a bearer token that every request must carry' },
    'max-body-mib': { type: 'string', description: 'largest request body accepted, in MiB', default: '16' },
  },
  async run({ args }) {
    const codec = codecFromEnv();
    if (!codec) throw new Error(`no payload key is configured: set ${CODEC_ENV.key} (or ${CODEC_ENV.keyFile}, or a keyring with ${CODEC_ENV.keyId}) as the workers have it`);
    const port = Number(args.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number from 0 to 65535, not "${args.port}"`);
    const maxMib = Number(args['max-body-mib']);
    if (!(maxMib > 0 && maxMib <= 1024)) throw new Error(`--max-body-mib must be a number of MiB from 1 to 1024, not "${args['max-body-mib']}"`);
    const uiOrigins = parseOrigins(args['ui-origin']);
    let token: string | undefined;
    if (args['token-env'] !== undefined) {
      token = process.env[args['token-env']]?.trim();
      if (!token) throw new Error(`--token-env ${args['token-env']}: that environment variable is unset or empty`);
    } else if (!loopback(args.host)) {
      console.error(`warning: listening on ${args.host} with no bearer token (--token-env): anyone who reaches this port can decrypt payloads`);
    }

    const server = createCodecServer({ codec, uiOrigins, token, maxBodyBytes: Math.round(maxMib * 2 ** 20) });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'EADDRINUSE' ? `port ${port} on ${args.host} is in use: pick another with --port` : `cannot listen on ${args.host}:${port}: ${err.message}`)),
      );
      server.listen(port, args.host, resolveListen);
    });
    const { port: actual } = server.address() as AddressInfo;
    const host = args.host.includes(':') ? `[${args.host}]` : args.host;
    const endpoint = `http://${host}:${actual}`;
    console.log(`synthscale codec-server: listening on ${endpoint} (encrypts with key id ${codec.keyId}; decrypts key ids ${codec.keyIds.join(', ')})`);
    console.log(`  CORS: only ${uiOrigins.join(', ')}${token ? `; bearer token from $${args['token-env']}` : ''}`);
    console.log(`  Temporal UI (${uiOrigins[0]}): Codec Server settings (the glasses icon in the top bar) -> "Use my browser setting and ignore Cluster-level setting"`);
    console.log(`    -> Codec Server browser endpoint: ${endpoint}   (leave "Pass the user access token" off)`);
    console.log(`    or for every browser: temporal server start-dev ... --ui-codec-endpoint ${endpoint}`);
    console.log(`  Temporal CLI: temporal workflow show --workflow-id <id> --codec-endpoint ${endpoint}${token ? ` --codec-auth "Bearer $${args['token-env']}"` : ''}`);
    await new Promise<void>((resolveClosed) => {
      const stop = () => server.close(() => resolveClosed());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
});
