// Reading a sweep's usage records back, bounded: one listing, then records read a few at a time
// (each capped at MAX_USAGE_RECORD_BYTES) and handed to a fold one by one, so the caller never
// holds more than the fold keeps.
import type { BlobStore } from '../blob-store.js';
import { MAX_USAGE_RECORD_BYTES, parseUsageKey, parseUsageRecord, usagePrefix, type UsageRecord } from './record.js';

export const DEFAULT_MAX_USAGE_RECORDS = 200_000;

export interface ReadUsageOptions {
  /**
   * Only records of attempts started at or after this (epoch ms): one execution of the sweep,
   * since reruns reuse its workflow id. Default: the last first attempt of `executionStart`.
   */
  since?: number;
  /** The activity type every execution of the sweep starts with (its first attempt marks the start). */
  executionStart?: string;
  maxRecords?: number;
  concurrency?: number;
  /** Called every few hundred records (report activities heartbeat with it). */
  onProgress?: (read: number, of: number) => void;
}

export interface ReadUsageSummary {
  /** The start of the execution read (epoch ms), or null when every record was read. */
  since: number | null;
  /** Records in the execution, and how many of them were read and folded. */
  found: number;
  read: number;
  /** More records than maxRecords: the rest were not read. */
  truncated: boolean;
  /** Records that could not be read or are malformed, and the first few reasons. */
  skipped: number;
  problems: string[];
}

/** The start of the sweep's latest execution: the last first attempt of `executionStart` in the listing. */
function latestExecutionStart(keys: readonly string[], executionStart: string | undefined): number | null {
  if (!executionStart) return null;
  let latest: number | null = null;
  for (const key of keys) {
    const parsed = parseUsageKey(key);
    if (parsed && parsed.activityType === executionStart && parsed.attempt === 1 && (latest === null || parsed.startedAt > latest)) latest = parsed.startedAt;
  }
  return latest;
}

export async function forEachUsageRecord(
  store: BlobStore,
  workflowId: string,
  options: ReadUsageOptions,
  onRecord: (record: UsageRecord) => void,
): Promise<ReadUsageSummary> {
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_USAGE_RECORDS;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const listed = (await store.list(`${usagePrefix(workflowId)}/`)).flatMap((key) => {
    const parsed = parseUsageKey(key);
    return parsed ? [{ key, startedAt: parsed.startedAt }] : [];
  });
  const since = options.since ?? latestExecutionStart(listed.map((k) => k.key), options.executionStart);
  const inExecution = listed.filter((k) => since === null || k.startedAt >= since).sort((a, b) => a.startedAt - b.startedAt || (a.key < b.key ? -1 : 1));
  const chosen = inExecution.slice(0, maxRecords);
  const summary: ReadUsageSummary = { since, found: inExecution.length, read: 0, truncated: inExecution.length > chosen.length, skipped: 0, problems: [] };
  const skip = (key: string, why: string) => {
    summary.skipped++;
    if (summary.problems.length < 5) summary.problems.push(`${key}: ${why.slice(0, 200)}`);
  };
  const decoder = new TextDecoder();
  for (let i = 0; i < chosen.length; i += concurrency) {
    const batch = chosen.slice(i, i + concurrency);
    const texts = await Promise.all(
      batch.map(({ key }) =>
        store.get(key, { maxBytes: MAX_USAGE_RECORD_BYTES }).then(
          (bytes) => ({ key, text: decoder.decode(bytes) }),
          (err: unknown) => ({ key, error: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
    for (const item of texts) {
      if ('error' in item) {
        skip(item.key, item.error);
        continue;
      }
      let parsed: UsageRecord | string;
      try {
        parsed = parseUsageRecord(JSON.parse(item.text));
      } catch {
        parsed = 'not JSON';
      }
      if (typeof parsed === 'string') skip(item.key, parsed);
      else {
        summary.read++;
        onRecord(parsed);
      }
    }
    if (options.onProgress && Math.floor((i + batch.length) / 256) > Math.floor(i / 256)) options.onProgress(i + batch.length, chosen.length);
  }
  return summary;
}
