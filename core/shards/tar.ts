// Tar for shards: a byte-reproducible writer, and one reader of untrusted archives that both shard
// layouts use (webdataset.ts: ours, `{key}.png` + `{key}.json`; pairs.ts: img2dataset's). The
// reader holds the checks every layout needs: empty, gzip and non-tar bytes; links, devices and
// other non-files; entry, sample and size caps (the size as tar-stream reads it: ustar, PAX or
// base-256), also counted while streaming; duplicate files of a key; archives cut short; names
// escaped and capped in every message. A layout says which names it reads, and in what words.
import tar from 'tar-stream';

export class ShardFormatError extends Error {
  readonly code = 'E_SHARD_FORMAT';
  constructor(
    readonly shard: string,
    readonly key: string | undefined,
    message: string,
  ) {
    // Names come from the shard (untrusted): control characters escaped and lengths capped, so an
    // error never carries raw bytes or megabytes of name into logs and workflow histories.
    super(`${shard}${key ? ` [${shownText(key, 160)}]` : ''}: ${shownText(message, 1000)}`);
  }
}

/** Text for a message: control characters as \uXXXX, at most `max` characters (then its length). */
function shownText(text: string, max: number): string {
  const escaped = text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}... (${escaped.length} characters)` : escaped;
}

/** An entry name as shown in an error: JSON-quoted (control characters escaped), at most 100 characters. */
export function entryLabel(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}...` : name) + (name.length > 100 ? ` (${name.length} characters)` : '');
}

const MAX_NAME_LENGTH = 256;

/** Why a name is unsafe whatever the entry is (nothing is extracted to disk, but such names mark a hostile tar). */
export function unsafeName(raw: string): string | undefined {
  if (raw.length > MAX_NAME_LENGTH) return `name longer than ${MAX_NAME_LENGTH} characters`;
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return 'absolute path';
  if (raw.includes('\\')) return 'backslash in name';
  if (raw.split('/').includes('..')) return 'path traversal ("..")';
  return undefined;
}

const FIXED_MTIME = new Date(0);

/** A tar of `entries` in the order given, each stamped with a fixed mtime and owner: same files, same bytes. */
export async function packTar(entries: readonly { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  return packTarDirect(entries) ?? packTarStream(entries);
}

/** packTar through tar-stream (any name: long or non-ASCII ones get PAX headers). */
export async function packTarStream(entries: readonly { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolveDone, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolveDone());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: entry.name, size: entry.data.byteLength, mtime: FIXED_MTIME, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' },
        Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * The bytes tar-stream writes for these entries (its ustar header encoding for a regular file:
 * mode 0644, owner 0, mtime 0, no user or group names; the data, zero-padded to 512 bytes; two
 * zero blocks), written directly: a shard's thousands of entries cost a copy each instead of a
 * stream round trip. Null when a name needs more than a plain ustar header (longer than 100
 * bytes, non-ASCII) or a size more than 11 octal digits: packTarStream handles those.
 */
export function packTarDirect(entries: readonly { name: string; data: Uint8Array }[]): Uint8Array | null {
  let size = 1024;
  for (const { name, data } of entries) {
    if (name.length === 0 || name.length > 100 || !/^[\x20-\x7e]*$/.test(name) || data.byteLength >= 8 ** 11) return null;
    size += 512 + Math.ceil(data.byteLength / 512) * 512;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const { name, data } of entries) {
    writeUstarHeader(out, offset, name, data.byteLength);
    out.set(data, offset + 512);
    offset += 512 + Math.ceil(data.byteLength / 512) * 512;
  }
  return out;
}

/** tar-stream's headers.encode for a regular file of `size` bytes named `name` (ASCII, <= 100 bytes). */
function writeUstarHeader(out: Uint8Array, at: number, name: string, size: number): void {
  const put = (text: string, offset: number) => {
    for (let i = 0; i < text.length; i++) out[at + offset + i] = text.charCodeAt(i);
  };
  const oct = (value: number, digits: number) => `${value.toString(8).padStart(digits, '0')} `;
  put(name, 0);
  put(oct(0o644, 6), 100);
  put(oct(0, 6), 108);
  put(oct(0, 6), 116);
  put(oct(size, 11), 124);
  put(oct(0, 11), 136);
  put('0', 156);
  put('ustar\u000000', 257);
  put(oct(0, 6), 329);
  put(oct(0, 6), 337);
  // The checksum counts its own 8 bytes as spaces.
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += out[at + i]!;
  put(oct(sum, 6), 148);
}

/** A regular file the layout reads: file `part` of sample `key`, at most `maxBytes` bytes. */
export interface TarEntryPlan {
  key: string;
  part: string;
  maxBytes: number;
}

/** A file read, with the layout's plan for it. */
export interface TarPart<P extends TarEntryPlan> {
  plan: P;
  data: Uint8Array;
}

/** How a shard layout names its files, and the messages that are in its own words. */
export interface TarLayout<P extends TarEntryPlan> {
  /** Said after "gzip-compressed; expected an uncompressed tar". */
  gzipNote: string;
  /** An entry's name as messages show it, and the error's key for refusals of a whole entry. */
  label(name: string): string;
  maxSamples: number;
  /** Tar entries of any kind, skipped ones included; unbounded when absent. */
  maxEntries?: number;
  /** Skip directories (counted as "dir") unless their name is unsafe; otherwise they are refused as non-files. */
  skipDirectories?: boolean;
  /** Refuse an archive that stops at an entry boundary, without the two zero blocks that end a tar. */
  requireEndMarker?: boolean;
  /**
   * When the archive ends early, call the last entry cut short while its stream has not ended (the
   * img2dataset reader's rule, kept for its messages) instead of only when its data is incomplete.
   */
  cutShortWhileOpen?: boolean;
  /** A regular file by its name: read it, skip it (counted under `skip`), or refuse it (the reason). */
  classify(name: string, label: string): P | { skip: string } | { refuse: string };
  /** Refusal of a link, device, fifo, ... (keyed by the label). */
  notAFile(label: string, type: string): string;
  /** Start of the message for an entry whose data is cut short (the cause follows in parentheses). */
  cutShort(label: string): string;
  /** Refusal of a file declaring `size` bytes, over plan.maxBytes (keyed by the sample key). */
  tooBig(plan: P, label: string, size: number): string;
  /** Refusal of a second file for a part the key already has. */
  duplicate(plan: P, label: string, first: TarPart<P>): string;
}

export interface TarContents<P extends TarEntryPlan> {
  /** Each key's files by part, keys in the order first seen. */
  groups: Map<string, Map<string, TarPart<P>>>;
  /** Entries skipped, by what `classify` said ("dir" for directories). */
  skipped: Record<string, number>;
}

const TAR_BLOCK = 512;

/** Parse an untrusted tar into files grouped by key; every refusal is a ShardFormatError naming `shard`. */
export async function readTar<P extends TarEntryPlan>(bytes: Uint8Array, shard: string, layout: TarLayout<P>): Promise<TarContents<P>> {
  if (bytes.byteLength === 0) throw new ShardFormatError(shard, undefined, 'empty file, not a tar archive');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw new ShardFormatError(shard, undefined, `gzip-compressed; expected an uncompressed tar${layout.gzipNote}`);
  const contents: TarContents<P> = { groups: new Map(), skipped: {} };
  const dataEnd = await extractEntries(bytes, shard, layout, contents);
  // tar-stream accepts an archive that stops at an entry boundary; a whole tar ends with two zero blocks.
  const tail = bytes.subarray(Math.max(dataEnd, bytes.byteLength - 2 * TAR_BLOCK));
  if (layout.requireEndMarker && (bytes.byteLength - dataEnd < 2 * TAR_BLOCK || tail.some((b) => b !== 0))) {
    throw new ShardFormatError(shard, undefined, `truncated tar: no end-of-archive marker after the last entry (${bytes.byteLength} bytes)`);
  }
  return contents;
}

type Verdict<P extends TarEntryPlan> = { key: string; refuse: string } | { skip: string } | { plan: P; group: Map<string, TarPart<P>> };

/** What to do with one entry, by the layout's rules and the caps; a file to read has its key's group registered. */
function judgeEntry<P extends TarEntryPlan>(header: tar.Header, label: string, layout: TarLayout<P>, groups: TarContents<P>['groups']): Verdict<P> {
  if (layout.skipDirectories && header.type === 'directory') {
    const unsafe = unsafeName(header.name);
    return unsafe ? { key: label, refuse: `entry "${header.name}" refused: ${unsafe}` } : { skip: 'dir' };
  }
  if (header.type !== 'file') return { key: label, refuse: layout.notAFile(label, String(header.type)) };
  const plan = layout.classify(header.name, label);
  if ('refuse' in plan) return { key: label, refuse: plan.refuse };
  if ('skip' in plan) return plan;
  const declared = header.size ?? 0;
  if (declared > plan.maxBytes) return { key: plan.key, refuse: layout.tooBig(plan, label, declared) };
  const group = groups.get(plan.key) ?? new Map<string, TarPart<P>>();
  const first = group.get(plan.part);
  if (first) return { key: plan.key, refuse: layout.duplicate(plan, label, first) };
  if (!groups.has(plan.key) && groups.size >= layout.maxSamples) return { key: plan.key, refuse: `more than ${layout.maxSamples} samples` };
  groups.set(plan.key, group);
  return { plan, group };
}

/**
 * Stream the entries through the layout into `contents`; resolves to where the last entry's data
 * (padded to a block) ends, where an end-of-archive marker must follow.
 */
function extractEntries<P extends TarEntryPlan>(bytes: Uint8Array, shard: string, layout: TarLayout<P>, contents: TarContents<P>): Promise<number> {
  const { groups, skipped } = contents;
  return new Promise<number>((resolveDone, reject) => {
    const extract = tar.extract();
    let failed = false;
    let entries = 0;
    let last: string | undefined;
    /** The entry whose stream has not ended yet, if any. */
    let open: string | undefined;
    /** Where the last entry's data ends (unpadded): a tar that ends before it is cut inside that entry. */
    let lastDataEnd = 0;
    let dataEnd = 0;
    const fail = (key: string | undefined, message: string) => {
      if (failed) return;
      failed = true;
      reject(new ShardFormatError(shard, key, message));
      extract.destroy();
    };
    extract.on('entry', (header, stream, next) => {
      const label = layout.label(header.name);
      stream.on('error', (err: Error) => fail(label, `${layout.cutShort(label)} (${err.message})`));
      if (failed) return void stream.resume();
      last = label;
      open = label;
      stream.on('end', () => {
        open = undefined;
      });
      const declared = header.size ?? 0;
      const accept = () => {
        const offset = (header as { byteOffset?: number }).byteOffset;
        if (offset === undefined) return;
        lastDataEnd = offset + declared;
        dataEnd = offset + Math.ceil(declared / TAR_BLOCK) * TAR_BLOCK;
      };
      const skip = (what: string) => {
        accept();
        skipped[what] = (skipped[what] ?? 0) + 1;
        stream.on('end', () => next());
        stream.resume();
      };
      if (layout.maxEntries !== undefined && ++entries > layout.maxEntries) return fail(label, `more than ${layout.maxEntries} tar entries`);
      const verdict = judgeEntry(header, label, layout, groups);
      if ('refuse' in verdict) return fail(verdict.key, verdict.refuse);
      if ('skip' in verdict) return skip(verdict.skip);
      const { plan, group } = verdict;
      const { key, part, maxBytes } = plan;
      accept();
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        if (failed) return;
        const chunk = data as Buffer;
        size += chunk.length;
        // Defensive: tar-stream delimits entries by the declared size, so this cannot trip today.
        if (size > maxBytes || size > declared) return fail(key, `entry ${label} streams more than ${Math.min(declared, maxBytes)} bytes`);
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (failed) return;
        group.set(part, { plan, data: new Uint8Array(Buffer.concat(chunks, size)) });
        next();
      });
    });
    extract.on('finish', () => {
      if (!failed) resolveDone(dataEnd);
    });
    extract.on('error', (err: Error) => {
      const cut = layout.cutShortWhileOpen ? open : last && lastDataEnd > bytes.byteLength ? last : undefined;
      if (cut) fail(cut, `${layout.cutShort(cut)} (${err.message})`);
      else fail(last, last ? `truncated or corrupt tar after entry ${last} (${err.message})` : `not a tar archive (${err.message})`);
    });
    extract.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
