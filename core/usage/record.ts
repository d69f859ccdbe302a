// One activity attempt's resource use, as the workers' usage interceptor (interceptor.ts) writes
// it to the store: times, CPU- and GPU-seconds, and counts the activity's result states. Records
// hold ids, names and numbers only: never inputs, results, secrets or error messages.
//
// Keys: usage/<root>/<startedAt>-<activityType>-a<attempt>-<hash>.json, where <root> is the
// sweep's workflow id (child workflows are `<root>/<part>`, contracts/keys.ts) and <hash> is over
// (workflow id, run id, activity id, attempt): one key per attempt, so rewriting it is idempotent.
// Start time, type and attempt are in the name, so a reader can pick one execution of a sweep
// (reruns reuse the workflow id) from the listing alone, before reading any record.
import { sha256Hex } from '../hash.js';
import { KEY_SEGMENT_PATTERN, MAX_SEGMENT_LENGTH } from '../keys.js';

export const USAGE_PREFIX = 'usage';
export const USAGE_RECORD_VERSION = 1;
/** A record is a few hundred bytes; anything larger is not one of ours. */
export const MAX_USAGE_RECORD_BYTES = 8 * 1024;

export type AttemptOutcome = 'completed' | 'failed' | 'cancelled';

export interface UsageRecord {
  v: typeof USAGE_RECORD_VERSION;
  /** The workflow that scheduled the activity: the sweep's (`<root>`) or a child's (`<root>/<part>`). */
  workflowId: string;
  activityType: string;
  activityId: string;
  /** Temporal's attempt number (1 = first try); failed and retried attempts each have a record. */
  attempt: number;
  taskQueue: string;
  /** Epoch milliseconds on the worker's clock. */
  startedAt: number;
  endedAt: number;
  /** The attempt's share of its worker process's CPU time (cpu-share.ts says how it is split). */
  cpuSeconds: number;
  /** GPUs held by the worker while the attempt ran (0 on a CPU worker). */
  gpus: number;
  /** Wall time x gpus: a GPU held is paid for whether its kernels are busy or not. */
  gpuSeconds: number;
  outcome: AttemptOutcome;
  /** The result said it came from the cache (no work redone). */
  cached?: boolean;
  /** Images the attempt produced or trained on (result fields, counts.ts). */
  images?: number;
  /** Training steps the attempt ran. */
  steps?: number;
}

/** The sweep a workflow id belongs to: the part before its first '/'. */
export function rootWorkflowId(workflowId: string): string {
  const slash = workflowId.indexOf('/');
  return slash < 0 ? workflowId : workflowId.slice(0, slash);
}

/** The sweep's folder under usage/: its workflow id when that is a safe key segment, else a safe form plus a hash. */
export function usagePrefix(workflowId: string): string {
  const root = rootWorkflowId(workflowId);
  if (KEY_SEGMENT_PATTERN.test(root) && root.length <= MAX_SEGMENT_LENGTH && !/^\.+$|\.sha256$|\.tmp-/.test(root)) return `${USAGE_PREFIX}/${root}`;
  const readable = root.replace(/[^A-Za-z0-9_=-]+/g, '_').slice(0, 80);
  return `${USAGE_PREFIX}/${readable}-${sha256Hex(root).slice(0, 12)}`;
}

const START_DIGITS = 13;

export function usageRecordKey(record: UsageRecord, runId: string): string {
  const type = record.activityType.replace(/[^A-Za-z0-9]+/g, '').slice(0, 60) || 'activity';
  const id = sha256Hex(JSON.stringify([record.workflowId, runId, record.activityId, record.attempt])).slice(0, 16);
  const started = String(Math.max(0, Math.floor(record.startedAt))).padStart(START_DIGITS, '0');
  return `${usagePrefix(record.workflowId)}/${started}-${type}-a${record.attempt}-${id}.json`;
}

/** What a record's key says about it (null for keys that are not usage records). */
export function parseUsageKey(key: string): { startedAt: number; activityType: string; attempt: number } | null {
  const match = /\/(\d{13})-([A-Za-z0-9]+)-a(\d+)-[0-9a-f]{16}\.json$/.exec(key);
  if (!match) return null;
  return { startedAt: Number(match[1]), activityType: match[2]!, attempt: Number(match[3]) };
}

const OUTCOMES: readonly AttemptOutcome[] = ['completed', 'failed', 'cancelled'];

/** A stored record checked field by field: the record, or why it is not one. */
export function parseUsageRecord(value: unknown): UsageRecord | string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const r = value as Record<string, unknown>;
  if (r.v !== USAGE_RECORD_VERSION) return `unknown version ${JSON.stringify(r.v)}`;
  for (const field of ['workflowId', 'activityType', 'activityId', 'taskQueue'] as const) {
    const v = r[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) return `${field} must be a non-empty string of at most 1024 characters`;
  }
  for (const field of ['attempt', 'startedAt', 'endedAt', 'cpuSeconds', 'gpus', 'gpuSeconds'] as const) {
    const v = r[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `${field} must be a finite number >= 0`;
  }
  for (const field of ['images', 'steps'] as const) {
    const v = r[field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) return `${field} must be a finite number >= 0 when present`;
  }
  if ((r.endedAt as number) < (r.startedAt as number)) return 'endedAt is before startedAt';
  if (!OUTCOMES.includes(r.outcome as AttemptOutcome)) return `outcome must be one of ${OUTCOMES.join(', ')}`;
  if (r.cached !== undefined && typeof r.cached !== 'boolean') return 'cached must be a boolean when present';
  const record: UsageRecord = {
    v: USAGE_RECORD_VERSION,
    workflowId: r.workflowId as string,
    activityType: r.activityType as string,
    activityId: r.activityId as string,
    attempt: r.attempt as number,
    taskQueue: r.taskQueue as string,
    startedAt: r.startedAt as number,
    endedAt: r.endedAt as number,
    cpuSeconds: r.cpuSeconds as number,
    gpus: r.gpus as number,
    gpuSeconds: r.gpuSeconds as number,
    outcome: r.outcome as AttemptOutcome,
    ...(r.cached === undefined ? {} : { cached: r.cached as boolean }),
    ...(r.images === undefined ? {} : { images: r.images as number }),
    ...(r.steps === undefined ? {} : { steps: r.steps as number }),
  };
  return record;
}
