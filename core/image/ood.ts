// Out-of-distribution evaluation suites: deterministic corruptions and shifts of the real test
// set, in the spirit of ImageNet-C (corruptions at severities 1..5) and ImageNet-R/-Sketch
// (renditions: here, inversion). Each suite is reported separately, so "synthetic data helps more
// under shift" (Fan et al. 2024) can be checked per kind of shift.
//
// Pure module: no I/O, no Temporal, no TF.js. Images are 28x28 grayscale bytes, row-major.
//
// Determinism: the output depends only on (suite, severity, seed, the image's bytes, its index).
// Each image gets its own generator, createRng(oodImageSeed(suite, seed, index)), so any image can
// be recomputed alone (corruptImage). Severity is deliberately *not* part of the seed: the levels
// of one suite share their random draws (the same noise field, rotation sense, shift direction,
// warp field), so a higher level is the same perturbation made larger and severity curves are not
// confounded by resampling.
import { z } from 'zod';
import { IMAGE_PIXELS, IMAGE_SIDE, type ImageSet } from '../datasets/fashion-mnist.js';
import { createRng, seedFromString, type Rng } from '../rng.js';

export const OOD_SEVERITIES = [1, 2, 3, 4, 5] as const;
export const OOD_DEFAULT_SEVERITY = 3;

export const OOD_SUITE_NAMES = [
  'rotate',
  'gaussian-noise',
  'gaussian-blur',
  'invert',
  'contrast',
  'pixelate',
  'shift',
  'elastic',
] as const;
export type OodSuiteName = (typeof OOD_SUITE_NAMES)[number];

const S = IMAGE_SIDE;
const N = IMAGE_PIXELS;
/** Rotation centre: the middle of a 28-pixel image lies between pixels 13 and 14. */
const CENTER = (S - 1) / 2;

/** Per-severity parameter (index 0 = severity 1). */
export type OodLevels = readonly [number, number, number, number, number];

/**
 * Transforms one image: reads src (784 bytes), writes every byte of dst (784 bytes). Suites that
 * are not `random` never touch rng.
 */
type ImageOp = (src: Uint8Array, dst: Uint8Array, rng: Rng) => void;

export interface OodSuite {
  name: OodSuiteName;
  /** One line for reports. */
  description: string;
  /** What `levels` means, with its unit. */
  parameter: string;
  /** The parameter at severities 1..5. */
  levels: OodLevels;
  /** Whether the suite draws random numbers (otherwise the seed has no effect). */
  random: boolean;
  /** True when every severity gives the same images (suiteId then omits the severity). */
  severityInvariant: boolean;
  /** ImageNet-C/-R analogue, for reports. */
  analogue: string;
  /** Builds the per-image transform for one level's parameter (tables are computed once here). */
  prepare(param: number): ImageOp;
}

// ---------------------------------------------------------------------------------------------
// Per-image primitives. All clamp and round to 0..255.

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function checkImage(img: Uint8Array, what = 'image'): void {
  if (img.length !== N) throw new Error(`${what} must have ${N} bytes (28x28), got ${img.length}`);
}

/**
 * A fixed resampling: output pixel p = sum over t<4 of weight[4p+t] * src[index[4p+t]], taps
 * outside the image having weight 0 (zero fill).
 */
interface WarpTable {
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

function applyWarp(table: WarpTable, src: Uint8Array, dst: Uint8Array): void {
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

const rotationTables = new Map<number, WarpTable>();

function rotationTable(degrees: number): WarpTable {
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

function prepareBlur(sigma: number): ImageOp {
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) >> 1;
  // The 1-D blur as a 28x28 band matrix with the edge handling folded into the edge weights:
  // output x reads source pixels lo[x] .. lo[x] + len[x] - 1 with weights w[x * width + j]. Edges
  // are half-sample symmetric (scipy.ndimage mode 'reflect': d c b a | a b c d | d c b a), which
  // makes every column of the matrix sum to 1, so the image's total (its mean) is preserved
  // up to rounding. Rows are blurred, then columns.
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
  const mid = new Float64Array(N);
  return (src, dst) => {
    const m = mid;
    for (let y = 0; y < S; y++) {
      const row = y * S;
      for (let x = 0; x < S; x++) {
        const from = row + lo[x]!;
        const wx = x * width;
        const n = len[x]!;
        let acc = 0;
        for (let j = 0; j < n; j++) acc += w[wx + j]! * src[from + j]!;
        m[row + x] = acc;
      }
    }
    for (let y = 0; y < S; y++) {
      const from = lo[y]! * S;
      const wy = y * width;
      const n = len[y]!;
      for (let x = 0; x < S; x++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += w[wy + j]! * m[from + j * S + x]!;
        dst[y * S + x] = clampByte(acc);
      }
    }
  };
}

/** Separable Gaussian blur of one image, radius max(1, ceil(3 sigma)), edges mirrored (mean-preserving). */
export function blurImage(src: Uint8Array, sigma: number): Uint8Array {
  checkImage(src);
  const dst = new Uint8Array(N);
  prepareBlur(sigma)(src, dst, NO_RNG);
  return dst;
}

function contrastInto(src: Uint8Array, dst: Uint8Array, factor: number): void {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += src[i]!;
  const mean = sum / N;
  for (let i = 0; i < N; i++) dst[i] = clampByte((src[i]! - mean) * factor + mean);
}

function pixelateInto(src: Uint8Array, dst: Uint8Array, block: number): void {
  // Box-average over block x block cells, then nearest upsample (ImageNet-C: PIL BOX down,
  // NEAREST up). The grid is centred: partial cells split evenly between the two edges.
  const start = -Math.floor(((block - (S % block)) % block) / 2);
  for (let by = start; by < S; by += block) {
    const y0 = Math.max(0, by);
    const y1 = Math.min(S, by + block);
    for (let bx = start; bx < S; bx += block) {
      const x0 = Math.max(0, bx);
      const x1 = Math.min(S, bx + block);
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += src[y * S + x]!;
      const v = clampByte(sum / ((y1 - y0) * (x1 - x0)));
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) dst[y * S + x] = v;
    }
  }
}

/** Translate by whole pixels (dx right, dy down), zero fill; writes every byte of dst. */
function translateInto(src: Uint8Array, dst: Uint8Array, dx: number, dy: number): void {
  dst.fill(0);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(S, S + dx);
  if (x1 <= x0) return;
  for (let y = Math.max(0, dy); y < Math.min(S, S + dy); y++) {
    const from = (y - dy) * S + (x0 - dx);
    dst.set(src.subarray(from, from + (x1 - x0)), y * S + x0);
  }
}

/** Translate one image by whole pixels (dx right, dy down), zero fill. */
export function shiftImage(src: Uint8Array, dx: number, dy: number): Uint8Array {
  checkImage(src);
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) throw new Error(`shift must be whole pixels, got (${dx}, ${dy})`);
  const dst = new Uint8Array(N);
  translateInto(src, dst, dx, dy);
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

function prepareElastic(std: number): ImageOp {
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

const NO_RNG: Rng = {
  uniform: () => {
    throw new Error('a deterministic OOD suite drew a random number');
  },
  normal: () => NO_RNG.uniform(),
  int: () => NO_RNG.uniform(),
  state: () => [],
};

// ---------------------------------------------------------------------------------------------
// The registry.

const SUITES: Record<OodSuiteName, OodSuite> = {
  rotate: {
    name: 'rotate',
    description: 'rotation about the centre by a fixed angle, sense (clockwise or not) drawn per image; bilinear, zero fill',
    parameter: 'angle in degrees',
    levels: [15, 30, 45, 60, 90],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C rotate',
    prepare(degrees) {
      const ccw = rotationTable(degrees);
      const cw = rotationTable(-degrees);
      return (src, dst, rng) => applyWarp(rng.uniform() < 0.5 ? ccw : cw, src, dst);
    },
  },
  'gaussian-noise': {
    name: 'gaussian-noise',
    description: 'additive i.i.d. Gaussian pixel noise (the ImageNet-C sigmas on the 0..1 scale, times 255)',
    parameter: 'noise sigma in grey levels',
    levels: [0.08 * 255, 0.12 * 255, 0.18 * 255, 0.26 * 255, 0.38 * 255],
    random: true,
    severityInvariant: false,
    analogue: 'ImageNet-C gaussian_noise',
    prepare(sigma) {
      return (src, dst, rng) => {
        for (let i = 0; i < N; i++) dst[i] = clampByte(src[i]! + sigma * rng.normal());
      };
    },
  },
  'gaussian-blur': {
    name: 'gaussian-blur',
    description: 'separable Gaussian blur, kernel radius max(1, ceil(3 sigma)), mirrored edges (mean-preserving)',
    parameter: 'blur sigma in pixels',
    levels: [0.5, 0.75, 1, 1.5, 2],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C gaussian_blur (sigmas 1..6 at 224 px, scaled up for 28 px)',
    prepare: prepareBlur,
  },
  invert: {
    name: 'invert',
    description: 'negative, 255 - x: light background and dark garment, a rendition-style shift; ignores severity',
    parameter: 'none (every severity is the same)',
    levels: [1, 1, 1, 1, 1],
    random: false,
    severityInvariant: true,
    analogue: 'ImageNet-R / ImageNet-Sketch (rendition shift)',
    prepare() {
      return (src, dst) => {
        for (let i = 0; i < N; i++) dst[i] = 255 - src[i]!;
      };
    },
  },
  contrast: {
    name: 'contrast',
    description: 'contrast reduction around the image mean: (x - mean) * factor + mean',
    parameter: 'contrast factor',
    levels: [0.4, 0.3, 0.2, 0.1, 0.05],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C contrast (same factors)',
    prepare(factor) {
      return (src, dst) => contrastInto(src, dst, factor);
    },
  },
  pixelate: {
    name: 'pixelate',
    description: 'box average over square cells (grid centred), nearest upsample',
    parameter: 'cell side in pixels',
    levels: [2, 3, 4, 5, 7],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C pixelate',
    prepare(block) {
      return (src, dst) => pixelateInto(src, dst, block);
    },
  },
  shift: {
    name: 'shift',
    description: 'translation by a fixed distance in a direction drawn per image, rounded to whole pixels, zero fill',
    parameter: 'distance in pixels',
    levels: [1, 2, 3, 4, 6],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C translate',
    prepare(distance) {
      return (src, dst, rng) => {
        const phi = 2 * Math.PI * rng.uniform();
        translateInto(src, dst, Math.round(distance * Math.cos(phi)), Math.round(distance * Math.sin(phi)));
      };
    },
  },
  elastic: {
    name: 'elastic',
    description: 'smooth random warp: i.i.d. N(0, std^2) pixel displacements on a 5x5 control grid, bilinear in between and for resampling',
    parameter: 'displacement std at the control points, in pixels',
    levels: [0.5, 1, 1.5, 2, 2.5],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C / ImageNet-C elastic_transform',
    prepare: prepareElastic,
  },
};

/** The registry, by name. */
export const OOD_SUITES: Readonly<Record<OodSuiteName, Readonly<OodSuite>>> = SUITES;

function unknownSuiteMessage(name: unknown): string {
  return `unknown OOD suite ${JSON.stringify(name)}; known suites: ${OOD_SUITE_NAMES.join(', ')}`;
}

export function isOodSuiteName(name: unknown): name is OodSuiteName {
  return typeof name === 'string' && Object.hasOwn(SUITES, name);
}

/** The registry entry for a suite; throws, naming the known suites, when unknown. */
export function getOodSuite(name: string): Readonly<OodSuite> {
  if (!isOodSuiteName(name)) throw new Error(unknownSuiteMessage(name));
  return SUITES[name];
}

function checkSeverity(severity: number): void {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) {
    throw new Error(`OOD severity must be an integer from 1 to 5, got ${severity}`);
  }
}

/** The suite's parameter at a severity (e.g. rotate at 3 -> 45 degrees). */
export function suiteParameter(name: string, severity: number): number {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  return suite.levels[severity - 1]!;
}

/** murmur3's 32-bit finaliser: a bijection on int32 with good avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function baseSeed(name: OodSuiteName, seed: number | string): number {
  return seedFromString(`ood|${name}|${seed}`);
}

function imageSeed(base: number, index: number): number {
  // Odd multiplier and fmix32 are both bijective: distinct indices (< 2^32) get distinct seeds.
  return fmix32((base + Math.imul(index, 0x9e3779b9)) | 0);
}

/**
 * The 32-bit seed of image `index`'s generator: sha256 of `ood|${suite}|${seed}` (core/rng's
 * seedFromString), mixed with the index. Severity is excluded on purpose (see the header).
 */
export function oodImageSeed(name: string, seed: number | string, index: number): number {
  return imageSeed(baseSeed(getOodSuite(name).name, seed), index);
}

function checkSeed(seed: number | string): void {
  if (typeof seed === 'number' && !Number.isFinite(seed)) throw new Error(`seed must be finite, got ${seed}`);
}

/**
 * Corrupt image `index` of a set on its own: the same bytes applySuite gives for that index.
 * `image` is one 784-byte image; returns a new array.
 */
export function corruptImage(name: string, image: Uint8Array, severity: number, seed: number | string, index: number): Uint8Array {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  checkImage(image);
  checkSeed(seed);
  if (!Number.isInteger(index) || index < 0) throw new Error(`index must be a non-negative integer, got ${index}`);
  const dst = new Uint8Array(N);
  const rng = suite.random ? createRng(imageSeed(baseSeed(suite.name, seed), index)) : NO_RNG;
  suite.prepare(suite.levels[severity - 1]!)(image, dst, rng);
  return dst;
}

/**
 * Apply a suite to the first `count` images of `images` (at least count * 784 bytes, row-major)
 * and return a new count * 784 array; the input is never modified. Deterministic in
 * (name, severity, seed); the seed has no effect for suites that are not `random`.
 */
export function applySuite(name: string, images: Uint8Array, count: number, severity: number, seed: number | string): Uint8Array {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  checkSeed(seed);
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (images.length < count * N) throw new Error(`${images.length} pixel bytes is fewer than ${count} images need (${count * N})`);
  const op = suite.prepare(suite.levels[severity - 1]!);
  const base = baseSeed(suite.name, seed);
  const out = new Uint8Array(count * N);
  for (let i = 0; i < count; i++) {
    const rng = suite.random ? createRng(imageSeed(base, i)) : NO_RNG;
    op(images.subarray(i * N, (i + 1) * N), out.subarray(i * N, (i + 1) * N), rng);
  }
  return out;
}

/** applySuite over an ImageSet: new images, the same labels array (not copied). */
export function applySuiteToSet(spec: OodSuiteSpec, set: ImageSet, seed: number | string): ImageSet {
  return { images: applySuite(spec.suite, set.images, set.count, spec.severity, seed), labels: set.labels, count: set.count };
}

// ---------------------------------------------------------------------------------------------
// Spec schemas.

const severityMessage = 'OOD severity must be an integer from 1 to 5';

export const OodSuiteSpecSchema = z
  .object({
    suite: z.enum(OOD_SUITE_NAMES, { error: (issue) => unknownSuiteMessage(issue.input) }),
    severity: z
      .number({ error: (issue) => `${severityMessage}, got ${JSON.stringify(issue.input)}` })
      .int(severityMessage)
      .min(1, severityMessage)
      .max(5, severityMessage)
      .default(OOD_DEFAULT_SEVERITY),
  })
  .strict();
export type OodSuiteSpec = z.output<typeof OodSuiteSpecSchema>;

/**
 * Stable, storage-safe id (/^[a-z0-9-]+$/): `${suite}-s${severity}` (e.g. `rotate-s3`), or just the
 * suite name for a suite that ignores severity (`invert`). Severity defaults to 3.
 */
export function suiteId(spec: { suite: string; severity?: number }): string {
  const suite = getOodSuite(spec.suite);
  const severity = spec.severity ?? OOD_DEFAULT_SEVERITY;
  checkSeverity(severity);
  return suite.severityInvariant ? suite.name : `${suite.name}-s${severity}`;
}

function uniqueSuiteIds(list: OodSuiteSpec[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, spec] of list.entries()) {
    const id = suiteId(spec);
    if (seen.has(id)) {
      const note = SUITES[spec.suite].severityInvariant ? ` (${spec.suite} ignores severity)` : '';
      ctx.addIssue({ code: 'custom', path: [i], message: `duplicate OOD suite ${JSON.stringify(id)}${note}` });
    }
    seen.add(id);
  }
}

/** A list of suites with unique ids: one suite may appear at several severities, not twice at one. */
export const OodSuiteListSchema = z
  .array(OodSuiteSpecSchema, { error: 'expected a list of OOD suites, each { suite, severity }' })
  .superRefine(uniqueSuiteIds);

/** What `ood: 'default'` means: every suite once, at the moderate severity 3. */
export const DEFAULT_OOD_SUITES: readonly Readonly<OodSuiteSpec>[] = Object.freeze(
  OOD_SUITE_NAMES.map((suite) => Object.freeze({ suite, severity: OOD_DEFAULT_SEVERITY })),
);

/**
 * A sweep spec's `ood` field: 'default' (DEFAULT_OOD_SUITES), 'none' (no suites) or an explicit
 * list. Always parses to a list.
 */
export const OodSelectionSchema = z.preprocess(
  (value) => (value === 'default' ? DEFAULT_OOD_SUITES.map((s) => ({ ...s })) : value === 'none' ? [] : value),
  z
    .array(OodSuiteSpecSchema, { error: "ood must be 'default', 'none' or a list of { suite, severity } entries" })
    .superRefine(uniqueSuiteIds),
);

/** One line for reports, e.g. "rotate: ... angle in degrees at severity 1..5 = 15 / 30 / 45 / 60 / 90". */
export function describeOodSuite(name: string): string {
  const suite = getOodSuite(name);
  if (suite.severityInvariant) return `${suite.name}: ${suite.description}`;
  return `${suite.name}: ${suite.description}; ${suite.parameter} at severity 1..5 = ${suite.levels.map((v) => +v.toFixed(3)).join(' / ')}`;
}
