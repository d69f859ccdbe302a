// The plan's check of real-pairs sources with shards of their own: before any work, each source's
// shard set is looked up whole (missing shards, links, shards over maxShardBytes) and read in order
// as far as the import will read it (the sweep's largest N), counting samples from tar headers,
// captions and image headers without decoding an image (core/shards/check.ts). A bad set fails the
// sweep at once, without retries, naming the shard and the fix. Read-only, so planning stays
// idempotent; failures to read (network, I/O) are retried like any other.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { imagesNeeded } from '../../contracts/grid.js';
import type { RealPairsSourceSpec, SweepSpec } from '../../contracts/spec/sweep.js';
import { expandShardPatterns } from '../../core/shards/brace.js';
import { checkShardSet, problemLine, type ShardAccess, type ShardSetReport } from '../../core/shards/check.js';

/** Problems listed in one failure message; the rest are counted. */
const SHOWN_PROBLEMS = 5;

export interface RealPairsCheckOptions {
  access?: ShardAccess;
  /** Shards read at once per source (default 4). */
  concurrency?: number;
}

export interface RealPairsCheck {
  source: string;
  shards: number;
  shardsRead: number;
  samplesCounted: number;
  needed: number;
}

/** Heartbeat when running as an activity (the plan's unit tests call it directly). */
function beat(details: unknown): void {
  try {
    Context.current();
  } catch {
    return;
  }
  heartbeat(details);
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FAILURE_TYPES.invalidInput);

/** Check every real-pairs source that names shards; throws a non-retryable InvalidInput on the first bad set. */
export async function checkRealPairsSources(spec: SweepSpec, opts: RealPairsCheckOptions = {}): Promise<RealPairsCheck[]> {
  const checks: RealPairsCheck[] = [];
  for (const [index, source] of spec.sources.entries()) {
    if (source.kind !== 'real-pairs' || !source.shards) continue;
    checks.push(await checkSource(spec, source, `sources.${index}.shards`, opts));
  }
  return checks;
}

async function checkSource(spec: SweepSpec, source: RealPairsSourceSpec, field: string, opts: RealPairsCheckOptions): Promise<RealPairsCheck> {
  const where = `source '${source.name}' (${field})`;
  let uris: string[];
  try {
    uris = expandShardPatterns(source.shards ?? []);
  } catch (err) {
    throw invalid(`${where}: ${(err as Error).message}`);
  }
  const needed = imagesNeeded(spec, source.name);
  const report = await checkShardSet(uris, {
    layout: 'img2dataset',
    samplesNeeded: needed,
    // The import groups a shard's entries by key, so their order does not matter to it.
    requireKeyOrder: false,
    maxShardBytes: source.maxShardBytes,
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.access ? { access: opts.access } : {}),
    onProgress: (p) => beat({ checkingSource: source.name, ...p }),
  });
  if (!report.ok) throw invalid(failureMessage(where, report));
  if (report.totalSamples < needed) {
    throw invalid(
      `${where} has ${report.totalSamples} usable pairs in its ${uris.length} shards, but the sweep needs ${needed} (its largest size): add shards, or lower sizes`,
    );
  }
  return { source: source.name, shards: uris.length, shardsRead: report.shards.filter((s) => s.status === 'ok').length, samplesCounted: report.totalSamples, needed };
}

/** The problems, with the fix for their kind: missing shards, and shards the import would refuse. */
function failureMessage(where: string, report: ShardSetReport): string {
  const lines = report.problems.slice(0, SHOWN_PROBLEMS).map(problemLine);
  const more = report.problems.length > SHOWN_PROBLEMS ? `; and ${report.problems.length - SHOWN_PROBLEMS} more` : '';
  const fixes = [
    report.missing.length > 0 ? 'list only shards that exist (or upload the missing ones)' : undefined,
    report.shards.some((s) => s.status === 'bad') ? 'rewrite or drop the bad shards (`synthscale shards check <shards>` lists every problem)' : undefined,
  ].filter(Boolean);
  return `${where}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in its shards: ${lines.join('; ')}${more}. Fix: ${fixes.join('; ')}`;
}
