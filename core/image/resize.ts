// Image decoding and resizing with sharp (libvips), for the HTTP generator backends and the
// generator server. Untrusted bytes are checked before they are decoded: the format must be one we
// expect from a text-to-image API (PNG, JPEG, WebP: no SVG, TIFF or PDF loaders), and the pixel
// count claimed by the header must be within a cap (a decompression bomb is a small file claiming
// a huge canvas). sharp's own limitInputPixels is set to the same cap as a second guard. A caller
// that knows what size it asked for can also refuse other dimensions, again from the header alone.
//
// Any geometry (toGeometryPixels): the resize rule is the dataset import's (fit-geometry.ts:
// shorter side to `size`, centre crop, Lanczos-3, alpha onto black). RGB is fit-geometry's sRGB
// output as it is; grey keeps this module's libvips greyscale conversion at every size, so the
// 28x28 grey PNGs of every HTTP shard written before geometries are byte-identical.
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { encodeGrayPng, encodePng } from '../png.js';
import { fitToGeometry, SkippedInputError } from './fit-geometry.js';
import { pixelsPerImage, type ImageGeometry } from './geometry.js';

/** Formats a generator may return. */
export const ACCEPTED_IMAGE_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp']);

/** Why bytes are unusable: not a (decodable, accepted) image, a header over the pixel cap, or other dimensions than expected. */
export type UnusableImageReason = 'not-an-image' | 'pixel-bomb' | 'unexpected-size';

/** Bytes that are not a usable image (not retryable: the same bytes fail the same way). */
export class UnusableImageError extends Error {
  readonly code = 'E_UNUSABLE_IMAGE';
  readonly reason: UnusableImageReason;

  constructor(message: string, reason: UnusableImageReason = 'not-an-image') {
    super(message);
    this.reason = reason;
  }
}

export interface SourceImageInfo {
  format: string;
  width: number;
  height: number;
}

export interface ToGrayOptions {
  /** Output side (the dataset's resolution, 28 for Fashion-MNIST). */
  side: number;
  /** Reject images whose header claims more pixels than this. */
  maxPixels: number;
  /** When given, reject images whose header dimensions are none of these (checked after the pixel cap). */
  expectSizes?: readonly { width: number; height: number }[];
}

/** Format and dimensions from the header only (nothing is decoded); `expectSizes` as in ToGrayOptions. */
export async function probeImage(bytes: Uint8Array, maxPixels: number, expectSizes?: ToGrayOptions['expectSizes']): Promise<SourceImageInfo> {
  let meta: Metadata;
  try {
    // Header parsing only; the pixel cap is applied below so the message can say what was claimed.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new UnusableImageError(`not a decodable image (${(err as Error).message})`);
  }
  const { format, width, height } = meta;
  if (!ACCEPTED_IMAGE_FORMATS.has(format)) throw new UnusableImageError(`unexpected image format ${format}, want PNG, JPEG or WebP`);
  if (!width || !height) throw new UnusableImageError(`${format} image without dimensions`);
  if (width * height > maxPixels) {
    throw new UnusableImageError(`${format} header claims ${width}x${height} = ${width * height} pixels, over the cap of ${maxPixels}`, 'pixel-bomb');
  }
  if (expectSizes && !expectSizes.some((s) => s.width === width && s.height === height)) {
    const want = [...new Set(expectSizes.map((s) => `${s.width}x${s.height}`))].join(' or ');
    throw new UnusableImageError(`${format} image is ${width}x${height}, expected ${want}`, 'unexpected-size');
  }
  return { format, width, height };
}

/**
 * Decode an untrusted image and turn it into `side`x`side` 8-bit gray pixels: alpha flattened onto
 * black (the dataset's background), resized with fit 'cover' (scale so the shorter edge fits, then
 * crop the centre: no distortion of object shapes, and for the usual square outputs no crop at
 * all), Lanczos-3, then converted to grayscale.
 */
export async function toGrayPixels(bytes: Uint8Array, opts: ToGrayOptions): Promise<{ pixels: Uint8Array; source: SourceImageInfo }> {
  const source = await probeImage(bytes, opts.maxPixels, opts.expectSizes);
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(bytes, { limitInputPixels: opts.maxPixels, failOn: 'warning', pages: 1 })
      .flatten({ background: '#000000' })
      .resize(opts.side, opts.side, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new UnusableImageError(`${source.format} ${source.width}x${source.height} image failed to decode (${(err as Error).message})`);
  }
  const { data, info } = out;
  if (info.width !== opts.side || info.height !== opts.side || data.length !== opts.side * opts.side * info.channels) {
    throw new UnusableImageError(`resize gave ${info.width}x${info.height}x${info.channels}, expected ${opts.side}x${opts.side}`);
  }
  const pixels = new Uint8Array(opts.side * opts.side);
  for (let i = 0; i < pixels.length; i++) pixels[i] = data[i * info.channels]!;
  return { pixels, source };
}

/** Untrusted image bytes → our canonical grayscale PNG (core/png.ts) of `side`x`side`. */
export async function toCanonicalGrayPng(bytes: Uint8Array, opts: ToGrayOptions): Promise<{ png: Uint8Array; source: SourceImageInfo }> {
  const { pixels, source } = await toGrayPixels(bytes, opts);
  return { png: encodeGrayPng(pixels, opts.side, opts.side), source };
}

export interface ToGeometryOptions {
  geometry: ImageGeometry;
  /** Reject images whose header claims more pixels than this. */
  maxPixels: number;
  /** As in ToGrayOptions. */
  expectSizes?: readonly { width: number; height: number }[];
}

/** Decode an untrusted image and bring it to `geometry` (HWC bytes); see the header for the rule. */
export async function toGeometryPixels(bytes: Uint8Array, opts: ToGeometryOptions): Promise<{ pixels: Uint8Array; source: SourceImageInfo }> {
  const { geometry } = opts;
  if (geometry.channels === 1) return toGrayPixels(bytes, { side: geometry.size, maxPixels: opts.maxPixels, ...(opts.expectSizes ? { expectSizes: opts.expectSizes } : {}) });
  const source = await probeImage(bytes, opts.maxPixels, opts.expectSizes);
  try {
    const pixels = await fitToGeometry(bytes, geometry, { maxPixels: opts.maxPixels });
    if (pixels.length !== pixelsPerImage(geometry)) throw new UnusableImageError(`resize gave ${pixels.length} values, expected ${pixelsPerImage(geometry)}`);
    return { pixels, source };
  } catch (err) {
    if (!(err instanceof SkippedInputError)) throw err;
    throw new UnusableImageError(`${source.format} ${source.width}x${source.height} image: ${err.message}`, err.reason === 'pixel-cap' ? 'pixel-bomb' : 'not-an-image');
  }
}

/** Untrusted image bytes → our canonical PNG of `geometry` (encodePng: grey or RGB). */
export async function toCanonicalPng(bytes: Uint8Array, opts: ToGeometryOptions): Promise<{ png: Uint8Array; pixels: Uint8Array; source: SourceImageInfo }> {
  const { pixels, source } = await toGeometryPixels(bytes, opts);
  return { png: encodePng(pixels, opts.geometry), pixels, source };
}

/** Upscale `side`x`side` gray pixels to an RGB PNG of width x height (fit 'fill', Lanczos-3): what a real model would return. */
export async function grayToRgbPng(pixels: Uint8Array, side: number, width: number, height: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width: side, height: side, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Upscale an image of `geometry` (grey or RGB) to an RGB PNG of width x height (fit 'fill', Lanczos-3); grey as grayToRgbPng. */
export async function upscaleToRgbPng(pixels: Uint8Array, geometry: ImageGeometry, width: number, height: number): Promise<Buffer> {
  if (geometry.channels === 1) return grayToRgbPng(pixels, geometry.size, width, height);
  return sharp(pixels, { raw: { width: geometry.size, height: geometry.size, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .png({ compressionLevel: 6 })
    .toBuffer();
}
