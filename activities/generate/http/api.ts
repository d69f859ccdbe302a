// What an HTTP generator API is to the shared client (./item-generator.ts): where to POST, what to
// send for an item, and how to find the one image in its JSON; plus the strict response checks
// both APIs share. The image must come as strict base64, and its header is checked before decoding
// (PNG/JPEG/WebP only, at most maxPixels pixels, the requested size when checkSize is on).
import { toCanonicalPng, UnusableImageError, type SourceImageInfo, type ToGeometryOptions } from '../../../core/image/resize.js';
import type { GenerateItem } from '../item-generator.js';
import { badResponse, GeneratorHttpError } from './errors.js';

/** Strict base64 (an optional data: URL prefix is allowed) to bytes. */
export function decodeBase64Image(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string') throw badResponse('bad-response', where, `image is ${value === null ? 'null' : typeof value}, expected a base64 string`);
  const b64 = value.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw badResponse('bad-base64', where, `image is not valid base64 (${b64.length} characters, starting ${JSON.stringify(b64.slice(0, 16))})`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export type Size = { width: number; height: number };

/** The image as our canonical PNG at the geometry (an unusable image is a GeneratorHttpError). */
export async function toPng(bytes: Uint8Array, opts: ToGeometryOptions, where: string): Promise<{ png: Uint8Array; source: SourceImageInfo }> {
  try {
    const { png, source } = await toCanonicalPng(bytes, opts);
    return { png, source };
  } catch (err) {
    if (err instanceof UnusableImageError) throw new GeneratorHttpError(err.reason, `${where}: ${err.message}`, { transient: false });
    throw err;
  }
}

/** A size the response states (besides the image's own header) must be one we asked for. */
export function checkStatedSize(stated: Size | undefined, expect: readonly Size[] | undefined, where: string, what: string): void {
  if (!stated || !expect || expect.some((s) => s.width === stated.width && s.height === stated.height)) return;
  throw badResponse('unexpected-size', where, `${what} says ${stated.width}x${stated.height}, expected ${expect.map((s) => `${s.width}x${s.height}`).join(' or ')}`);
}

export interface Decoded {
  image: Uint8Array;
  reportedSeed?: number;
  revisedPrompt?: string;
}

export interface HttpApi {
  url: URL;
  /** The image sizes a correct response may have. */
  sizes: Size[];
  /** Throws a non-transient GeneratorHttpError when the item cannot be sent to this API. */
  checkItem?(item: GenerateItem, where: string): void;
  request(item: GenerateItem, seed: number): unknown;
  /** The one image (and what else the response says), or a non-transient GeneratorHttpError. */
  parse(json: unknown, where: string, expect: readonly Size[] | undefined): Decoded;
}

export function imageList(json: unknown, key: 'images' | 'data', where: string): unknown[] {
  const list = json && typeof json === 'object' ? (json as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(list)) throw badResponse('bad-response', where, `response has no "${key}" array`);
  if (list.length !== 1) throw badResponse('wrong-image-count', where, `response has ${list.length} images, expected 1`);
  return list;
}

/** Width and height from `info`-like fields, when both are positive integers. */
export function sizeOf(value: Record<string, unknown>): Size | undefined {
  const { width, height } = value;
  return Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0 ? { width: width as number, height: height as number } : undefined;
}

