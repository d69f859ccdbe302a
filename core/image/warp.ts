// Geometric OOD corruptions: bilinear resampling through fixed tables (rotation) and the elastic
// warp, whose random displacements are drawn per image on a coarse control grid.
import { IMAGE_PIXELS, IMAGE_SIDE } from '../datasets/fashion-mnist.js';
import { checkImage, clampByte, type ImageOp } from './image-op.js';

const S = IMAGE_SIDE;
const N = IMAGE_PIXELS;

/** Rotation centre: the middle of a 28-pixel image lies between pixels 13 and 14. */
const CENTER = (S - 1) / 2;

/**
 * A fixed resampling: output pixel p = sum over t<4 of weight[4p+t] * src[index[4p+t]], taps
 * outside the image having weight 0 (zero fill).
 */
export interface WarpTable {
  index: Int32Array;
  weight: Float64Array;
}

/** Bilinear taps for sampling at (x, y) (column, row) into table slot p. */
function setBilinearTaps(table: WarpTable, p: number, x: number, y: number): void {
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

export function applyWarp(table: WarpTable, src: Uint8Array, dst: Uint8Array): void {
  const { index, weight } = table;
  for (let p = 0, q = 0; p < N; p++, q += 4) {
    dst[p] = clampByte(
      weight[q]! * src[index[q]!]! +
        weight[q + 1]! * src[index[q + 1]!]! +
        weight[q + 2]! * src[index[q + 2]!]! +
        weight[q + 3]! * src[index[q + 3]!]!,
    );
  }
}

export const rotationTables = new Map<number, WarpTable>();

export function rotationTable(degrees: number): WarpTable {
  const cached = rotationTables.get(degrees);
  if (cached) return cached;
  const theta = (degrees * Math.PI) / 180;
  // Snap cos/sin so multiples of 90 degrees are exact permutations of the pixel grid.
  const snap = (v: number) => (Math.abs(v) < 1e-12 ? 0 : Math.abs(Math.abs(v) - 1) < 1e-12 ? Math.sign(v) : v);
  const cos = snap(Math.cos(theta));
  const sin = snap(Math.sin(theta));
  const table: WarpTable = { index: new Int32Array(4 * N), weight: new Float64Array(4 * N) };
  for (let y = 0; y < S; y++) {
    const dy = y - CENTER;
    for (let x = 0; x < S; x++) {
      const dx = x - CENTER;
      // Inverse map: where in the source output pixel (x, y) comes from.
      setBilinearTaps(table, y * S + x, CENTER + dx * cos - dy * sin, CENTER + dx * sin + dy * cos);
    }
  }
  if (rotationTables.size < 64) rotationTables.set(degrees, table);
  return table;
}

/**
 * Rotate one image by `degrees` about its centre, counter-clockwise as displayed (row 0 at the
 * top), bilinear, zero fill. Multiples of 90 degrees are exact permutations of the pixel grid.
 */
export function rotateImage(src: Uint8Array, degrees: number): Uint8Array {
  checkImage(src);
  if (!Number.isFinite(degrees)) throw new Error(`degrees must be finite, got ${degrees}`);
  const dst = new Uint8Array(N);
  applyWarp(rotationTable(degrees), src, dst);
  return dst;
}

// Elastic warp: displacements at a G x G control grid spanning the image corners, bilinearly
// interpolated to every pixel. The interpolation weights are fixed, so they are tabulated here.
const ELASTIC_GRID = 5;
const ELASTIC_POINTS = ELASTIC_GRID * ELASTIC_GRID;
const elasticCorner = new Int32Array(N); // control point at the top-left of each pixel's grid cell
const elasticWeights = new Float64Array(4 * N); // for corners +0, +1, +G, +G+1
{
  const step = (S - 1) / (ELASTIC_GRID - 1);
  for (let y = 0; y < S; y++) {
    const gy0 = Math.min(ELASTIC_GRID - 2, Math.floor(y / step));
    const fy = y / step - gy0;
    for (let x = 0; x < S; x++) {
      const gx0 = Math.min(ELASTIC_GRID - 2, Math.floor(x / step));
      const fx = x / step - gx0;
      const p = y * S + x;
      elasticCorner[p] = gy0 * ELASTIC_GRID + gx0;
      elasticWeights.set([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 4 * p);
    }
  }
}

export function prepareElastic(std: number): ImageOp {
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
        const a = elasticCorner[p]!;
        const w = 4 * p;
        const w0 = elasticWeights[w]!;
        const w1 = elasticWeights[w + 1]!;
        const w2 = elasticWeights[w + 2]!;
        const w3 = elasticWeights[w + 3]!;
        const ddx = w0 * gridDx[a]! + w1 * gridDx[a + 1]! + w2 * gridDx[a + G]! + w3 * gridDx[a + G + 1]!;
        const ddy = w0 * gridDy[a]! + w1 * gridDy[a + 1]! + w2 * gridDy[a + G]! + w3 * gridDy[a + G + 1]!;
        dst[p] = clampByte(sampleBilinear(src, x + ddx, y + ddy));
      }
    }
  };
}

/** Bilinear sample of src at (x, y) (column, row), zero outside the image. */
function sampleBilinear(src: Uint8Array, x: number, y: number): number {
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
    if (inX0) acc += (1 - fx) * (1 - fy) * src[row]!;
    if (inX1) acc += fx * (1 - fy) * src[row + 1]!;
  }
  if (y0 + 1 < S) {
    const row = (y0 + 1) * S + x0;
    if (inX0) acc += (1 - fx) * fy * src[row]!;
    if (inX1) acc += fx * fy * src[row + 1]!;
  }
  return acc;
}
