// What a real image looks like in the terms the embedded generator conditions on: brightness, size
// and texture, measured as the generator measures a mixture component's mean image
// (activities/generate/gmm/features.ts) and z-scored within the image's class over a fixed set of
// real images. Captions of real images take their attribute words from these signs, so a real
// caption says "white" only of an image brighter than its class usually is, as a synthetic image is
// generated lighter because its prompt says "white".
import { promptAttributes } from './text-condition.js';

export const IMAGE_ATTRIBUTES = ['brightness', 'size', 'texture'] as const;
export type ImageAttribute = (typeof IMAGE_ATTRIBUTES)[number];
export type Sign = -1 | 0 | 1;
export type AttributeSigns = Record<ImageAttribute, Sign>;

/** |z| at or beyond which a caption says the attribute (about a third of a class on each side). */
export const ATTRIBUTE_Z_THRESHOLD = 0.5;

/** One line for provenance: where real captions' attribute words come from. */
export const IMAGE_ATTRIBUTE_PROVENANCE =
  `attribute words from measured image features: tone, fit and pattern words follow each image's brightness, size and texture ` +
  `(the generator's features), z-scored within its class; |z| >= ${ATTRIBUTE_Z_THRESHOLD} names the side, else no such word`;

/**
 * [brightness, size, texture] of one square greyscale image: mean intensity (0..1) of its
 * foreground (pixels above -0.5 in [-1, 1]), the foreground's share of the image, and the mean
 * absolute difference of neighbouring pixels in [-1, 1] units per pixel. `scale`: the pixels are
 * bytes (0..255), or already in [-1, 1] (a model's decoded mean image).
 */
export function imageFeatures(pixels: ArrayLike<number>, scale: 'bytes' | 'signed' = 'bytes'): [number, number, number] {
  const P = pixels.length;
  const side = Math.round(Math.sqrt(P));
  if (side * side !== P || P === 0) throw new RangeError(`image features: ${P} pixels is not a square image`);
  const v = Float64Array.from(pixels as ArrayLike<number>, scale === 'bytes' ? (b) => b / 127.5 - 1 : (x) => x);
  let fg = 0;
  let fgSum = 0;
  let tv = 0;
  for (let p = 0; p < P; p++) {
    const x = v[p]!;
    if (x > -0.5) {
      fg++;
      fgSum += (x + 1) / 2;
    }
    if ((p + 1) % side !== 0) tv += Math.abs(v[p + 1]! - x);
    if (p + side < P) tv += Math.abs(v[p + side]! - x);
  }
  return [fg ? fgSum / fg : 0, fg / P, tv / P];
}

/** Per class, the mean and standard deviation of each feature over a set of real images. */
export interface ClassFeatureStats {
  /** [classes * 3]: brightness, size, texture per class. */
  mean: Float64Array;
  sd: Float64Array;
  /** Images per class the statistics are over. */
  count: Uint32Array;
}

/**
 * Feature statistics of images `rows` (default all) of a labelled set of `pixelsPerImage`-byte
 * images, per class; deterministic (summed in row order).
 */
export function classFeatureStats(
  images: Uint8Array,
  labels: ArrayLike<number>,
  classCount: number,
  pixelsPerImage: number,
  rows?: ArrayLike<number>,
): ClassFeatureStats {
  const sum = new Float64Array(classCount * 3);
  const sumSq = new Float64Array(classCount * 3);
  const count = new Uint32Array(classCount);
  const n = rows ? rows.length : labels.length;
  for (let i = 0; i < n; i++) {
    const row = rows ? rows[i]! : i;
    const c = labels[row]!;
    if (!(c >= 0 && c < classCount)) continue;
    const f = imageFeatures(images.subarray(row * pixelsPerImage, (row + 1) * pixelsPerImage));
    count[c]! += 1;
    for (let a = 0; a < 3; a++) {
      sum[c * 3 + a]! += f[a]!;
      sumSq[c * 3 + a]! += f[a]! * f[a]!;
    }
  }
  const mean = new Float64Array(classCount * 3);
  const sd = new Float64Array(classCount * 3);
  for (let j = 0; j < classCount * 3; j++) {
    const m = count[Math.floor(j / 3)]!;
    if (m === 0) continue;
    mean[j] = sum[j]! / m;
    sd[j] = Math.sqrt(Math.max(0, sumSq[j]! / m - mean[j]! ** 2));
  }
  return { mean, sd, count };
}

/** An image's within-class z-scores and the attribute signs a caption of it states. */
export function imageAttributeSigns(stats: ClassFeatureStats, cls: number, pixels: ArrayLike<number>): { z: [number, number, number]; signs: AttributeSigns } {
  if (!(cls >= 0 && cls < stats.count.length) || stats.count[cls] === 0) throw new RangeError(`image attributes: no statistics for class ${cls}`);
  const f = imageFeatures(pixels);
  const z = f.map((v, a) => {
    const sd = stats.sd[cls * 3 + a]!;
    return sd > 1e-9 ? (v - stats.mean[cls * 3 + a]!) / sd : 0;
  }) as [number, number, number];
  const sign = (v: number): Sign => (v >= ATTRIBUTE_Z_THRESHOLD ? 1 : v <= -ATTRIBUTE_Z_THRESHOLD ? -1 : 0);
  return { z, signs: { brightness: sign(z[0]), size: sign(z[1]), texture: sign(z[2]) } };
}

/** Generic words for an attribute's side, for a class whose own slot words have none on that side (each is that side's word in ATTRIBUTE_WORDS). */
export const FALLBACK_ATTRIBUTE_WORDS: Readonly<Record<ImageAttribute, Readonly<Record<'1' | '-1', readonly string[]>>>> = {
  brightness: { '1': ['light grey', 'white'], '-1': ['dark grey', 'black'] },
  size: { '1': ['large'], '-1': ['small'] },
  texture: { '1': ['textured', 'patterned'], '-1': ['plain', 'smooth'] },
};

/**
 * Which way a phrase pushes each attribute as the text encoder reads it (0: not at all), for
 * `classes` (whose own phrases never count as attributes).
 */
export function phraseSigns(text: string, classes: readonly string[], synonyms: Readonly<Record<string, readonly string[]>>): AttributeSigns {
  const read = promptAttributes(text, classes, synonyms);
  const sign = (v: number | undefined): Sign => (!v ? 0 : v > 0 ? 1 : -1);
  return { brightness: sign(read?.brightness), size: sign(read?.size), texture: sign(read?.texture) };
}
