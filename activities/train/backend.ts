// TensorFlow.js backend selection for training and evaluation activities.
//
// Preference order for 'auto': a native TensorFlow binding (@tensorflow/tfjs-node-gpu, then
// @tensorflow/tfjs-node; neither is a dependency today, so they are imported by a computed name
// and any failure - not installed, native binding missing - just moves on), then WebAssembly
// (XNNPACK, SIMD), then the plain-JS cpu backend. The backend is process-global in TF.js, so the
// result is memoized: every activity in a worker shares one initialization.
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export type Tf = typeof import('@tensorflow/tfjs');

export interface TfBackend {
  /** The active TF.js backend name: 'tensorflow' (native, CPU or GPU), 'wasm' or 'cpu'. */
  backend: string;
  tf: Tf;
}

export class BackendUnavailableError extends Error {
  readonly code = 'E_BACKEND_UNAVAILABLE';
}

/** Native packages tried in order; names kept in variables so type-checking never needs them. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

const pending = new Map<BackendPreference, Promise<TfBackend>>();

/**
 * Select and initialize the TF.js backend (memoized per preference; safe to call from every
 * activity). 'tensorflow' insists on a native binding and throws `BackendUnavailableError`
 * explaining how to get one; 'wasm'/'cpu' use exactly that backend; 'auto' takes the fastest
 * that loads. On wasm, the BatchMatMul gradient is replaced by one using explicit transposes
 * (see `installWasmMatMulGradient`).
 */
export async function initTfBackend(preference: BackendPreference): Promise<TfBackend> {
  let init = pending.get(preference);
  if (!init) {
    init = select(preference);
    pending.set(preference, init);
    init.catch(() => pending.delete(preference));
  }
  const result = await init;
  // Another preference may have switched the (global) backend since; switch back. Both are
  // already initialized, so this is cheap; tensors move between backends on demand.
  if (tf.getBackend() !== result.backend) await tf.setBackend(result.backend);
  return result;
}

async function select(preference: BackendPreference): Promise<TfBackend> {
  const failures: string[] = [];
  if (preference === 'auto' || preference === 'tensorflow') {
    const native = await tryNative(failures);
    if (native) return native;
    if (preference === 'tensorflow') {
      throw new BackendUnavailableError(
        `training.backend is 'tensorflow' but no native TensorFlow binding could be loaded ` +
          `(${failures.join('; ')}). Fix: npm install @tensorflow/tfjs-node@${tf.version.tfjs} ` +
          `(or @tensorflow/tfjs-node-gpu with CUDA), or set training.backend to 'auto', 'wasm' or 'cpu'.`,
      );
    }
  }
  if (preference === 'auto' || preference === 'wasm') {
    try {
      await activateWasm();
      return { backend: 'wasm', tf };
    } catch (err) {
      if (preference === 'wasm') {
        throw new BackendUnavailableError(`the wasm backend failed to initialize: ${describe(err)}`);
      }
      failures.push(`wasm: ${describe(err)}`);
    }
  }
  if (!(await tf.setBackend('cpu'))) {
    throw new BackendUnavailableError(`the cpu backend failed to initialize (${failures.join('; ')})`);
  }
  await tf.ready();
  return { backend: 'cpu', tf };
}

async function tryNative(failures: string[]): Promise<TfBackend | null> {
  for (const name of NATIVE_PACKAGES) {
    const specifier: string = name;
    try {
      // Quiet TensorFlow's absl/oneDNN start-up lines unless the user asked for them.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import(specifier);
    } catch (err) {
      failures.push(`${name}: ${describe(err)}`);
      continue;
    }
    // The package registers 'tensorflow' with whichever @tensorflow/tfjs-core it resolves; if
    // that is not ours (a version mismatch installs a second copy), the backend is invisible here.
    if (!tf.findBackendFactory('tensorflow')) {
      failures.push(
        `${name}: loaded, but registered its backend with a different @tensorflow/tfjs-core ` +
          `(install the version matching @tensorflow/tfjs ${tf.version.tfjs})`,
      );
      continue;
    }
    try {
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { backend: 'tensorflow', tf };
      }
      failures.push(`${name}: setBackend('tensorflow') returned false`);
    } catch (err) {
      failures.push(`${name}: ${describe(err)}`);
    }
  }
  return null;
}

let wasmPathsSet = false;

async function activateWasm(): Promise<void> {
  // Importing the package registers the 'wasm' backend factory with tfjs-core.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // Point emscripten at the .wasm binaries beside the package's main file, whatever the
    // bundling/working directory: they are read from disk, never fetched.
    const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(dirname(main) + sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error(`setBackend('wasm') returned false`);
  await tf.ready();
  installWasmMatMulGradient();
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String(err.message) : String(err);
  const first = message.split('\n')[0] ?? message;
  return first.length > 300 ? `${first.slice(0, 300)}...` : first;
}

// --- BatchMatMul gradient override -------------------------------------------------------------
//
// The stock gradient computes dA = dy·Bᵀ and dB = Aᵀ·dy with matMul's transposeA/transposeB
// flags. On the wasm backend (XNNPACK) a flagged matMul is 15-20x slower than materializing the
// transpose and multiplying plainly, which made MLP training ~8x slower overall. This gradient
// is mathematically identical; it only differs in summation order, i.e. in the last float bits.
// It is registered globally (TF.js has one gradient registry) but only acts while the wasm
// backend is active, delegating to the stock gradient otherwise.

let stockGradient: GradConfig | undefined;
let overrideInstalled = false;

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
  if (!stockGradient) {
    const current = tf.getGradient('BatchMatMul');
    if (!current) throw new Error('tfjs-core registered no BatchMatMul gradient');
    stockGradient = current;
  }
  return stockGradient;
}

/**
 * Register the explicit-transpose BatchMatMul gradient (idempotent). `force` makes it act on
 * every backend, which tests use to compare it with the stock gradient on cpu as well.
 */
export function installWasmMatMulGradient(opts: { force?: boolean } = {}): void {
  const stock = stockBatchMatMulGradient();
  const force = opts.force ?? false;
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const dyT = dy as Tensor;
      if (force || tf.getBackend() === 'wasm') return explicitTransposeGrad(dyT, saved, attrs);
      return stock.gradFunc(dyT, saved, attrs);
    },
  });
  overrideInstalled = true;
}

/** Put the stock BatchMatMul gradient back (benchmarks and tests). */
export function uninstallWasmMatMulGradient(): void {
  tf.registerGradient(stockBatchMatMulGradient());
  overrideInstalled = false;
}

export function wasmMatMulGradientInstalled(): boolean {
  return overrideInstalled;
}
