// PNG encode/decode via pngjs (pure JS, deterministic bytes): grey at any size (encodeGrayPng, the
// bytes of every 28x28 shard), and square grey or RGB images of a geometry (encodePng/decodePng).
import { PNG } from 'pngjs';

/** An image that cannot be used as given: retrying the same bytes cannot help. */
export class MalformedImageError extends Error {
  readonly code = 'E_MALFORMED_IMAGE';
}

export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height) throw new Error(`expected ${width * height} pixels, got ${pixels.length}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(pixels);
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

/** Decode a PNG into 8-bit gray pixels, rejecting anything but the expected size. */
export function decodeGrayPng(bytes: Uint8Array, width: number, height: number, where: string): Uint8Array {
  if (bytes.byteLength > 1024 * 1024) throw new MalformedImageError(`${where}: PNG of ${bytes.byteLength} bytes exceeds 1 MiB`);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes));
  } catch (err) {
    throw new MalformedImageError(`${where}: malformed PNG (${(err as Error).message})`);
  }
  if (png.width !== width || png.height !== height) {
    throw new MalformedImageError(`${where}: image is ${png.width}x${png.height}, expected ${width}x${height}`);
  }
  // pngjs always expands to RGBA; take the luminance of the red channel of a gray image.
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = png.data[i * 4]!;
  return out;
}

/** Largest PNG a shard sample may be: a 512x512 RGB image stored uncompressed, with room. */
export const MAX_SAMPLE_PNG_BYTES = 4 * 1024 * 1024;

/** A square grey (channels 1) or RGB (channels 3) PNG of `geometry`; grey is byte-identical to encodeGrayPng. */
export function encodePng(pixels: Uint8Array, geometry: { size: number; channels: 1 | 3 }): Uint8Array {
  const { size, channels } = geometry;
  if (channels === 1) return encodeGrayPng(pixels, size, size);
  if (pixels.length !== size * size * 3) throw new Error(`expected ${size * size * 3} RGB values, got ${pixels.length}`);
  const png = new PNG({ width: size, height: size, colorType: 2, inputColorType: 2, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(pixels);
  return new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

/**
 * Decode a PNG of exactly `geometry`'s size into its channel count: grey from the red channel of a
 * grey PNG (as decodeGrayPng), RGB as stored. Shard images are written by encodePng, so a colour
 * image where grey is expected (or the reverse) is a malformed shard, not something to convert.
 */
export function decodePng(bytes: Uint8Array, geometry: { size: number; channels: 1 | 3 }, where: string): Uint8Array {
  const { size, channels } = geometry;
  if (channels === 1 && bytes.byteLength <= 1024 * 1024) return decodeGrayPng(bytes, size, size, where);
  if (bytes.byteLength > MAX_SAMPLE_PNG_BYTES) throw new MalformedImageError(`${where}: PNG of ${bytes.byteLength} bytes exceeds ${MAX_SAMPLE_PNG_BYTES} bytes`);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes));
  } catch (err) {
    throw new MalformedImageError(`${where}: malformed PNG (${(err as Error).message})`);
  }
  if (png.width !== size || png.height !== size) throw new MalformedImageError(`${where}: image is ${png.width}x${png.height}, expected ${size}x${size}`);
  const out = new Uint8Array(size * size * channels);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = png.data[p * 4 + c]!;
  return out;
}
