// What each training image says about the prompt attributes the text encoding reads (brightness,
// size, texture; core/text/text-condition.ts promptAttributes): the Gaussian-mixture generator's
// features (../gmm/features.ts) of each image rather than of each component mean, z-scored among
// the images of its class and clipped to [-1, 1]. Training feeds them as the attribute part of the
// condition, so "a dark shirt" (brightness -1) asks for the shirts at least a standard deviation
// darker than the class's mean, and an attribute never changes the class.
import { ATTRIBUTE_NAMES } from '../gmm/model.js';
import type { TrainImages } from '../gmm/model.js';

/** [count * 3]: per image, clipped within-class z-scores of brightness, size and texture (float32). */
export function imageAttributes(train: TrainImages, side: number, channels: 1 | 3, classes: number): Float32Array {
  const n = train.count;
  const A = ATTRIBUTE_NAMES.length;
  const raw = new Float64Array(n * A);
  const P = side * side;
  const luma = new Float64Array(P);
  for (let i = 0; i < n; i++) {
    const off = i * P * channels;
    for (let p = 0; p < P; p++) {
      const v =
        channels === 1
          ? train.images[off + p]!
          : 0.299 * train.images[off + 3 * p]! + 0.587 * train.images[off + 3 * p + 1]! + 0.114 * train.images[off + 3 * p + 2]!;
      luma[p] = v / 127.5 - 1;
    }
    let fg = 0;
    let fgSum = 0;
    let tv = 0;
    for (let p = 0; p < P; p++) {
      if (luma[p]! > -0.5) {
        fg++;
        fgSum += (luma[p]! + 1) / 2;
      }
      if ((p + 1) % side !== 0) tv += Math.abs(luma[p + 1]! - luma[p]!);
      if (p + side < P) tv += Math.abs(luma[p + side]! - luma[p]!);
    }
    raw[i * A] = fg ? fgSum / fg : 0;
    raw[i * A + 1] = fg / P;
    raw[i * A + 2] = tv / P;
  }
  const sum = new Float64Array(classes * A);
  const sumSq = new Float64Array(classes * A);
  const count = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const c = train.labels[i]!;
    count[c]! += 1;
    for (let a = 0; a < A; a++) sum[c * A + a]! += raw[i * A + a]!;
  }
  for (let i = 0; i < n; i++) {
    const c = train.labels[i]!;
    for (let a = 0; a < A; a++) sumSq[c * A + a]! += (raw[i * A + a]! - sum[c * A + a]! / count[c]!) ** 2;
  }
  const out = new Float32Array(n * A);
  for (let i = 0; i < n; i++) {
    const c = train.labels[i]!;
    for (let a = 0; a < A; a++) {
      const sd = Math.sqrt(sumSq[c * A + a]! / count[c]!);
      const z = sd > 1e-9 ? (raw[i * A + a]! - sum[c * A + a]! / count[c]!) / sd : 0;
      out[i * A + a] = Math.max(-1, Math.min(1, z));
    }
  }
  return out;
}
