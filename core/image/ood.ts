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
//
// Here: the seeding and applying a suite to images. The suites are ood-suites.ts (built from
// warp.ts and filters.ts); their spec schemas and ids are contracts/spec/ood.ts.
import { IMAGE_PIXELS, type ImageSet } from '../datasets/fashion-mnist.js';
import { createRng, seedFromString } from '../rng.js';
import { checkImage, NO_RNG } from './image-op.js';
import { checkSeverity, getOodSuite, type OodSuiteName } from './ood-suites.js';

export { OOD_SEVERITIES, OOD_SUITE_NAMES, OOD_SUITES, getOodSuite, isOodSuiteName, suiteParameter } from './ood-suites.js';
export type { OodLevels, OodSuite, OodSuiteName } from './ood-suites.js';
export { rotateImage } from './warp.js';
export { blurImage, gaussianKernel, shiftImage } from './filters.js';

const N = IMAGE_PIXELS;

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
export function applySuiteToSet(spec: { suite: OodSuiteName; severity: number }, set: ImageSet, seed: number | string): ImageSet {
  return { images: applySuite(spec.suite, set.images, set.count, spec.severity, seed), labels: set.labels, count: set.count, geometry: set.geometry };
}
