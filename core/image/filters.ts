// Pixel-value and grid OOD corruptions: Gaussian blur, contrast, pixelation and whole-pixel
// translation, on square images of any size with 1 or 3 interleaved channels (HWC). Each works on
// every channel alike (the same kernel, cells or shift; contrast around each channel's own mean),
// so a grey image gives exactly what it gave before geometries. None of them draws random numbers.
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from './geometry.js';
import { checkImage, clampByte, NO_RNG, type ImageOp } from './image-op.js';

/** Normalised 1-D Gaussian kernel, radius max(1, ceil(3 sigma)). */
export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`sigma must be a positive number, got ${sigma}`);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Separable Gaussian blur of `sigma` pixels for images of `geometry`, each channel alike. */
export function prepareBlur(sigma: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): ImageOp {
  const S = geometry.size;
  const C = geometry.channels;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) >> 1;
  // The 1-D blur as an S x S band matrix with the edge handling folded into the edge weights:
  // output x reads source pixels lo[x] .. lo[x] + len[x] - 1 with weights w[x * width + j]. Edges
  // are half-sample symmetric (scipy.ndimage mode 'reflect': d c b a | a b c d | d c b a), which
  // makes every column of the matrix sum to 1, so the image's total (its mean) is preserved
  // up to rounding. Rows are blurred, then columns; channel c of pixel p is byte p * C + c.
  const width = Math.min(S, k.length);
  const lo = new Int32Array(S);
  const len = new Int32Array(S);
  const w = new Float64Array(S * width);
  const reflect = (v: number) => (v < 0 ? -1 - v : v >= S ? 2 * S - 1 - v : v);
  for (let x = 0; x < S; x++) {
    const first = Math.max(0, x - r);
    const last = Math.min(S - 1, x + r);
    lo[x] = first;
    len[x] = last - first + 1;
    for (let i = -r; i <= r; i++) w[x * width + (reflect(x + i) - first)]! += k[i + r]!;
  }
  const mid = new Float64Array(pixelsPerImage(geometry));
  return (src, dst) => {
    const m = mid;
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < S; y++) {
        const row = y * S;
        for (let x = 0; x < S; x++) {
          const from = row + lo[x]!;
          const wx = x * width;
          const n = len[x]!;
          let acc = 0;
          for (let j = 0; j < n; j++) acc += w[wx + j]! * src[(from + j) * C + c]!;
          m[(row + x) * C + c] = acc;
        }
      }
      for (let y = 0; y < S; y++) {
        const from = lo[y]! * S;
        const wy = y * width;
        const n = len[y]!;
        for (let x = 0; x < S; x++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += w[wy + j]! * m[(from + j * S + x) * C + c]!;
          dst[(y * S + x) * C + c] = clampByte(acc);
        }
      }
    }
  };
}

/** Separable Gaussian blur of one image, radius max(1, ceil(3 sigma)), edges mirrored (mean-preserving). */
export function blurImage(src: Uint8Array, sigma: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): Uint8Array {
  checkImage(src, 'image', geometry);
  const dst = new Uint8Array(pixelsPerImage(geometry));
  prepareBlur(sigma, geometry)(src, dst, NO_RNG);
  return dst;
}

/** Contrast around each channel's mean: (x - mean_c) * factor + mean_c. */
export function contrastInto(src: Uint8Array, dst: Uint8Array, factor: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): void {
  const C = geometry.channels;
  const N = geometry.size * geometry.size;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += src[i * C + c]!;
    const mean = sum / N;
    for (let i = 0; i < N; i++) dst[i * C + c] = clampByte((src[i * C + c]! - mean) * factor + mean);
  }
}

export function pixelateInto(src: Uint8Array, dst: Uint8Array, block: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): void {
  // Box-average over block x block cells, then nearest upsample (ImageNet-C: PIL BOX down,
  // NEAREST up). The grid is centred: partial cells split evenly between the two edges.
  const S = geometry.size;
  const C = geometry.channels;
  const start = -Math.floor(((block - (S % block)) % block) / 2);
  for (let by = start; by < S; by += block) {
    const y0 = Math.max(0, by);
    const y1 = Math.min(S, by + block);
    for (let bx = start; bx < S; bx += block) {
      const x0 = Math.max(0, bx);
      const x1 = Math.min(S, bx + block);
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += src[(y * S + x) * C + c]!;
        const v = clampByte(sum / ((y1 - y0) * (x1 - x0)));
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) dst[(y * S + x) * C + c] = v;
      }
    }
  }
}

/** Translate by whole pixels (dx right, dy down), zero fill; writes every byte of dst. */
export function translateInto(src: Uint8Array, dst: Uint8Array, dx: number, dy: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): void {
  const S = geometry.size;
  const C = geometry.channels;
  dst.fill(0);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(S, S + dx);
  if (x1 <= x0) return;
  for (let y = Math.max(0, dy); y < Math.min(S, S + dy); y++) {
    const from = ((y - dy) * S + (x0 - dx)) * C;
    dst.set(src.subarray(from, from + (x1 - x0) * C), (y * S + x0) * C);
  }
}

/** Translate one image by whole pixels (dx right, dy down), zero fill. */
export function shiftImage(src: Uint8Array, dx: number, dy: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): Uint8Array {
  checkImage(src, 'image', geometry);
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) throw new Error(`shift must be whole pixels, got (${dx}, ${dy})`);
  const dst = new Uint8Array(pixelsPerImage(geometry));
  translateInto(src, dst, dx, dy, geometry);
  return dst;
}
