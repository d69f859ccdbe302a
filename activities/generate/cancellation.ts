// Cancellation and error helpers of the generation activities.
import { CancelledFailure } from '@temporalio/activity';

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error a cancelled activity throws: the signal's reason, or a CancelledFailure. */
export function cancelReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledFailure(typeof reason === 'string' ? reason : 'activity cancelled');
}

/** Sleep ms, or reject with the cancellation as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
