// TEST-ONLY fault injection. Nothing here does anything unless SYNTHSCALE_FAULTS is set, e.g.
//
//   SYNTHSCALE_FAULTS='{"storageWriteFailRate":0.3,"storageHangRate":0.05,"generateFailRate":0.3,
//                       "generateHangRate":0.02,"hangMs":5000,"seed":1,"alwaysFailPromptIndices":[7]}'
//
// Storage writes (put) then fail with a transient error or hang before proceeding, and per-item
// generator calls fail transiently, hang, or (for the listed prompt indices) always fail, so tests
// can check that retries, timeouts, resume and failed-item bookkeeping hold up. Never set it in
// production. Draws come from a seeded RNG mixed with the pid and the time, so concurrent worker
// processes fail differently; a run is therefore not reproducible, only its rates are.
import { createRng, type Rng } from './rng.js';
import { currentOperationSignal } from './resilience.js';
import type { BlobStore } from './storage.js';

export const FAULTS_ENV = 'SYNTHSCALE_FAULTS';

export interface FaultConfig {
  /** Probability that a storage put throws a transient error (before writing anything). */
  storageWriteFailRate: number;
  /** Probability that a storage put waits `hangMs` before proceeding. */
  storageHangRate: number;
  /** Probability that one generator call throws a transient error. */
  generateFailRate: number;
  /** Probability that one generator call waits `hangMs` before proceeding. */
  generateHangRate: number;
  hangMs: number;
  seed: number;
  /** Prompt (item) indices whose generator call always fails, with a non-transient error. */
  alwaysFailPromptIndices: number[];
}

/** An injected failure. `transient` tells retry logic whether trying again can help. */
export class InjectedFaultError extends Error {
  readonly code = 'E_INJECTED_FAULT';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const RATE_FIELDS = ['storageWriteFailRate', 'storageHangRate', 'generateFailRate', 'generateHangRate'] as const;
const KNOWN_FIELDS = new Set<string>([...RATE_FIELDS, 'hangMs', 'seed', 'alwaysFailPromptIndices']);

/** Parse and validate a fault configuration (JSON text); errors name SYNTHSCALE_FAULTS and the field. */
export function parseFaults(text: string): FaultConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${FAULTS_ENV} is not valid JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${FAULTS_ENV} must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KNOWN_FIELDS.has(key)) throw new Error(`${FAULTS_ENV}: unknown field "${key}" (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }
  const config: FaultConfig = {
    storageWriteFailRate: 0,
    storageHangRate: 0,
    generateFailRate: 0,
    generateHangRate: 0,
    hangMs: 5000,
    seed: 1,
    alwaysFailPromptIndices: [],
  };
  for (const field of RATE_FIELDS) {
    const value = obj[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new Error(`${FAULTS_ENV}.${field} must be a number in [0, 1]`);
    config[field] = value;
  }
  if (obj.hangMs !== undefined) {
    if (typeof obj.hangMs !== 'number' || !Number.isFinite(obj.hangMs) || obj.hangMs < 0) {
      throw new Error(`${FAULTS_ENV}.hangMs must be a non-negative number of milliseconds`);
    }
    config.hangMs = obj.hangMs;
  }
  if (obj.seed !== undefined) {
    if (!Number.isInteger(obj.seed)) throw new Error(`${FAULTS_ENV}.seed must be an integer`);
    config.seed = obj.seed as number;
  }
  if (obj.alwaysFailPromptIndices !== undefined) {
    const list = obj.alwaysFailPromptIndices;
    if (!Array.isArray(list) || !list.every((i) => Number.isInteger(i) && i >= 0)) {
      throw new Error(`${FAULTS_ENV}.alwaysFailPromptIndices must be an array of non-negative integers`);
    }
    config.alwaysFailPromptIndices = list as number[];
  }
  return config;
}

/** The fault configuration from SYNTHSCALE_FAULTS, or null when unset or empty. Read on each call. */
export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultConfig | null {
  const text = env[FAULTS_ENV];
  if (text === undefined || text.trim() === '') return null;
  return parseFaults(text);
}

let instances = 0;
function faultRng(config: FaultConfig, what: string): Rng {
  return createRng(`${config.seed}|${what}|${process.pid}|${Date.now()}|${process.hrtime.bigint()}|${instances++}`);
}

/** Wait `ms`, or reject with the signal's reason as soon as it aborts (a caller that gave up). */
function hang(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Wrap a store so that put fails transiently (message 'injected transient write failure') at
 * storageWriteFailRate and hangs for hangMs before proceeding at storageHangRate. A hang whose
 * caller gave up (the `withRetries` deadline, see currentOperationSignal) ends without writing,
 * so an abandoned write cannot land after the caller moved on. The identity without faults.
 */
export function injectStorageFaults(store: BlobStore, config: FaultConfig | null = faultsFromEnv()): BlobStore {
  if (!config || (config.storageWriteFailRate === 0 && config.storageHangRate === 0)) return store;
  const rng = faultRng(config, 'storage');
  return {
    get root() {
      return store.root;
    },
    uri: (key) => store.uri(key),
    keyOf: (uri) => store.keyOf(uri),
    async put(key, data) {
      if (rng.uniform() < config.storageWriteFailRate) throw new InjectedFaultError('injected transient write failure', true);
      if (rng.uniform() < config.storageHangRate) await hang(config.hangMs, currentOperationSignal());
      return store.put(key, data);
    },
    get: (key, opts) => store.get(key, opts),
    head: (key) => store.head(key),
    delete: (key) => store.delete(key),
    list: (prefix) => store.list(prefix),
  };
}

/**
 * Wrap a per-item generator call: items whose `index` is in alwaysFailPromptIndices always fail
 * (non-transient), others fail transiently ('injected transient generate failure') at
 * generateFailRate or hang for hangMs before proceeding at generateHangRate (the hang ends early
 * with the abort reason when the call's signal aborts). The identity without faults.
 */
export function injectGeneratorFaults<I extends { index: number }, R>(
  generate: (item: I, signal?: AbortSignal) => Promise<R>,
  config: FaultConfig | null = faultsFromEnv(),
): (item: I, signal?: AbortSignal) => Promise<R> {
  if (!config || (config.generateFailRate === 0 && config.generateHangRate === 0 && config.alwaysFailPromptIndices.length === 0)) {
    return generate;
  }
  const rng = faultRng(config, 'generate');
  const alwaysFail = new Set(config.alwaysFailPromptIndices);
  return async (item, signal) => {
    if (alwaysFail.has(item.index)) throw new InjectedFaultError(`injected permanent failure for prompt ${item.index}`, false);
    if (rng.uniform() < config.generateFailRate) throw new InjectedFaultError('injected transient generate failure', true);
    if (rng.uniform() < config.generateHangRate) await hang(config.hangMs, signal ?? currentOperationSignal());
    return generate(item, signal);
  };
}
