// The ResNet's training convolution (core/nn/conv-gradient.ts trainingConv2d): on wasm its
// gradient is forward convolutions only (d/dx of a dilated dy, d/dfilter with batch and channels
// swapped); both equal the stock Conv2D gradient (cpu) for strides 1, 2 and (2, 3) and every
// padding, and trainingConv2d's gradient on wasm equals the stock one.
// Run: node --import tsx --test test/core/nn/conv-training.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { conv2dFilterGradConv, conv2dInputGradConv, initTfBackend, stockConv2DGradient, trainingConv2d, type Tf } from '../../../core/nn/backend.js';
import { createRng } from '../../../core/rng.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('wasm'));
});

type Pad = 'same' | 'valid' | number | [number, number][];
const CASES: { x: [number, number, number, number]; f: [number, number, number, number]; strides: number | [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 2], f: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { x: [2, 7, 6, 3], f: [3, 2, 3, 4], strides: [2, 3], pad: 'valid' },
  { x: [1, 6, 6, 2], f: [2, 2, 2, 3], strides: 2, pad: 1 },
  { x: [1, 6, 6, 2], f: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
];

const values = (shape: readonly number[], seed: string) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
};

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  const scale = Math.max(...Array.from(expected, Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.equal(actual.length, expected.length, what);
  assert.ok(worst <= 1e-5 * scale, `${what}: max diff ${worst} vs scale ${scale}`);
}

describe('trainingConv2d', () => {
  test('d/dx and d/dfilter by forward convolutions equal the stock gradient (cpu)', async () => {
    await initTfBackend('cpu');
    try {
      for (const [i, c] of CASES.entries()) {
        tf.tidy(() => {
          const x = tf.tensor(values(c.x, `x${i}`), c.x) as Tensor4D;
          const f = tf.tensor(values(c.f, `f${i}`), c.f) as Tensor4D;
          const y = tf.conv2d(x, f, c.strides, c.pad as 'same');
          const dy = tf.tensor(values(y.shape, `dy${i}`), y.shape);
          const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1 } as unknown as NamedAttrMap;
          const stock = stockConv2DGradient().gradFunc(dy, [x, f], attrs);
          const dx = conv2dInputGradConv(x.shape, dy, f, attrs);
          assert.ok(dx, `case ${i}: d/dx by convolution applies`);
          close(dx.dataSync(), (stock.x!() as Tensor).dataSync(), `case ${i} ${JSON.stringify(c)} d/dx`);
          close(conv2dFilterGradConv(x, dy, f.shape, attrs).dataSync(), (stock.filter!() as Tensor).dataSync(), `case ${i} ${JSON.stringify(c)} d/dfilter`);
        });
      }
    } finally {
      await initTfBackend('wasm');
    }
  });

  test("on wasm, trainingConv2d's gradient equals the stock gradient computed on cpu", async () => {
    const grads = (conv: (x: Tensor4D, f: Tensor4D, s: number) => Tensor4D) =>
      [1, 2].map((stride) =>
        tf.tidy(() => {
          const x = tf.tensor(values([3, 10, 10, 4], 'x'), [3, 10, 10, 4]) as Tensor4D;
          const f = tf.tensor(values([3, 3, 4, 6], 'f'), [3, 3, 4, 6]) as Tensor4D;
          const r = tf.tensor(values([3, 10 / stride, 10 / stride, 6], `r${stride}`), [3, 10 / stride, 10 / stride, 6]);
          return tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(conv(a as Tensor4D, b as Tensor4D, stride), r)))([x, f]).map((g) => g.dataSync());
        }),
      );
    assert.equal(tf.getBackend(), 'wasm');
    const ours = grads((x, f, s) => trainingConv2d(x, f, s, 'same'));
    await initTfBackend('cpu');
    try {
      const stock = grads((x, f, s) => tf.conv2d(x, f, s, 'same'));
      stock.forEach((pair, s) => pair.forEach((g, k) => close(ours[s]![k]!, g, `stride ${s + 1} grad ${k}`)));
    } finally {
      await initTfBackend('wasm');
    }
  });
});
