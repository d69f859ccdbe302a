// Reading objects the sweep did not write (a lab's img2dataset shards): by URI, size-capped before
// anything is buffered, with no checksum sidecar to verify against (callers hash what they read).
import { lstat, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NotFoundError, ObjectTooLargeError } from './blob-store.js';
import { BraceError, expandBraces as expandPattern } from './shards/brace.js';

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

/**
 * WebDataset-style brace expansion (shards/brace.ts): "{00000..00099}" is a zero-padded numeric
 * range, "{a,b}" a list, several braces a product; at most MAX_SHARDS (100,000) names, counted
 * before any is made. Problems are ExternalUriErrors.
 */
export function expandBraces(pattern: string): string[] {
  try {
    return expandPattern(pattern);
  } catch (err) {
    if (err instanceof BraceError) throw new ExternalUriError(err.message);
    throw err;
  }
}
