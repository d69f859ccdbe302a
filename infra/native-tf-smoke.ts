// Smoke test for a native TensorFlow binding staged by infra/install-native-tf.sh; run in its own
// process so a crash in the native library cannot take the installer (or a worker) down:
//   node --import tsx infra/native-tf-smoke.ts [@tensorflow/tfjs-node | @tensorflow/tfjs-node-gpu]
// It loads the package, checks that the 'tensorflow' backend registered with the project's one
// @tensorflow/tfjs-core (a second copy would make it invisible to activities/train/backend.ts),
// and compares matMul with every transpose combination, and both its gradients, against the cpu
// backend. Success: one JSON line on stdout. Failure: one line on stderr and exit status 1.
import * as tf from '@tensorflow/tfjs';

const pkg = process.argv[2] ?? '@tensorflow/tfjs-node';
const started = performance.now();

function die(message: string): never {
  console.error(`native-tf-smoke: ${message}`);
  process.exit(1);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n')[0] ?? message).slice(0, 300);
}

/** Deterministic values in [-1, 1) (an LCG: no dependency on any backend's RNG). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** matMul(a, b, ta, tb) for all four flag combinations, with d/da and d/db of sum(product * r). */
function compute(): number[][] {
  const results: number[][] = [];
  const [m, k, n] = [7, 13, 5];
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    tf.tidy(() => {
      const a = tf.tensor2d(values(m * k, 1), ta ? [k, m] : [m, k]);
      const b = tf.tensor2d(values(k * n, 2), tb ? [n, k] : [k, n]);
      const r = tf.tensor2d(values(m * n, 3), [m, n]);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), r));
      const [ga, gb] = tf.grads(f)([a, b]);
      for (const t of [tf.matMul(a, b, ta, tb), ga!, gb!]) results.push(Array.from(t.dataSync()));
    });
  }
  return results;
}

try {
  await import(pkg);
} catch (err) {
  die(`${pkg} does not load: ${firstLine(err)}`);
}
if (!tf.findBackendFactory('tensorflow')) {
  die(`${pkg} loaded but registered 'tensorflow' with another @tensorflow/tfjs-core than the project's ${tf.version_core} (duplicate copy in node_modules?)`);
}
if (!(await tf.setBackend('tensorflow'))) die(`setBackend('tensorflow') returned false`);
const native = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
const got = compute();
if (!(await tf.setBackend('cpu'))) die(`setBackend('cpu') returned false`);
const want = compute();

// On a GPU, TF uses TF32 for float32 matMul by default (Ampere and newer): ~1e-3 relative error.
const tolerance = native.isUsingGpuDevice ? 1e-2 : 1e-4;
let maxError = 0;
got.forEach((row, i) => {
  const ref = want[i]!;
  if (row.length !== ref.length) die(`result ${i} has ${row.length} values, the cpu backend ${ref.length}`);
  row.forEach((x, j) => {
    const error = Math.abs(x - ref[j]!) / (1 + Math.abs(ref[j]!));
    if (!(error <= tolerance)) die(`result ${i}[${j}] is ${x} on 'tensorflow' but ${ref[j]} on 'cpu'`);
    maxError = Math.max(maxError, error);
  });
});

console.log(
  JSON.stringify({
    package: pkg,
    tensorflow: native.binding?.TF_Version ?? 'unknown',
    gpu: native.isUsingGpuDevice === true,
    maxError,
    ms: Math.round(performance.now() - started),
  }),
);
