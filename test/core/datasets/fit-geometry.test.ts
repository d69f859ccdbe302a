// The import's resize rule (core/image/fit-geometry.ts): shorter side to `size`, centre crop,
// channels converted (grey <-> RGB by BT.601 luma, alpha onto black, 16-bit to 8-bit, palette,
// CMYK), EXIF orientation applied; and what is refused, with which reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { fitToGeometry, SkippedInputError, sniffImageFormat } from '../../../core/image/fit-geometry.js';
import { greyPng, png16, pngClaiming, rgbaPng, rgbJpeg, rgbPng, rgbWebp, solid, SVG, TEXT } from './image-fixtures.js';

const CAP = { maxPixels: 1_000_000 };

async function skipReason(bytes: Uint8Array, maxPixels = CAP.maxPixels): Promise<string> {
  try {
    await fitToGeometry(bytes, { size: 16, channels: 3 }, { maxPixels });
  } catch (err) {
    assert.ok(err instanceof SkippedInputError, String(err));
    return err.reason;
  }
  assert.fail('expected a skip');
}

test('a 64x32 image keeps its middle 32 columns (shorter side already 32: no resampling)', async () => {
  const wide = await greyPng(64, 32, (x) => [x * 4]);
  const out = await fitToGeometry(wide, { size: 32, channels: 1 }, CAP);
  assert.equal(out.length, 32 * 32);
  for (const y of [0, 17, 31]) for (const x of [0, 1, 15, 31]) assert.equal(out[y * 32 + x], (x + 16) * 4, `(${x}, ${y})`);
  const tall = await greyPng(32, 64, (_x, y) => [y * 4]);
  const rows = await fitToGeometry(tall, { size: 32, channels: 1 }, CAP);
  for (const y of [0, 31]) assert.equal(rows[y * 32 + 5], (y + 16) * 4);
});

test('left/right halves survive a downscale of 128x64 -> 16 with the centre kept', async () => {
  // left quarter white, middle half split 100 | 200, right quarter black
  const img = await rgbPng(128, 64, (x) => (x < 32 ? [255, 255, 255] : x < 64 ? [100, 100, 100] : x < 96 ? [200, 200, 200] : [0, 0, 0]));
  const out = await fitToGeometry(img, { size: 16, channels: 3 }, CAP);
  assert.equal(out.length, 16 * 16 * 3);
  // Lanczos rings a little near the band edges: within a few levels of the band, far from 255 and 0.
  assert.ok(Math.abs(out[(8 * 16 + 1) * 3]! - 100) <= 4, `left of the crop is the 100 band, not white: ${out[(8 * 16 + 1) * 3]}`);
  assert.ok(Math.abs(out[(8 * 16 + 14) * 3]! - 200) <= 4, `right of the crop is the 200 band, not black: ${out[(8 * 16 + 14) * 3]}`);
});

test('grey -> RGB replicates; RGB -> grey is BT.601 luma', async () => {
  const grey = await fitToGeometry(await greyPng(8, 8, () => [77]), { size: 8, channels: 3 }, CAP);
  assert.deepEqual([...grey.subarray(0, 6)], [77, 77, 77, 77, 77, 77]);
  for (const [rgb, luma] of [
    [[255, 0, 0], 76],
    [[0, 255, 0], 150],
    [[0, 0, 255], 29],
    [[200, 100, 50], Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)],
  ] as const) {
    const out = await fitToGeometry(await rgbPng(8, 8, () => [...rgb]), { size: 8, channels: 1 }, CAP);
    assert.equal(out[0], luma, `luma of ${rgb.join(',')}`);
  }
});

test('RGBA is flattened onto black', async () => {
  const half = await fitToGeometry(await rgbaPng(8, 8, () => [255, 255, 255, 128]), { size: 8, channels: 3 }, CAP);
  assert.ok(Math.abs(half[0]! - 128) <= 1, `half-transparent white -> ${half[0]}`);
  const clear = await fitToGeometry(await rgbaPng(8, 8, () => [255, 0, 0, 0]), { size: 8, channels: 3 }, CAP);
  assert.deepEqual([...clear.subarray(0, 3)], [0, 0, 0]);
});

test('16-bit grey, RGB and RGBA PNGs become 8-bit', async () => {
  const g = await fitToGeometry(png16(8, 8, 0, new Array<number>(64).fill(0x8080)), { size: 8, channels: 1 }, CAP);
  assert.equal(g[0], 128);
  const rgb = await fitToGeometry(png16(8, 8, 2, Array.from({ length: 64 }, () => [65535, 0, 0x4000]).flat()), { size: 8, channels: 3 }, CAP);
  assert.deepEqual([...rgb.subarray(0, 3)], [255, 0, 64]);
  const rgba = await fitToGeometry(png16(8, 8, 6, Array.from({ length: 64 }, () => [65535, 65535, 65535, 0]).flat()), { size: 8, channels: 3 }, CAP);
  assert.deepEqual([...rgba.subarray(0, 3)], [0, 0, 0]);
});

test('JPEG, WebP, palette PNG and CMYK JPEG decode to the same flat colour (within codec error)', async () => {
  const want = [40, 120, 200];
  const palette = new Uint8Array(await sharp(await solid('png', want)).png({ palette: true }).toBuffer());
  const cmyk = new Uint8Array(await sharp(await solid('png', want)).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer());
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  for (const [name, bytes, tolerance] of [
    ['jpeg', await solid('jpeg', want), 4],
    ['webp', await solid('webp', want), 0],
    ['palette png', palette, 2],
    ['cmyk jpeg', cmyk, 24],
  ] as const) {
    const out = await fitToGeometry(bytes, { size: 8, channels: 3 }, CAP);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(out[c]! - want[c]!) <= tolerance, `${name}: channel ${c} is ${out[c]}, want ${want[c]}`);
  }
});

test('EXIF orientation is applied before the crop', async () => {
  // 64x32, left half white, right half black; orientation 6 (90 degrees clockwise) makes it 32x64,
  // white on top: the centre crop's top rows are white. Unrotated, its left columns would be white.
  const plain = await rgbJpeg(64, 32, (x) => (x < 32 ? [255, 255, 255] : [0, 0, 0]));
  const rotated = new Uint8Array(await sharp(plain).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer());
  const out = await fitToGeometry(rotated, { size: 32, channels: 1 }, CAP);
  assert.ok(out[1 * 32 + 31]! > 200, 'top right is white');
  assert.ok(out[30 * 32 + 0]! < 50, 'bottom left is black');
  const unrotated = await fitToGeometry(plain, { size: 32, channels: 1 }, CAP);
  assert.ok(unrotated[1 * 32 + 31]! < 50, 'without orientation the right side is black');
});

test('not an image: text renamed .png, SVG, GIF; nothing but PNG/JPEG/WebP reaches sharp', async () => {
  assert.equal(await skipReason(TEXT), 'not-an-image');
  assert.equal(await skipReason(SVG), 'not-an-image');
  assert.equal(await skipReason(new TextEncoder().encode('GIF89a\x01\x00\x01\x00')), 'not-an-image');
  assert.equal(sniffImageFormat(await rgbWebp(4, 4, () => [1, 2, 3])), 'webp');
});

test('corrupt: truncated PNG and JPEG, a damaged header, an empty file', async () => {
  const png = await rgbPng(64, 64, (x, y) => [x * 3, y * 3, (x * y) & 255]);
  const jpeg = await rgbJpeg(64, 64, (x, y) => [x * 3, y * 3, (x * y) & 255]);
  assert.equal(await skipReason(png.subarray(0, Math.floor(png.length / 2))), 'corrupt');
  assert.equal(await skipReason(jpeg.subarray(0, Math.floor(jpeg.length * 0.7))), 'corrupt');
  assert.equal(await skipReason(png.subarray(0, 12)), 'corrupt');
  assert.equal(await skipReason(new Uint8Array(0)), 'corrupt');
});

test('a header claiming a huge canvas is refused before decoding (pixel-cap)', async () => {
  const bomb = pngClaiming(100_000, 100_000);
  assert.ok(bomb.length < 100);
  const t = performance.now();
  assert.equal(await skipReason(bomb, 50_000_000), 'pixel-cap');
  assert.ok(performance.now() - t < 1000);
  assert.equal(await skipReason(await rgbPng(40, 40, () => [0, 0, 0]), 1000), 'pixel-cap');
});
