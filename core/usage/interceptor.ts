// The workers' activity interceptor that measures every attempt (completed, failed or cancelled:
// each one costs machine time) and writes one usage record per attempt to the store
// (record.ts). Registered for every queue in workers/run-worker.ts.
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { BlobStore } from '../blob-store.js';
import { countsOf } from './counts.js';
import { CpuShare } from './cpu-share.js';
import { USAGE_RECORD_VERSION, usageRecordKey, type AttemptOutcome, type UsageRecord } from './record.js';

export interface UsageRecorderOptions {
  store: BlobStore;
  /** GPUs the worker holds (trainWorkerGpus on a train worker, 0 elsewhere). */
  gpus: number;
  /** One per process: every attempt of the worker shares the process's CPU counter. */
  cpu?: CpuShare;
  now?: () => number;
  /** A record write that takes longer is given up (the activity's result is not held back for it). */
  writeTimeoutMs?: number;
}

/** What one attempt used, from its start to its end. */
export interface AttemptMeasure {
  startedAt: number;
  endedAt: number;
  cpuSeconds: number;
  outcome: AttemptOutcome;
  result: unknown;
}

/** The record of an attempt: ids from the activity's info, numbers from the measure; nothing of its payloads. */
export function usageRecordOf(info: Context['info'], args: readonly unknown[], m: AttemptMeasure, gpus: number): UsageRecord {
  const wallSeconds = (m.endedAt - m.startedAt) / 1000;
  return {
    v: USAGE_RECORD_VERSION,
    workflowId: info.workflowExecution?.workflowId ?? '',
    activityType: info.activityType,
    activityId: info.activityId,
    attempt: info.attempt,
    taskQueue: info.taskQueue,
    startedAt: m.startedAt,
    endedAt: m.endedAt,
    cpuSeconds: m.cpuSeconds,
    gpus,
    gpuSeconds: wallSeconds * gpus,
    outcome: m.outcome,
    ...(m.outcome === 'completed' ? countsOf(args, m.result) : {}),
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function usageInterceptor(options: UsageRecorderOptions): ActivityInterceptorsFactory {
  const cpu = options.cpu ?? new CpuShare();
  const now = options.now ?? Date.now;
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const encoder = new TextEncoder();

  return (ctx: Context) => ({
    inbound: {
      async execute(input: ActivityExecuteInput, next: (input: ActivityExecuteInput) => Promise<unknown>): Promise<unknown> {
        const execution = ctx.info.workflowExecution;
        // Standalone activities belong to no sweep: nothing to attribute them to.
        if (!execution) return next(input);
        const startedAt = now();
        const token = cpu.begin();
        let outcome: AttemptOutcome = 'failed';
        let result: unknown;
        try {
          result = await next(input);
          outcome = 'completed';
          return result;
        } catch (err) {
          outcome = ctx.cancellationSignal.aborted ? 'cancelled' : 'failed';
          throw err;
        } finally {
          const measure = { startedAt, endedAt: Math.max(startedAt, now()), cpuSeconds: cpu.end(token), outcome, result };
          const record = usageRecordOf(ctx.info, input.args, measure, options.gpus);
          // Usage is bookkeeping: a store problem is logged and never fails or delays the activity for long.
          try {
            await withTimeout(options.store.put(usageRecordKey(record, execution.runId), encoder.encode(JSON.stringify(record))), writeTimeoutMs);
          } catch (err) {
            ctx.log.warn('usage record not written', { error: err instanceof Error ? err.message : String(err) });
          }
        }
      },
    },
  });
}
