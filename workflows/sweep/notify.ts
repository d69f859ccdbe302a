// The sweep's webhook notice (the cpu-queue activity notifySweep): when it completes, and when it
// fails. A notice never fails the sweep: its errors are logged and dropped.
import { ApplicationFailure, CancellationScope, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import type { SweepNotice } from '../../contracts/notify.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { summary } from '../labels.js';
import { TASK_QUEUES } from '../task-queues.js';
import type { SweepRun } from './run.js';

/** What the integrated cpu worker registers (activities/index.ts); typed here so the sweep needs no more of it. */
interface NotifyActivities {
  notifySweep(notice: SweepNotice): Promise<{ sent: boolean; status?: number }>;
}

/** A slow or broken webhook must not hold the sweep: a few short tries, then give up. */
const notifier = proxyActivities<NotifyActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

/** Messages over this are cut: a notice is a pointer to the sweep, not its log. */
const MAX_MESSAGE = 1000;

export function completedNotice(run: SweepRun, result: SweepResult): SweepNotice {
  const { stats } = run;
  return {
    sweepId: result.sweepId,
    workflowId: workflowInfo().workflowId,
    event: 'completed',
    message: `sweep ${result.sweepId} completed: ${stats.cellsDone} of ${stats.cellsTotal} cells (${stats.cellsCached} from the store)`,
    reportUri: result.reportHtmlUri ?? result.reportUri,
    cells: { done: stats.cellsDone, total: stats.cellsTotal },
  };
}

export function failedNotice(run: SweepRun, sweepId: string, err: unknown): SweepNotice {
  return {
    sweepId,
    workflowId: workflowInfo().workflowId,
    event: failureEvent(err),
    message: failureMessage(err),
    cells: { done: run.stats.cellsDone, total: run.stats.cellsTotal },
  };
}

/** 'failure-budget-exceeded' when a failure of that type is anywhere in the cause chain (a cell's or a shard's activity). */
export function failureEvent(err: unknown): 'failed' | 'failure-budget-exceeded' {
  return causes(err).some((e) => e instanceof ApplicationFailure && e.type === FAILURE_TYPES.failureBudgetExceeded) ? 'failure-budget-exceeded' : 'failed';
}

/** Wrappers say "Child Workflow execution failed"; the chain down to the root says what and where. */
export function failureMessage(err: unknown): string {
  const message = [...new Set(causes(err).map((e) => e.message).filter(Boolean))].join(': ') || String(err);
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

export async function notify(notice: SweepNotice): Promise<void> {
  try {
    // Not cancellable: a cancelled or failing sweep still sends its notice.
    const out = await CancellationScope.nonCancellable(() => notifier.notifySweep.executeWithOptions(summary(`notify · ${notice.event} · ${notice.sweepId}`), [notice]));
    if (!out.sent) log.info('sweep notice not sent', { event: notice.event, status: out.status });
  } catch (err) {
    log.warn('sweep notice failed; the sweep goes on', { event: notice.event, error: err instanceof Error ? err.message : String(err) });
  }
}

function causes(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 10; e = e.cause) chain.push(e);
  return chain;
}
