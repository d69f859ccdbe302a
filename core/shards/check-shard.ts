// One shard checked as it streams past: tar headers are parsed (tar-stream, the parser the
// importers use), captions and metadata read (they are small and capped), images only as far as
// their header (image-header.ts), so memory stays bounded by the caps whatever the shard's size.
// The first problem ends the scan: unreadable or truncated tar, an entry the layout refuses, a
// sample missing a member, an undecodable image header, a key out of order.
import tar from 'tar-stream';
import type { CheckLayout, EntryPlan } from './check-layouts.js';
import { ImageHeaderProbe } from './image-header.js';
import { printable } from '../text/printable.js';

export interface ShardProblem {
  /** The sample key or entry name the problem is at (escaped), when it is at one. */
  key?: string;
  /** What is wrong and, where there is one, the fix (escaped). */
  message: string;
}

export interface ShardScan {
  /** Complete samples read (an img2dataset sample with an empty caption is not counted: the import skips it). */
  samples: number;
  emptyCaptions: number;
  entries: number;
  skippedEntries: Record<string, number>;
  bytesRead: number;
  problem?: ShardProblem;
}

export interface ScanOptions {
  layout: CheckLayout;
  /** Keys must ascend through the shard (streaming WebDataset readers group consecutive entries). */
  requireKeyOrder: boolean;
  maxSamples: number;
  maxEntries: number;
  /** Images whose header claims more pixels are refused (the importer's cap). */
  maxPixels: number;
}

/** Untrusted text as shown (core/text/printable.ts): control, format and other invisible characters escaped, at most `max` characters. */
export function shown(text: string, max = 300): string {
  return printable(text, max);
}

/** An error of the source being read (I/O, network): not a verdict on the shard, so callers may retry. */
export class ShardReadError extends Error {
  readonly code = 'E_SHARD_READ';
}

class Refusal extends Error {
  constructor(
    readonly key: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

interface Group {
  parts: Map<string, string>;
  emptyCaption: boolean;
}

const TAR_BLOCK = 512;

/** Scan one shard's bytes as they arrive; resolves with the counts and the first problem, if any. */
export async function scanShard(source: AsyncIterable<Uint8Array>, opts: ScanOptions): Promise<ShardScan> {
  const scan: ShardScan = { samples: 0, emptyCaptions: 0, entries: 0, skippedEntries: {}, bytesRead: 0 };
  const state = new ScanState(scan, opts);
  const extract = tar.extract();
  const feed = feedExtract(source, extract, state);
  // Its failure is handled below, after the entries; until then it must not count as unhandled.
  feed.catch(() => undefined);
  try {
    await state.readEntries(extract);
    await feed;
    state.checkStart();
    state.checkEnd();
  } catch (err) {
    extract.destroy();
    await feed.catch(() => undefined);
    if (err instanceof ShardReadError) throw err;
    if (state.readError) throw state.readError;
    const refusal = err instanceof Refusal ? err : state.tarFailure(err as Error);
    scan.problem = { ...(refusal.key !== undefined ? { key: shown(refusal.key, 160) } : {}), message: shown(refusal.message, 1000) };
  }
  return scan;
}

/** Copy the source into the tar parser with backpressure; the parser is ended (or destroyed) whatever happens. */
async function feedExtract(source: AsyncIterable<Uint8Array>, extract: tar.Extract, state: ScanState): Promise<void> {
  const halted = () => state.stopped || (extract as unknown as { destroyed?: boolean }).destroyed === true;
  try {
    for await (const chunk of source) {
      if (halted()) break;
      state.sawBytes(chunk);
      if (!extract.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) && !halted()) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off('drain', done);
            extract.off('close', done);
            resolve();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
    }
  } catch (err) {
    state.readError = new ShardReadError((err as Error).message);
    extract.destroy(state.readError);
    throw state.readError;
  }
  if (!halted()) extract.end(undefined);
}

class ScanState {
  stopped = false;
  readError: ShardReadError | undefined;
  private head = new Uint8Array(0);
  private tail = new Uint8Array(0);
  private groups = new Map<string, Group>();
  private keys = 0;
  private previousKey: string | undefined;
  private lastLabel: string | undefined;
  /** Where the last entry's data ends, padded to its block: a file that ends before it cuts that entry short. */
  private dataEnd = 0;

  constructor(
    private readonly scan: ShardScan,
    private readonly opts: ScanOptions,
  ) {}

  sawBytes(chunk: Uint8Array): void {
    this.scan.bytesRead += chunk.byteLength;
    if (this.head.byteLength < 2) this.head = concat(this.head, chunk).slice(0, 2);
    // The last 1 KiB, where the end-of-archive blocks must be.
    const keep = 2 * TAR_BLOCK;
    this.tail = chunk.byteLength >= keep ? chunk.slice(chunk.byteLength - keep) : concat(this.tail, chunk).slice(-keep);
  }

  /** Refusals of the whole file, once it has been read: empty, gzip. */
  checkStart(): void {
    if (this.scan.bytesRead === 0) throw new Refusal(undefined, 'empty file, not a tar archive');
    if (this.head[0] === 0x1f && this.head[1] === 0x8b) throw new Refusal(undefined, 'gzip-compressed; expected an uncompressed tar');
  }

  /** After the last entry: the end-of-archive blocks are there, and every open sample is complete. */
  checkEnd(): void {
    const size = this.scan.bytesRead;
    if (size - this.dataEnd < 2 * TAR_BLOCK || this.tail.some((b) => b !== 0)) {
      throw new Refusal(undefined, `truncated tar: no end-of-archive marker after the last entry (${size} bytes)`);
    }
    for (const key of [...this.groups.keys()].sort()) this.finish(key);
  }

  tarFailure(err: Error): Refusal {
    if (this.scan.bytesRead >= 2 && this.head[0] === 0x1f && this.head[1] === 0x8b) return new Refusal(undefined, 'gzip-compressed; expected an uncompressed tar');
    if (this.scan.bytesRead === 0) return new Refusal(undefined, 'empty file, not a tar archive');
    const last = this.lastLabel;
    if (last && this.dataEnd > this.scan.bytesRead) return new Refusal(last, `truncated tar: ${last} is cut short (${err.message})`);
    return new Refusal(last, last ? `truncated or corrupt tar after entry ${last} (${err.message})` : `not a tar archive (${err.message})`);
  }

  async readEntries(extract: tar.Extract): Promise<void> {
    try {
      for await (const entry of extract) {
        const { header } = entry;
        const plan = this.judge(header);
        if (!plan) {
          entry.resume();
          continue;
        }
        await this.readEntry(entry, plan);
      }
    } catch (err) {
      this.stopped = true;
      throw err;
    }
  }

  /** The plan for an entry, undefined to skip it; refusals throw. */
  private judge(header: tar.Header): EntryPlan | undefined {
    const { layout } = this.opts;
    const label = layout.label(header.name);
    this.lastLabel = label;
    const offset = (header as { byteOffset?: number }).byteOffset ?? 0;
    const declared = header.size ?? 0;
    this.dataEnd = offset + Math.ceil(declared / TAR_BLOCK) * TAR_BLOCK;
    if (++this.scan.entries > this.opts.maxEntries) throw new Refusal(label, `more than ${this.opts.maxEntries} tar entries`);
    if (layout.skipDirectories && header.type === 'directory') return void this.skipped('dir');
    if (header.type !== 'file') throw new Refusal(label, layout.notAFile(label, String(header.type)));
    const plan = layout.classify(header.name);
    if ('refuse' in plan) throw new Refusal(label, plan.refuse);
    if ('skip' in plan) return void this.skipped(plan.skip);
    if (declared > plan.maxBytes) throw new Refusal(plan.key, layout.tooBig(plan, label, declared));
    this.enterKey(plan.key);
    const group = this.groups.get(plan.key)!;
    const first = group.parts.get(plan.part);
    if (first !== undefined) throw new Refusal(plan.key, layout.duplicate(plan, label, first));
    group.parts.set(plan.part, plan.ext);
    return plan;
  }

  private skipped(what: string): void {
    this.scan.skippedEntries[what] = (this.scan.skippedEntries[what] ?? 0) + 1;
  }

  /** A file of `key`: keys ascend when required (the previous sample is then complete), and are capped. */
  private enterKey(key: string): void {
    const previous = this.previousKey;
    if (previous !== undefined && key !== previous && this.opts.requireKeyOrder) {
      if (key < previous) {
        throw new Refusal(key, `sample key out of order: "${key}" comes after "${previous}"; WebDataset readers group consecutive entries by key, so write the tar with its entries sorted by name`);
      }
      this.finish(previous);
    }
    this.previousKey = key;
    if (!this.groups.has(key)) {
      if (++this.keys > this.opts.maxSamples) throw new Refusal(key, `more than ${this.opts.maxSamples} samples`);
      this.groups.set(key, { parts: new Map(), emptyCaption: false });
    }
  }

  /** A sample whose files are all read: complete, or the layout's message for what it lacks. */
  private finish(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    this.groups.delete(key);
    const missing = this.opts.layout.missing(new Set(group.parts.keys()), key);
    if (missing) throw new Refusal(key, missing);
    if (group.emptyCaption) this.scan.emptyCaptions++;
    else this.scan.samples++;
  }

  private async readEntry(entry: AsyncIterable<unknown>, plan: EntryPlan): Promise<void> {
    const label = this.lastLabel!;
    if (plan.kind === 'image') {
      const probe = new ImageHeaderProbe();
      for await (const chunk of entry) probe.push(chunk as Buffer);
      const result = probe.end();
      if ('error' in result) throw new Refusal(plan.key, `${label}: ${result.error}`);
      if (!this.opts.layout.imageFormats.has(result.format)) throw new Refusal(plan.key, `${label} is a ${result.format.toUpperCase()} image; this layout reads ${[...this.opts.layout.imageFormats].join(', ').toUpperCase()} only`);
      if (result.width * result.height > this.opts.maxPixels) {
        throw new Refusal(plan.key, `${label}: its header claims ${result.width}x${result.height} pixels, over the cap of ${this.opts.maxPixels} pixels`);
      }
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const verdict = plan.kind === 'caption' ? this.opts.layout.caption(bytes) : this.opts.layout.meta(bytes);
    if (verdict === 'empty') this.groups.get(plan.key)!.emptyCaption = true;
    else if (verdict) throw new Refusal(plan.key, verdict);
  }
}

/** The names of a shard's first `max` entries (to tell its layout), reading no further. */
export async function peekEntryNames(source: AsyncIterable<Uint8Array>, max: number): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  const state = new ScanState({ samples: 0, emptyCaptions: 0, entries: 0, skippedEntries: {}, bytesRead: 0 }, {} as ScanOptions);
  const feed = feedExtract(source, extract, state);
  feed.catch(() => undefined);
  try {
    for await (const entry of extract) {
      names.push(entry.header.name);
      if (names.length >= max) break;
      entry.resume();
    }
  } catch {
    // An unreadable shard: the scan says why.
  }
  state.stopped = true;
  extract.destroy();
  await feed.catch(() => undefined);
  return names;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
