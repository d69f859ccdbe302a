// Out-of-distribution evaluation suites: deterministic corruptions and shifts of the real test
// set, in the spirit of ImageNet-C (corruptions at severities 1..5) and ImageNet-R/-Sketch
// (renditions: here, inversion). Each suite is reported separately, so "synthetic data helps more
// under shift" (Fan et al. 2024) can be checked per kind of shift.
//
// Pure module: no I/O, no Temporal, no TF.js. Images are square, 8-bit, row-major with interleaved
// channels (HWC) at a geometry (default 28x28 grey); see ood-suites.ts for how suites scale with size.
//
// Determinism: the output depends only on (suite, severity, seed, the image's bytes, its index).
// Each image gets its own generator, createRng(oodImageSeed(suite, seed, index)), so any image can
// be recomputed alone (corruptImage). Severity is deliberately *not* part of the seed: the levels
// of one suite share their random draws (the same noise field, rotation sense, shift direction,
// warp field), so a higher level is the same perturbation made larger and severity curves are not
// confounded by resampling.
//
// Here: the seeding and applying a suite to images. The suites are ood-suites.ts (built from
// warp.ts and filters.ts); their spec schemas and ids are contracts/spec/ood.ts.
import type { ImageSet } from '../datasets/image-set.js';
import { createRng, seedFromString } from '../rng.js';
import { checkGeometry, FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from './geometry.js';
import { checkImage, NO_RNG } from './image-op.js';
import { checkSeverity, getOodSuite, type OodSuiteName } from './ood-suites.js';

export { OOD_SEVERITIES, OOD_SUITE_NAMES, OOD_SUITES, getOodSuite, isOodSuiteName, oodPixelScale, suiteParameter } from './ood-suites.js';
export type { OodLevels, OodSuite, OodSuiteName } from './ood-suites.js';
export { rotateImage } from './warp.js';
export { blurImage, gaussianKernel, shiftImage } from './filters.js';

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
 * `image` is one image of `geometry` (default 28x28 grey); returns a new array.
 */
export function corruptImage(
  name: string,
  image: Uint8Array,
  severity: number,
  seed: number | string,
  index: number,
  geometry: ImageGeometry = FASHION_MNIST_GEOMETRY,
): Uint8Array {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  checkGeometry(geometry);
  checkImage(image, 'image', geometry);
  checkSeed(seed);
  if (!Number.isInteger(index) || index < 0) throw new Error(`index must be a non-negative integer, got ${index}`);
  const dst = new Uint8Array(pixelsPerImage(geometry));
  const rng = suite.random ? createRng(imageSeed(baseSeed(suite.name, seed), index)) : NO_RNG;
  suite.prepare(suite.levels[severity - 1]!, geometry)(image, dst, rng);
  return dst;
}

/**
 * Apply a suite to the first `count` images of `images` (at least count * pixelsPerImage(geometry)
 * bytes, HWC) and return a new array of that many; the input is never modified. Deterministic in
 * (name, severity, seed, geometry); the seed has no effect for suites that are not `random`.
 */
export function applySuite(
  name: string,
  images: Uint8Array,
  count: number,
  severity: number,
  seed: number | string,
  geometry: ImageGeometry = FASHION_MNIST_GEOMETRY,
): Uint8Array {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  checkSeed(seed);
  checkGeometry(geometry);
  const N = pixelsPerImage(geometry);
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (images.length < count * N) throw new Error(`${images.length} pixel bytes is fewer than ${count} images need (${count * N})`);
  const op = suite.prepare(suite.levels[severity - 1]!, geometry);
  const base = baseSeed(suite.name, seed);
  const out = new Uint8Array(count * N);
  for (let i = 0; i < count; i++) {
    const rng = suite.random ? createRng(imageSeed(base, i)) : NO_RNG;
    op(images.subarray(i * N, (i + 1) * N), out.subarray(i * N, (i + 1) * N), rng);
  }
  return out;
}

/** applySuite over an ImageSet at its geometry: new images, the same labels array (not copied). */
export function applySuiteToSet(spec: { suite: OodSuiteName; severity: number }, set: ImageSet, seed: number | string): ImageSet {
  return { images: applySuite(spec.suite, set.images, set.count, spec.severity, seed, set.geometry), labels: set.labels, count: set.count, geometry: set.geometry };
}
