// The real images a generator may fit on: the head of the dataset's generator pool
// (core/datasets/splits.ts), disjoint from the real pool every real source draws from.
import type { ImageSet } from '../../core/datasets/image-set.js';
import { trainPools } from '../../core/datasets/splits.js';
import { pixelsPerImage } from '../../core/image/geometry.js';

/** Training-split rows a generator fitted on `fitImages` images uses: the first of the generator pool. */
export function generatorFitRows(fingerprint: string, trainCount: number, fitImages: number): Uint32Array {
  const { generatorPool } = trainPools(fingerprint, trainCount);
  if (!Number.isInteger(fitImages) || fitImages < 1 || fitImages > generatorPool.length) {
    throw new Error(`generator.fitImages must be an integer in 1..${generatorPool.length} (the generator pool), got ${fitImages}`);
  }
  return generatorPool.subarray(0, fitImages);
}

/** Those rows of the training split (at its geometry), copied in pool order. */
export function generatorFitSet(train: ImageSet, fingerprint: string, fitImages: number): ImageSet {
  const rows = generatorFitRows(fingerprint, train.count, fitImages);
  const per = pixelsPerImage(train.geometry);
  const images = new Uint8Array(rows.length * per);
  rows.forEach((row, i) => images.set(train.images.subarray(row * per, (row + 1) * per), i * per));
  return { images, labels: Uint8Array.from(rows, (row) => train.labels[row]!), count: rows.length, geometry: train.geometry };
}
