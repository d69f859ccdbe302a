// The file:// backend of BlobStore: one file per object under a root directory, with its sha256
// and size in a `<key>.sha256` file written last, so an object exists once its checksum does.
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertSafeKey, ChecksumMismatchError, DEFAULT_MAX_BYTES, keyUnderRoot, NotFoundError, ObjectTooLargeError, sha256, uriUnderRoot, type BlobStore, type PutResult } from './blob-store.js';
import { keyProblem } from './keys.js';

const CHECKSUM_SUFFIX = '.sha256';

export class FileStore implements BlobStore {
  readonly root: string;
  private readonly dir: string;

  constructor(rootUri: string) {
    this.dir = resolve(fileURLToPath(rootUri));
    this.root = pathToFileURL(this.dir).href;
  }

  uri(key: string): string {
    return uriUnderRoot(this.root, key);
  }

  keyOf(uri: string): string {
    return keyUnderRoot(this.root, uri);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.dir, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array): Promise<PutResult> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const digest = sha256(data);
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
    // The checksum file is written last: it is the commit marker of the object.
    const tmpSum = `${tmp}${CHECKSUM_SUFFIX}`;
    await writeFile(tmpSum, `${digest} ${data.byteLength}\n`);
    await rename(tmpSum, `${path}${CHECKSUM_SUFFIX}`);
    return { uri: this.uri(key), key, sha256: digest, size: data.byteLength };
  }

  async head(key: string): Promise<{ sha256: string; size: number } | null> {
    try {
      const text = await readFile(`${this.path(key)}${CHECKSUM_SUFFIX}`, 'utf8');
      const [digest, size] = text.trim().split(' ');
      if (!digest || !/^[0-9a-f]{64}$/.test(digest) || !size) return null;
      return { sha256: digest, size: Number(size) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const path = this.path(key);
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const meta = await this.head(key);
    if (!meta) throw new NotFoundError(`${this.uri(key)} does not exist (or was never committed)`);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new NotFoundError(`${this.uri(key)} has a checksum but no data`);
    }
    if (info.size > maxBytes) throw new ObjectTooLargeError(`${this.uri(key)} is ${info.size} bytes, limit ${maxBytes}`);
    const data = new Uint8Array(await readFile(path));
    const digest = sha256(data);
    if (digest !== meta.sha256) {
      throw new ChecksumMismatchError(`${this.uri(key)}: sha256 ${digest} does not match recorded ${meta.sha256}`, {
        key,
        expectedSha256: meta.sha256,
        actualSha256: digest,
        bytes: data,
      });
    }
    return data;
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(`${path}${CHECKSUM_SUFFIX}`, { force: true });
    await rm(path, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const trimmed = prefix.replace(/\/+$/, '');
    const base = trimmed ? this.path(trimmed) : this.dir;
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name.endsWith(CHECKSUM_SUFFIX) && !entry.name.includes('.tmp-')) {
          const key = relative(this.dir, full.slice(0, -CHECKSUM_SUFFIX.length)).split(sep).join('/');
          if (keyProblem(key) === undefined) out.push(key); // else a foreign file no key can address
        }
      }
    };
    await walk(base);
    return out.sort();
  }
}
