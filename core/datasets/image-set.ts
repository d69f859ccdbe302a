// Decoded images of one split (or any set of images) at one geometry.
import type { ImageGeometry } from '../image/geometry.js';

export interface ImageSet {
  /** count * pixelsPerImage(geometry) bytes, image after image, each row-major HWC. */
  images: Uint8Array;
  /** One class index per image (< 255: 255 marks an unlabeled sample in shards). */
  labels: Uint8Array;
  count: number;
  geometry: ImageGeometry;
}

/** The most classes a dataset may have: labels are bytes and 255 marks "unlabeled". */
export const MAX_CLASSES = 255;

/** The first `count` images of `set` (views, not copies). */
export function firstImages(set: ImageSet, count: number): ImageSet {
  const per = set.geometry.size * set.geometry.size * set.geometry.channels;
  return { images: set.images.subarray(0, count * per), labels: set.labels.subarray(0, count), count, geometry: set.geometry };
}

/** Images `rows` of `set`, in that order (copied). */
export function imageRows(set: ImageSet, rows: ArrayLike<number>): ImageSet {
  const per = set.geometry.size * set.geometry.size * set.geometry.channels;
  const images = new Uint8Array(rows.length * per);
  const labels = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    images.set(set.images.subarray(row * per, (row + 1) * per), i * per);
    labels[i] = set.labels[row]!;
  }
  return { images, labels, count: rows.length, geometry: set.geometry };
}
