// Op sweep: every accelerated backend computes what the plain-JS cpu backend computes, forward and
// backward, for the ops training uses or will use: matMul with each transpose combination (on wasm
// with the project's explicit-transpose BatchMatMul gradient), conv2d with both its gradients,
// maxPool/avgPool, softmax cross-entropy (stock and the training loss) and the dense ReLU block.
//
// Every gradient is also checked against central finite differences of that backend's own forward
// pass (along fixed random directions), so a case where cpu itself is wrong is caught rather than
// taken as the truth. Known defects run as `todo` tests (reported, not failing the suite) and say
// what is wrong; when a library update fixes one, its todo test starts passing.
//
// Backends are process-global in TF.js: each test switches to its backend, copies the results out
// with dataSync, and the cpu reference is computed the same way. 'tensorflow' (a native binding,
// see infra/install-native-tf.sh) is skipped when none loads.
// Run: node --import tsx --test test/backend-ops.test.ts
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { meanSoftmaxCrossEntropy } from '../../../core/nn/classifier.js';
import { initTfBackend, wasmConv2DGradientInstalled, wasmMatMulGradientInstalled, type Tf } from '../../../core/nn/backend.js';

type Backend = 'tensorflow' | 'wasm' | 'cpu';

let tf: Tf;
const unavailable = new Map<Backend, string>();
const TOLERANCE = 5e-5; // observed: <= 2e-6 (native TF 2.21 on CPU and wasm, 2-core x86-64)
/** On a GPU, TF computes float32 matMul/conv2d in TF32 by default (Ampere and newer): ~1e-3. */
const GPU_TOLERANCE = 1e-2;
const tolerance = new Map<Backend, number>();

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
  try {
    await initTfBackend('tensorflow');
    const native = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
    console.log(`# native backend: TensorFlow ${native.binding?.TF_Version ?? '?'} on ${native.isUsingGpuDevice ? 'GPU' : 'CPU'}`);
    if (native.isUsingGpuDevice) tolerance.set('tensorflow', GPU_TOLERANCE);
  } catch (err) {
    unavailable.set('tensorflow', `no native TensorFlow binding loads (${(err as Error).message.slice(0, 160)}...); see infra/install-native-tf.sh`);
  }
});

/** Deterministic values in [-scale, scale) from an LCG: no backend RNG involved. */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface Input {
  shape: number[];
  values: Float32Array;
}
interface Known {
  backend: Backend;
  /** The output that is wrong, e.g. 'dx'. */
  output: string;
  reason: string;
}
interface Case {
  name: string;
  inputs: Record<string, Input>;
  /** Inputs to differentiate sum(forward(...) * r) by, r fixed: outputs 'd' + name. */
  wrt: string[];
  forward: (tf: Tf, x: Record<string, Tensor>) => Tensor;
  /** Kernels the gradients need; missing on a backend -> skipped there. */
  kernels?: string[];
  known?: Known[];
}
interface Output {
  name: string;
  shape: number[];
  values: Float32Array;
}

const input = (shape: number[], seed: number, scale = 1): Input => ({ shape, values: values(size(shape), seed, scale) });

/** sum(forward(x) * r): its gradient w.r.t. the output is r, so no upstream gradient is trivial. */
function loss(tf: Tf, c: Case, x: Record<string, Tensor>): Tensor {
  const y = c.forward(tf, x);
  return tf.sum(tf.mul(y, tf.tensor(values(size(y.shape), 99), y.shape)));
}

function tensors(tf: Tf, c: Case, shift?: { name: string; by: Float32Array }): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(c.inputs).map(([name, { shape, values: v }]) => {
      const data = shift?.name === name ? v.map((e, i) => e + shift.by[i]!) : v;
      return [name, tf.tensor(data, shape)];
    }),
  );
}

/** y and the gradients on the active backend, copied out. */
function compute(c: Case): Output[] {
  return tf.tidy(() => {
    const x = tensors(tf, c);
    const out: Record<string, Tensor> = { y: c.forward(tf, x) };
    if (c.wrt.length) {
      const grads = tf.grads((...args: Tensor[]) => loss(tf, c, { ...x, ...Object.fromEntries(c.wrt.map((n, i) => [n, args[i]!])) }))(
        c.wrt.map((n) => x[n]!),
      );
      c.wrt.forEach((n, i) => (out[`d${n}`] = grads[i]!));
    }
    return Object.entries(out).map(([name, t]) => ({ name, shape: t.shape, values: new Float32Array(t.dataSync()) }));
  });
}

/** Each output within tol * (1 + |want|) (NaN fails) and the reference not degenerate. */
function assertClose(got: Output[], want: Output[], tol: number, skip: string[] = []): number {
  assert.deepEqual(got.map((o) => o.name), want.map((o) => o.name));
  let worst = 0;
  got.forEach((g, i) => {
    const w = want[i]!;
    if (skip.includes(g.name)) return;
    assert.deepEqual(g.shape, w.shape, `${g.name}: shape`);
    let peak = 0;
    for (let j = 0; j < w.values.length; j++) {
      const err = Math.abs(g.values[j]! - w.values[j]!) / (1 + Math.abs(w.values[j]!));
      if (!(err <= tol)) assert.fail(`${g.name}[${j}] = ${g.values[j]}, cpu gives ${w.values[j]} (relative error ${err.toExponential(2)} > ${tol})`);
      worst = Math.max(worst, err);
      peak = Math.max(peak, Math.abs(w.values[j]!));
    }
    assert.ok(peak > 1e-3, `${g.name}: the cpu reference is all ~0, so comparing with it would prove nothing`);
  });
  return worst;
}

/**
 * Gradients vs central differences of the loss along two fixed random directions v:
 * (L(x + h v) - L(x - h v)) / 2h must equal <dx, v> within 1% of sum |dx_i v_i|. The ops here are
 * linear or piecewise linear in each input (softmax cross-entropy: smooth), so the only error is
 * float32 rounding and the odd maxPool window whose maximum changes within +-h (rare at h = 1e-3).
 */
function assertFiniteDifferences(c: Case, got: Output[]): void {
  const h = 1e-3;
  for (const name of c.wrt) {
    const g = got.find((o) => o.name === `d${name}`)!;
    for (const seed of [101, 202]) {
      const v = values(g.values.length, seed);
      let dot = 0;
      let scale = 0;
      for (let i = 0; i < v.length; i++) {
        dot += g.values[i]! * v[i]!;
        scale += Math.abs(g.values[i]! * v[i]!);
      }
      const at = (sign: number) =>
        tf.tidy(() => loss(tf, c, tensors(tf, c, { name, by: v.map((e) => sign * h * e) })).dataSync()[0]!);
      const fd = (at(1) - at(-1)) / (2 * h);
      assert.ok(scale > 1e-3, `d${name} is all ~0`);
      if (!(Math.abs(fd - dot) <= 1e-2 * scale)) {
        assert.fail(`d${name} disagrees with finite differences: <d${name}, v> = ${dot.toPrecision(6)} but the loss changes at ${fd.toPrecision(6)} along v`);
      }
    }
  }
}

// --- the cases ----------------------------------------------------------------------------------

const cases: Case[] = [];

// matMul: non-square shapes, so a transposed operand or gradient fails on shape or values.
for (const [label, batch, m, k, n] of [
  ['2d', [], 6, 9, 5],
  ['batched', [3], 4, 7, 6],
  ['large', [], 64, 96, 48],
] as const) {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    cases.push({
      name: `matMul ${label} transposeA=${ta} transposeB=${tb}`,
      inputs: {
        a: input([...batch, ...(ta ? [k, m] : [m, k])], 1),
        b: input([...batch, ...(tb ? [n, k] : [k, n])], 2),
      },
      wrt: ['a', 'b'],
      forward: (tf, { a, b }) => tf.matMul(a!, b!, ta, tb),
    });
  }
}

// conv2d (NHWC): forward and d/dx (Conv2DBackpropInput); d/dfilter (Conv2DBackpropFilter) apart,
// since wasm lacks that kernel: there the project's Conv2D gradient override computes it by
// im2col + matMul (see installWasmConv2DGradient). tfjs has no conv2d gradient for dilations > 1:
// forward only.
for (const [strides, pad, filterShape] of [
  [1, 'same', [3, 3, 3, 4]],
  [2, 'valid', [3, 3, 3, 4]],
  [[2, 1], 'same', [3, 3, 3, 4]],
  [2, 'same', [2, 3, 3, 4]],
  [[1, 3], 'valid', [4, 2, 3, 4]],
  [1, 'valid', [2, 3, 3, 4]],
] as const) {
  const conv = (tf: Tf, x: Record<string, Tensor>) =>
    tf.conv2d(x.x as never, x.filter as never, strides as number | [number, number], pad);
  const inputs = { x: input([2, 9, 8, 3], 4), filter: input([...filterShape], 5, 0.5) };
  const label = `filter=${JSON.stringify(filterShape)} strides=${JSON.stringify(strides)} pad=${pad}`;
  cases.push({ name: `conv2d ${label}, d/dx`, inputs, wrt: ['x'], forward: conv, kernels: ['Conv2DBackpropInput'] });
  cases.push({ name: `conv2d ${label}, d/dfilter`, inputs, wrt: ['filter'], forward: conv, kernels: ['Conv2DBackpropFilter'] });
}
cases.push({
  name: 'conv2d dilations=2 pad=valid, forward only',
  inputs: { x: input([2, 9, 8, 3], 4), filter: input([3, 3, 3, 4], 5, 0.5) },
  wrt: [],
  forward: (tf, x) => tf.conv2d(x.x as never, x.filter as never, 1, 'valid', 'NHWC', 2),
});

// Pooling, forward and d/dx. Continuous values in [-1, 1): no ties for maxPool to break
// differently, and some windows entirely negative.
const WASM_MAXPOOL_GRAD =
  'wasm MaxPoolGrad (tfjs-backend-wasm 4.22) routes the gradient of a window whose values are all ' +
  'negative to its first element instead of its maximum';
const AVGPOOL_SAME_GRAD =
  "AvgPoolGrad with 'same' padding divides edge windows by the full filter area, while AvgPool " +
  'divides by the number of in-bounds values (tfjs-backend-cpu 4.22; wasm does the same)';
for (const [op, filter, strides, pad] of [
  ['maxPool', 2, 2, 'valid'],
  ['maxPool', 3, 1, 'same'],
  ['avgPool', 2, 2, 'valid'],
  ['avgPool', 3, 2, 'same'],
] as const) {
  const known: Known[] = [];
  if (op === 'maxPool') known.push({ backend: 'wasm', output: 'dx', reason: WASM_MAXPOOL_GRAD });
  if (op === 'avgPool' && pad === 'same') {
    known.push({ backend: 'cpu', output: 'dx', reason: AVGPOOL_SAME_GRAD });
    known.push({ backend: 'wasm', output: 'dx', reason: AVGPOOL_SAME_GRAD });
  }
  cases.push({
    name: `${op} filter=${filter} strides=${strides} pad=${pad}`,
    inputs: { x: input([2, 9, 8, 3], 7) },
    wrt: ['x'],
    forward: (tf, { x }) => tf[op](x as never, filter, strides, pad),
    kernels: [op === 'maxPool' ? 'MaxPoolGrad' : 'AvgPoolGrad'],
    known,
  });
}

// The cnn's block (activities/train/classifier.ts): conv2d 'same' -> bias -> relu -> maxPool 2.
// Despite wasm's MaxPoolGrad defect above, this must match: pooled values are >= 0, so only an
// all-zero window can be misrouted, and every element of such a window has relu' = 0.
cases.push({
  name: 'cnn block conv2d same -> relu -> maxPool 2, d/dx and d/dfilter',
  inputs: { x: input([2, 10, 8, 3], 11), filter: input([3, 3, 3, 5], 12, 0.5), bias: input([5], 13, 0.5) },
  wrt: ['x', 'filter', 'bias'],
  forward: (tf, x) => tf.maxPool(tf.relu(tf.add(tf.conv2d(x.x as never, x.filter as never, 1, 'same'), x.bias!)) as never, 2, 2, 'valid'),
  kernels: ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad'],
});

// Softmax cross-entropy (mean over the batch), the classifier's loss: value and d/dlogits.
const onehot = new Float32Array(16 * 10);
for (let i = 0; i < 16; i++) onehot[i * 10 + ((i * 7) % 10)] = 1;
const soft = values(16 * 10, 10, 2).map(Math.exp);
for (let i = 0; i < 16; i++) {
  const row = soft.subarray(i * 10, i * 10 + 10);
  const total = row.reduce((a, b) => a + b, 0);
  row.forEach((e, j) => (row[j] = e / total));
}
for (const [label, labels, smoothing] of [
  ['one-hot labels', onehot, 0],
  ['label smoothing 0.1', onehot, 0.1],
  ['soft labels', soft, 0],
] as const) {
  cases.push({
    name: `softmax cross-entropy, ${label}`,
    inputs: { logits: input([16, 10], 9, 4), labels: { shape: [16, 10], values: labels } },
    wrt: ['logits'],
    forward: (tf, { logits, labels: l }) => tf.losses.softmaxCrossEntropy(l!, logits!, undefined, smoothing),
  });
}
// The loss training actually uses (closed-form gradient, see classifier.ts) and the dense block
// with its ReLU (on 'tensorflow' the project's ReLU gradient replaces the six-op Step).
cases.push({
  name: 'meanSoftmaxCrossEntropy (training loss), one-hot labels',
  inputs: { logits: input([16, 10], 9, 4), labels: { shape: [16, 10], values: onehot } },
  wrt: ['logits'],
  forward: (_tf, { logits, labels: l }) => meanSoftmaxCrossEntropy(logits!, l!),
});
cases.push({
  name: 'dense block matMul -> bias -> relu, d/dx, d/dw and d/db',
  inputs: { x: input([12, 20], 11), w: input([20, 16], 12), b: input([16], 13, 0.5) },
  wrt: ['x', 'w', 'b'],
  forward: (tf, { x, w, b }) => tf.relu(tf.add(tf.matMul(x! as never, w! as never), b!)),
});

// --- the tests ----------------------------------------------------------------------------------

const reference = new Map<string, Output[]>();

async function run(backend: Backend, c: Case): Promise<Output[]> {
  assert.ok(await tf.setBackend(backend), `setBackend('${backend}')`);
  return compute(c);
}

async function cpuReference(c: Case): Promise<Output[]> {
  let want = reference.get(c.name);
  if (!want) {
    want = await run('cpu', c);
    reference.set(c.name, want);
  }
  return want;
}

function skipReason(backend: Backend, c: Case): string | undefined {
  const why = unavailable.get(backend);
  if (why) return why;
  // wasm has no Conv2DBackpropFilter kernel; the Conv2D gradient override stands in for it.
  const substitute = (k: string) => backend === 'wasm' && k === 'Conv2DBackpropFilter' && wasmConv2DGradientInstalled();
  const missing = (c.kernels ?? []).filter((k) => !tf.getKernel(k, backend) && !substitute(k));
  if (missing.length) return `the ${backend} backend has no ${missing.join('/')} kernel yet (another change adds it)`;
  return undefined;
}

const todoFor = (backend: Backend, c: Case) => c.known?.find((k) => k.backend === backend)?.reason;

describe('cpu reference: gradients agree with finite differences', () => {
  for (const c of cases.filter((c) => c.wrt.length)) {
    test(c.name, { todo: todoFor('cpu', c) }, async () => {
      const want = await cpuReference(c);
      assert.ok(await tf.setBackend('cpu'));
      assertFiniteDifferences(c, want);
    });
  }
});

for (const backend of ['tensorflow', 'wasm'] as const) {
  describe(`${backend} backend matches cpu and finite differences`, () => {
    for (const c of cases) {
      test(c.name, { todo: todoFor(backend, c) }, async (t: TestContext) => {
        const why = skipReason(backend, c);
        if (why) return t.skip(why);
        if (backend === 'wasm' && c.name.startsWith('matMul')) {
          assert.ok(wasmMatMulGradientInstalled(), 'the wasm BatchMatMul gradient override is installed');
        }
        const got = await run(backend, c);
        assertFiniteDifferences(c, got);
        // Where cpu's own result is known to be wrong, that output is checked by finite differences only.
        const wrongInCpu = (c.known ?? []).filter((k) => k.backend === 'cpu').map((k) => k.output);
        const worst = assertClose(got, await cpuReference(c), tolerance.get(backend) ?? TOLERANCE, wrongInCpu);
        t.diagnostic(`max relative difference from cpu ${worst.toExponential(2)}${wrongInCpu.length ? ` (not compared: ${wrongInCpu})` : ''}`);
      });
    }
  });
}

describe('the checks themselves', () => {
  test('the comparison rejects a result off by 1e-3 in one element, and a transposed result', () => {
    const want: Output[] = [{ name: 'y', shape: [2, 3], values: new Float32Array([1, 2, 3, 4, 5, 6]) }];
    const off: Output[] = [{ name: 'y', shape: [2, 3], values: new Float32Array([1, 2, 3, 4, 5.006, 6]) }];
    const transposed: Output[] = [{ name: 'y', shape: [2, 3], values: new Float32Array([1, 4, 2, 5, 3, 6]) }];
    assert.throws(() => assertClose(off, want, TOLERANCE), /relative error/);
    assert.throws(() => assertClose(transposed, want, TOLERANCE), /relative error/);
    assert.doesNotThrow(() => assertClose(want, want, TOLERANCE));
  });

  test('the finite-difference check rejects a gradient with one element off by its largest value', async () => {
    const c = cases.find((x) => x.name === 'matMul 2d transposeA=false transposeB=false')!;
    const good = await cpuReference(c);
    assert.ok(await tf.setBackend('cpu'));
    assert.doesNotThrow(() => assertFiniteDifferences(c, good));
    const da = good.find((o) => o.name === 'da')!;
    const peak = Math.max(...Array.from(da.values, Math.abs));
    const bad = good.map((o) => (o === da ? { ...o, values: o.values.map((e, i) => (i === 7 ? e + peak : e)) } : o));
    assert.throws(() => assertFiniteDifferences(c, bad), /finite differences/);
  });
});
