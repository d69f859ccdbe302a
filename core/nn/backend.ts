// TensorFlow.js backend selection for training and evaluation activities.
//
// Preference order for 'auto': a native TensorFlow binding (@tensorflow/tfjs-node-gpu, then
// @tensorflow/tfjs-node; neither is a dependency today, so they are imported by a computed name
// and any failure - not installed, native binding missing - just moves on), then WebAssembly
// (XNNPACK, SIMD), then the plain-JS cpu backend. The backend is process-global in TF.js, so the
// result is memoized: every activity in a worker shares one initialization.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export type Tf = typeof import('@tensorflow/tfjs');

export interface TfBackend {
  /** The active TF.js backend name: 'tensorflow' (native, CPU or GPU), 'wasm' or 'cpu'. */
  backend: string;
  /** The native package that provides 'tensorflow', if that is the backend. */
  nativePackage?: (typeof NATIVE_PACKAGES)[number];
  /** True when kernels run on a GPU (tfjs-node-gpu with a CUDA device). */
  gpu: boolean;
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

/** Where CUDA devices are looked for (injectable, so the selection is testable without a GPU). */
export interface CudaProbe {
  /** Entry names in /dev (only those matching ^nvidia\d+$ count: nvidia0, nvidia1, ...). */
  nvidiaDeviceFiles(): string[];
}

const NVIDIA_DEVICE_FILE = /^nvidia\d+$/;

export const systemCudaProbe: CudaProbe = {
  nvidiaDeviceFiles() {
    try {
      return readdirSync('/dev').filter((name) => NVIDIA_DEVICE_FILE.test(name));
    } catch {
      return [];
    }
  },
};

/**
 * The CUDA devices this process would see, as CUDA_VISIBLE_DEVICES entries ('0', '1', 'GPU-...').
 * Unset: one ordinal per /dev/nvidia<N> file ('0'..'count-1'). Set: its entries left to right,
 * read the way CUDA reads them: '' means none; an ordinal counts when below the number of device
 * files (CUDA ordinals are 0..count-1 whatever the files' minor numbers); a UUID ('GPU-...',
 * 'MIG-...') counts when any device file exists; the first entry that is neither ('-1',
 * 'NoDevFiles', an ordinal out of range) ends the list, and a repeated entry makes it empty.
 */
export function visibleCudaDevices(env: NodeJS.ProcessEnv, probe: CudaProbe = systemCudaProbe): string[] {
  const count = probe.nvidiaDeviceFiles().filter((name) => NVIDIA_DEVICE_FILE.test(name)).length;
  const setting = env.CUDA_VISIBLE_DEVICES;
  if (setting === undefined) return Array.from({ length: count }, (_, i) => String(i));
  const visible: string[] = [];
  for (const raw of setting.split(',')) {
    const entry = raw.trim();
    let device: string;
    if (/^(GPU|MIG)-/i.test(entry)) {
      if (count === 0) break;
      device = entry;
    } else {
      const ordinal = /^\d+/.exec(entry); // like CUDA's strtoul: '1gpu' is 1
      if (!ordinal || Number(ordinal[0]) >= count) break;
      device = String(Number(ordinal[0]));
    }
    if (visible.includes(device)) return [];
    visible.push(device);
  }
  return visible;
}

/**
 * The native packages `tryNative` attempts, in order, and why any was left out: tfjs-node-gpu
 * only when a CUDA device is visible (without one it would load and run on the CPU, reporting
 * gpu: true, after slow CUDA start-up probing).
 */
export function nativePackageCandidates(
  env: NodeJS.ProcessEnv,
  probe: CudaProbe = systemCudaProbe,
): { packages: (typeof NATIVE_PACKAGES)[number][]; skipped: string[] } {
  const files = probe.nvidiaDeviceFiles().filter((name) => NVIDIA_DEVICE_FILE.test(name));
  if (visibleCudaDevices(env, { nvidiaDeviceFiles: () => files }).length > 0) {
    return { packages: [...NATIVE_PACKAGES], skipped: [] };
  }
  const setting = env.CUDA_VISIBLE_DEVICES;
  const cvd = setting === undefined ? 'CUDA_VISIBLE_DEVICES unset' : `CUDA_VISIBLE_DEVICES=${setting === '' ? '""' : setting}`;
  const dev = files.length ? files.map((name) => `/dev/${name}`).join(' ') : 'no /dev/nvidia*';
  return {
    packages: NATIVE_PACKAGES.filter((name) => name !== '@tensorflow/tfjs-node-gpu'),
    skipped: [`@tensorflow/tfjs-node-gpu: no CUDA device visible (${cvd}, ${dev})`],
  };
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

// --- Conv2D filter gradient for wasm ------------------------------------------------------------
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so the stock Conv2D gradient fails
// there for d/dfilter. This override keeps the stock d/dx (Conv2DBackpropInput, which wasm has)
// and computes d/dfilter by im2col with ordinary ops: pad x like the forward pass did, take one
// (strided) slice per filter tap (kh, kw) -> [N, outH, outW, C], concatenate them along channels
// into patches [N*outH*outW, KH*KW*C] (tap-major, channel-minor: the filter's own layout), then
// dFilter = patchesᵀ · dy[N*outH*outW, F], reshaped to [KH, KW, C, F]. The transpose is explicit
// (XNNPACK's flagged matMul is slow, see above). Supports NHWC, dilation 1, any strides and
// 'same'/'valid'/numeric/explicit padding; anything else throws. Like the BatchMatMul override it
// is registered globally but only acts while wasm is the backend.

let stockConvGradient: GradConfig | undefined;
let convOverrideInstalled = false;

/** The stock Conv2D gradient config (as registered by tfjs-core). */
export function stockConv2DGradient(): GradConfig {
  if (!stockConvGradient) {
    const current = tf.getGradient('Conv2D');
    if (!current) throw new Error('tfjs-core registered no Conv2D gradient');
    stockConvGradient = current;
  }
  return stockConvGradient;
}

type Pair = [number, number];
const pair = (v: unknown, what: string): Pair => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((e) => Number.isInteger(e) && e >= 1)) return [v[0], v[1]];
  throw new Error(`conv2d filter gradient (wasm im2col): unsupported ${what} ${JSON.stringify(v)}`);
};

/** Top and left padding the forward pass applied (its output size is dy's). */
function leadingPadding(pad: unknown, inH: number, inW: number, kH: number, kW: number, outH: number, outW: number, sH: number, sW: number): Pair {
  if (pad === 'valid') return [0, 0];
  if (pad === 'same') {
    return [Math.floor(Math.max(0, (outH - 1) * sH + kH - inH) / 2), Math.floor(Math.max(0, (outW - 1) * sW + kW - inW) / 2)];
  }
  if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) return [pad, pad];
  if (Array.isArray(pad) && pad.length === 4 && pad.every((p) => Array.isArray(p) && p.length === 2 && p.every((e) => Number.isInteger(e) && e >= 0))) {
    const p = pad as Pair[];
    if (p[0]![0] || p[0]![1] || p[3]![0] || p[3]![1]) throw new Error('conv2d filter gradient (wasm im2col): explicit padding of the batch or channel axis');
    return [p[1]![0], p[2]![0]];
  }
  throw new Error(`conv2d filter gradient (wasm im2col): unsupported padding ${JSON.stringify(pad)}`);
}

/** d/dfilter of conv2d(x, filter) for upstream gradient dy, by im2col + one matMul. */
export function conv2dFilterGradIm2col(x: Tensor, dy: Tensor, filterShape: readonly number[], attrs: NamedAttrMap): Tensor {
  const a = attrs as unknown as { strides: unknown; pad: unknown; dataFormat?: string; dilations?: unknown };
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error(`conv2d filter gradient (wasm im2col): dataFormat ${a.dataFormat} is unsupported, only NHWC`);
  const [dH, dW] = pair(a.dilations ?? 1, 'dilations');
  if (dH !== 1 || dW !== 1) throw new Error(`conv2d filter gradient (wasm im2col): dilations ${JSON.stringify(a.dilations)} are unsupported, only 1`);
  const [sH, sW] = pair(a.strides, 'strides');
  if (x.rank !== 4 || dy.rank !== 4 || filterShape.length !== 4) throw new Error('conv2d filter gradient (wasm im2col): expects rank-4 x, dy and filter');
  const [n, inH, inW, c] = x.shape as number[] as [number, number, number, number];
  const [, outH, outW, f] = dy.shape as number[] as [number, number, number, number];
  const [kH, kW] = filterShape as [number, number, number, number];
  const [top, left] = leadingPadding(a.pad, inH, inW, kH, kW, outH, outW, sH, sW);
  return tf.tidy(() => {
    // Rows/columns the forward pass read: up to (out - 1) * stride + k from the padded origin.
    const bottom = Math.max(0, (outH - 1) * sH + kH - inH - top);
    const right = Math.max(0, (outW - 1) * sW + kW - inW - left);
    const xp = top || left || bottom || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    // Channels first ([C, N, H, W]; free for C = 1), so the taps stack along axis 0 straight into
    // patchesᵀ [KH*KW*C, N*outH*outW]: one transpose of x instead of one of the KH*KW-times
    // larger patch matrix.
    const xc = c === 1 ? tf.reshape(xp, [1, n, xp.shape[1]!, xp.shape[2]!]) : tf.transpose(xp, [3, 0, 1, 2]);
    const rows = n * outH * outW;
    const taps: Tensor[] = [];
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        const tap =
          sH === 1 && sW === 1
            ? tf.slice(xc, [0, 0, i, j], [c, n, outH, outW])
            : tf.stridedSlice(xc, [0, 0, i, j], [c, n, i + (outH - 1) * sH + 1, j + (outW - 1) * sW + 1], [1, 1, sH, sW]);
        taps.push(tf.reshape(tap, [c, rows]));
      }
    }
    const patchesT = taps.length === 1 ? taps[0]! : tf.concat(taps, 0);
    const grad = tf.matMul(patchesT, tf.reshape(dy, [rows, f]));
    return tf.reshape(grad, [kH, kW, c, f]);
  });
}

/**
 * d/dx of a stride-1 conv2d as a forward convolution of the padded dy with the spatially flipped,
 * in/out-swapped filter: XNNPACK's convolution is ~5-10x faster than wasm's Conv2DBackpropInput
 * kernel. Returns null (caller falls back to the stock kernel) for strides > 1 or padding wider
 * than the filter.
 */
export function conv2dInputGradStride1(xShape: readonly number[], dy: Tensor, filter: Tensor, attrs: NamedAttrMap): Tensor | null {
  const a = attrs as unknown as { strides: unknown; pad: unknown; dataFormat?: string; dilations?: unknown };
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || dy.rank !== 4 || filter.rank !== 4) return null;
  const [sH, sW] = pair(a.strides, 'strides');
  const [dH, dW] = pair(a.dilations ?? 1, 'dilations');
  if (sH !== 1 || sW !== 1 || dH !== 1 || dW !== 1) return null;
  const [, inH, inW] = xShape as [number, number, number, number];
  const [, outH, outW] = dy.shape as number[] as [number, number, number, number];
  const [kH, kW] = filter.shape as number[] as [number, number, number, number];
  const [top, left] = leadingPadding(a.pad, inH, inW, kH, kW, outH, outW, sH, sW);
  // dx[i] = sum_k dy[i + top - k] w[k] = sum_k' dyp[i + k'] w[kH - 1 - k'], dyp = dy shifted by kH-1-top.
  const pads: [number, number][] = [[0, 0], [kH - 1 - top, inH - outH + top], [kW - 1 - left, inW - outW + left], [0, 0]];
  if (pads.some(([b, e]) => b < 0 || e < 0)) return null;
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as Tensor;
    return tf.conv2d(tf.pad(dy, pads) as never, flipped as never, 1, 'valid');
  });
}

/**
 * Register the im2col Conv2D gradient (idempotent): stock d/dx, im2col d/dfilter. `force` makes
 * it act on every backend (tests compare it with the stock gradient on cpu).
 */
export function installWasmConv2DGradient(opts: { force?: boolean } = {}): void {
  const stock = stockConv2DGradient();
  const force = opts.force ?? false;
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const dyT = dy as Tensor;
      const grads = stock.gradFunc(dyT, saved, attrs);
      if (!(force || tf.getBackend() === 'wasm')) return grads;
      const [x, filter] = saved as [Tensor, Tensor];
      return {
        x: () => conv2dInputGradStride1(x.shape, dyT, filter, attrs) ?? grads.x!(),
        filter: () => conv2dFilterGradIm2col(x, dyT, filter.shape, attrs),
      };
    },
  });
  convOverrideInstalled = true;
}

/** Put the stock Conv2D gradient back (benchmarks and tests). */
export function uninstallWasmConv2DGradient(): void {
  tf.registerGradient(stockConv2DGradient());
  convOverrideInstalled = false;
}

export function wasmConv2DGradientInstalled(): boolean {
  return convOverrideInstalled;
}
