// What every model here reads and predicts: 28x28 grayscale images as 784 floats in [0, 1], and
// (classifiers) 10 classes.
import { IMAGE_PIXELS, IMAGE_SIDE } from '../datasets/fashion-mnist.js';

export { IMAGE_SIDE };
export const INPUT_SIZE = IMAGE_PIXELS;
export const NUM_CLASSES = 10;

const PIXEL_SCALE = new Float32Array(256).map((_, i) => i / 255);

/**
 * Pixels -> float32 in [0, 1] (x / 255), the one preprocessing used by training and inference.
 * With `indices`, gathers those images (in that order); otherwise images [0, count).
 */
export function preprocess(images: Uint8Array, count: number, indices?: ArrayLike<number>): Float32Array {
  const n = indices ? indices.length : count;
  const out = new Float32Array(n * INPUT_SIZE);
  for (let r = 0; r < n; r++) {
    const src = (indices ? indices[r]! : r) * INPUT_SIZE;
    if (src + INPUT_SIZE > images.length) throw new RangeError(`image ${src / INPUT_SIZE} is out of range`);
    const dst = r * INPUT_SIZE;
    for (let i = 0; i < INPUT_SIZE; i++) out[dst + i] = PIXEL_SCALE[images[src + i]!]!;
  }
  return out;
}
