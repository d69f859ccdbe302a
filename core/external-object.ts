// Reading objects the sweep did not write (a lab's img2dataset shards): by URI, size-capped before
// anything is buffered, with no checksum sidecar to verify against (callers hash what they read).
import { lstat, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NotFoundError, ObjectTooLargeError } from './blob-store.js';

export class ExternalUriError extends Error {
  readonly code = 'E_EXTERNAL_URI';
}

/** The bytes at a file:// or gs:// URI; refuses more than maxBytes, links and non-files. */
export async function readExternalObject(uri: string, opts: { maxBytes: number }): Promise<Uint8Array> {
  if (uri.startsWith('file://')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new ExternalUriError(`${uri}: not a usable file:// URI (${(err as Error).message}); write file:///absolute/path`);
    }
    const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new NotFoundError(`${uri} does not exist`);
      throw err;
    });
    if (!info.isFile()) throw new ExternalUriError(`${uri} is not a regular file (links and devices are refused)`);
    if (info.size > opts.maxBytes) throw new ObjectTooLargeError(`${uri} is ${info.size} bytes, over the limit of ${opts.maxBytes}`);
    return new Uint8Array(await readFile(path));
  }
  if (uri.startsWith('gs://')) {
    const { readGcsObject } = await import('./gcs-client.js');
    return readGcsObject(uri, opts);
  }
  throw new ExternalUriError(`${uri}: unsupported scheme; use file:// or gs://`);
}

const MAX_EXPANDED = 100_000;

/**
 * WebDataset-style brace expansion: "{00000..00099}" is a zero-padded numeric range (width from the
 * first bound), "{a,b}" a list; several braces expand as a product. Capped at 100,000 names.
 */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) {
    if (pattern.includes('}')) throw new ExternalUriError(`${pattern}: unbalanced '}'`);
    return [pattern];
  }
  const close = pattern.indexOf('}', open);
  if (close < 0) throw new ExternalUriError(`${pattern}: unbalanced '{'`);
  const body = pattern.slice(open + 1, close);
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  let options: string[];
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new ExternalUriError(`${pattern}: range {${body}} runs backwards`);
    if (to - from + 1 > MAX_EXPANDED) throw new ExternalUriError(`${pattern}: range {${body}} names more than ${MAX_EXPANDED} shards`);
    const width = range[1]!.length;
    options = Array.from({ length: to - from + 1 }, (_, i) => String(from + i).padStart(width, '0'));
  } else if (body.includes(',')) {
    options = body.split(',');
  } else {
    throw new ExternalUriError(`${pattern}: {${body}} is neither a range like {00000..00099} nor a list like {a,b}`);
  }
  const head = pattern.slice(0, open);
  const tails = expandBraces(pattern.slice(close + 1));
  if (options.length * tails.length > MAX_EXPANDED) throw new ExternalUriError(`${pattern} names more than ${MAX_EXPANDED} shards`);
  return options.flatMap((o) => tails.map((t) => `${head}${o}${t}`));
}
