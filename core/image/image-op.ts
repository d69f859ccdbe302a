// What every OOD corruption shares: the per-image transform type, byte clamping, the size check,
// and the generator handed to suites that must never draw random numbers.
import { IMAGE_PIXELS } from '../datasets/fashion-mnist.js';
import type { Rng } from '../rng.js';

const N = IMAGE_PIXELS;

/**
 * Transforms one image: reads src (784 bytes), writes every byte of dst (784 bytes). Suites that
 * are not `random` never touch rng.
 */
export type ImageOp = (src: Uint8Array, dst: Uint8Array, rng: Rng) => void;

// Per-image primitives. All clamp and round to 0..255.

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

export function checkImage(img: Uint8Array, what = 'image'): void {
  if (img.length !== N) throw new Error(`${what} must have ${N} bytes (28x28), got ${img.length}`);
}

/** The generator of suites that are not `random`: a draw from it is a bug, so it throws. */
export const NO_RNG: Rng = {
  uniform: () => {
    throw new Error('a deterministic OOD suite drew a random number');
  },
  normal: () => NO_RNG.uniform(),
  int: () => NO_RNG.uniform(),
  state: () => [],
};
