// Penultimate-layer features of a trained classifier: its trunk's output (models/registry.ts), the
// space in which the recognizability judge compares generated images with real ones (diversity,
// core/stats/diversity.ts). Batched like predictLogits, with the same fused inference ops.
import { initTfBackend } from './backend.js';
import { checkClassifier, specOf, type SerializedClassifier } from './classifier-model.js';
import { preprocess } from './input.js';
import { checkInputGeometry, modelTensors, type InferenceOptions } from './metrics.js';
import { modelDefinition } from './models/registry.js';

export interface ClassifierFeatures {
  /** Row-major count x dim. */
  values: Float32Array;
  count: number;
  /** Width of the trunk's output (the last hidden width; the pixels for an MLP without hidden layers; 4 width for a ResNet). */
  dim: number;
}

export interface FeatureOptions extends InferenceOptions {
  /** Read these images (in this order) instead of [0, count). */
  indices?: ArrayLike<number>;
}

/** Trunk features of images [0, count) of `images` (or of `opts.indices`), yielding between batches. */
export async function predictFeatures(
  model: SerializedClassifier,
  images: Uint8Array,
  count: number,
  opts: FeatureOptions = {},
): Promise<ClassifierFeatures> {
  const n = opts.indices ? opts.indices.length : count;
  if (!Number.isInteger(n) || n < 0) throw new Error(`count must be a non-negative integer, got ${n}`);
  checkClassifier(model);
  checkInputGeometry(model, opts.geometry);
  const per = model.inputSize;
  if (!opts.indices && images.length < count * per) throw new Error(`${images.length} pixel bytes is fewer than ${count} images need`);
  const { tf } = await initTfBackend(opts.backend ?? 'auto');
  const definition = modelDefinition(model.arch);
  const spec = specOf(model);
  const dim = definition.trunkFeatures(spec);
  const { weights, state } = modelTensors(tf, model);
  // The trunk's weights: all but the head's kernel and bias.
  const trunk = weights.slice(0, -2);
  const values = new Float32Array(n * dim);
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 512));
  try {
    for (let start = 0; start < n; start += batch) {
      opts.signal?.throwIfAborted();
      const rows = Math.min(batch, n - start);
      const pixels = opts.indices
        ? preprocess(images, rows, Array.prototype.slice.call(opts.indices, start, start + rows) as number[], model.geometry)
        : preprocess(images.subarray(start * per, (start + rows) * per), rows, undefined, model.geometry);
      const features = tf.tidy(() => definition.fusedTrunk(tf.tensor2d(pixels, [rows, per]), trunk, spec, state));
      values.set(features.dataSync() as Float32Array, start * dim);
      features.dispose();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose([...weights, ...state]);
  }
  return { values, count: n, dim };
}
