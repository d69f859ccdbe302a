// Every classifier architecture, by name. Adding one: a module beside mlp.ts/cnn.ts exporting a
// ModelDefinition, its name in names.ts, and its entry here. Everything else (the classifier's
// shapes, init, logits, inference, formats; the CLIP image tower) goes through this registry.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { INPUT_SIZE, NUM_CLASSES } from '../input.js';
import { cnn } from './cnn.js';
import { denseLinear, denseShapes, fusedDense, glorotUniform, type ModelDefinition } from './definition.js';
import { mlp } from './mlp.js';
import { MODEL_ARCHS, type ModelArch } from './names.js';

export { MODEL_ARCHS, type ModelArch, type ModelDefinition };

export const MODELS: Record<ModelArch, ModelDefinition> = { mlp, cnn };

export function modelDefinition(arch: ModelArch): ModelDefinition {
  if (!MODEL_ARCHS.includes(arch)) throw new Error(`unsupported model arch '${String(arch)}'`);
  return MODELS[arch];
}

/** Weight shapes of the classifier: the trunk's, then the 10-way head [F, 10], [10]. */
export function modelShapes(arch: ModelArch, hidden: readonly number[]): number[][] {
  const model = modelDefinition(arch);
  return [...model.trunkShapes(hidden), ...denseShapes([model.trunkFeatures(hidden), NUM_CLASSES])];
}

/** MLP shapes: [[784, h0], [h0], [h0, h1], [h1], ..., [hLast, 10], [10]]. */
export function weightShapes(hidden: readonly number[], inputSize = INPUT_SIZE, classes = NUM_CLASSES): number[][] {
  return denseShapes([inputSize, ...hidden, classes]);
}

/** Width of the trunk's output: the last hidden width, or its input without hidden layers. */
export function trunkFeatures(arch: ModelArch, hidden: readonly number[]): number {
  return modelDefinition(arch).trunkFeatures(hidden);
}

/** Initial classifier weights: the trunk's, then the head's, Glorot-uniform from `rng`. */
export function initialWeights(arch: ModelArch, hidden: readonly number[], rng: Rng): Float32Array[] {
  const model = modelDefinition(arch);
  return [...model.initTrunk(hidden, rng), ...glorotUniform(denseShapes([model.trunkFeatures(hidden), NUM_CLASSES]), rng)];
}

/**
 * Logits [n, 10] for preprocessed images x [n, 784], written with plain conv2d/matMul/add/relu/
 * maxPool (no fused ops, whose gradients bypass the Conv2D/BatchMatMul gradient overrides the wasm
 * backend needs). `weights` in `modelShapes(arch, hidden)` order. Used by training and evaluation.
 */
export function classifierLogits(arch: ModelArch, x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const k = weights.length - 2;
  return denseLinear(modelDefinition(arch).trunk(x, weights.slice(0, k)), weights[k]!, weights[k + 1]!);
}

/** `classifierLogits` with fused ops (inference only). */
export function fusedClassifierLogits(arch: ModelArch, x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const k = weights.length - 2;
  return fusedDense(modelDefinition(arch).fusedTrunk(x, weights.slice(0, k)), weights.slice(k), 'linear');
}
