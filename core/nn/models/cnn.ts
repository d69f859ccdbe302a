// 'cnn': size x size x channels -> conv 3x3 (16, 'same') -> ReLU -> maxPool 2 -> conv 3x3 (32,
// 'same') -> ReLU -> maxPool 2 -> flatten -> dense ReLU layers of widths `hidden` (the trunk).
// Any size: the pools are 2x2 stride 2 with 'same' padding, so each halves the side rounding up
// (28 -> 14 -> 7: 7*7*32 = 1568 features; 30 -> 15 -> 8; 32 -> 16 -> 8: 2048). For even sides
// 'same' pads nothing and equals 'valid'; for an odd side the last row/column is pooled on its own
// instead of being dropped.
// Pooling comes after the ReLU on purpose: wasm's MaxPoolGrad (tfjs 4.22) misroutes the gradient
// of all-negative windows, which cannot occur on ReLU outputs (>= 0); an all-zero window's
// gradient lands on an element whose ReLU derivative is 0, on every backend alike.
import * as tf from '@tensorflow/tfjs';
import { FASHION_MNIST_GEOMETRY, type ImageGeometry } from '../../image/geometry.js';
import { denseRelu, denseShapes, fusedDense, glorotUniform, type ModelDefinition, type ModelSpec } from './definition.js';

/** The conv stack: 3x3 'same' convolutions with these filter counts, each ReLU + maxPool 2. */
export const CNN_FILTERS = [16, 32] as const;
const CNN_KERNEL = 3;

/** Side of the conv features: the image side halved (rounding up) once per pool. */
const pooledSide = (size: number) => CNN_FILTERS.reduce((side) => Math.ceil(side / 2), size);

/** The flattened conv features the cnn's dense layers see at `geometry` (1568 at 28x28). */
export function cnnFeatures(geometry: ImageGeometry): number {
  return pooledSide(geometry.size) ** 2 * CNN_FILTERS[CNN_FILTERS.length - 1]!;
}

/** 7 * 7 * 32: the flattened conv features at 28x28 grey. */
export const CNN_FEATURES = cnnFeatures(FASHION_MNIST_GEOMETRY);
/** Conv kernels and biases come first in the weight list. */
const CONV_TENSORS = 2 * CNN_FILTERS.length;

function trunkShapes(spec: ModelSpec): number[][] {
  const shapes: number[][] = [];
  let channels: number = spec.geometry.channels;
  for (const filters of CNN_FILTERS) {
    shapes.push([CNN_KERNEL, CNN_KERNEL, channels, filters], [filters]);
    channels = filters;
  }
  return [...shapes, ...denseShapes([cnnFeatures(spec.geometry), ...spec.hidden])];
}

/** Flattened conv features [n, F]; `conv` is one conv + bias + ReLU layer. */
function convFeatures(x: tf.Tensor2D, geometry: ImageGeometry, conv: (image: tf.Tensor4D, l: number) => tf.Tensor4D): tf.Tensor2D {
  let image: tf.Tensor4D = tf.reshape(x, [x.shape[0], geometry.size, geometry.size, geometry.channels]);
  for (let l = 0; l < CNN_FILTERS.length; l++) image = tf.maxPool(conv(image, l), 2, 2, 'same');
  return tf.reshape(image, [x.shape[0], cnnFeatures(geometry)]);
}

export const cnn: ModelDefinition = {
  trunkShapes,
  trunkFeatures: (spec) => (spec.hidden.length ? spec.hidden[spec.hidden.length - 1]! : cnnFeatures(spec.geometry)),
  initTrunk: (spec, rng) => glorotUniform(trunkShapes(spec), rng),
  stateShapes: () => [],
  initState: () => [],
  trunk(x, weights, spec) {
    const features = convFeatures(x, spec.geometry, (image, l) => {
      const conv = tf.add(tf.conv2d(image, weights[2 * l] as tf.Tensor4D, 1, 'same'), weights[2 * l + 1]!) as tf.Tensor4D;
      return tf.relu(conv);
    });
    return denseRelu(features, weights.slice(CONV_TENSORS));
  },
  fusedTrunk(x, weights, spec) {
    const features = convFeatures(x, spec.geometry, (image, l) =>
      tf.fused.conv2d({ x: image, filter: weights[2 * l] as tf.Tensor4D, strides: 1, pad: 'same', bias: weights[2 * l + 1], activation: 'relu' }),
    );
    return fusedDense(features, weights.slice(CONV_TENSORS));
  },
};
