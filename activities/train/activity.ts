// Training stage: one classifier per (source, N, seed) cell, checkpointed to storage so a
// retried activity resumes from its last checkpoint instead of step 0.
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import type { TrainingRecipe } from '../../core/spec.js';
import { hasValidObject } from '../../core/storage.js';
import type { ActivityDeps } from '../context.js';
import { loadFirstSamples, readManifest } from '../shards/manifest.js';
import { initTfBackend } from './backend.js';
import {
  CheckpointMismatchError,
  CorruptModelError,
  decodeCheckpoint,
  serializeClassifier,
  trainClassifier,
  type Checkpoint,
} from './classifier.js';

export const TRAIN_CODE_VERSION = 'mlp-train-1';

export interface TrainCellInput {
  manifestUri: string;
  size: number;
  seed: number;
  recipe: TrainingRecipe;
}

export interface TrainCellOutput {
  modelUri: string;
  steps: number;
  seconds: number;
  backend: string;
  resumedFromStep: number;
  cached: boolean;
}

/** Progress as the Temporal UI shows it in the pending activity's heartbeat details. */
export interface TrainHeartbeat {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
}

/** The cell's storage prefix: what determines the trained weights (not where/how fast it ran). */
export function cellKey(manifestSha: string, input: TrainCellInput): string {
  const { checkpointEvery: _every, backend: _backend, ...recipe } = input.recipe;
  return `cells/${inputHash('train', TRAIN_CODE_VERSION, { manifest: manifestSha, size: input.size, seed: input.seed, recipe })}`;
}

export function createTrainActivities(deps: ActivityDeps) {
  return {
    async trainClassifier(input: TrainCellInput): Promise<TrainCellOutput> {
      const started = Date.now();
      const manifestKey = deps.store.keyOf(input.manifestUri);
      const manifestHead = await deps.store.head(manifestKey);
      if (!manifestHead) throw new Error(`${input.manifestUri} does not exist`);
      const prefix = cellKey(manifestHead.sha256, input);
      const modelKey = `${prefix}/model.bin`;
      const checkpointKey = `${prefix}/checkpoint.bin`;
      if (await hasValidObject(deps.store, modelKey, (m) => log.warn('retraining corrupt model', { reason: m }))) {
        return { modelUri: deps.store.uri(modelKey), steps: 0, seconds: (Date.now() - started) / 1000, backend: 'cache', resumedFromStep: 0, cached: true };
      }
      const { backend } = await initTfBackend(input.recipe.backend);
      const manifest = await readManifest(deps.store, input.manifestUri);
      const data = await loadFirstSamples(deps.store, manifest, input.size);

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
      const run = (from: Checkpoint | null) =>
        trainClassifier(data, input.recipe, {
          seed: input.seed,
          resume: from,
          signal: cancellationSignal(),
          onProgress: (p) => heartbeat({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: Number(p.loss.toFixed(4)) } satisfies TrainHeartbeat),
          onCheckpoint: async (checkpoint) => {
            await deps.store.put(checkpointKey, checkpoint.bytes);
          },
        });
      let result;
      try {
        result = await run(resume);
      } catch (err) {
        if (!(err instanceof CheckpointMismatchError)) throw err;
        log.warn('checkpoint belongs to another run configuration; training from scratch', { reason: err.message });
        result = await run(null);
      }
      const put = await deps.store.put(modelKey, serializeClassifier(result.model));
      return {
        modelUri: put.uri,
        steps: result.steps - result.resumedFromStep,
        seconds: (Date.now() - started) / 1000,
        backend,
        resumedFromStep: result.resumedFromStep,
        cached: false,
      };
    },
  };
}
