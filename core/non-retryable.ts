import { ApplicationFailure } from '@temporalio/common';

/** Run a check whose failure means bad input: retrying cannot help, so fail without retries. */
export function nonRetryable<T>(type: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.nonRetryable((err as Error).message, type);
  }
}
