// notifySweep (cpu worker): post a SweepNotice to the webhook of this worker's environment
// (./webhook.ts). No SYNTHSCALE_WEBHOOK_URL: nothing is sent ({ sent: false }). A 2xx: { sent: true,
// status }. A 408, 429, 5xx, network failure or deadline throws a retryable failure, so the
// activity's retry policy tries again (with the same delivery id; a 429/503 Retry-After becomes the
// next retry's delay, capped); any other status, a bad URL or secret, or a bad notice is a
// non-retryable failure naming the fix. Neither logs nor failures ever hold the URL beyond its
// origin, its credentials, or the secret.
import { activityInfo, Context, log as activityLog } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { SweepNotice } from '../../contracts/notify.js';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { checkNotice, deliver, deliveryId, webhookBody, webhookConfig, WebhookConfigError } from './webhook.js';

/** Failure types of a delivery: the receiver refused it for good, or is (for now) unreachable. */
export const WEBHOOK_FAILURE_TYPES = { rejected: 'WebhookRejected', unavailable: 'WebhookUnavailable' } as const;

export interface NotifyDeps {
  /** Where SYNTHSCALE_WEBHOOK_URL / _SECRET are read, at each call (default process.env). */
  env?: NodeJS.ProcessEnv;
  fetchImpl?: typeof fetch;
  /** Deadline of one POST (default 10 s). */
  timeoutMs?: number;
  /** Longest Retry-After honoured as the next retry's delay (default 60 s). */
  maxRetryAfterMs?: number;
  now?: () => Date;
  log?: (level: 'info' | 'warn', message: string, attrs: Record<string, unknown>) => void;
}

/** The activity's logger when running in one, else silent. */
function defaultLog(level: 'info' | 'warn', message: string, attrs: Record<string, unknown>): void {
  try {
    activityLog[level](message, attrs);
  } catch {
    // Outside an activity (no context): nothing to log through.
  }
}

/** The caller's cancellation, when running in an activity. */
function cancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function attempt(): number {
  try {
    return activityInfo().attempt;
  } catch {
    return 1;
  }
}

export function createNotifyActivities(deps: NotifyDeps = {}) {
  const log = deps.log ?? defaultLog;
  return {
    async notifySweep(notice: SweepNotice): Promise<{ sent: boolean; status?: number }> {
      let config;
      try {
        config = webhookConfig(deps.env ?? process.env);
      } catch (err) {
        if (err instanceof WebhookConfigError) throw ApplicationFailure.nonRetryable(`webhook: ${err.message}`, FAILURE_TYPES.invalidInput);
        throw err;
      }
      if (!config) return { sent: false };
      const problem = checkNotice(notice);
      if (problem) throw ApplicationFailure.nonRetryable(`webhook notice: ${problem}`, FAILURE_TYPES.invalidInput);
      const id = deliveryId(notice);
      const started = Date.now();
      const body = webhookBody(notice, (deps.now ?? (() => new Date()))());
      const signal = cancellation();
      const result = await deliver(config, body, id, notice.event, {
        fetchImpl: deps.fetchImpl ?? globalThis.fetch,
        timeoutMs: deps.timeoutMs ?? 10_000,
        maxRetryAfterMs: deps.maxRetryAfterMs ?? 60_000,
        ...(signal ? { signal } : {}),
      });
      const attrs = { sweepId: notice.sweepId, event: notice.event, delivery: id, receiver: config.origin, signed: config.secret !== undefined, attempt: attempt(), ms: Date.now() - started };
      if (result.ok) {
        log('info', 'webhook delivered', { ...attrs, status: result.status });
        return { sent: true, status: result.status };
      }
      log('warn', result.retryable ? 'webhook delivery failed; will retry' : 'webhook delivery refused; not retrying', { ...attrs, status: result.status, reason: result.reason });
      const message = `webhook: ${result.reason}`;
      if (!result.retryable) throw ApplicationFailure.nonRetryable(message, WEBHOOK_FAILURE_TYPES.rejected);
      throw ApplicationFailure.create({
        message,
        type: WEBHOOK_FAILURE_TYPES.unavailable,
        nonRetryable: false,
        ...(result.retryAfterMs === undefined ? {} : { nextRetryDelay: result.retryAfterMs }),
      });
    },
  };
}
