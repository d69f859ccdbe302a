// What an architecture is to the rest of core/nn: a trunk from preprocessed images [n, 784] to
// features [n, F]. The classifier puts a linear 10-way head on it (registry.ts), the CLIP image
// tower a linear projection (activities/clip). Weights are flat lists of Float32Arrays / tensors
// in `trunkShapes` order; a dense kernel is row-major [fanIn, fanOut], a conv kernel
// [KH, KW, inChannels, filters].
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';

export interface ModelDefinition {
  /** Weight shapes of the trunk for dense hidden widths `hidden`. */
  trunkShapes(hidden: readonly number[]): number[][];
  /** Width F of the trunk's output. */
  trunkFeatures(hidden: readonly number[]): number;
  /** Initial trunk weights, drawn from `rng` in trunkShapes order. */
  initTrunk(hidden: readonly number[], rng: Rng): Float32Array[];
  /**
   * Features [n, F] of x [n, 784] with plain ops (training: no fused ops, whose gradients bypass
   * the gradient overrides the wasm backend needs). The dense layer count follows from
   * `weights.length`.
   */
  trunk(x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D;
  /** The same function with fused ops (inference, ~1.5-2x faster on wasm). */
  fusedTrunk(x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D;
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
