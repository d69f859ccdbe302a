// The generateShard activity: render one shard, surviving crashes, restarts and reruns without
// redoing finished work:
// - a committed shard whose checksums verify is returned as is (cached), doing no work;
// - otherwise the attempt resumes after the parts already in storage (./resume.ts; the heartbeat
//   details are only a cross-check) and samples the rest chunk by chunk (./shard-sampling.ts);
// - the finished shard is re-packed from all samples (sorted entries, fixed mtime), so its bytes
//   equal those of an uninterrupted run; then `${shardKey}.stats.json` is written (the commit
//   marker) and the parts are deleted.
// Images are at the sweep's geometry: a fitted model's own, or (HTTP backends) the dataset's, from
// `datasetFingerprint` (28x28 grey without one).
import { activityInfo, cancellationSignal, log } from '@temporalio/activity';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { ResilientBlobStore } from '../../core/resilience.js';
import { sourceDataset } from '../../core/shards/source-dataset.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { packShard } from '../../core/shards/webdataset.js';
import { getJson, hasValidObject } from '../../core/storage.js';
import { shardBackend } from './backends.js';
import { errorMessage } from './cancellation.js';
import { keepAlive, parseGenerateHeartbeat } from './heartbeat.js';
import type { GenerateHeartbeat, GenerateShardInput, GenerateShardOutput } from './io.js';
import { assembleShard, deleteParts, listParts, partMetaKey } from './parts.js';
import { resumeFromParts, type Resume } from './resume.js';
import { itemTimeoutFromEnv, parseStats, samplesFingerprint, validateInput, type ShardStats } from './shard-input.js';
import { sampleRemaining, type ShardState } from './shard-sampling.js';

/** One attempt at one shard. */
interface Attempt {
  input: GenerateShardInput;
  store: ResilientBlobStore;
  started: number;
  attempt: number;
  statsKey: string;
  /** An existing shard or part failed its checksum (or validation) and is being regenerated. */
  corruptRegenerated: boolean;
  onCorrupt(reason: string): void;
}

export async function generateShard(deps: ActivityDeps, openStore: (what: string) => ResilientBlobStore, input: GenerateShardInput): Promise<GenerateShardOutput> {
  const started = Date.now();
  const info = activityInfo();
  const signal = cancellationSignal();
  const { itemAttempts, chunkSize } = validateInput(input);
  const itemTimeoutMs = itemTimeoutFromEnv();
  const a: Attempt = {
    input,
    store: openStore(input.shardKey),
    started,
    attempt: info.attempt,
    statsKey: `${input.shardKey}.stats.json`,
    corruptRegenerated: false,
    onCorrupt(reason) {
      a.corruptRegenerated = true;
      log.warn('regenerating corrupt shard data', { shard: input.shardKey, reason });
    },
  };
  const cached = await cachedShard(a);
  if (cached) return cached;

  const { geometry } = await sourceDataset(deps, input.datasetFingerprint);
  const backend = shardBackend(input.generator, { geometry });
  const fingerprint = samplesFingerprint(input, backend.fingerprintInputs());
  const resume = await resumeShard(a, fingerprint, info.heartbeatDetails);
  const state: ShardState = {
    committed: resume.offset,
    tars: resume.tars,
    imagesSampled: 0,
    itemRetries: 0,
    samples: resume.samples,
    failedItems: resume.failedItems,
    written: new Set(resume.existing),
  };
  const progress = (): GenerateHeartbeat => ({ imagesDone: state.committed, of: input.count, shard: input.shardKey });
  const stopKeepAlive = keepAlive(progress, info.heartbeatTimeoutMs);
  try {
    if (state.committed < input.count) {
      const { store, attempt } = a;
      await sampleRemaining({ input, store, backend, fingerprint, attempt, chunkSize, itemAttempts, itemTimeoutMs, signal, progress }, state);
    }
    return await commitShard(a, state, resume.offset);
  } finally {
    stopKeepAlive();
  }
}

function record(a: Attempt, head: { sha256: string; size: number }, failedItems: ShardRecord['failedItems'], samples: number): ShardRecord {
  return { uri: a.store.uri(a.input.shardKey), sha256: head.sha256, bytes: head.size, samples, firstIndex: a.input.firstIndex, failedItems };
}

/** The committed shard, when its stats file and tar verify and describe this input (else null). */
async function cachedShard(a: Attempt): Promise<GenerateShardOutput | null> {
  const { input, store, statsKey } = a;
  // The stats file is written after the tar, so together they mark the shard done.
  if (!(await hasValidObject(store, statsKey, a.onCorrupt)) || !(await hasValidObject(store, input.shardKey, a.onCorrupt))) return null;
  const head = await store.head(input.shardKey);
  const stats = parseStats(await getJson(store, statsKey), input);
  if (!head || !stats || (stats.sha256 !== undefined && stats.sha256 !== head.sha256)) {
    a.onCorrupt(`${store.uri(statsKey)} does not describe ${store.uri(input.shardKey)}`);
    return null;
  }
  // Parts left by a crash after the commit (deleted highest offset first, so part 0 is the tell).
  if (await store.head(partMetaKey(input.shardKey, 0)).catch(() => null)) {
    await deleteParts(store, input.shardKey, await listParts(store, input.shardKey)).catch((err) =>
      log.warn('could not delete leftover parts', { shard: input.shardKey, error: errorMessage(err) }),
    );
  }
  return {
    ...record(a, head, stats.failedItems, stats.samples),
    cached: true,
    seconds: (Date.now() - a.started) / 1000,
    attempt: a.attempt,
    imagesSampled: 0,
    resumedFrom: input.count,
    itemRetries: 0,
    storageRetries: store.stats().retries,
    corruptRegenerated: false,
  };
}

/** The verified parts in storage; the heartbeat details of an earlier attempt only cross-check them. */
async function resumeShard(a: Attempt, fingerprint: string, heartbeatDetails: unknown): Promise<Resume> {
  const { input } = a;
  const resume = await resumeFromParts(a.store, input, fingerprint, a.onCorrupt);
  const hint = parseGenerateHeartbeat(heartbeatDetails, input);
  if (hint && hint.imagesDone !== resume.offset) {
    log.warn('heartbeat progress differs from the verified parts; trusting the parts', {
      shard: input.shardKey,
      heartbeat: hint.imagesDone,
      verified: resume.offset,
    });
  }
  if (resume.offset > 0) log.info('resuming shard', { shard: input.shardKey, from: resume.offset, of: input.count, attempt: a.attempt });
  return resume;
}

/** The parts' tars as the shard (packShard of all samples, when they are not as expected), its stats (the commit marker), then delete the parts. */
async function commitShard(a: Attempt, state: ShardState, resumedFrom: number): Promise<GenerateShardOutput> {
  const { input, store, statsKey } = a;
  const { samples, failedItems } = state;
  const put = await store.put(input.shardKey, assembleShard(state.tars) ?? (await packShard(samples)));
  const stats: ShardStats = { samples: samples.length, failedItems, sha256: put.sha256 };
  await store.put(statsKey, new TextEncoder().encode(JSON.stringify(stats)));
  // The shard is committed: parts are garbage now, and failing to delete them is not a failure.
  await deleteParts(store, input.shardKey, state.written).catch((err) =>
    log.warn('could not delete parts of a committed shard', { shard: input.shardKey, error: errorMessage(err) }),
  );
  return {
    ...record(a, put, failedItems, samples.length),
    cached: false,
    seconds: (Date.now() - a.started) / 1000,
    attempt: a.attempt,
    imagesSampled: state.imagesSampled,
    resumedFrom,
    itemRetries: state.itemRetries,
    storageRetries: store.stats().retries,
    corruptRegenerated: a.corruptRegenerated,
  };
}
