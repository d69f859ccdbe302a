// The geometry every stage of a sweep works at: square images of `size` x `size` pixels with
// `channels` interleaved 8-bit channels per pixel (1: grey, 3: RGB), row-major, HWC. The spec's
// `image:` sets it (default: the dataset's own); a dataset or generator output of another shape
// is brought to it by the resize rule (core/image/fit-geometry.ts: shorter side to `size`, then a
// centre crop; grey is replicated to RGB, RGB is reduced to grey by ITU-R BT.601 luma).
export interface ImageGeometry {
  /** Side in pixels (square images). */
  size: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
}

/** Fashion-MNIST's native geometry, the default of every sweep on it. */
export const FASHION_MNIST_GEOMETRY: ImageGeometry = Object.freeze({ size: 28, channels: 1 });

export const MIN_IMAGE_SIZE = 8;
export const MAX_IMAGE_SIZE = 512;

/** Bytes (= values) per image: size * size * channels. */
export function pixelsPerImage(geometry: ImageGeometry): number {
  return geometry.size * geometry.size * geometry.channels;
}

/** e.g. "32x32x3", for keys, logs and reports. */
export function geometryLabel(geometry: ImageGeometry): string {
  return `${geometry.size}x${geometry.size}x${geometry.channels}`;
}

export function sameGeometry(a: ImageGeometry, b: ImageGeometry): boolean {
  return a.size === b.size && a.channels === b.channels;
}

/** Throws a message naming the field when `geometry` is not one a sweep can use. */
export function checkGeometry(geometry: ImageGeometry, where = 'image'): ImageGeometry {
  const { size, channels } = geometry;
  if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) {
    throw new RangeError(`${where}.size must be an integer from ${MIN_IMAGE_SIZE} to ${MAX_IMAGE_SIZE}, got ${String(size)}`);
  }
  if (channels !== 1 && channels !== 3) throw new RangeError(`${where}.channels must be 1 (grey) or 3 (RGB), got ${String(channels)}`);
  return geometry;
}
