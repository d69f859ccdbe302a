// What every OOD corruption shares: the per-image transform type, byte clamping, the size check,
// and the generator handed to suites that must never draw random numbers.
import { FASHION_MNIST_GEOMETRY, geometryLabel, pixelsPerImage, type ImageGeometry } from './geometry.js';
import type { Rng } from '../rng.js';

/**
 * Transforms one image of the geometry it was prepared for: reads src (size * size * channels
 * bytes, HWC), writes every byte of dst (the same size). Suites that are not `random` never touch rng.
 */
export type ImageOp = (src: Uint8Array, dst: Uint8Array, rng: Rng) => void;

// Per-image primitives. All clamp and round to 0..255.

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Throws unless `img` holds exactly one image of `geometry` (default 28x28 grey). */
export function checkImage(img: Uint8Array, what = 'image', geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): void {
  const n = pixelsPerImage(geometry);
  const shape = geometry.channels === 1 ? `${geometry.size}x${geometry.size}` : geometryLabel(geometry);
  if (img.length !== n) throw new Error(`${what} must have ${n} bytes (${shape}), got ${img.length}`);
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
