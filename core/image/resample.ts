// Bringing decoded square images to another geometry in memory (a built-in dataset asked for at
// another size or channel count, e.g. Fashion-MNIST as 32x32 RGB): bilinear resampling with
// half-pixel centres (as libvips and TF's resize with half_pixel_centers), then channels: grey is
// replicated to RGB, RGB reduced to grey by BT.601 luma. Square in, square out, so the spec's rule
// (shorter side, then centre crop) is the plain resize here; deterministic, pure JS.
import type { ImageGeometry } from './geometry.js';

/** One image `from` -> `to` (both square). */
export function resampleImage(pixels: Uint8Array, from: ImageGeometry, to: ImageGeometry): Uint8Array {
  const sized = from.size === to.size ? pixels : bilinear(pixels, from.size, to.size, from.channels);
  return convertChannels(sized, to.size * to.size, from.channels, to.channels);
}

/** `count` images, image after image. */
export function resampleImages(images: Uint8Array, count: number, from: ImageGeometry, to: ImageGeometry): Uint8Array {
  const inPer = from.size * from.size * from.channels;
  const outPer = to.size * to.size * to.channels;
  const out = new Uint8Array(count * outPer);
  for (let i = 0; i < count; i++) out.set(resampleImage(images.subarray(i * inPer, (i + 1) * inPer), from, to), i * outPer);
  return out;
}

function bilinear(src: Uint8Array, inSide: number, outSide: number, channels: number): Uint8Array {
  const out = new Uint8Array(outSide * outSide * channels);
  const scale = inSide / outSide;
  // Per output coordinate: the two source indices and the weight of the second.
  const i0 = new Int32Array(outSide);
  const i1 = new Int32Array(outSide);
  const w1 = new Float64Array(outSide);
  for (let o = 0; o < outSide; o++) {
    const s = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSide - 1);
    i0[o] = Math.floor(s);
    i1[o] = Math.min(i0[o]! + 1, inSide - 1);
    w1[o] = s - i0[o]!;
  }
  for (let y = 0; y < outSide; y++) {
    const r0 = i0[y]! * inSide;
    const r1 = i1[y]! * inSide;
    const wy = w1[y]!;
    for (let x = 0; x < outSide; x++) {
      const wx = w1[x]!;
      for (let c = 0; c < channels; c++) {
        const a = src[(r0 + i0[x]!) * channels + c]!;
        const b = src[(r0 + i1[x]!) * channels + c]!;
        const d = src[(r1 + i0[x]!) * channels + c]!;
        const e = src[(r1 + i1[x]!) * channels + c]!;
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[(y * outSide + x) * channels + c] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return out;
}

function convertChannels(src: Uint8Array, pixels: number, from: 1 | 3, to: 1 | 3): Uint8Array {
  if (from === to) return src;
  const out = new Uint8Array(pixels * to);
  if (from === 1) {
    for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p]!;
  } else {
    for (let p = 0; p < pixels; p++) out[p] = Math.round(0.299 * src[3 * p]! + 0.587 * src[3 * p + 1]! + 0.114 * src[3 * p + 2]!);
  }
  return out;
}
