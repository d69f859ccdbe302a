// Resilience helpers for talking to things that fail transiently: storage backends (a network
// bucket, an NFS mount) and, later, a remote text-to-image service. `withRetries` wraps a BlobStore
// so each call is bounded by a timeout and transient failures are retried with exponential backoff
// and jitter; `callWithTimeout` bounds any async call and hands it an AbortSignal.
//
// Every BlobStore operation the wrapper issues is idempotent (put of the same key and bytes is an
// atomic replace, get/head/list are reads, delete of a missing key is fine), so a retry after a
// timeout is safe even when the timed-out call still completes in the background. Backends that
// can abort in-flight requests may read `currentOperationSignal()`: it is aborted when the wrapper
// gives up on the call.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ChecksumMismatchError, NotFoundError, ObjectTooLargeError, type BlobStore, type PutResult } from './storage.js';

export const STORAGE_TIMEOUT_ENV = 'SYNTHSCALE_STORAGE_TIMEOUT_MS';
const DEFAULT_STORAGE_TIMEOUT_MS = 120_000;

/** A call that ran past its deadline. Transient: retrying it may well succeed. */
export class OperationTimeoutError extends Error {
  readonly transient = true;
  readonly code: string = 'E_TIMEOUT';
}

/** A storage call that ran past SYNTHSCALE_STORAGE_TIMEOUT_MS (or the wrapper's timeoutMs). */
export class StorageTimeoutError extends OperationTimeoutError {
  override readonly code: string = 'E_STORAGE_TIMEOUT';
}

/** Node system error codes that describe a passing condition rather than a wrong request. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EAGAIN',
  'EBUSY',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EMFILE',
  'ENFILE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * True for failures worth retrying: errors marked `transient = true` (timeouts, injected faults,
 * backends that know) and Node system errors such as ECONNRESET/ETIMEDOUT/EAGAIN/EBUSY, also when
 * wrapped as an error's `cause` (as fetch does). Integrity and request errors (checksum mismatch,
 * not found, too large, unsafe key) are never transient.
 */
export function isTransientError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  if (err instanceof ChecksumMismatchError || err instanceof NotFoundError || err instanceof ObjectTooLargeError) return false;
  const e = err as { transient?: unknown; code?: unknown; cause?: unknown };
  if (e.transient === true) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  return isTransientError(e.cause, depth + 1);
}

const operationSignal = new AsyncLocalStorage<AbortSignal>();

/** The AbortSignal of the innermost `callWithTimeout` (or `withRetries` call) running this code, if any. */
export function currentOperationSignal(): AbortSignal | undefined {
  return operationSignal.getStore();
}

export interface CallWithTimeoutOptions {
  /** Aborting this (e.g. the activity's cancellation signal) aborts the call with its reason. */
  parent?: AbortSignal;
  /** The error thrown on timeout (default OperationTimeoutError). */
  makeError?: (message: string) => Error;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/**
 * Run `fn` with an AbortSignal and a deadline: if it has not settled after `ms` milliseconds the
 * signal is aborted and the returned promise rejects with a (transient) OperationTimeoutError
 * naming `what`. `fn` should honour the signal; if it does not, its eventual result is ignored.
 * `ms` that is not a positive finite number means no deadline.
 */
export async function callWithTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string,
  opts: CallWithTimeoutOptions = {},
): Promise<T> {
  const { parent } = opts;
  if (parent?.aborted) throw abortReason(parent);
  const controller = new AbortController();
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(abortReason(controller.signal)), { once: true });
  });
  aborted.catch(() => undefined);
  const onParentAbort = () => controller.abort(abortReason(parent!));
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(ms) && ms > 0) {
    timer = setTimeout(() => {
      const message = `${what} timed out after ${ms} ms`;
      controller.abort(opts.makeError ? opts.makeError(message) : new OperationTimeoutError(message));
    }, ms);
  }
  const work = operationSignal.run(controller.signal, () => Promise.resolve().then(() => fn(controller.signal)));
  // Once we stop waiting (timeout, cancellation) a late rejection must not go unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (timer) clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
  }
}

/** A positive integer number of milliseconds from the environment, or `fallback` when unset. */
export function millisecondsFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name}="${raw}": expected a positive integer number of milliseconds`);
  }
  return value;
}

/** SYNTHSCALE_STORAGE_TIMEOUT_MS, validated, or the 120 s default. */
export function storageTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return millisecondsFromEnv(STORAGE_TIMEOUT_ENV, DEFAULT_STORAGE_TIMEOUT_MS, env);
}

export interface RetryOptions {
  /** Tries per call, first included (default 5). */
  attempts?: number;
  /** Backoff before retry k is about baseDelayMs * 2^(k-1), jittered to [50%, 100%] (default 200). */
  baseDelayMs?: number;
  /** Cap on one backoff delay (default 10 s). */
  maxDelayMs?: number;
  /** Deadline per call (default SYNTHSCALE_STORAGE_TIMEOUT_MS, else 120 s). */
  timeoutMs?: number;
  /** Called before each retry with the operation name ('put', 'get', ...) and the error. */
  onRetry?: (op: string, err: unknown) => void;
}

export interface StoreCallStats {
  /** Calls repeated after a transient failure. */
  retries: number;
  /** Calls that ran past the deadline (each is also retried while attempts remain). */
  timeouts: number;
}

export type ResilientBlobStore = BlobStore & { stats(): StoreCallStats };

export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wrap a store: each put/get/head/list/delete runs under a deadline (a call past it fails with a
 * transient StorageTimeoutError) and transient failures are retried with exponential backoff and
 * jitter, up to `attempts` tries; the last error is rethrown. Non-transient errors
 * (ChecksumMismatchError, NotFoundError, ObjectTooLargeError, unsafe keys) fail at once.
 */
export function withRetries(store: BlobStore, opts: RetryOptions = {}): ResilientBlobStore {
  const attempts = Math.max(1, Math.floor(opts.attempts ?? 5));
  const baseDelayMs = Math.max(0, opts.baseDelayMs ?? 200);
  const maxDelayMs = Math.max(baseDelayMs, opts.maxDelayMs ?? 10_000);
  const timeoutMs = opts.timeoutMs ?? storageTimeoutFromEnv();
  const counters: StoreCallStats = { retries: 0, timeouts: 0 };

  async function call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await callWithTimeout(() => fn(), timeoutMs, `storage ${op} of ${key}`, {
          makeError: (message) => new StorageTimeoutError(message),
        });
      } catch (err) {
        if (err instanceof StorageTimeoutError) counters.timeouts++;
        if (attempt >= attempts || !isTransientError(err)) throw err;
        counters.retries++;
        opts.onRetry?.(op, err);
        await sleep(backoffDelay(attempt, baseDelayMs, maxDelayMs));
      }
    }
  }

  return {
    get root() {
      return store.root;
    },
    uri: (key) => store.uri(key),
    keyOf: (uri) => store.keyOf(uri),
    put: (key, data): Promise<PutResult> => call('put', key, () => store.put(key, data)),
    get: (key, getOpts) => call('get', key, () => store.get(key, getOpts)),
    head: (key) => call('head', key, () => store.head(key)),
    delete: (key) => call('delete', key, () => store.delete(key)),
    list: (prefix) => call('list', prefix, () => store.list(prefix)),
    stats: () => ({ ...counters }),
  };
}
