// Work ledger: an append-only record of the expensive work a process actually did (images
// sampled, training steps run, generators fitted), so tests can check that crashes, restarts and
// reruns do not redo finished work. Enabled only when SYNTHSCALE_WORK_LEDGER names a directory;
// each process appends JSON lines to `<dir>/<pid>.jsonl` with appendFileSync, so a kill -9 loses
// at most the unit of work in progress (and at worst leaves one torn last line, which readLedger skips).
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const WORK_LEDGER_ENV = 'SYNTHSCALE_WORK_LEDGER';

export type WorkKind = 'images' | 'train-steps' | 'generator-fit';

export interface WorkEntry {
  kind: WorkKind;
  /** What the work was for: a shard key, a cell prefix, a generator key. */
  key: string;
  /** Half-open range [from, to) of units done (images: offsets within the shard; steps: step numbers). */
  from: number;
  to: number;
  /** The Temporal activity attempt that did the work. */
  attempt: number;
}

export interface LedgerEntry extends WorkEntry {
  pid: number;
  /** ISO timestamp. */
  time: string;
}

const KINDS: readonly WorkKind[] = ['images', 'train-steps', 'generator-fit'];
const preparedDirs = new Set<string>();

/** The ledger directory from the environment, or null when the ledger is off. */
export function ledgerDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env[WORK_LEDGER_ENV];
  return dir && dir.trim() ? dir : null;
}

/** Append one entry (synchronously) when the ledger is enabled; a no-op otherwise. */
export function recordWork(entry: WorkEntry): void {
  const dir = ledgerDir();
  if (!dir) return;
  if (!preparedDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    preparedDirs.add(dir);
  }
  const line: LedgerEntry = {
    kind: entry.kind,
    key: entry.key,
    from: entry.from,
    to: entry.to,
    attempt: entry.attempt,
    pid: process.pid,
    time: new Date().toISOString(),
  };
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
}

function isLedgerEntry(value: unknown): value is LedgerEntry {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.kind === 'string' &&
    (KINDS as readonly string[]).includes(v.kind) &&
    typeof v.key === 'string' &&
    Number.isFinite(v.from) &&
    Number.isFinite(v.to) &&
    Number.isInteger(v.attempt) &&
    Number.isInteger(v.pid) &&
    typeof v.time === 'string'
  );
}

/** Every entry of every process's file in `dir` (files in name order, lines in file order); torn or malformed lines are skipped. */
export function readLedger(dir: string): LedgerEntry[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.jsonl')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: LedgerEntry[] = [];
  for (const file of files) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (isLedgerEntry(parsed)) out.push(parsed);
      } catch {
        // A torn last line from a killed process.
      }
    }
  }
  return out;
}

/** Total units (sum of to - from) of the entries matching a filter. */
export function totalWork(entries: readonly LedgerEntry[], filter: Partial<Pick<LedgerEntry, 'kind' | 'key' | 'attempt' | 'pid'>> = {}): number {
  let total = 0;
  for (const e of entries) {
    if (filter.kind !== undefined && e.kind !== filter.kind) continue;
    if (filter.key !== undefined && e.key !== filter.key) continue;
    if (filter.attempt !== undefined && e.attempt !== filter.attempt) continue;
    if (filter.pid !== undefined && e.pid !== filter.pid) continue;
    total += e.to - e.from;
  }
  return total;
}
