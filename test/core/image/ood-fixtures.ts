// Images and measures the OOD suite tests share: synthetic garment-like images always, the first
// Fashion-MNIST test images when the dataset is present.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatasetUnavailableError, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { createRng } from '../../../core/rng.js';

export const P = IMAGE_PIXELS;
export const SEVERITIES = [1, 2, 3, 4, 5] as const;

/** Deterministic garment-like images: a filled, shaded blob (ellipse or rectangle) on black. */
export function syntheticImages(count: number): Uint8Array {
  const out = new Uint8Array(count * P);
  for (let i = 0; i < count; i++) {
    const rng = createRng(`ood-test|synthetic|${i}`);
    const cx = 11 + 6 * rng.uniform();
    const cy = 11 + 6 * rng.uniform();
    const rx = 5 + 7 * rng.uniform();
    const ry = 5 + 7 * rng.uniform();
    const ellipse = rng.uniform() < 0.5;
    const base = 90 + 140 * rng.uniform();
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const u = (x - cx) / rx;
        const v = (y - cy) / ry;
        const inside = ellipse ? u * u + v * v <= 1 : Math.abs(u) <= 1 && Math.abs(v) <= 1;
        if (inside) out[i * P + y * 28 + x] = Math.min(255, Math.round(base + 25 * Math.sin(x / 2) * Math.cos(y / 3)));
      }
    }
  }
  return out;
}

export function image(set: Uint8Array, i: number): Uint8Array {
  return set.subarray(i * P, (i + 1) * P);
}

export function mean(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

export function std(a: Uint8Array): number {
  const m = mean(a);
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return Math.sqrt(s / a.length);
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** Anisotropic total variation of one 28x28 image. */
export function totalVariation(img: Uint8Array): number {
  let tv = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x]!;
      if (x + 1 < 28) tv += Math.abs(img[y * 28 + x + 1]! - v);
      if (y + 1 < 28) tv += Math.abs(img[(y + 1) * 28 + x]! - v);
    }
  }
  return tv;
}

export function single(x: number, y: number, value = 200): Uint8Array {
  const img = new Uint8Array(P);
  img[y * 28 + x] = value;
  return img;
}

export const COUNT = 200;
export let real: Uint8Array | undefined; // first COUNT Fashion-MNIST test images, when the dataset is present
export const synthetic = syntheticImages(COUNT);

/** Loads `real` (call it from each file's before hook); leaves it undefined without the dataset. */
export async function loadRealImages(): Promise<void> {
  try {
    const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'), { download: false });
    // A plain Uint8Array copy (the loader's array is a Buffer, whose slice() would be a view).
    real = new Uint8Array((await loadSplit(dir, 'test')).images.subarray(0, COUNT * P));
  } catch (err) {
    if (!(err instanceof DatasetUnavailableError)) throw err;
  }
}

/** The image sets to check: real (if present) and synthetic, with a name for messages. */
export function sets(): Array<[string, Uint8Array]> {
  return real ? [['fashion-mnist', real], ['synthetic', synthetic]] : [['synthetic', synthetic]];
}
