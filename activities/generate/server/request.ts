// Requests and responses of the generator server: bodies read under a cap (413), field readers
// that answer a wrong type or range with a 400 naming the field, and errors as JSON in each API's
// own shape. String lengths count code points, as JSON Schema's maxLength does.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Past this much of an oversized body, stop draining it and drop the connection. */
const DRAIN_FACTOR = 16;

export type ErrorStyle = 'a1111' | 'openai' | 'plain';

export class RequestError extends Error {
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

export function errorBody(style: ErrorStyle, status: number, message: string): unknown {
  if (style === 'openai') return { error: { message, type: ERROR_TYPES[status] ?? 'error', param: null, code: null } };
  if (style === 'a1111') return { error: status === 404 ? 'Not Found' : 'HTTPException', detail: message };
  return { error: message };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** The request body, rejected with 413 as soon as it passes `cap` (the excess is drained, then dropped). */
export function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
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

/** The body of a POST as a JSON object, or a RequestError (413 over `cap`, 400 when not an object). */
export async function readJsonObject(req: IncomingMessage, cap: number): Promise<Body> {
  const raw = await readBody(req, cap);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new RequestError(400, `body is not valid JSON (${(err as Error).message.slice(0, 100)})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RequestError(400, 'body must be a JSON object');
  return parsed as Body;
}

// Field readers: absent or null takes the default; a wrong type or range is a 400 naming the field.
export type Body = Record<string, unknown>;

export function intField(body: Body, key: string, fallback: number, min: number, max: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new RequestError(400, `${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

export function numberField(body: Body, key: string, fallback: number, min: number, max: number): number {
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

export function stringField(body: Body, key: string, fallback: string | undefined, maxChars: number): string {
  const v = body[key] ?? fallback;
  if (typeof v !== 'string') throw new RequestError(400, `${key} must be a string`);
  if (codePoints(v, maxChars) > maxChars) throw new RequestError(400, `${key} is longer than ${maxChars} characters`);
  return v;
}
