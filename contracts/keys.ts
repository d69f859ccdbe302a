// Storage keys and child workflow ids the orchestration builds: the one place their formats live.
// Pure string functions (no hashing), so workflow code can import them; content hashes are in
// plan.ts (sources) and cells.ts (cells and evaluations).
import { TASKS, type TaskName } from './tasks.js';

/**
 * A shard's file name under its source's prefix. A last, partial shard is named by its count, so
 * a sweep with a larger N (whose shard there is full) never takes it for its own.
 */
export function shardFileName(shard: number, count: number, shardSize: number): string {
  return `shard-${String(shard).padStart(6, '0')}${count < shardSize ? `-n${count}` : ''}.tar`;
}

/** A generated source's manifest for `images` images under its content prefix. */
export function manifestKey(sourceKey: string, images: number): string {
  return `${sourceKey}/manifest-n${images}.json`;
}

/** The content name of a source (its key's last segment): what its shards and manifest are labelled with, not the sweep's name for it. */
export function sourceContentName(sourceKey: string): string {
  return sourceKey.split('/').pop()!;
}

/** Child workflow ids are `<sweep workflow id>/<part>`, so a sweep's children group together in the UI. */
export function sourceWorkflowPart(source: string): string {
  return `source/${source}`;
}

export function cellWorkflowPart(cell: { source: string; task: TaskName; size: number; seed: number }): string {
  return `cell/${cell.source}/${TASKS[cell.task].cellIdPart(cell.size, cell.seed)}`;
}
