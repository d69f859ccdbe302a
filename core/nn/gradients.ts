// Gradient overrides that make training fast (or possible) on a backend, registered in TF.js's one
// global gradient registry; each acts only while its backend is active and delegates to the stock
// gradient otherwise. Conv2D's is in conv-gradient.ts.
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

/** A kernel's gradient that can be overridden and put back. */
export interface OverridableGradient {
  /** The stock config tfjs-core registered, captured before the first override replaced it. */
  stock(): GradConfig;
  install(config: GradConfig): void;
  uninstall(): void;
  installed(): boolean;
}

export function overridableGradient(kernelName: string): OverridableGradient {
  let stock: GradConfig | undefined;
  let installed = false;
  const stockConfig = () => {
    if (!stock) {
      const current = tf.getGradient(kernelName);
      if (!current) throw new Error(`tfjs-core registered no ${kernelName} gradient`);
      stock = current;
    }
    return stock;
  };
  return {
    stock: stockConfig,
    install(config) {
      stockConfig();
      tf.registerGradient(config);
      installed = true;
    },
    uninstall() {
      tf.registerGradient(stockConfig());
      installed = false;
    },
    installed: () => installed,
  };
}

// --- Relu gradient ----------------------------------------------------------------------------
//
// The stock Relu gradient is dy * step(x). tfjs-node implements Step as six TensorFlow ops (isNaN,
// greater, ones, fill, where, select), which made it the costliest op of an MLP's backward pass
// on native TensorFlow (~1.7 ms of a 128-row step). dy * (x > 0) is the same function (step(0) = 0)
// in two native ops plus the multiply; it differs only for NaN inputs (step passes NaN through,
// this gives 0 - training has already diverged then, and the loss shows it). Registered globally,
// it acts only while 'tensorflow' is the backend (Step is one kernel elsewhere).

let reluGradientInstalled = false;

export function installReluGradient(): void {
  if (reluGradientInstalled) return;
  const stock = tf.getGradient('Relu');
  if (!stock) throw new Error('tfjs-core registered no Relu gradient');
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== 'tensorflow') return stock.gradFunc(dy, saved, attrs);
      const [x] = saved as [Tensor];
      return { x: () => tf.mul(dy as Tensor, tf.cast(tf.greater(x, 0), 'float32')) };
    },
  });
  reluGradientInstalled = true;
}

// --- BatchMatMul gradient override -------------------------------------------------------------
//
// The stock gradient computes dA = dy·Bᵀ and dB = Aᵀ·dy with matMul's transposeA/transposeB
// flags. On the wasm backend (XNNPACK) a flagged matMul is 15-20x slower than materializing the
// transpose and multiplying plainly, which made MLP training ~8x slower overall. This gradient
// is mathematically identical; it only differs in summation order, i.e. in the last float bits.
// It is registered globally (TF.js has one gradient registry) but only acts while the wasm
// backend is active, delegating to the stock gradient otherwise.
const batchMatMul = overridableGradient('BatchMatMul');

/** Swap the last two axes (any rank >= 2), as matMul's transpose flags do. */
function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(x, perm);
}

function explicitTransposeGrad(dy: Tensor, saved: Tensor[], attrs: NamedAttrMap) {
  const [a, b] = saved as [Tensor, Tensor];
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const mm = (x: Tensor, y: Tensor) => tf.matMul(x, y);
  if (!transposeA && !transposeB) {
    return { a: () => mm(dy, swapLast(b)), b: () => mm(swapLast(a), dy) };
  } else if (!transposeA && transposeB) {
    return { a: () => mm(dy, b), b: () => mm(swapLast(dy), a) };
  } else if (transposeA && !transposeB) {
    return { a: () => mm(b, swapLast(dy)), b: () => mm(a, dy) };
  }
  return { a: () => mm(swapLast(b), swapLast(dy)), b: () => mm(swapLast(dy), swapLast(a)) };
}
/** The stock BatchMatMul gradient config (as registered by tfjs-core). */
export function stockBatchMatMulGradient(): GradConfig {
  return batchMatMul.stock();
}

/**
 * Register the explicit-transpose BatchMatMul gradient (idempotent). `force` makes it act on
 * every backend, which tests use to compare it with the stock gradient on cpu as well.
 */
export function installWasmMatMulGradient(opts: { force?: boolean } = {}): void {
  const stock = stockBatchMatMulGradient();
  const force = opts.force ?? false;
  batchMatMul.install({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const dyT = dy as Tensor;
      if (force || tf.getBackend() === 'wasm') return explicitTransposeGrad(dyT, saved, attrs);
      return stock.gradFunc(dyT, saved, attrs);
    },
  });
}

/** Put the stock BatchMatMul gradient back (benchmarks and tests). */
export function uninstallWasmMatMulGradient(): void {
  batchMatMul.uninstall();
}

export function wasmMatMulGradientInstalled(): boolean {
  return batchMatMul.installed();
}
