// The storage retry/timeout wrapper, callWithTimeout, the test-only fault injector and the work ledger.
// Run: node --import tsx --test test/resilience.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { faultsFromEnv, FAULTS_ENV, injectGeneratorFaults, injectStorageFaults, parseFaults, type FaultConfig } from '../../core/faults.js';
import {
  callWithTimeout,
  isTransientError,
  OperationTimeoutError,
  storageTimeoutFromEnv,
  StorageTimeoutError,
  withRetries,
} from '../../core/resilience.js';
import { ChecksumMismatchError, NotFoundError, openStore, type BlobStore } from '../../core/storage.js';
import { readLedger, recordWork, totalWork, WORK_LEDGER_ENV } from '../../core/work-ledger.js';

let dir: string;
let store: BlobStore;
const bytes = (...values: number[]) => new Uint8Array(values);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-resilience-'));
  store = openStore(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store whose calls can be made to fail or stall, counting calls per operation. */
function flaky(inner: BlobStore, plan: { failures?: number; error?: () => Error; stallFirstMs?: number } = {}) {
  const calls: Record<string, number> = {};
  let failuresLeft = plan.failures ?? 0;
  let stall = plan.stallFirstMs ?? 0;
  const gate = async (op: string) => {
    calls[op] = (calls[op] ?? 0) + 1;
    if (stall > 0) {
      const ms = stall;
      stall = 0;
      await sleep(ms);
    }
    if (failuresLeft > 0) {
      failuresLeft--;
      throw plan.error ? plan.error() : Object.assign(new Error('flaky'), { transient: true });
    }
  };
  const wrapped: BlobStore = {
    root: inner.root,
    uri: (k) => inner.uri(k),
    keyOf: (u) => inner.keyOf(u),
    put: async (k, d) => (await gate('put'), inner.put(k, d)),
    get: async (k, o) => (await gate('get'), inner.get(k, o)),
    head: async (k) => (await gate('head'), inner.head(k)),
    delete: async (k) => (await gate('delete'), inner.delete(k)),
    list: async (p) => (await gate('list'), inner.list(p)),
  };
  return { store: wrapped, calls };
}

describe('withRetries', () => {
  test('retries transient failures with backoff and reports them', async () => {
    const { store: s, calls } = flaky(store, { failures: 3 });
    const seen: string[] = [];
    const r = withRetries(s, { baseDelayMs: 5, onRetry: (op, err) => seen.push(`${op}:${(err as Error).message}`) });
    const put = await r.put('retry/a.bin', bytes(1, 2, 3));
    assert.equal(put.size, 3);
    assert.equal(calls.put, 4);
    assert.deepEqual(seen, ['put:flaky', 'put:flaky', 'put:flaky']);
    assert.deepEqual(r.stats(), { retries: 3, timeouts: 0 });
    assert.deepEqual(await r.get('retry/a.bin'), bytes(1, 2, 3));
    assert.equal(r.root, store.root);
    assert.equal(r.uri('x/y'), store.uri('x/y'));
  });

  test('Node system errors such as ECONNRESET and EBUSY are transient', async () => {
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'EAGAIN', 'EBUSY']) {
      const { store: s, calls } = flaky(store, { failures: 1, error: () => Object.assign(new Error(code), { code }) });
      const r = withRetries(s, { baseDelayMs: 1 });
      assert.deepEqual(await r.list('retry'), ['retry/a.bin']);
      assert.equal(calls.list, 2, code);
    }
    assert.equal(isTransientError(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })), true);
    assert.equal(isTransientError(new Error('plain')), false);
    assert.equal(isTransientError(Object.assign(new Error('nope'), { code: 'ENOENT' })), false);
  });

  test('gives up after `attempts` tries and rethrows the last error', async () => {
    const { store: s, calls } = flaky(store, { failures: 100 });
    const r = withRetries(s, { attempts: 3, baseDelayMs: 1 });
    await assert.rejects(r.head('retry/a.bin'), /flaky/);
    assert.equal(calls.head, 3);
    assert.equal(r.stats().retries, 2);
  });

  test('non-transient errors fail at once: checksum mismatch, not found, unsafe key', async () => {
    await store.put('retry/corrupt.bin', bytes(1, 2, 3, 4));
    await writeFile(join(dir, 'retry', 'corrupt.bin'), Buffer.from([9, 9, 9, 9]));
    const { store: s, calls } = flaky(store);
    const r = withRetries(s, { baseDelayMs: 1 });
    await assert.rejects(r.get('retry/corrupt.bin'), ChecksumMismatchError);
    assert.equal(calls.get, 1);
    await assert.rejects(r.get('retry/missing.bin'), NotFoundError);
    assert.equal(calls.get, 2);
    await assert.rejects(r.put('../escape', bytes(1)), /unsafe storage key/);
    assert.equal(calls.put, 1);
    assert.equal(r.stats().retries, 0);
  });

  test('a call past the deadline is a transient StorageTimeoutError, retried', async () => {
    const { store: s, calls } = flaky(store, { stallFirstMs: 500 });
    const r = withRetries(s, { timeoutMs: 40, baseDelayMs: 1 });
    const t0 = Date.now();
    assert.deepEqual(await r.head('retry/a.bin'), await store.head('retry/a.bin'));
    assert.ok(Date.now() - t0 < 400, 'did not wait for the stalled call');
    assert.equal(calls.head, 2);
    assert.deepEqual(r.stats(), { retries: 1, timeouts: 1 });

    const stuck = withRetries({ ...store, head: () => new Promise(() => undefined) } as BlobStore, { timeoutMs: 20, attempts: 2, baseDelayMs: 1 });
    const err = await stuck.head('retry/a.bin').then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageTimeoutError);
    assert.ok(isTransientError(err));
    assert.match((err as Error).message, /storage head of retry\/a\.bin timed out after 20 ms/);
    assert.deepEqual(stuck.stats(), { retries: 1, timeouts: 2 });
  });

  test('SYNTHSCALE_STORAGE_TIMEOUT_MS sets the default deadline and is validated', () => {
    assert.equal(storageTimeoutFromEnv({}), 120_000);
    assert.equal(storageTimeoutFromEnv({ SYNTHSCALE_STORAGE_TIMEOUT_MS: '250' }), 250);
    assert.throws(() => storageTimeoutFromEnv({ SYNTHSCALE_STORAGE_TIMEOUT_MS: 'soon' }), /SYNTHSCALE_STORAGE_TIMEOUT_MS/);
  });
});

describe('callWithTimeout', () => {
  test('returns the value, or rejects with a named transient timeout and aborts the signal', async () => {
    assert.equal(await callWithTimeout(async () => 42, 100, 'answer'), 42);
    let observed: AbortSignal | undefined;
    const err = await callWithTimeout(
      (signal) => {
        observed = signal;
        return new Promise<number>(() => undefined);
      },
      20,
      'the slow thing',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof OperationTimeoutError);
    assert.match((err as Error).message, /the slow thing timed out after 20 ms/);
    assert.equal(observed?.aborted, true);
    await assert.rejects(callWithTimeout(async () => { throw new Error('boom'); }, 100, 'x'), /boom/);
    await assert.rejects(callWithTimeout(() => { throw new Error('sync boom'); }, 100, 'x'), /sync boom/);
  });

  test('a parent signal aborts the call with its reason', async () => {
    const parent = new AbortController();
    const pending = callWithTimeout((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('inner saw abort')))), 10_000, 'x', {
      parent: parent.signal,
    });
    parent.abort(new Error('cancelled by parent'));
    await assert.rejects(pending, /cancelled by parent/);
    await assert.rejects(callWithTimeout(async () => 1, 100, 'x', { parent: parent.signal }), /cancelled by parent/);
  });
});

describe('fault injection (test-only)', () => {
  const config = (partial: Partial<FaultConfig>): FaultConfig => ({ ...parseFaults('{}'), ...partial });

  test('configuration comes from SYNTHSCALE_FAULTS and is validated', () => {
    assert.equal(faultsFromEnv({}), null);
    assert.equal(faultsFromEnv({ [FAULTS_ENV]: '' }), null);
    const parsed = faultsFromEnv({
      [FAULTS_ENV]: '{"storageWriteFailRate":0.3,"storageHangRate":0.05,"generateFailRate":0.3,"generateHangRate":0.02,"hangMs":5000,"seed":1,"alwaysFailPromptIndices":[7]}',
    });
    assert.deepEqual(parsed, {
      storageWriteFailRate: 0.3,
      storageHangRate: 0.05,
      generateFailRate: 0.3,
      generateHangRate: 0.02,
      hangMs: 5000,
      seed: 1,
      alwaysFailPromptIndices: [7],
    });
    assert.throws(() => faultsFromEnv({ [FAULTS_ENV]: '{storageWriteFailRate: 0.3' }), /SYNTHSCALE_FAULTS is not valid JSON/);
    assert.throws(() => parseFaults('{"storageWriteFailRate":1.5}'), /SYNTHSCALE_FAULTS\.storageWriteFailRate/);
    assert.throws(() => parseFaults('{"storageFailRate":0.5}'), /SYNTHSCALE_FAULTS: unknown field "storageFailRate"/);
    assert.throws(() => parseFaults('{"alwaysFailPromptIndices":[-1]}'), /alwaysFailPromptIndices/);
    assert.throws(() => parseFaults('[1]'), /SYNTHSCALE_FAULTS must be a JSON object/);
  });

  test('without faults the wrappers are the identity', () => {
    const gen = async (item: { index: number }) => bytes(item.index);
    assert.equal(injectStorageFaults(store, null), store);
    assert.equal(injectGeneratorFaults(gen, null), gen);
    assert.equal(injectStorageFaults(store, config({ generateFailRate: 1 })), store);
  });

  test('storage writes fail transiently at the configured rate; withRetries absorbs them', async () => {
    const always = injectStorageFaults(store, config({ storageWriteFailRate: 1 }));
    const err = await always.put('faults/never.bin', bytes(1)).catch((e: unknown) => e);
    assert.equal((err as Error).message, 'injected transient write failure');
    assert.equal((err as { transient?: boolean }).transient, true);
    assert.equal(await store.head('faults/never.bin'), null, 'a failed write writes nothing');
    assert.deepEqual(await always.get('retry/a.bin'), bytes(1, 2, 3), 'reads are not faulted');

    const some = injectStorageFaults(store, config({ storageWriteFailRate: 0.3, seed: 5 }));
    let failures = 0;
    const n = 400;
    for (let i = 0; i < n; i++) await some.put(`faults/rate/${i}.bin`, bytes(i % 256)).catch(() => failures++);
    assert.ok(failures > 0.2 * n && failures < 0.4 * n, `${failures} of ${n} writes failed at rate 0.3`);

    const resilient = withRetries(injectStorageFaults(store, config({ storageWriteFailRate: 0.3 })), { attempts: 12, baseDelayMs: 1 });
    for (let i = 0; i < 50; i++) await resilient.put(`faults/ok/${i}.bin`, bytes(i));
    assert.ok(resilient.stats().retries > 0);
    assert.equal((await store.list('faults/ok')).length, 50);
    assert.deepEqual(await store.get('faults/ok/7.bin'), bytes(7));
  });

  test('a hung write proceeds after hangMs, or is abandoned without writing when the deadline passes', async () => {
    const slow = injectStorageFaults(store, config({ storageHangRate: 1, hangMs: 60 }));
    const t0 = Date.now();
    await slow.put('faults/slow.bin', bytes(1));
    assert.ok(Date.now() - t0 >= 55);
    assert.deepEqual(await store.get('faults/slow.bin'), bytes(1));

    const stuck = withRetries(injectStorageFaults(store, config({ storageHangRate: 1, hangMs: 400 })), { timeoutMs: 30, attempts: 2, baseDelayMs: 1 });
    await assert.rejects(stuck.put('faults/stuck.bin', bytes(2)), StorageTimeoutError);
    assert.equal(stuck.stats().timeouts, 2);
    await sleep(500);
    assert.equal(await store.head('faults/stuck.bin'), null, 'an abandoned write does not land later');
  });

  test('generator calls: permanent failures for listed indices, transient ones at the rate, abortable hangs', async () => {
    let calls = 0;
    const gen = async (item: { index: number }) => {
      calls++;
      return bytes(item.index);
    };
    const listed = injectGeneratorFaults(gen, config({ alwaysFailPromptIndices: [7] }));
    assert.deepEqual(await listed({ index: 6 }), bytes(6));
    for (let i = 0; i < 3; i++) {
      const err = await listed({ index: 7 }).catch((e: unknown) => e);
      assert.match((err as Error).message, /injected permanent failure for prompt 7/);
      assert.equal((err as { transient?: boolean }).transient, false);
    }
    assert.equal(calls, 1);

    const flakyGen = injectGeneratorFaults(gen, config({ generateFailRate: 0.3 }));
    let failures = 0;
    for (let i = 0; i < 400; i++) {
      await flakyGen({ index: i % 5 }).catch((e: Error & { transient?: boolean }) => {
        assert.equal(e.message, 'injected transient generate failure');
        assert.equal(e.transient, true);
        failures++;
      });
    }
    assert.ok(failures > 80 && failures < 160, `${failures} of 400 calls failed at rate 0.3`);

    const hanging = injectGeneratorFaults(gen, config({ generateHangRate: 1, hangMs: 5000 }));
    const t0 = Date.now();
    await assert.rejects(callWithTimeout((signal) => hanging({ index: 1 }, signal), 30, 'hung item'), OperationTimeoutError);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('processes and wrappers draw differently even with the same seed', async () => {
    const draw = async () => {
      const gen = injectGeneratorFaults(async () => bytes(0), config({ generateFailRate: 0.5, seed: 1 }));
      const outcomes: boolean[] = [];
      for (let i = 0; i < 64; i++) outcomes.push(await gen({ index: i }).then(() => true, () => false));
      return outcomes.join();
    };
    assert.notEqual(await draw(), await draw());
  });
});

describe('work ledger', () => {
  test('appends JSON lines per process when SYNTHSCALE_WORK_LEDGER is set, and is a no-op otherwise', async () => {
    const ledger = join(dir, 'ledger');
    const saved = process.env[WORK_LEDGER_ENV];
    try {
      delete process.env[WORK_LEDGER_ENV];
      recordWork({ kind: 'images', key: 'k', from: 0, to: 5, attempt: 1 });
      assert.deepEqual(readLedger(ledger), []);
      process.env[WORK_LEDGER_ENV] = ledger;
      recordWork({ kind: 'images', key: 'k', from: 0, to: 5, attempt: 1 });
      recordWork({ kind: 'images', key: 'k', from: 5, to: 7, attempt: 2 });
      recordWork({ kind: 'train-steps', key: 'c', from: 0, to: 100, attempt: 1 });
      const file = join(ledger, `${process.pid}.jsonl`);
      await writeFile(file, `${await readFile(file, 'utf8')}{"kind":"images","key":"k","fr`); // a torn line from a kill -9
      const entries = readLedger(ledger);
      assert.equal(entries.length, 3);
      assert.equal(entries[0]!.pid, process.pid);
      assert.ok(!Number.isNaN(Date.parse(entries[0]!.time)));
      assert.equal(totalWork(entries, { kind: 'images', key: 'k' }), 7);
      assert.equal(totalWork(entries, { kind: 'images', attempt: 2 }), 2);
      assert.equal(totalWork(entries, { kind: 'train-steps' }), 100);
    } finally {
      if (saved === undefined) delete process.env[WORK_LEDGER_ENV];
      else process.env[WORK_LEDGER_ENV] = saved;
    }
  });
});
