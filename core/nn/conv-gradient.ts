// Conv2D gradient for wasm.
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so the stock Conv2D gradient fails
// there for d/dfilter. This override keeps the stock d/dx (Conv2DBackpropInput, which wasm has)
// and computes d/dfilter by im2col with ordinary ops: pad x like the forward pass did, take one
// (strided) slice per filter tap (kh, kw) -> [N, outH, outW, C], concatenate them along channels
// into patches [N*outH*outW, KH*KW*C] (tap-major, channel-minor: the filter's own layout), then
// dFilter = patchesᵀ · dy[N*outH*outW, F], reshaped to [KH, KW, C, F]. The transpose is explicit
// (XNNPACK's flagged matMul is slow, see gradients.ts). Supports NHWC, dilation 1, any strides and
// 'same'/'valid'/numeric/explicit padding; anything else throws. Like the BatchMatMul override it
// is registered globally but only acts while wasm is the backend. The ResNet trains through
// trainingConv2d instead, whose filter gradient is one forward convolution (conv2dFilterGradConv).
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { overridableGradient } from './gradients.js';

const conv2D = overridableGradient('Conv2D');

/** The stock Conv2D gradient config (as registered by tfjs-core). */
export function stockConv2DGradient(): GradConfig {
  return conv2D.stock();
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
 * d/dx of conv2d at any stride as a forward convolution: for stride s > 1, dy dilated by s (zeros
 * between its rows and columns, by reshape and pad), then conv2dInputGradStride1's formula. Two
 * to four times the multiply-adds of the stock Conv2DBackpropInput kernel, yet ~2x faster on
 * wasm (XNNPACK's convolution). Returns null where conv2dInputGradStride1 would.
 */
export function conv2dInputGradConv(xShape: readonly number[], dy: Tensor, filter: Tensor, attrs: NamedAttrMap): Tensor | null {
  const a = attrs as unknown as { strides: unknown; pad: unknown; dataFormat?: string; dilations?: unknown };
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || dy.rank !== 4 || filter.rank !== 4) return null;
  const [sH, sW] = pair(a.strides, 'strides');
  const [dH, dW] = pair(a.dilations ?? 1, 'dilations');
  if (dH !== 1 || dW !== 1) return null;
  if (sH === 1 && sW === 1) return conv2dInputGradStride1(xShape, dy, filter, attrs);
  const [, inH, inW] = xShape as [number, number, number, number];
  const [n, outH, outW, f] = dy.shape as number[] as [number, number, number, number];
  const [kH, kW] = filter.shape as number[] as [number, number, number, number];
  const [top, left] = leadingPadding(a.pad, inH, inW, kH, kW, outH, outW, sH, sW);
  const dilatedH = (outH - 1) * sH + 1;
  const dilatedW = (outW - 1) * sW + 1;
  const pads: [number, number][] = [[0, 0], [kH - 1 - top, inH - dilatedH + top], [kW - 1 - left, inW - dilatedW + left], [0, 0]];
  if (pads.some(([b, e]) => b < 0 || e < 0)) return null;
  return tf.tidy(() => {
    const spread = tf.pad(tf.reshape(dy, [n, outH, 1, outW, 1, f]), [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]]);
    const dilated = tf.slice(tf.reshape(spread, [n, outH * sH, outW * sW, f]), [0, 0, 0, 0], [n, dilatedH, dilatedW, f]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as Tensor;
    return tf.conv2d(tf.pad(dilated, pads) as never, flipped as never, 1, 'valid');
  });
}

/**
 * d/dfilter of conv2d(x, filter) as ONE forward convolution: dW[a, b, c, f] =
 * sum_{n,i,j} xpad[n, a + sH i, b + sW j, c] dy[n, i, j, f] is the 'valid' convolution of x with
 * batch and channels swapped ([C, Hp, Wp, N]) by dy as the filter ([outH, outW, N, F]), dilated
 * by the strides; out comes [C, KH, KW, F], transposed to the filter's layout. Two transposes and
 * an XNNPACK convolution: 2x (stride 1) to 12x (stride 2, where im2col needs strided slices)
 * faster than im2col on wasm for the ResNet's layers, slower for a single input channel (the cnn's
 * first layer). It sums in another order than im2col, so the cnn keeps im2col (its results are
 * pinned); the ResNet uses this one (trainingConv2d). Same padding and stride support as im2col.
 */
export function conv2dFilterGradConv(x: Tensor, dy: Tensor, filterShape: readonly number[], attrs: NamedAttrMap): Tensor {
  const a = attrs as unknown as { strides: unknown; pad: unknown; dataFormat?: string; dilations?: unknown };
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error(`conv2d filter gradient (conv): dataFormat ${a.dataFormat} is unsupported, only NHWC`);
  const [dH, dW] = pair(a.dilations ?? 1, 'dilations');
  if (dH !== 1 || dW !== 1) throw new Error(`conv2d filter gradient (conv): dilations ${JSON.stringify(a.dilations)} are unsupported, only 1`);
  const [sH, sW] = pair(a.strides, 'strides');
  const [n, inH, inW, c] = x.shape as number[] as [number, number, number, number];
  const [, outH, outW] = dy.shape as number[] as [number, number, number, number];
  const [kH, kW] = filterShape as [number, number, number, number];
  const [top, left] = leadingPadding(a.pad, inH, inW, kH, kW, outH, outW, sH, sW);
  return tf.tidy(() => {
    // Exactly the rows/columns the forward pass read: (out - 1) * stride + k from the padded origin.
    const needH = (outH - 1) * sH + kH;
    const needW = (outW - 1) * sW + kW;
    const padded = tf.pad(x, [[0, 0], [top, Math.max(0, needH - inH - top)], [left, Math.max(0, needW - inW - left)], [0, 0]]);
    const xp = padded.shape[1] === needH && padded.shape[2] === needW ? padded : tf.slice(padded, [0, 0, 0, 0], [n, needH, needW, c]);
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sH, sW]), [1, 2, 0, 3]);
  });
}

/**
 * conv2d(x, filter, strides, pad) for training (the ResNet's layers): on wasm with a custom
 * gradient of forward convolutions only (d/dx: conv2dInputGradConv, else the stock
 * Conv2DBackpropInput kernel; d/dfilter: conv2dFilterGradConv), elsewhere the plain op with its
 * stock gradient (native TensorFlow's kernels).
 */
export function trainingConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, strides: number, pad: 'same' | 'valid'): tf.Tensor4D {
  if (tf.getBackend() !== 'wasm') return tf.conv2d(x, filter, strides, pad);
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 } as unknown as NamedAttrMap;
  const op = tf.customGrad(((xx: tf.Tensor4D, ff: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([xx, ff]);
    return {
      value: tf.conv2d(xx, ff, strides, pad),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = conv2dInputGradConv(xs.shape, dy, fs, attrs) ?? tf.conv2dTranspose(dy as tf.Tensor4D, fs, xs.shape, strides, pad);
        return [dx, conv2dFilterGradConv(xs, dy, fs.shape, attrs)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter) as tf.Tensor4D;
}

/**
 * Register the im2col Conv2D gradient (idempotent): stock d/dx, im2col d/dfilter. `force` makes
 * it act on every backend (tests compare it with the stock gradient on cpu).
 */
export function installWasmConv2DGradient(opts: { force?: boolean } = {}): void {
  const stock = stockConv2DGradient();
  const force = opts.force ?? false;
  conv2D.install({
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
}

/** Put the stock Conv2D gradient back (benchmarks and tests). */
export function uninstallWasmConv2DGradient(): void {
  conv2D.uninstall();
}

export function wasmConv2DGradientInstalled(): boolean {
  return conv2D.installed();
}
