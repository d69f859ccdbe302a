// Training stage: one classifier per (source, N, seed) cell, checkpointed to storage so a
// retried activity resumes from its last checkpoint instead of step 0.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { inputHash } from '../../core/hash.js';
import { MalformedImageError } from '../../core/png.js';
import { ShardFormatError } from '../../core/shards/webdataset.js';
import type { TrainingRecipe } from '../../contracts/spec/sweep.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { readManifest } from '../../core/shards/manifest.js';
import { concatStreams, openFirstSamples } from '../../core/shards/stream.js';
import { initTfBackend } from '../../core/nn/backend.js';
import {
  CheckpointMismatchError,
  CorruptModelError,
  decodeCheckpoint,
  serializeClassifier,
  trainClassifier,
  type Checkpoint,
} from '../../core/nn/classifier.js';
export type { TrainCellInput, TrainCellOutput } from '../../contracts/cells.js';
export { TRAIN_CODE_VERSION, cellKey } from '../../contracts/cells.js';
import type { TrainCellInput, TrainCellOutput } from '../../contracts/cells.js';
import { TRAIN_CODE_VERSION, cellKey } from '../../contracts/cells.js';



/** Written beside model.bin when training finishes: what the cell cost, kept for cache hits. */
export interface TrainRecord {
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
    async trainClassifier(input: TrainCellInput): Promise<TrainCellOutput> {
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
      const checkpointKey = `${prefix}/checkpoint.bin`;
      const recordKey = `${prefix}/train.json`;
      const attempt = activityInfo().attempt;
      const onCorrupt = (m: string) => log.warn('retraining corrupt model', { reason: m });
      if ((await hasValidObject(deps.store, recordKey, onCorrupt)) && (await hasValidObject(deps.store, modelKey, onCorrupt))) {
        const record = await getJson<TrainRecord>(deps.store, recordKey);
        return { cellPrefix: prefix, modelUri: deps.store.uri(modelKey), ...record, stepsRun: 0, attempt, cached: true };
      }
      const { backend } = await initTfBackend(input.recipe.backend);
      const manifest = await readManifest(deps.store, input.manifestUri);
      if ((manifest.labels?.unlabeled ?? 0) > 0) {
        throw ApplicationFailure.nonRetryable(
          `${input.manifestUri}: ${manifest.labels!.unlabeled} image-caption pairs have no class label; a classifier cannot train on them (a real-pairs source trains CLIP only)`,
          FAILURE_TYPES.invalidInput,
        );
      }
      // Shards are read batch by batch (bounded memory); see activities/shards/stream.ts.
      const parts = [openFirstSamples(deps.store, manifest, input.size)];
      for (const m of input.mix ?? []) {
        const mixed = await readManifest(deps.store, m.manifestUri);
        if (mixed.classes.join('\n') !== manifest.classes.join('\n')) {
          throw ApplicationFailure.nonRetryable(`${m.manifestUri} has other classes than ${input.manifestUri}; they cannot be mixed`, FAILURE_TYPES.invalidInput);
        }
        parts.push(openFirstSamples(deps.store, mixed, m.count));
      }
      const data = concatStreams(parts);

      let resume: Checkpoint | null = null;
      if (await hasValidObject(deps.store, checkpointKey, (m) => log.warn('ignoring corrupt checkpoint', { reason: m }))) {
        try {
          const bytes = await deps.store.get(checkpointKey);
          const state = decodeCheckpoint(bytes);
          resume = { step: state.step, totalSteps: state.totalSteps, bytes };
          log.info('resuming training from checkpoint', { step: state.step, attempt: activityInfo().attempt });
        } catch (err) {
          if (!(err instanceof CorruptModelError)) throw err;
          log.warn('ignoring unreadable checkpoint', { reason: err.message });
        }
      }
      let lastStep = resume?.step ?? 0;
      const run = (from: Checkpoint | null) =>
        trainClassifier(data, input.recipe, {
          seed: input.seed,
          resume: from,
          signal: cancellationSignal(),
          onProgress: (p) => {
            if (p.step > lastStep) recordWork({ kind: 'train-steps', key: prefix, from: lastStep, to: p.step, attempt });
            lastStep = Math.max(lastStep, p.step);
            heartbeat({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: Number(p.loss.toFixed(4)) } satisfies TrainHeartbeat);
          },
          onCheckpoint: async (checkpoint) => {
            await deps.store.put(checkpointKey, checkpoint.bytes);
          },
        });
      const runOrRestart = async () => {
        try {
          return await run(resume);
        } catch (err) {
          if (!(err instanceof CheckpointMismatchError)) throw err;
          log.warn('checkpoint belongs to another run configuration; training from scratch', { reason: err.message });
          lastStep = 0;
          return await run(null);
        }
      };
      const result = await runOrRestart().catch((err: unknown) => {
        // A malformed shard or image fails the cell at once, naming the shard and sample; the
        // checkpoints written so far stay.
        if (err instanceof ShardFormatError || err instanceof MalformedImageError) {
          throw ApplicationFailure.nonRetryable((err as Error).message, FAILURE_TYPES.malformedImage);
        }
        throw err;
      });
      if (result.steps > lastStep) recordWork({ kind: 'train-steps', key: prefix, from: lastStep, to: result.steps, attempt });
      const put = await deps.store.put(modelKey, serializeClassifier(result.model));
      const record: TrainRecord = {
        steps: result.steps,
        seconds: (Date.now() - started) / 1000,
        backend,
        resumedFromStep: result.resumedFromStep,
        attempt,
      };
      // The record is the cell's commit marker: written after the model.
      await putJson(deps.store, recordKey, record);
      return { cellPrefix: prefix, modelUri: put.uri, ...record, stepsRun: result.steps - result.resumedFromStep, attempt, cached: false };
    },
  };
}
