// Every classifier architecture, by name. Adding one: a module beside mlp.ts/cnn.ts/resnet.ts
// exporting a ModelDefinition, its name in names.ts, and its entry here. Everything else (the
// classifier's shapes, init, logits, inference, formats; the CLIP image tower) goes through this
// registry. A model's shapes follow from its arch and its ModelSpec (hidden widths, the ResNet's
// depth and width, the input geometry and the class count); a bare `hidden` list stands for the
// spec at 28x28 grey with 10 classes (modelSpec).
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { INPUT_SIZE, NUM_CLASSES } from '../input.js';
import { cnn } from './cnn.js';
import {
  denseLinear,
  denseShapes,
  fusedDense,
  glorotUniform,
  modelSpec,
  STATELESS,
  type ForwardMode,
  type ModelDefinition,
  type ModelSpec,
} from './definition.js';
import { mlp } from './mlp.js';
import { MODEL_ARCHS, type ModelArch } from './names.js';
import { resnet } from './resnet.js';

export { MODEL_ARCHS, modelSpec, type ForwardMode, type ModelArch, type ModelDefinition, type ModelSpec };

export const MODELS: Record<ModelArch, ModelDefinition> = { mlp, cnn, resnet };

/** A spec, or hidden widths at the default input (28x28 grey, 10 classes). */
export type SpecLike = ModelSpec | readonly number[];

export const asSpec = (spec: SpecLike): ModelSpec => (Array.isArray(spec) ? modelSpec(spec as readonly number[]) : (spec as ModelSpec));

export function modelDefinition(arch: ModelArch): ModelDefinition {
  if (!MODEL_ARCHS.includes(arch)) throw new Error(`unsupported model arch '${String(arch)}'`);
  return MODELS[arch];
}

/** Weight shapes of the classifier: the trunk's, then the head [F, classes], [classes]. */
export function modelShapes(arch: ModelArch, spec: SpecLike): number[][] {
  const s = asSpec(spec);
  const model = modelDefinition(arch);
  return [...model.trunkShapes(s), ...denseShapes([model.trunkFeatures(s), s.classes])];
}

/** MLP shapes: [[784, h0], [h0], [h0, h1], [h1], ..., [hLast, 10], [10]]. */
export function weightShapes(hidden: readonly number[], inputSize = INPUT_SIZE, classes = NUM_CLASSES): number[][] {
  return denseShapes([inputSize, ...hidden, classes]);
}

/** Width of the trunk's output: the last hidden width, or its input without hidden layers. */
export function trunkFeatures(arch: ModelArch, spec: SpecLike): number {
  return modelDefinition(arch).trunkFeatures(asSpec(spec));
}

/** Shapes of the model's non-trained state ([] but for the ResNet's batch norm statistics). */
export function stateShapes(arch: ModelArch, spec: SpecLike): number[][] {
  return modelDefinition(arch).stateShapes(asSpec(spec));
}

/** Initial classifier weights: the trunk's, then the head's, Glorot-uniform from `rng`. */
export function initialWeights(arch: ModelArch, spec: SpecLike, rng: Rng): Float32Array[] {
  const s = asSpec(spec);
  const model = modelDefinition(arch);
  return [...model.initTrunk(s, rng), ...glorotUniform(denseShapes([model.trunkFeatures(s), s.classes]), rng)];
}

/** The state before training. */
export function initialState(arch: ModelArch, spec: SpecLike): Float32Array[] {
  return modelDefinition(arch).initState(asSpec(spec));
}

/**
 * Logits [n, classes] for preprocessed images x [n, P], written with plain conv2d/matMul/add/relu/
 * maxPool (no fused ops, whose gradients bypass the Conv2D/BatchMatMul gradient overrides the wasm
 * backend needs). `weights` in `modelShapes(arch, spec)` order; `mode` says how the state is used
 * (models without state ignore it). Used by training and validation.
 */
export function classifierLogits(arch: ModelArch, x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: SpecLike, mode: ForwardMode = STATELESS): tf.Tensor2D {
  const k = weights.length - 2;
  return denseLinear(modelDefinition(arch).trunk(x, weights.slice(0, k), asSpec(spec), mode), weights[k]!, weights[k + 1]!);
}

/** `classifierLogits` in inference mode with fused ops. */
export function fusedClassifierLogits(arch: ModelArch, x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: SpecLike, state: readonly tf.Tensor[] = []): tf.Tensor2D {
  const k = weights.length - 2;
  return fusedDense(modelDefinition(arch).fusedTrunk(x, weights.slice(0, k), asSpec(spec), state), weights.slice(k), 'linear');
}
