// Adam in both placements (adam.ts): the host step against the textbook formula, host vs device
// agreement, decoupled weight decay, placement choice, and the training loss against tf.losses.softmaxCrossEntropy.
// Run: node --import tsx --test test/adam.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ADAM, adamPlacementFor, adamStep, createAdam, type AdamState } from '../../../core/nn/adam.js';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { meanSoftmaxCrossEntropy } from '../../../core/nn/classifier.js';
import { createRng } from '../../../core/rng.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('wasm'));
});

function randomArray(n: number, seed: string, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * scale);
}

describe('adamStep (host)', () => {
  test('matches the textbook update over several steps, bias corrections from t', () => {
    const n = 50;
    const w = [randomArray(n, 'w')];
    const m = [new Float32Array(n)];
    const v = [new Float32Array(n)];
    // Reference in float64, rounding stored state to float32 like the implementation.
    const rw = Float64Array.from(w[0]!);
    const rm = new Float64Array(n);
    const rv = new Float64Array(n);
    const lr = 0.01;
    for (let t = 1; t <= 5; t++) {
      const g = randomArray(n, `g${t}`, 0.1);
      adamStep(w, [g], m, v, t, lr);
      for (let i = 0; i < n; i++) {
        rm[i] = Math.fround(ADAM.beta1 * rm[i]! + (1 - ADAM.beta1) * g[i]!);
        rv[i] = Math.fround(ADAM.beta2 * rv[i]! + (1 - ADAM.beta2) * g[i]! * g[i]!);
        const mHat = rm[i]! / (1 - ADAM.beta1 ** t);
        const vHat = rv[i]! / (1 - ADAM.beta2 ** t);
        rw[i] = Math.fround(rw[i]! - (lr * mHat) / (Math.sqrt(vHat) + ADAM.epsilon));
      }
    }
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(w[0]![i]! - rw[i]!) <= 1e-6 * Math.max(1, Math.abs(rw[i]!)), `weight ${i}: ${w[0]![i]} vs ${rw[i]}`);
      assert.equal(m[0]![i], Math.fround(rm[i]!));
    }
    // The first step moves every weight by ~lr (Adam's m̂/sqrt(v̂) is ±1 at t = 1).
    const w0 = [new Float32Array([1, -1])];
    adamStep(w0, [new Float32Array([0.3, -2])], [new Float32Array(2)], [new Float32Array(2)], 1, lr);
    assert.ok(Math.abs(w0[0]![0]! - (1 - lr)) < 1e-6 && Math.abs(w0[0]![1]! - (-1 + lr)) < 1e-6, `first step ${w0[0]}`);
  });

  test('rejects gradients whose size does not match', () => {
    assert.throws(() => adamStep([new Float32Array(3)], [new Float32Array(2)], [new Float32Array(3)], [new Float32Array(3)], 1, 0.1), /gradient 0 has 2 values for 3 weights/);
  });
});

describe('placements', () => {
  test('host and device agree to float32 precision and keep one state format', () => {
    const shapes = [[6, 4], [4]];
    const initial = (): AdamState => ({
      weights: [randomArray(24, 'k'), randomArray(4, 'b')],
      m: [new Float32Array(24), new Float32Array(4)],
      v: [new Float32Array(24), new Float32Array(4)],
    });
    const host = createAdam('host', shapes, initial(), 0.05);
    const device = createAdam('device', shapes, initial(), 0.05);
    try {
      for (let t = 1; t <= 20; t++) {
        const grads = [randomArray(24, `gk${t}`), randomArray(4, `gb${t}`)];
        for (const opt of [host, device]) {
          tf.tidy(() => opt.apply(grads.map((g, i) => tf.tensor(g, shapes[i])), t));
        }
      }
      const a = host.state();
      const b = device.state();
      for (const key of ['weights', 'm', 'v'] as const) {
        a[key].forEach((arr, k) =>
          arr.forEach((x, i) => {
            const y = b[key][k]![i]!;
            assert.ok(Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x)), `${key}[${k}][${i}]: host ${x} vs device ${y}`);
          }),
        );
      }
      // The weights moved (the test is not vacuous).
      assert.ok(Math.abs(a.weights[0]![0]! - initial().weights[0]![0]!) > 1e-3);
    } finally {
      host.dispose();
      device.dispose();
    }
  });

  test('a state that does not fit the shapes is refused', () => {
    assert.throws(
      () => createAdam('host', [[2, 2]], { weights: [new Float32Array(4)], m: [new Float32Array(3)], v: [new Float32Array(4)] }, 0.1),
      /Adam state 'm' does not match/,
    );
  });

  test('device on wasm and GPU, host on native CPU and cpu; SYNTHSCALE_ADAM overrides', () => {
    assert.equal(adamPlacementFor('wasm', false, {}), 'device');
    assert.equal(adamPlacementFor('tensorflow', true, {}), 'device');
    assert.equal(adamPlacementFor('tensorflow', false, {}), 'host');
    assert.equal(adamPlacementFor('cpu', false, {}), 'host');
    assert.equal(adamPlacementFor('wasm', false, { SYNTHSCALE_ADAM: 'host' }), 'host');
    assert.throws(() => adamPlacementFor('wasm', false, { SYNTHSCALE_ADAM: 'gpu' }), /SYNTHSCALE_ADAM must be 'host' or 'device'/);
  });
});

describe('weight decay', () => {
  test('weight decay shrinks weights with zero gradient: w x (1 - lr wd) per step, at each step\'s learning rate, on both placements', () => {
    const w0 = Float32Array.from([1, -2, 0.5]);
    const zeros = () => [new Float32Array(3)];
    for (const placement of ['host', 'device'] as const) {
      const decayed = createAdam(placement, [[3]], { weights: [w0], m: zeros(), v: zeros() }, 0.1, 0.5);
      const plain = createAdam(placement, [[3]], { weights: [w0], m: zeros(), v: zeros() }, 0.1);
      try {
        const rates = [undefined, undefined, 0.2, 0.05]; // undefined: the optimizer's own 0.1
        rates.forEach((rate, k) => {
          for (const opt of [decayed, plain]) tf.tidy(() => opt.apply([tf.zeros([3])], k + 1, rate));
        });
        const factor = rates.reduce((f: number, rate) => f * (1 - (rate ?? 0.1) * 0.5), 1);
        decayed.state().weights[0]!.forEach((w, i) => {
          const expected = w0[i]! * factor;
          assert.ok(Math.abs(w - expected) <= 1e-6 * Math.abs(expected), `${placement} w[${i}]: ${w} vs ${expected}`);
          assert.ok(Math.abs(w) < Math.abs(w0[i]!), 'shrinks');
        });
        assert.deepEqual(decayed.state().m[0], new Float32Array(3), 'zero gradient leaves the moments at 0');
        assert.deepEqual(plain.state().weights[0], w0, 'without decay a zero gradient moves nothing');
      } finally {
        decayed.dispose();
        plain.dispose();
      }
    }
    // The host step itself: one step at lr 0.1, wd 0.5.
    const w = [new Float32Array(w0)];
    adamStep(w, zeros(), zeros(), zeros(), 1, 0.1, 0.5);
    assert.deepEqual(w[0], w0.map((x) => x * 0.95));
  });
});

describe('meanSoftmaxCrossEntropy', () => {
  test('value and gradient equal the stock softmaxCrossEntropy', () => {
    const logits = tf.tensor2d(randomArray(8 * 10, 'z', 5), [8, 10]);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 9, 2, 2, 7, 1, 5], 'int32'), 10).toFloat();
    try {
      const ours = tf.valueAndGrad((z: typeof logits) => meanSoftmaxCrossEntropy(z, labels))(logits);
      const stock = tf.valueAndGrad((z: typeof logits) => tf.losses.softmaxCrossEntropy(labels, z) as ReturnType<typeof meanSoftmaxCrossEntropy>)(logits);
      assert.ok(Math.abs(ours.value.dataSync()[0]! - stock.value.dataSync()[0]!) < 1e-6);
      const a = ours.grad.dataSync();
      const b = stock.grad.dataSync();
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-6, `d/dlogits[${i}]: ${x} vs ${b[i]}`));
      tf.dispose([ours.value, ours.grad, stock.value, stock.grad]);
    } finally {
      tf.dispose([logits, labels]);
    }
  });
});
