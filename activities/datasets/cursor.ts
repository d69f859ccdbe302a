// The import's progress as a heartbeat cursor: the splits done and the one in progress (where its
// stream resumes, the shards written so far, the fingerprint chain, counts and skips), always as of
// the last shard written, so a resumed attempt continues exactly where that shard ended. Heartbeat
// details come back from the server, so they are validated like any input; a cursor that does not
// fit this import (another listing, shards gone or changed) is ignored and the import starts over.
import type { ShardRecord } from '../../core/shards/manifest.js';
import type { BlobStore } from '../../core/storage.js';
import { shownName } from '../../core/datasets/imagefolder.js';
import type { ResumePoint } from './sources.js';

export const CURSOR_FORMAT = 'dataset-import-cursor-1';
/** Examples kept per reason, and in all. */
const EXAMPLES_PER_REASON = 3;
const MAX_EXAMPLES = 12;

export interface SkipExample {
  item: string;
  reason: string;
  /** What was wrong, bounded and escaped. */
  detail: string;
}

export interface SkipTally {
  count: number;
  byReason: Record<string, number>;
  examples: SkipExample[];
}

export interface SplitProgress {
  split: string;
  next: ResumePoint;
  /** Inputs read (skipped ones included). */
  inputs: number;
  count: number;
  classCounts: number[];
  shards: ShardRecord[];
  chain: string;
  skipped: SkipTally;
}

export interface ImportCursor {
  format: typeof CURSOR_FORMAT;
  listingKey: string;
  done: SplitProgress[];
  current: SplitProgress | null;
}

export function emptyTally(): SkipTally {
  return { count: 0, byReason: {}, examples: [] };
}

export function addSkip(tally: SkipTally, item: string, reason: string, detail: string): void {
  tally.count++;
  const n = (tally.byReason[reason] = (tally.byReason[reason] ?? 0) + 1);
  if (n <= EXAMPLES_PER_REASON && tally.examples.length < MAX_EXAMPLES) tally.examples.push({ item: shownName(item, 200), reason, detail: shownName(detail, 300) });
}

/** Several tallies as one (examples bounded as in one). */
export function mergeTallies(tallies: SkipTally[]): SkipTally {
  const out = emptyTally();
  for (const t of tallies) {
    out.count += t.count;
    for (const [r, n] of Object.entries(t.byReason)) out.byReason[r] = (out.byReason[r] ?? 0) + n;
  }
  const perReason = new Map<string, number>();
  for (const e of tallies.flatMap((t) => t.examples)) {
    const n = (perReason.get(e.reason) ?? 0) + 1;
    perReason.set(e.reason, n);
    if (n <= EXAMPLES_PER_REASON && out.examples.length < MAX_EXAMPLES) out.examples.push(e);
  }
  return out;
}

export function freshSplit(split: string, classes: number, chain: string): SplitProgress {
  return { split, next: { unit: 0, within: 0 }, inputs: 0, count: 0, classCounts: new Array<number>(classes).fill(0), shards: [], chain, skipped: emptyTally() };
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function validSplit(v: unknown, classes: number): v is SplitProgress {
  const s = v as Partial<SplitProgress> | null;
  if (!s || typeof s.split !== 'string' || !s.next || !isInt(s.next.unit) || !isInt(s.next.within)) return false;
  if (!isInt(s.inputs) || !isInt(s.count) || typeof s.chain !== 'string' || !/^[0-9a-f]{64}$/.test(s.chain)) return false;
  if (!Array.isArray(s.classCounts) || s.classCounts.length !== classes || !s.classCounts.every(isInt)) return false;
  if (s.classCounts.reduce((a, b) => a + b, 0) !== s.count) return false;
  if (!Array.isArray(s.shards) || s.shards.reduce((n, r) => n + (isInt(r?.samples) ? r.samples : NaN), 0) !== s.count) return false;
  if (!s.shards.every((r) => typeof r.uri === 'string' && /^[0-9a-f]{64}$/.test(r.sha256) && isInt(r.bytes) && isInt(r.firstIndex))) return false;
  const k = s.skipped;
  if (!k || !isInt(k.count) || !k.byReason || typeof k.byReason !== 'object' || !Array.isArray(k.examples) || k.examples.length > MAX_EXAMPLES) return false;
  const counts = Object.values(k.byReason);
  if (!counts.every(isInt) || counts.reduce((a, b) => a + b, 0) !== k.count) return false;
  const text = (v: unknown, max: number) => typeof v === 'string' && v.length <= max;
  return k.examples.every((e) => text(e?.item, 300) && text(e?.reason, 40) && text(e?.detail, 400));
}

/**
 * The cursor in heartbeat details when it belongs to this import (same listing key, splits in the
 * same order, every shard it lists still in the store with its checksum); else null.
 */
export async function usableCursor(value: unknown, listingKey: string, splits: readonly string[], classes: number, store: BlobStore): Promise<ImportCursor | null> {
  const c = value as Partial<ImportCursor> | null | undefined;
  if (!c || c.format !== CURSOR_FORMAT || c.listingKey !== listingKey || !Array.isArray(c.done)) return null;
  const all = c.current ? [...c.done, c.current] : c.done;
  if (all.length > splits.length || !all.every((s, i) => validSplit(s, classes) && s.split === splits[i])) return null;
  for (const record of all.flatMap((s) => s.shards)) {
    let key: string;
    try {
      key = store.keyOf(record.uri);
    } catch {
      return null;
    }
    if (!key.startsWith(`datasets/imports/${listingKey}/`) || (await store.head(key))?.sha256 !== record.sha256) return null;
  }
  // A copy: the import advances it in place, while the caller may still heartbeat the original.
  return structuredClone({ format: CURSOR_FORMAT, listingKey, done: c.done, current: c.current ?? null });
}
