// Grayscale PNG encode/decode via pngjs (pure JS, deterministic bytes).
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
