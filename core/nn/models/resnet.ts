// 'resnet': the CIFAR ResNet of He et al. 2016 (sec. 4.2), at any geometry.
//  - input: x/255 (input.ts), then normalised per channel with fixed constants,
//    (x - RESNET_INPUT_MEAN) / RESNET_INPUT_STD = 4x - 2 for every channel of every dataset: no
//    statistics to compute, store or keep in step across datasets; the batch norm after the first
//    convolution takes out what a dataset's own mean and spread would have;
//  - stem: conv 3x3 (width, 'same', no bias) -> batch norm -> ReLU;
//  - 3 stages of n = (depth - 2) / 6 basic blocks with width, 2 width, 4 width filters; the first
//    block of stages 2 and 3 has stride 2 (3x3 'same': the side halves, rounding up, so any size
//    works). Block: conv 3x3 -> BN -> ReLU -> conv 3x3 -> BN, plus the shortcut, -> ReLU;
//  - shortcuts are option A (parameter-free, as the paper's CIFAR nets): identity, or where a
//    block changes shape, x subsampled with stride 2 (avgPool of a 1x1 window, which has a
//    gradient on every backend; tf.stridedSlice has none) and zero-padded with C/2 channels on
//    each side;
//  - global average pooling -> features [n, 4 width]; the registry adds the linear head.
// Depth 20, width 16 at 32x32x3 with 10 classes: 269,722 trained parameters (the paper's 0.27M),
// plus 1,376 running statistics (batch norm's mean and variance: the non-trained state).
// Weights, per conv layer in order (stem, then each block's two): kernel [3, 3, in, out] (He-normal,
// fan-in, from the seeded rng), gamma [out] (ones), beta [out] (zeros). State, per layer: running
// mean [out] (zeros), running variance [out] (ones).
// Training forward: batch statistics (batch-norm.ts), convolutions through trainingConv2d (on wasm a
// gradient of forward convolutions only, several times faster there than the Conv2D override's
// im2col); inference: the running statistics, folded into the convolutions for the fused path.
import * as tf from '@tensorflow/tfjs';
import { trainingConv2d } from '../conv-gradient.js';
import { batchNormInfer, batchNormTrain, foldedScaleShift } from './batch-norm.js';
import { DEFAULT_RESNET, heNormal, type ForwardMode, type ModelDefinition, type ModelSpec, type ResNetShape } from './definition.js';

export const RESNET_INPUT_MEAN = 0.5;
export const RESNET_INPUT_STD = 0.25;
const KERNEL = 3;
const STAGES = 3;

export const MIN_RESNET_DEPTH = 8;
export const MAX_RESNET_DEPTH = 200;
export const MAX_RESNET_WIDTH = 1024;

/** Throws `ErrorType` unless `r` is a ResNet shape: depth 6n+2 in [8, 200], width in [1, 1024]. */
export function checkResNetShape(r: unknown, what: string, ErrorType: new (m: string) => Error = Error): asserts r is ResNetShape {
  const h = r as Record<string, unknown> | null;
  const depth = h?.depth;
  const width = h?.width;
  const ok =
    !!h &&
    typeof h === 'object' &&
    Number.isInteger(depth) &&
    (depth as number) >= MIN_RESNET_DEPTH &&
    (depth as number) <= MAX_RESNET_DEPTH &&
    ((depth as number) - 2) % 6 === 0 &&
    Number.isInteger(width) &&
    (width as number) >= 1 &&
    (width as number) <= MAX_RESNET_WIDTH;
  if (!ok) throw new ErrorType(`${what}: resnet must be {depth: 6n+2 in [${MIN_RESNET_DEPTH}, ${MAX_RESNET_DEPTH}], width in [1, ${MAX_RESNET_WIDTH}]}, got ${JSON.stringify(r)?.slice(0, 200)}`);
}

interface ConvLayer {
  inChannels: number;
  outChannels: number;
  stride: number;
}

/** The conv layers in weight order: the stem, then each block's two. */
export function resnetLayers(spec: ModelSpec): ConvLayer[] {
  const { depth, width } = spec.resnet ?? DEFAULT_RESNET;
  const blocks = (depth - 2) / 6;
  const layers: ConvLayer[] = [{ inChannels: spec.geometry.channels, outChannels: width, stride: 1 }];
  let channels = width;
  for (let s = 0; s < STAGES; s++) {
    const out = width * 2 ** s;
    for (let b = 0; b < blocks; b++) {
      layers.push({ inChannels: channels, outChannels: out, stride: s > 0 && b === 0 ? 2 : 1 }, { inChannels: out, outChannels: out, stride: 1 });
      channels = out;
    }
  }
  return layers;
}

function trunkShapes(spec: ModelSpec): number[][] {
  return resnetLayers(spec).flatMap((l) => [[KERNEL, KERNEL, l.inChannels, l.outChannels], [l.outChannels], [l.outChannels]]);
}

/** One conv layer: its kernel, then conv -> BN (-> ReLU unless `linear`). */
type ConvBn = (h: tf.Tensor4D, layer: number, linear?: boolean) => tf.Tensor4D;

/** The network over `convBn`, shared by the training/plain and the fused forward passes. */
function network(x: tf.Tensor2D, spec: ModelSpec, convBn: ConvBn): tf.Tensor2D {
  const { size, channels } = spec.geometry;
  const layers = resnetLayers(spec);
  const image = tf.reshape(x, [x.shape[0], size, size, channels]);
  let h = convBn(tf.sub(tf.mul(image, 1 / RESNET_INPUT_STD), RESNET_INPUT_MEAN / RESNET_INPUT_STD), 0);
  for (let l = 1; l < layers.length; l += 2) {
    const { inChannels, outChannels, stride } = layers[l]!;
    const residual = convBn(convBn(h, l), l + 1, true);
    let shortcut = h;
    if (stride !== 1) shortcut = tf.avgPool(shortcut, 1, stride, 'valid');
    if (outChannels !== inChannels) {
      const extra = outChannels - inChannels;
      shortcut = tf.pad(shortcut, [[0, 0], [0, 0], [0, 0], [extra >> 1, extra - (extra >> 1)]]);
    }
    h = tf.relu(tf.add(residual, shortcut) as tf.Tensor4D);
  }
  return tf.mean(h, [1, 2]) as tf.Tensor2D;
}

function checkState(spec: ModelSpec, state: readonly tf.Tensor[]): void {
  const expected = 2 * resnetLayers(spec).length;
  if (state.length !== expected) throw new Error(`resnet: ${state.length} batch norm state tensors, expected ${expected} (running mean and variance per layer)`);
}

function trunk(x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: ModelSpec, mode: ForwardMode): tf.Tensor2D {
  checkState(spec, mode.state);
  const layers = resnetLayers(spec);
  return network(x, spec, (h, l, linear) => {
    const [kernel, gamma, beta] = [weights[3 * l]!, weights[3 * l + 1]!, weights[3 * l + 2]!];
    const [mean, variance] = [mode.state[2 * l]!, mode.state[2 * l + 1]!];
    const conv = mode.training ? trainingConv2d(h, kernel as tf.Tensor4D, layers[l]!.stride, 'same') : tf.conv2d(h, kernel as tf.Tensor4D, layers[l]!.stride, 'same');
    const bn = mode.training ? batchNormTrain(conv, gamma, beta, mean, variance, mode.next) : batchNormInfer(conv, gamma, beta, mean, variance);
    return linear ? bn : tf.relu(bn);
  });
}

function fusedTrunk(x: tf.Tensor2D, weights: readonly tf.Tensor[], spec: ModelSpec, state: readonly tf.Tensor[]): tf.Tensor2D {
  checkState(spec, state);
  const layers = resnetLayers(spec);
  return network(x, spec, (h, l, linear) => {
    // BN folded into the convolution: kernel * scale (per output channel), bias = shift.
    const { scale, shift } = foldedScaleShift(weights[3 * l + 1]!, weights[3 * l + 2]!, state[2 * l]!, state[2 * l + 1]!);
    const filter = tf.mul(weights[3 * l]!, scale) as tf.Tensor4D;
    return tf.fused.conv2d({ x: h, filter, strides: layers[l]!.stride, pad: 'same', bias: shift, activation: linear ? 'linear' : 'relu' });
  });
}

export const resnet: ModelDefinition = {
  trunkShapes,
  trunkFeatures: (spec) => 4 * (spec.resnet ?? DEFAULT_RESNET).width,
  initTrunk(spec, rng) {
    return resnetLayers(spec).flatMap((l) => [heNormal([KERNEL, KERNEL, l.inChannels, l.outChannels], rng), new Float32Array(l.outChannels).fill(1), new Float32Array(l.outChannels)]);
  },
  stateShapes: (spec) => resnetLayers(spec).flatMap((l) => [[l.outChannels], [l.outChannels]]),
  initState: (spec) => resnetLayers(spec).flatMap((l) => [new Float32Array(l.outChannels), new Float32Array(l.outChannels).fill(1)]),
  trunk,
  fusedTrunk,
};
