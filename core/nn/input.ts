// What every model here reads: images of an ImageGeometry (core/image/geometry.ts) as
// size * size * channels floats in [0, 1], row-major HWC, one image after another. The defaults
// below are Fashion-MNIST's (28x28 grey: 784 floats, 10 classes), what every model read before
// geometries and what a model or checkpoint without a geometry is read as.
import { IMAGE_PIXELS, IMAGE_SIDE } from '../datasets/fashion-mnist.js';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../image/geometry.js';

export { IMAGE_SIDE };
/** Floats per 28x28 grey image (the default geometry). */
export const INPUT_SIZE = IMAGE_PIXELS;
/** Classes of the default dataset (Fashion-MNIST). */
export const NUM_CLASSES = 10;

export const DEFAULT_GEOMETRY: ImageGeometry = FASHION_MNIST_GEOMETRY;

/** x / 255 for every byte value. */
export const PIXEL_SCALE = new Float32Array(256).map((_, i) => i / 255);

/**
 * Pixels -> float32 in [0, 1] (x / 255), the one preprocessing used by training and inference
 * (a model may normalise further inside its forward pass: the ResNet does). With `indices`,
 * gathers those images (in that order); otherwise images [0, count). `geometry` (default 28x28
 * grey) gives the bytes per image.
 */
export function preprocess(images: Uint8Array, count: number, indices?: ArrayLike<number>, geometry: ImageGeometry = DEFAULT_GEOMETRY): Float32Array {
  const size = pixelsPerImage(geometry);
  const n = indices ? indices.length : count;
  const out = new Float32Array(n * size);
  for (let r = 0; r < n; r++) {
    const src = (indices ? indices[r]! : r) * size;
    if (src + size > images.length) throw new RangeError(`image ${src / size} is out of range`);
    const dst = r * size;
    for (let i = 0; i < size; i++) out[dst + i] = PIXEL_SCALE[images[src + i]!]!;
  }
  return out;
}
