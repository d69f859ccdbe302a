// What an architecture is to the rest of core/nn: a trunk from preprocessed images [n, P] (P =
// size * size * channels floats in [0, 1], row-major HWC, see input.ts) to features [n, F]. The
// classifier puts a linear head of `classes` outputs on it (registry.ts), the CLIP image tower a
// linear projection (activities/clip). Weights are flat lists of Float32Arrays / tensors in
// `trunkShapes` order; a dense kernel is row-major [fanIn, fanOut], a conv kernel
// [KH, KW, inChannels, filters].
//
// A trunk may also have non-trained state (the ResNet's batch norm running mean and variance):
// `stateShapes` / `initState`, in their own flat list. Adam never sees it; the training forward
// pass computes its next value from the batch (`ForwardMode.next`), the trainer assigns that after
// each step, and inference reads it (`ForwardMode.state`). Models without state return [] and
// ignore the mode.
import * as tf from '@tensorflow/tfjs';
import { FASHION_MNIST_GEOMETRY, type ImageGeometry } from '../../image/geometry.js';
import type { Rng } from '../../rng.js';

/** The ResNet's shape (model 'resnet'): depth 6n+2, first-stage width. */
export interface ResNetShape {
  depth: number;
  width: number;
}

export const DEFAULT_RESNET: ResNetShape = Object.freeze({ depth: 20, width: 16 });

/** What a model reads and predicts: images of `geometry`, `classes` classes. */
export interface ModelInput {
  geometry: ImageGeometry;
  classes: number;
}

/** Fashion-MNIST's: 28x28 grey, 10 classes (every model before geometries). */
export const DEFAULT_MODEL_INPUT: ModelInput = Object.freeze({ geometry: FASHION_MNIST_GEOMETRY, classes: 10 });

/** Everything that decides a model's shapes besides its arch. */
export interface ModelSpec extends ModelInput {
  /** Dense hidden widths (mlp, cnn; the ResNet ignores them). */
  hidden: readonly number[];
  /** The ResNet's depth and width (resnet only; default DEFAULT_RESNET). */
  resnet?: ResNetShape;
}

/** `hidden` at `input` (default 28x28 grey, 10 classes), with `resnet` when given. */
export function modelSpec(hidden: readonly number[], input: Partial<ModelInput> & { resnet?: ResNetShape } = {}): ModelSpec {
  return {
    hidden,
    geometry: input.geometry ?? DEFAULT_MODEL_INPUT.geometry,
    classes: input.classes ?? DEFAULT_MODEL_INPUT.classes,
    ...(input.resnet ? { resnet: input.resnet } : {}),
  };
}

/**
 * How a forward pass treats the non-trained state: inference reads `state`; training normalises
 * with batch statistics and pushes the state's next value, one tensor per state tensor in order,
 * onto `next` (tf.keep'd: the caller assigns and disposes them).
 */
export type ForwardMode = { training: false; state: readonly tf.Tensor[] } | { training: true; state: readonly tf.Tensor[]; next: tf.Tensor[] };

/** Inference without state (mlp, cnn). */
export const STATELESS: ForwardMode = Object.freeze({ training: false, state: Object.freeze([]) as readonly tf.Tensor[] });

export interface ModelDefinition {
  /** Weight shapes of the trunk. */
  trunkShapes(spec: ModelSpec): number[][];
  /** Width F of the trunk's output. */
  trunkFeatures(spec: ModelSpec): number;
  /** Initial trunk weights, drawn from `rng` in trunkShapes order. */
  initTrunk(spec: ModelSpec, rng: Rng): Float32Array[];
  /** Shapes of the non-trained state ([] for none). */
  stateShapes(spec: ModelSpec): number[][];
  /** The state before training. */
  initState(spec: ModelSpec): Float32Array[];
  /**
   * Features [n, F] of x [n, P] with plain ops (training: no fused ops, whose gradients bypass
   * the gradient overrides the wasm backend needs). The dense layer count follows from
   * `weights.length`.
   */
  trunk(x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: ModelSpec, mode: ForwardMode): tf.Tensor2D;
  /** The same function in inference mode with fused ops (~1.5-2x faster on wasm). */
  fusedTrunk(x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: ModelSpec, state: readonly tf.Tensor[]): tf.Tensor2D;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Glorot-uniform kernels and zero biases, drawn from `rng` in order. A conv kernel [KH, KW, C, F]
 * has fanIn KH*KW*C and fanOut KH*KW*F (as Keras); shapes of rank < 2 are biases.
 */
export function glorotUniform(shapes: readonly number[][], rng: Rng): Float32Array[] {
  return shapes.map((shape) => {
    const values = new Float32Array(sizeOf(shape));
    if (shape.length >= 2) {
      const receptive = sizeOf(shape.slice(0, -2));
      const limit = Math.sqrt(6 / (receptive * (shape[shape.length - 2]! + shape[shape.length - 1]!)));
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.uniform() - 1) * limit;
    }
    return values;
  });
}

/** He-normal (fan-in) values for a kernel of `shape`: N(0, 2 / fanIn), fanIn = all axes but the last. */
export function heNormal(shape: readonly number[], rng: Rng): Float32Array {
  const std = Math.sqrt(2 / sizeOf(shape.slice(0, -1)));
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  return values;
}

/** Dense layer shapes [[w0, w1], [w1], [w1, w2], [w2], ...] for widths [w0, w1, ...]. */
export function denseShapes(widths: readonly number[]): number[][] {
  const shapes: number[][] = [];
  for (let i = 0; i + 1 < widths.length; i++) shapes.push([widths[i]!, widths[i + 1]!], [widths[i + 1]!]);
  return shapes;
}

/** ReLU(h · W + b) for each (kernel, bias) pair of `weights`, with plain ops. */
export function denseRelu(h: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  for (let l = 0; l < weights.length / 2; l++) h = tf.relu(denseLinear(h, weights[2 * l]!, weights[2 * l + 1]!));
  return h;
}

/** h · W + b with plain ops. */
export function denseLinear(h: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(h, kernel as tf.Tensor2D), bias);
}

/** `denseRelu` (or, with activation 'linear', `denseLinear` per layer) as fused matMuls. */
export function fusedDense(h: tf.Tensor2D, weights: readonly tf.Tensor[], activation: 'relu' | 'linear' = 'relu'): tf.Tensor2D {
  for (let l = 0; l < weights.length / 2; l++) {
    h = tf.fused.matMul({ a: h, b: weights[2 * l] as tf.Tensor2D, bias: weights[2 * l + 1], activation }) as tf.Tensor2D;
  }
  return h;
}
