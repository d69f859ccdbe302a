// Bringing an untrusted image file to a sweep's geometry (geometry.ts), THE resize rule of every
// imported dataset: decode, apply the EXIF orientation, flatten alpha onto black, scale so the
// shorter side is `size` (sharp's Lanczos-3, its default kernel, with shrink-on-load for JPEG and
// WebP), crop the centre `size` x `size`, then channels: sRGB for 3 (grey inputs replicated,
// CMYK/palette/16-bit converted to 8-bit sRGB by libvips), ITU-R BT.601 luma of the 8-bit sRGB
// values for 1 (round(0.299 R + 0.587 G + 0.114 B), as PIL's convert('L') and resample.ts).
//
// Alpha onto black: Fashion-MNIST's background is black, resize.ts's toGrayPixels does the same, and
// it equals PIL's convert('RGB') (torchvision's loader) for the usual transparent pixels stored as 0.
//
// Untrusted bytes are sniffed before libvips sees them: only PNG, JPEG and WebP signatures reach
// sharp (no SVG, GIF, TIFF, HEIF or PDF loaders), and the pixel count the header claims is checked
// before anything is decoded (a decompression bomb is a small file claiming a huge canvas): sharp's
// limitInputPixels, which libvips checks on the header, so no second header parse per image; a
// refused or failed decode is explained from the header. failOn 'truncated': errors and truncation
// fail the decode (a truncated JPEG is 'corrupt', not silently grey-filled), benign decoder warnings
// (an odd ICC profile, stray bytes) do not, as in the photos of real datasets.
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { pixelsPerImage, type ImageGeometry } from './geometry.js';

/**
 * Why an input image is skipped: not a PNG/JPEG/WebP at all; a PNG/JPEG/WebP that fails to decode
 * (truncated, damaged, empty); a header claiming more pixels than allowed; a file the reader could not
 * read, or larger than the file cap. (Dataset readers add their own reasons: core/datasets.)
 */
export type ImageSkipReason = 'not-an-image' | 'corrupt' | 'pixel-cap' | 'unreadable' | 'too-large-file';

/** An input that is skipped (counted under `reason`), not a failure of the import. */
export class SkippedInputError extends Error {
  readonly code = 'E_SKIPPED_INPUT';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export type FittableFormat = 'png' | 'jpeg' | 'webp';

/** The format by its signature bytes, or undefined (nothing else is handed to sharp). */
export function sniffImageFormat(bytes: Uint8Array): FittableFormat | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** What looks like text or another format, for the 'not-an-image' message. */
function describeNonImage(bytes: Uint8Array): string {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG (vector images are not read)';
  if (head.startsWith('gif8')) return 'GIF';
  if (head.startsWith('ii*') || head.startsWith('mm\u0000*')) return 'TIFF';
  if (head.startsWith('%pdf')) return 'PDF';
  if (head.startsWith('bm')) return 'BMP';
  return 'no PNG, JPEG or WebP signature';
}

export interface FitOptions {
  /** Images whose header claims more pixels than this are skipped ('pixel-cap') without decoding. */
  maxPixels: number;
}

/** Header facts of an image that may be fitted (nothing decoded). */
export interface ImageHeader {
  format: FittableFormat;
  width: number;
  height: number;
}

/** The format of bytes that may be fitted; else SkippedInputError ('corrupt' when empty, 'not-an-image'). */
function fittableFormat(bytes: Uint8Array): FittableFormat {
  if (bytes.byteLength === 0) throw new SkippedInputError('corrupt', 'empty file');
  const format = sniffImageFormat(bytes);
  if (!format) throw new SkippedInputError('not-an-image', `not a PNG, JPEG or WebP file (${describeNonImage(bytes)})`);
  return format;
}

/** Sniff and read the header; throws SkippedInputError ('not-an-image', 'corrupt', 'pixel-cap'). */
export async function probeFittable(bytes: Uint8Array, maxPixels: number): Promise<ImageHeader> {
  const format = fittableFormat(bytes);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (err) {
    throw new SkippedInputError('corrupt', `${format} header is unreadable (${(err as Error).message.trim().split('\n')[0]})`);
  }
  const { width, height } = meta;
  if (meta.format !== format) {
    throw new SkippedInputError('corrupt', `${format} signature but libvips reads it as ${String(meta.format)}`);
  }
  if (!width || !height) throw new SkippedInputError('corrupt', `${format} header without dimensions`);
  if (width * height > maxPixels) {
    throw new SkippedInputError('pixel-cap', `${format} header claims ${width}x${height} = ${width * height} pixels, over the cap of ${maxPixels} (maxImagePixels)`);
  }
  return { format, width, height };
}

/**
 * Untrusted PNG/JPEG/WebP bytes -> `geometry` (HWC, pixelsPerImage(geometry) bytes) by the rule in
 * the header. Throws SkippedInputError with its reason for bytes that cannot be used: the signature
 * is sniffed first, the pixel cap is sharp's limitInputPixels (checked from the header before any
 * pixel is decoded), and a failed decode is then explained from the header ('pixel-cap' with the
 * dimensions claimed, else 'corrupt').
 */
export async function fitToGeometry(bytes: Uint8Array, geometry: ImageGeometry, opts: FitOptions): Promise<Uint8Array> {
  const format = fittableFormat(bytes);
  const { size, channels } = geometry;
  let data: Buffer;
  let info: OutputInfo;
  try {
    // limitInputPixels is checked against the header before any pixel is decoded; no separate probe.
    ({ data, info } = await sharp(bytes, { limitInputPixels: opts.maxPixels, failOn: 'truncated', pages: 1, autoOrient: true, sequentialRead: true })
      .flatten({ background: '#000000' })
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    // The reason (and the dimensions a header claims) from the header alone; a readable header within the cap: corrupt data.
    const header = await probeFittable(bytes, opts.maxPixels);
    throw new SkippedInputError('corrupt', `${format} ${header.width}x${header.height} image failed to decode (${(err as Error).message.trim().split('\n')[0]})`);
  }
  if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== size * size * 3) {
    throw new SkippedInputError('corrupt', `${format} image decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  const out = new Uint8Array(pixelsPerImage(geometry));
  if (channels === 3) {
    out.set(data);
  } else {
    for (let p = 0; p < size * size; p++) out[p] = Math.round(0.299 * data[3 * p]! + 0.587 * data[3 * p + 1]! + 0.114 * data[3 * p + 2]!);
  }
  return out;
}
