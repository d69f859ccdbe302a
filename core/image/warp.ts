// Geometric OOD corruptions: bilinear resampling through fixed tables (rotation) and the elastic
// warp, whose random displacements are drawn per image on a coarse control grid. Square images of
// any size; every channel goes through the same resampling (one table, one displacement field).
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from './geometry.js';
import { checkImage, clampByte, type ImageOp } from './image-op.js';

/**
 * A fixed resampling of an S x S grid: output pixel p = sum over t<4 of weight[4p+t] *
 * src[index[4p+t]] (pixel indices; channel c of pixel q is byte q * channels + c), taps outside
 * the image having weight 0 (zero fill).
 */
export interface WarpTable {
  index: Int32Array;
  weight: Float64Array;
}

/** Bilinear taps for sampling at (x, y) (column, row) of an S x S grid into table slot p. */
function setBilinearTaps(table: WarpTable, S: number, p: number, x: number, y: number): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const q = 4 * p;
  const inX0 = x0 >= 0 && x0 < S;
  const inX1 = x0 + 1 >= 0 && x0 + 1 < S;
  const inY0 = y0 >= 0 && y0 < S;
  const inY1 = y0 + 1 >= 0 && y0 + 1 < S;
  const { index, weight } = table;
  index[q] = inX0 && inY0 ? y0 * S + x0 : 0;
  weight[q] = inX0 && inY0 ? (1 - fx) * (1 - fy) : 0;
  index[q + 1] = inX1 && inY0 ? y0 * S + x0 + 1 : 0;
  weight[q + 1] = inX1 && inY0 ? fx * (1 - fy) : 0;
  index[q + 2] = inX0 && inY1 ? (y0 + 1) * S + x0 : 0;
  weight[q + 2] = inX0 && inY1 ? (1 - fx) * fy : 0;
  index[q + 3] = inX1 && inY1 ? (y0 + 1) * S + x0 + 1 : 0;
  weight[q + 3] = inX1 && inY1 ? fx * fy : 0;
}

/** Resample every channel of src through `table` (pixels: the table's grid; channels 1 or 3). */
export function applyWarp(table: WarpTable, src: Uint8Array, dst: Uint8Array, channels: 1 | 3 = 1): void {
  const { index, weight } = table;
  const N = index.length >> 2;
  const C = channels;
  for (let p = 0, q = 0; p < N; p++, q += 4) {
    for (let c = 0; c < C; c++) {
      dst[p * C + c] = clampByte(
        weight[q]! * src[index[q]! * C + c]! +
          weight[q + 1]! * src[index[q + 1]! * C + c]! +
          weight[q + 2]! * src[index[q + 2]! * C + c]! +
          weight[q + 3]! * src[index[q + 3]! * C + c]!,
      );
    }
  }
}

/** Rotation tables by `${size}|${degrees}` (a few sizes and angles per process). */
export const rotationTables = new Map<string, WarpTable>();

/** The table rotating an image of side `size` (default 28) by `degrees` about its centre. */
export function rotationTable(degrees: number, size = FASHION_MNIST_GEOMETRY.size): WarpTable {
  const key = `${size}|${degrees}`;
  const cached = rotationTables.get(key);
  if (cached) return cached;
  const S = size;
  // Rotation centre: the middle of the image (of a 28-pixel one, between pixels 13 and 14).
  const center = (S - 1) / 2;
  const theta = (degrees * Math.PI) / 180;
  // Snap cos/sin so multiples of 90 degrees are exact permutations of the pixel grid.
  const snap = (v: number) => (Math.abs(v) < 1e-12 ? 0 : Math.abs(Math.abs(v) - 1) < 1e-12 ? Math.sign(v) : v);
  const cos = snap(Math.cos(theta));
  const sin = snap(Math.sin(theta));
  const table: WarpTable = { index: new Int32Array(4 * S * S), weight: new Float64Array(4 * S * S) };
  for (let y = 0; y < S; y++) {
    const dy = y - center;
    for (let x = 0; x < S; x++) {
      const dx = x - center;
      // Inverse map: where in the source output pixel (x, y) comes from.
      setBilinearTaps(table, S, y * S + x, center + dx * cos - dy * sin, center + dx * sin + dy * cos);
    }
  }
  if (rotationTables.size < 64) rotationTables.set(key, table);
  return table;
}

/**
 * Rotate one image by `degrees` about its centre, counter-clockwise as displayed (row 0 at the
 * top), bilinear, zero fill. Multiples of 90 degrees are exact permutations of the pixel grid.
 */
export function rotateImage(src: Uint8Array, degrees: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): Uint8Array {
  checkImage(src, 'image', geometry);
  if (!Number.isFinite(degrees)) throw new Error(`degrees must be finite, got ${degrees}`);
  const dst = new Uint8Array(pixelsPerImage(geometry));
  applyWarp(rotationTable(degrees, geometry.size), src, dst, geometry.channels);
  return dst;
}

// Elastic warp: displacements at a G x G control grid spanning the image corners, bilinearly
// interpolated to every pixel. The interpolation weights are fixed per size, so they are tabulated.
const ELASTIC_GRID = 5;
const ELASTIC_POINTS = ELASTIC_GRID * ELASTIC_GRID;

interface ElasticTable {
  /** Control point at the top-left of each pixel's grid cell. */
  corner: Int32Array;
  /** Weights of corners +0, +1, +G, +G+1 per pixel. */
  weights: Float64Array;
}

const elasticTables = new Map<number, ElasticTable>();

function elasticTable(S: number): ElasticTable {
  const cached = elasticTables.get(S);
  if (cached) return cached;
  const corner = new Int32Array(S * S);
  const weights = new Float64Array(4 * S * S);
  const step = (S - 1) / (ELASTIC_GRID - 1);
  for (let y = 0; y < S; y++) {
    const gy0 = Math.min(ELASTIC_GRID - 2, Math.floor(y / step));
    const fy = y / step - gy0;
    for (let x = 0; x < S; x++) {
      const gx0 = Math.min(ELASTIC_GRID - 2, Math.floor(x / step));
      const fx = x / step - gx0;
      const p = y * S + x;
      corner[p] = gy0 * ELASTIC_GRID + gx0;
      weights.set([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 4 * p);
    }
  }
  const table = { corner, weights };
  if (elasticTables.size < 16) elasticTables.set(S, table);
  return table;
}

/** The elastic warp with control-point displacements of `std` pixels; one field per image for all its channels. */
export function prepareElastic(std: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): ImageOp {
  const S = geometry.size;
  const C = geometry.channels;
  const { corner, weights } = elasticTable(S);
  const gridDx = new Float64Array(ELASTIC_POINTS);
  const gridDy = new Float64Array(ELASTIC_POINTS);
  const G = ELASTIC_GRID;
  return (src, dst, rng) => {
    for (let i = 0; i < ELASTIC_POINTS; i++) {
      gridDx[i] = std * rng.normal();
      gridDy[i] = std * rng.normal();
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const p = y * S + x;
        const a = corner[p]!;
        const w = 4 * p;
        const w0 = weights[w]!;
        const w1 = weights[w + 1]!;
        const w2 = weights[w + 2]!;
        const w3 = weights[w + 3]!;
        const ddx = w0 * gridDx[a]! + w1 * gridDx[a + 1]! + w2 * gridDx[a + G]! + w3 * gridDx[a + G + 1]!;
        const ddy = w0 * gridDy[a]! + w1 * gridDy[a + 1]! + w2 * gridDy[a + G]! + w3 * gridDy[a + G + 1]!;
        for (let c = 0; c < C; c++) dst[p * C + c] = clampByte(sampleBilinear(src, S, C, c, x + ddx, y + ddy));
      }
    }
  };
}

/** Bilinear sample of channel c of src (S x S, C channels) at (x, y) (column, row), zero outside the image. */
function sampleBilinear(src: Uint8Array, S: number, C: number, c: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 < -1 || y0 < -1 || x0 >= S || y0 >= S) return 0;
  const fx = x - x0;
  const fy = y - y0;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 < S;
  let acc = 0;
  if (y0 >= 0) {
    const row = y0 * S + x0;
    if (inX0) acc += (1 - fx) * (1 - fy) * src[row * C + c]!;
    if (inX1) acc += fx * (1 - fy) * src[(row + 1) * C + c]!;
  }
  if (y0 + 1 < S) {
    const row = (y0 + 1) * S + x0;
    if (inX0) acc += (1 - fx) * fy * src[row * C + c]!;
    if (inX1) acc += fx * fy * src[(row + 1) * C + c]!;
  }
  return acc;
}
