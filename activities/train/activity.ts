// Training stage: one classifier per (source, N, seed) cell, checkpointed to storage so a
// retried activity resumes from its last checkpoint instead of step 0. The cell reads its window
// of each manifest (offset, size) and records what it read in items.json. The model reads the
// manifest's geometry (absent: 28x28 grey) and predicts its classes.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MalformedImageError } from '../../core/png.js';
import { ShardFormatError } from '../../core/shards/webdataset.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { readManifest } from '../../core/shards/manifest.js';
import { concatStreams, openSamples, type SampleStream } from '../../core/shards/stream.js';
import { initTfBackend } from '../../core/nn/backend.js';
import { decodeCheckpoint, serializeClassifier, trainClassifier, type TrainingStream, type TrainOptions } from '../../core/nn/classifier.js';
import { FASHION_MNIST_GEOMETRY, geometryLabel, sameGeometry } from '../../core/image/geometry.js';
import { CELL_ITEMS_FILE, cellItems, cellParts, trainingSummary, type TrainingSummary } from '../../core/nn/cell-record.js';
import { storedCheckpoint, trainResumable } from '../../core/nn/resumable.js';
export type { TrainCellInput, TrainCellOutput } from '../../contracts/cells.js';
export { TRAIN_CODE_VERSION, cellKey } from '../../contracts/cells.js';
import type { TrainCellInput, TrainCellOutput } from '../../contracts/cells.js';
import { cellKey } from '../../contracts/cells.js';

/** Written beside model.bin when training finishes: what the cell cost and how its training ended, kept for cache hits. */
export interface TrainRecord extends TrainingSummary {
  steps: number;
  seconds: number;
  backend: string;
  resumedFromStep: number;
  attempt: number;
}

/** Progress as the Temporal UI shows it in the pending activity's heartbeat details. */
export interface TrainHeartbeat {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
}

export function createTrainActivities(deps: ActivityDeps) {
  return {
    trainClassifier: (input: TrainCellInput): Promise<TrainCellOutput> => trainCell(deps, input),
  };
}

async function trainCell(deps: ActivityDeps, input: TrainCellInput): Promise<TrainCellOutput> {
  const started = Date.now();
  const manifestKey = deps.store.keyOf(input.manifestUri);
  const manifestHead = await deps.store.head(manifestKey);
  if (!manifestHead) throw new Error(`${input.manifestUri} does not exist`);
  const mixHeads = await Promise.all(
    (input.mix ?? []).map(async (m) => {
      const head = await deps.store.head(deps.store.keyOf(m.manifestUri));
      if (!head) throw new Error(`${m.manifestUri} does not exist`);
      return head.sha256;
    }),
  );
  const prefix = cellKey(manifestHead.sha256, input, mixHeads);
  const modelKey = `${prefix}/model.bin`;
  const recordKey = `${prefix}/train.json`;
  const attempt = activityInfo().attempt;
  const onCorrupt = (m: string) => log.warn('retraining corrupt model', { reason: m });
  if ((await hasValidObject(deps.store, recordKey, onCorrupt)) && (await hasValidObject(deps.store, modelKey, onCorrupt))) {
    const record = await getJson<TrainRecord>(deps.store, recordKey);
    return { cellPrefix: prefix, modelUri: deps.store.uri(modelKey), ...record, stepsRun: 0, attempt, cached: true };
  }
  const { backend } = await initTfBackend(input.recipe.backend);
  const data = await openTrainingData(deps, input);
  const result = await train(deps, input, data, prefix).catch((err: unknown) => {
    // A malformed shard or image fails the cell at once, naming the shard and sample; the
    // checkpoints written so far stay.
    if (err instanceof ShardFormatError || err instanceof MalformedImageError) {
      throw ApplicationFailure.nonRetryable((err as Error).message, FAILURE_TYPES.malformedImage);
    }
    throw err;
  });
  const put = await deps.store.put(modelKey, serializeClassifier(result.model));
  await putJson(deps.store, `${prefix}/${CELL_ITEMS_FILE}`, cellItems(input, result.validationIndices));
  const record: TrainRecord = {
    steps: result.steps,
    seconds: (Date.now() - started) / 1000,
    backend,
    resumedFromStep: result.resumedFromStep,
    attempt,
    ...trainingSummary(result),
  };
  // The record is the cell's commit marker: written after the model.
  await putJson(deps.store, recordKey, record);
  return { cellPrefix: prefix, modelUri: put.uri, ...record, stepsRun: result.steps - result.resumedFromStep, attempt, cached: false };
}

/** The cell's examples: its window of its source, then any mixed-in sources' windows (read batch by batch), at the manifest's geometry. */
async function openTrainingData(deps: ActivityDeps, input: TrainCellInput): Promise<SampleStream & TrainingStream> {
  const manifest = await readManifest(deps.store, input.manifestUri);
  if ((manifest.labels?.unlabeled ?? 0) > 0) {
    throw ApplicationFailure.nonRetryable(
      `${input.manifestUri}: ${manifest.labels!.unlabeled} image-caption pairs have no class label; a classifier cannot train on them (a real-pairs source trains CLIP only)`,
      FAILURE_TYPES.invalidInput,
    );
  }
  // Shards are read batch by batch (bounded memory); see core/shards/stream.ts.
  const [main, ...mix] = cellParts(input);
  const geometry = manifest.geometry ?? FASHION_MNIST_GEOMETRY;
  const parts = [openSamples(deps.store, manifest, main!)];
  for (const m of mix) {
    const mixed = await readManifest(deps.store, m.manifestUri);
    if (mixed.classes.join('\n') !== manifest.classes.join('\n')) {
      throw ApplicationFailure.nonRetryable(`${m.manifestUri} has other classes than ${input.manifestUri}; they cannot be mixed`, FAILURE_TYPES.invalidInput);
    }
    const mixedGeometry = mixed.geometry ?? FASHION_MNIST_GEOMETRY;
    if (!sameGeometry(mixedGeometry, geometry)) {
      throw ApplicationFailure.nonRetryable(
        `${m.manifestUri} holds ${geometryLabel(mixedGeometry)} images, ${input.manifestUri} ${geometryLabel(geometry)}; they cannot be mixed`,
        FAILURE_TYPES.invalidInput,
      );
    }
    parts.push(openSamples(deps.store, mixed, m));
  }
  return Object.assign(concatStreams(parts), { geometry, classCount: manifest.classes.length });
}

/** Trains the cell from its stored checkpoint, if any, writing checkpoints as it goes. */
async function train(deps: ActivityDeps, input: TrainCellInput, data: SampleStream, prefix: string) {
  const checkpointKey = `${prefix}/checkpoint.bin`;
  const attempt = activityInfo().attempt;
  const resume = await storedCheckpoint(
    deps.store,
    checkpointKey,
    (bytes) => {
      const state = decodeCheckpoint(bytes);
      log.info('resuming training from checkpoint', { step: state.step, attempt: activityInfo().attempt });
      return { step: state.step, totalSteps: state.totalSteps, bytes };
    },
    {
      onCorrupt: (m) => log.warn('ignoring corrupt checkpoint', { reason: m }),
      onUnreadable: (m) => log.warn('ignoring unreadable checkpoint', { reason: m }),
    },
  );
  return trainResumable({
    resume,
    seed: input.seed,
    signal: cancellationSignal(),
    train: (opts: TrainOptions) => trainClassifier(data, input.recipe, opts),
    saveCheckpoint: (checkpoint) => deps.store.put(checkpointKey, checkpoint.bytes),
    onProgress: (p) => heartbeat({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: Number(p.loss.toFixed(4)) } satisfies TrainHeartbeat),
    onMismatch: (reason) => log.warn('checkpoint belongs to another run configuration; training from scratch', { reason }),
    onSteps: (from, to) => recordWork({ kind: 'train-steps', key: prefix, from, to, attempt }),
  });
}
