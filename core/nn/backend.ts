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
import { installWasmConv2DGradient } from './conv-gradient.js';
import { nativePackageCandidates, type NativePackage } from './cuda.js';
import { installReluGradient, installWasmMatMulGradient } from './gradients.js';

export { nativePackageCandidates, systemCudaProbe, visibleCudaDevices, type CudaProbe } from './cuda.js';
export { installReluGradient, installWasmMatMulGradient, stockBatchMatMulGradient, uninstallWasmMatMulGradient, wasmMatMulGradientInstalled } from './gradients.js';
export {
  conv2dFilterGradConv,
  conv2dFilterGradIm2col,
  conv2dInputGradConv,
  conv2dInputGradStride1,
  trainingConv2d,
  installWasmConv2DGradient,
  stockConv2DGradient,
  uninstallWasmConv2DGradient,
  wasmConv2DGradientInstalled,
} from './conv-gradient.js';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export type Tf = typeof import('@tensorflow/tfjs');

export interface TfBackend {
  /** The active TF.js backend name: 'tensorflow' (native, CPU or GPU), 'wasm' or 'cpu'. */
  backend: string;
  /** The native package that provides 'tensorflow', if that is the backend. */
  nativePackage?: NativePackage;
  /** True when kernels run on a GPU (tfjs-node-gpu with a CUDA device). */
  gpu: boolean;
  tf: Tf;
}

export class BackendUnavailableError extends Error {
  readonly code = 'E_BACKEND_UNAVAILABLE';
}

/** One initialization per preference (the backend is process-global). */
const pending = new Map<BackendPreference, Promise<TfBackend>>();

/**
 * Select and initialize the TF.js backend (memoized per preference; safe to call from every
 * activity). 'tensorflow' insists on a native binding and throws `BackendUnavailableError`
 * explaining how to get one; 'wasm'/'cpu' use exactly that backend; 'auto' takes the fastest
 * that loads. On wasm, the BatchMatMul gradient is replaced by one using explicit transposes
 * (see `installWasmMatMulGradient`), and the Conv2D gradient gets an im2col d/dfilter since wasm
 * has no Conv2DBackpropFilter kernel (see `installWasmConv2DGradient`).
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
  installReluGradient();
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
      return { backend: 'wasm', gpu: false, tf };
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
  return { backend: 'cpu', gpu: false, tf };
}

async function tryNative(failures: string[]): Promise<TfBackend | null> {
  const { packages, skipped } = nativePackageCandidates(process.env);
  failures.push(...skipped);
  for (const name of packages) {
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
        return { backend: 'tensorflow', nativePackage: name, gpu: name === '@tensorflow/tfjs-node-gpu', tf };
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
  installWasmConv2DGradient();
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String(err.message) : String(err);
  const first = message.split('\n')[0] ?? message;
  return first.length > 300 ? `${first.slice(0, 300)}...` : first;
}
