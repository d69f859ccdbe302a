// Reading an untrusted response body without ever buffering more than a cap of it.
import { redact } from './auth.js';
import { GeneratorHttpError } from './errors.js';

/**
 * The body as bytes, never buffering more than `cap` of it. Over the cap: rejects (or, with
 * truncate, returns the first `cap` bytes) and cancels the rest of the stream. `onData` is called
 * as each piece arrives (it restarts the idle deadline).
 */
export async function readCapped(res: Response, cap: number, where: string, opts: { truncate?: boolean; onData?: () => void } = {}): Promise<Uint8Array> {
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

/** A short, printable excerpt of an error body (JSON `detail`/`error.message` when present), secrets redacted. */
export function errorExcerpt(body: Uint8Array, secrets: readonly string[]): string {
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
  text = redact(text, secrets);
  text = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

