// Training the denoiser in TF.js (native TensorFlow when present, core/nn/backend.ts): DDPM's
// simplified objective, the mean squared error of the predicted noise at a uniformly drawn
// timestep, with condition dropout (the condition replaced by the null one with probability
// condDropout) so one network learns both branches of classifier-free guidance. Adam (our own,
// core/nn/adam.ts) with cosine decay of the learning rate over the planned steps.
//
// Reproducibility: step s's batch (examples at positions s*B .. s*B+B-1 of the concatenated
// per-epoch permutations createRng(`denoiser-train|seed|epoch|e`)) and its timesteps, dropout,
// attribute masks and noise (createRng(`denoiser-train|seed|step|s`)) depend on (seed, s) alone;
// the learning rate on s; Adam's state is {weights, m, v, step}. So a run resumed from a checkpoint
// (checkpoint.ts) ends with the weights of an uninterrupted one, bit for bit on the same backend.
import * as tf from '@tensorflow/tfjs';
import { sha256Hex } from '../../../core/hash.js';
import { adamPlacementFor, createAdam } from '../../../core/nn/adam.js';
import { initTfBackend, type BackendPreference } from '../../../core/nn/backend.js';
import { CorruptModelError } from '../../../core/nn/container.js';
import { learningRateAt } from '../../../core/nn/schedule.js';
import { lossReader } from '../../../core/nn/trainer-loop.js';
import { createRng, permutation } from '../../../core/rng.js';
import { ATTRIBUTE_NAMES } from '../gmm/model.js';
import { decodeDenoiserCheckpoint, encodeDenoiserCheckpoint, sameRun, type DenoiserRun } from './checkpoint.js';
import { conditionDims, layerShapes, weightSizes } from './model.js';
import { timeEmbedding } from './network.js';
import { NOISE_LEVELS, TRAIN_TIMESTEPS } from './schedule.js';

/** Each attribute of a training example is shown with this probability (else 0: "not said"), as most prompts say none. */
export const ATTRIBUTE_KEEP = 0.3;
/** Progress reports (and turns of the event loop) at least this often. */
const PROGRESS_EVERY_MS = 250;

export interface DenoiserTrainData {
  /** [count * D] whitened PCA coordinates of the training images. */
  x0: Float32Array;
  labels: Uint8Array;
  /** [count * 3] the images' attributes (features.ts). */
  attributes: Float32Array;
  count: number;
  D: number;
  classes: number;
}

export interface DenoiserTrainConfig {
  hidden: number[];
  trainSteps: number;
  batchSize: number;
  learningRate: number;
  condDropout: number;
  checkpointEvery: number;
  seed: number;
  timeEmbedDims: number;
}

export interface DenoiserTrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
}

export interface CheckpointStore {
  /** The last saved checkpoint, if any. */
  load(): Promise<Uint8Array | undefined>;
  /**
   * Called every checkpointEvery steps and after the last: steps (at.from, at.step] were trained
   * since the previous save (or the start or resume of this call) and are durable once it resolves.
   */
  save(bytes: Uint8Array, at: { step: number; totalSteps: number; from: number }): Promise<void>;
}

export interface DenoiserTrainHooks {
  checkpoint?: CheckpointStore;
  onProgress?(progress: DenoiserTrainProgress): void;
  /** A stored checkpoint was unreadable or belongs to another run; training starts at step 0. */
  onResumeIgnored?(reason: string): void;
  signal?: AbortSignal;
  /** TF.js backend (default 'auto': native TensorFlow, then wasm, then cpu). */
  backend?: BackendPreference;
}

export interface DenoiserTrainResult {
  weights: Float32Array[];
  steps: number;
  finalLoss: number;
  resumedFromStep: number;
  backend: string;
}

/** The run fingerprint a checkpoint must match. */
export function denoiserRun(data: DenoiserTrainData, cfg: DenoiserTrainConfig): DenoiserRun {
  const dataHash = sha256Hex(
    Buffer.concat([Buffer.from(data.x0.buffer, data.x0.byteOffset, data.x0.byteLength), data.labels.subarray(0, data.count), Buffer.from(data.attributes.buffer, data.attributes.byteOffset, data.attributes.byteLength)]),
  );
  const { seed, hidden, trainSteps, batchSize, learningRate, condDropout, timeEmbedDims } = cfg;
  return { seed, count: data.count, dataHash, classes: data.classes, pcaDims: data.D, timeEmbedDims, hidden: [...hidden], trainSteps, batchSize, learningRate, condDropout };
}

/** Glorot-uniform weights and zero biases from createRng(`denoiser-init|seed`), float32. */
export function initialWeights(shapes: readonly [number, number][], seed: number): Float32Array[] {
  const rng = createRng(`denoiser-init|${seed}`);
  return shapes.flatMap(([i, o]) => {
    const limit = Math.sqrt(6 / (i + o));
    return [Float32Array.from({ length: i * o }, () => (2 * rng.uniform() - 1) * limit), new Float32Array(o)];
  });
}

/** The network's eps for inputs [rows, in] in TF.js: dense layers with SiLU between, linear output. */
export function tfEps(weights: readonly tf.Tensor[], input: tf.Tensor2D): tf.Tensor2D {
  let h = input;
  const layers = weights.length / 2;
  for (let l = 0; l < layers; l++) {
    const pre = tf.add(tf.matMul(h, weights[2 * l] as tf.Tensor2D), weights[2 * l + 1]!) as tf.Tensor2D;
    h = l < layers - 1 ? tf.mul(pre, tf.sigmoid(pre)) : pre;
  }
  return h;
}

/** Trains from the stored checkpoint (if it is this run's) to cfg.trainSteps. */
export async function trainDenoiser(data: DenoiserTrainData, cfg: DenoiserTrainConfig, hooks: DenoiserTrainHooks = {}): Promise<DenoiserTrainResult> {
  checkConfig(data, cfg);
  const { backend, gpu } = await initTfBackend(hooks.backend ?? 'auto');
  const run = denoiserRun(data, cfg);
  const shapes = layerShapes(data.D, cfg.timeEmbedDims, data.classes, cfg.hidden);
  const start = await resumePoint(run, hooks);
  const tfShapes = shapes.flatMap(([i, o]) => [[i, o], [o]]);
  const weights = start?.weights ?? initialWeights(shapes, cfg.seed);
  const zeros = () => weightSizes(shapes).map((n) => new Float32Array(n));
  const optimizer = createAdam(adamPlacementFor(backend, gpu), tfShapes, { weights, m: start?.m ?? zeros(), v: start?.v ?? zeros() }, cfg.learningRate);
  const losses = lossReader(start?.lastLoss ?? Number.NaN);
  const batch = batchBuilder(data, cfg);
  const resumedFromStep = start?.step ?? 0;
  let step = resumedFromStep;
  let saved = resumedFromStep;
  try {
    let lastReport = performance.now();
    while (step < cfg.trainSteps) {
      hooks.signal?.throwIfAborted();
      batch.fill(step);
      const rate = learningRateAt({ learningRate: cfg.learningRate, schedule: 'cosine' }, step, cfg.trainSteps);
      const t = step + 1;
      losses.set(
        tf.tidy(() => {
          const xs = tf.tensor2d(batch.input, [cfg.batchSize, batch.inDims]);
          const ys = tf.tensor2d(batch.target, [cfg.batchSize, data.D]);
          const lossOf = (...w: tf.Tensor[]) => tf.mean(tf.squaredDifference(tfEps(w, xs), ys)) as tf.Scalar;
          const { value, grads } = tf.valueAndGrads(lossOf)(optimizer.weightTensors());
          optimizer.apply(grads, t, rate);
          return value as tf.Scalar;
        }),
      );
      step = t;
      const finished = step === cfg.trainSteps;
      if (hooks.checkpoint && (step % cfg.checkpointEvery === 0 || finished)) {
        const { weights: w, m, v } = optimizer.state();
        await hooks.checkpoint.save(encodeDenoiserCheckpoint({ run, step, lastLoss: losses.read(), weights: w, m, v }), { step, totalSteps: cfg.trainSteps, from: saved });
        saved = step;
      }
      if (finished || performance.now() - lastReport >= PROGRESS_EVERY_MS) {
        hooks.onProgress?.({ step, totalSteps: cfg.trainSteps, loss: losses.read() });
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastReport = performance.now();
      }
    }
    return { weights: optimizer.state().weights, steps: step, finalLoss: losses.read(), resumedFromStep, backend };
  } finally {
    losses.dispose();
    optimizer.dispose();
  }
}

/** The stored checkpoint of this run, or undefined (none, unreadable, or another run's). */
async function resumePoint(run: DenoiserRun, hooks: DenoiserTrainHooks) {
  const bytes = await hooks.checkpoint?.load();
  if (!bytes) return undefined;
  try {
    const c = decodeDenoiserCheckpoint(bytes);
    if (sameRun(c.run, run)) return c;
    hooks.onResumeIgnored?.('the checkpoint belongs to another run configuration or other data');
  } catch (err) {
    if (!(err instanceof CorruptModelError)) throw err;
    hooks.onResumeIgnored?.(err.message);
  }
  return undefined;
}

interface BatchBuilder {
  inDims: number;
  /** [B * inDims]: x_t, time embedding, condition per row. */
  input: Float32Array;
  /** [B * D]: the noise to predict. */
  target: Float32Array;
  fill(step: number): void;
}

/** Fills step s's batch (see the header for what it depends on). Reason for its length: one pass per row. */
function batchBuilder(data: DenoiserTrainData, cfg: DenoiserTrainConfig): BatchBuilder {
  const { D, count: n, classes: C } = data;
  const E = cfg.timeEmbedDims;
  const K = conditionDims(C);
  const A = ATTRIBUTE_NAMES.length;
  const inDims = D + E + K;
  const B = cfg.batchSize;
  const input = new Float32Array(B * inDims);
  const target = new Float32Array(B * D);
  const orders = new Map<number, Uint32Array>();
  const orderOf = (epoch: number) => {
    let order = orders.get(epoch);
    if (!order) {
      if (orders.size >= 2) orders.delete(orders.keys().next().value!);
      order = permutation(n, createRng(`denoiser-train|${cfg.seed}|epoch|${epoch}`));
      orders.set(epoch, order);
    }
    return order;
  };
  const { sqrtAb, sqrt1mAb } = NOISE_LEVELS;
  return {
    inDims,
    input,
    target,
    fill(step) {
      const rng = createRng(`denoiser-train|${cfg.seed}|step|${step}`);
      for (let j = 0; j < B; j++) {
        const position = step * B + j;
        const example = orderOf(Math.floor(position / n))[position % n]!;
        const t = rng.int(TRAIN_TIMESTEPS);
        const dropped = rng.uniform() < cfg.condDropout;
        const row = j * inDims;
        for (let d = 0; d < D; d++) {
          const eps = rng.normal();
          target[j * D + d] = eps;
          input[row + d] = sqrtAb[t]! * data.x0[example * D + d]! + sqrt1mAb[t]! * eps;
        }
        timeEmbedding(t, E, input, row + D);
        const cond = row + D + E;
        input.fill(0, cond, cond + K);
        const keep = [rng.uniform(), rng.uniform(), rng.uniform()];
        if (dropped) {
          input[cond + K - 1] = 1;
          continue;
        }
        input[cond + data.labels[example]!] = 1;
        for (let a = 0; a < A; a++) if (keep[a]! < ATTRIBUTE_KEEP) input[cond + C + a] = data.attributes[example * A + a]!;
      }
    },
  };
}

function checkConfig(data: DenoiserTrainData, cfg: DenoiserTrainConfig): void {
  const positiveInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt(cfg.trainSteps, 'trainSteps');
  positiveInt(cfg.batchSize, 'batchSize');
  positiveInt(cfg.checkpointEvery, 'checkpointEvery');
  positiveInt(data.count, 'training images');
  if (!Number.isInteger(cfg.seed)) throw new RangeError(`seed must be an integer, got ${cfg.seed}`);
  if (!(cfg.learningRate > 0 && cfg.learningRate < 1)) throw new RangeError(`learningRate must be in (0, 1), got ${cfg.learningRate}`);
  if (!(cfg.condDropout > 0 && cfg.condDropout < 1)) throw new RangeError(`condDropout must be in (0, 1) (0 would leave the unconditional branch untrained), got ${cfg.condDropout}`);
  if (cfg.hidden.length < 1 || cfg.hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 4096)) throw new RangeError(`hidden must be 1+ widths in 1..4096, got ${JSON.stringify(cfg.hidden)}`);
  if (data.x0.length !== data.count * data.D || data.attributes.length !== data.count * ATTRIBUTE_NAMES.length) throw new RangeError('training data arrays do not match count');
  for (let i = 0; i < data.count; i++) if (data.labels[i]! >= data.classes) throw new RangeError(`label ${data.labels[i]} of example ${i} is out of range`);
}
