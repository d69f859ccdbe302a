// 'cnn': 28x28x1 -> conv 3x3 (16, 'same') -> ReLU -> maxPool 2 -> conv 3x3 (32, 'same') -> ReLU ->
// maxPool 2 -> flatten (7*7*32 = 1568) -> dense ReLU layers of widths `hidden` (the trunk).
// Pooling comes after the ReLU on purpose: wasm's MaxPoolGrad (tfjs 4.22) misroutes the gradient
// of all-negative windows, which cannot occur on ReLU outputs (>= 0); an all-zero window's
// gradient lands on an element whose ReLU derivative is 0, on every backend alike.
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIDE } from '../input.js';
import { denseRelu, denseShapes, fusedDense, glorotUniform, type ModelDefinition } from './definition.js';

/** The conv stack: 3x3 'same' convolutions with these filter counts, each ReLU + maxPool 2. */
export const CNN_FILTERS = [16, 32] as const;
const CNN_KERNEL = 3;
/** 7 * 7 * 32: the flattened conv features the cnn's dense layers see. */
export const CNN_FEATURES = (IMAGE_SIDE / 2 ** CNN_FILTERS.length) ** 2 * CNN_FILTERS[CNN_FILTERS.length - 1]!;
/** Conv kernels and biases come first in the weight list. */
const CONV_TENSORS = 2 * CNN_FILTERS.length;

function trunkShapes(hidden: readonly number[]): number[][] {
  const shapes: number[][] = [];
  let channels = 1;
  for (const filters of CNN_FILTERS) {
    shapes.push([CNN_KERNEL, CNN_KERNEL, channels, filters], [filters]);
    channels = filters;
  }
  return [...shapes, ...denseShapes([CNN_FEATURES, ...hidden])];
}

/** Flattened conv features [n, 1568]; `conv` is one conv + bias + ReLU layer. */
function convFeatures(x: tf.Tensor2D, weights: readonly tf.Tensor[], conv: (image: tf.Tensor4D, l: number) => tf.Tensor4D): tf.Tensor2D {
  let image: tf.Tensor4D = tf.reshape(x, [x.shape[0], IMAGE_SIDE, IMAGE_SIDE, 1]);
  for (let l = 0; l < CNN_FILTERS.length; l++) image = tf.maxPool(conv(image, l), 2, 2, 'valid');
  return tf.reshape(image, [x.shape[0], CNN_FEATURES]);
}

export const cnn: ModelDefinition = {
  trunkShapes,
  trunkFeatures: (hidden) => (hidden.length ? hidden[hidden.length - 1]! : CNN_FEATURES),
  initTrunk: (hidden, rng) => glorotUniform(trunkShapes(hidden), rng),
  trunk(x, weights) {
    const features = convFeatures(x, weights, (image, l) => {
      const conv = tf.add(tf.conv2d(image, weights[2 * l] as tf.Tensor4D, 1, 'same'), weights[2 * l + 1]!) as tf.Tensor4D;
      return tf.relu(conv);
    });
    return denseRelu(features, weights.slice(CONV_TENSORS));
  },
  fusedTrunk(x, weights) {
    const features = convFeatures(x, weights, (image, l) =>
      tf.fused.conv2d({ x: image, filter: weights[2 * l] as tf.Tensor4D, strides: 1, pad: 'same', bias: weights[2 * l + 1], activation: 'relu' }),
    );
    return fusedDense(features, weights.slice(CONV_TENSORS));
  },
};
