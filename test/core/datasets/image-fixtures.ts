// Tiny images for the dataset import tests, made in memory: 8-bit grey/RGB/RGBA PNGs, 16-bit PNGs
// (pngjs), JPEG and WebP (sharp), a PNG whose header alone claims a huge canvas, and helpers to
// write image folders and labelled shards into a temporary directory.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { packTar } from '../../../core/shards/tar.js';

type Pixel = (x: number, y: number) => number[];

async function encode(width: number, height: number, channels: 1 | 3 | 4, fn: Pixel, format: 'png' | 'jpeg' | 'webp'): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(fn(x, y).slice(0, channels), (y * width + x) * channels);
  const img = sharp(raw, { raw: { width, height, channels } });
  if (format === 'png') return new Uint8Array(await img.png().toBuffer());
  if (format === 'jpeg') return new Uint8Array(await img.jpeg({ quality: 95 }).toBuffer());
  return new Uint8Array(await img.webp({ lossless: true }).toBuffer());
}

export const greyPng = (w: number, h: number, fn: Pixel) => encode(w, h, 1, fn, 'png');
export const rgbPng = (w: number, h: number, fn: Pixel) => encode(w, h, 3, fn, 'png');
export const rgbaPng = (w: number, h: number, fn: Pixel) => encode(w, h, 4, fn, 'png');
export const rgbJpeg = (w: number, h: number, fn: Pixel) => encode(w, h, 3, fn, 'jpeg');
export const rgbWebp = (w: number, h: number, fn: Pixel) => encode(w, h, 3, fn, 'webp');

/** A flat colour image of `size` x `size` in the format. */
export function solid(format: 'png' | 'jpeg' | 'webp', rgb: number[], size = 16): Promise<Uint8Array> {
  return encode(size, size, 3, () => rgb, format);
}

/** A 16-bit PNG (colour type 0 grey, 2 RGB, 6 RGBA) with these sample values (0..65535), row-major. */
export function png16(width: number, height: number, colorType: 0 | 2 | 6, values: number[]): Uint8Array {
  const opts = { width, height, bitDepth: 16 as const, colorType, inputColorType: colorType, inputHasAlpha: colorType === 6 };
  const png = new PNG(opts);
  png.data = Buffer.from(new Uint16Array(values).buffer);
  return new Uint8Array(PNG.sync.write(png, opts));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** A valid PNG header (signature + IHDR + an empty IDAT + IEND) claiming width x height: a decompression-bomb stand-in. */
export function pngClaiming(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(0)), chunk('IEND', new Uint8Array(0))]),
  );
}

export const SVG = new TextEncoder().encode('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
export const TEXT = new TextEncoder().encode('this is a text file renamed to .png\n');

/** Write `files` (relative path -> bytes) under `root`. */
export async function writeTree(root: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data);
  }
}

/** A tar of these entries (name -> bytes or text), in this order. */
export function tarOf(entries: [string, Uint8Array | string][]): Promise<Uint8Array> {
  return packTar(entries.map(([name, data]) => ({ name, data: typeof data === 'string' ? new TextEncoder().encode(data) : data })));
}
