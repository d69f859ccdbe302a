// How a training activity (classifier or CLIP) resumes a cell: from the checkpoint in its store if
// that one reads back, from scratch when it belongs to another run configuration, counting every
// stretch of newly trained steps once.
import { hasValidObject, type BlobStore } from '../storage.js';
import { CorruptModelError } from './container.js';
import { CheckpointMismatchError, type Checkpoint, type LoopProgress, type TrainerOptions } from './trainer.js';

export interface StoredCheckpointHooks {
  /** The stored object fails its integrity check, or its bytes do not decode (CorruptModelError). */
  onCorrupt(message: string): void;
  onUnreadable(message: string): void;
}

/** The checkpoint at `key` via `fromBytes`, or null when there is none or it is damaged. */
export async function storedCheckpoint(
  store: BlobStore,
  key: string,
  fromBytes: (bytes: Uint8Array) => Checkpoint,
  hooks: StoredCheckpointHooks,
): Promise<Checkpoint | null> {
  if (!(await hasValidObject(store, key, (m) => hooks.onCorrupt(m)))) return null;
  try {
    return fromBytes(await store.get(key));
  } catch (err) {
    if (!(err instanceof CorruptModelError)) throw err;
    hooks.onUnreadable(err.message);
    return null;
  }
}

export interface ResumableTraining<P extends LoopProgress, R> {
  /** The stored checkpoint to start from (storedCheckpoint), or null. */
  resume: Checkpoint | null;
  seed: number | string;
  signal?: AbortSignal;
  /** The model's training function (trainClassifier, trainClip) on the cell's data and recipe. */
  train(opts: TrainerOptions<P>): Promise<R>;
  saveCheckpoint(checkpoint: Checkpoint): Promise<unknown>;
  /** Progress, after the steps it reports were counted (onSteps). */
  onProgress(progress: NoInfer<P>): void;
  /** The checkpoint belongs to another run (CheckpointMismatchError); training restarts at step 0. */
  onMismatch(reason: string): void;
  /** Steps (from, to] were trained since the last report: every new stretch once, the last when training returns. */
  onSteps(from: number, to: number): void;
}

/** Trains from `run.resume`, again from scratch on a CheckpointMismatchError. */
export async function trainResumable<P extends LoopProgress, R extends { steps: number }>(run: ResumableTraining<P, R>): Promise<R> {
  let lastStep = run.resume?.step ?? 0;
  const train = (from: Checkpoint | null) =>
    run.train({
      seed: run.seed,
      resume: from,
      signal: run.signal,
      onProgress: (p) => {
        if (p.step > lastStep) run.onSteps(lastStep, p.step);
        lastStep = Math.max(lastStep, p.step);
        run.onProgress(p);
      },
      onCheckpoint: async (checkpoint) => {
        // The checkpoint's steps ran even if the attempt dies before its next progress report.
        if (checkpoint.step > lastStep) run.onSteps(lastStep, checkpoint.step);
        lastStep = Math.max(lastStep, checkpoint.step);
        await run.saveCheckpoint(checkpoint);
      },
    });
  let result: R;
  try {
    result = await train(run.resume);
  } catch (err) {
    if (!(err instanceof CheckpointMismatchError)) throw err;
    run.onMismatch(err.message);
    lastStep = 0;
    result = await train(null);
  }
  if (result.steps > lastStep) run.onSteps(lastStep, result.steps);
  return result;
}
