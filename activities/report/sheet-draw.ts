// Drawing a contact sheet: one labelled row per class of K thumbnails, grey or RGB as the source's
// images are, with the class names and the title drawn in by compositing an SVG text layer with sharp.
//
// Thumbnail size: a sheet stays readable for any image size from 8 to 512 px. Images of up to 56 px
// are scaled up by a whole factor without smoothing (each pixel a visible block: 28 px -> 56, 32 ->
// 64, 8 -> 56); 57..112 px are shown as they are; larger ones are reduced by area averaging to
// size / ceil(size / 96) (128 -> 64, 224 -> 75, 512 -> 85). So a cell is 56..112 px.
import sharp from 'sharp';
import type { ImageGeometry } from '../../core/image/geometry.js';
import type { RasterImage } from './raster.js';

const MIN_CELL = 56;
const MAX_CELL = 96;
// Wide enough for the 16 characters a class label is cut to, at 14 px.
const LABEL_WIDTH = 140;
const TITLE_HEIGHT = 30;
const GAP = 2;
const PAD = 8;
const BACKGROUND = 255;
const EMPTY_SLOT = 225;

/** The side of a thumbnail of a `size` px image (see the top of this file). */
export function thumbnailSide(size: number): number {
  if (size <= MIN_CELL) return size * Math.ceil(MIN_CELL / size);
  if (size <= 2 * MIN_CELL) return size;
  return Math.round(size / Math.ceil(size / MAX_CELL));
}

/**
 * `image` (geometry.size square, HWC) as a `side` x `side` thumbnail with the same channels: each
 * output pixel averages the source pixels its square covers (for a whole-factor enlargement that is
 * the one pixel under it, so pixels stay sharp blocks).
 */
export function thumbnail(image: Uint8Array, geometry: ImageGeometry, side: number): Uint8Array {
  const { size, channels } = geometry;
  if (side === size) return image;
  const from = (o: number) => Math.floor((o * size) / side);
  const to = (o: number) => Math.max(from(o) + 1, Math.floor(((o + 1) * size) / side));
  const out = new Uint8Array(side * side * channels);
  for (let oy = 0; oy < side; oy++) {
    const y0 = from(oy);
    const y1 = to(oy);
    for (let ox = 0; ox < side; ox++) {
      const x0 = from(ox);
      const x1 = to(ox);
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += image[(y * size + x) * channels + c]!;
        out[(oy * side + ox) * channels + c] = Math.round(sum / n);
      }
    }
  }
  return out;
}

/** Where things sit on a sheet of `rows` class rows by `columns` thumbnails of `cell` px. */
export function sheetLayout(rows: number, columns: number, cell: number) {
  return {
    cell,
    width: PAD + LABEL_WIDTH + columns * (cell + GAP) - GAP + PAD,
    height: TITLE_HEIGHT + rows * (cell + GAP) - GAP + PAD,
    /** Top-left pixel of image `column` of row `row`. */
    origin: (row: number, column: number) => ({ left: PAD + LABEL_WIDTH + column * (cell + GAP), top: TITLE_HEIGHT + row * (cell + GAP) }),
  };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** At most `max` characters (code points, so no half of a surrogate pair), "…" marking a cut. */
function truncate(s: string, max: number): string {
  const points = [...s.replace(/[\p{Cc}\s]+/gu, ' ')];
  return points.length <= max ? points.join('') : `${points.slice(0, max - 1).join('')}…`;
}

/** The text layer: the title, and each row's class name right-aligned before its images. */
function overlaySvg(title: string, classes: readonly string[], width: number, height: number, rowTop: (row: number) => number, cell: number): string {
  const font = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
  const labels = classes.map(
    (name, r) => `<text x="${PAD + LABEL_WIDTH - 8}" y="${rowTop(r) + cell / 2 + 5}" text-anchor="end" font-size="14" ${font}>${escapeXml(truncate(name, 16))}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<text x="${PAD}" y="20" font-size="15" font-weight="bold" ${font}>${escapeXml(truncate(title, Math.floor((width - 2 * PAD) / 9)))}</text>`,
    ...labels,
    '</svg>',
  ].join('\n');
}

/** The sheet as a PNG (grey for grey images, RGB for colour ones): a title line, then one labelled row of `columns` thumbnails per class. */
export async function drawSheet(
  title: string,
  classes: readonly string[],
  images: readonly Uint8Array[][],
  columns: number,
  geometry: ImageGeometry,
  cell = thumbnailSide(geometry.size),
): Promise<RasterImage> {
  const { channels } = geometry;
  const { width, height, origin } = sheetLayout(images.length, columns, cell);
  const pixels = new Uint8Array(width * height * channels).fill(BACKGROUND);
  const empty = new Uint8Array(cell * cell * channels).fill(EMPTY_SLOT);
  images.forEach((row, r) => {
    for (let c = 0; c < columns; c++) {
      const { left, top } = origin(r, c);
      const image = row[c];
      const thumb = image ? thumbnail(image, geometry, cell) : empty;
      for (let y = 0; y < cell; y++) pixels.set(thumb.subarray(y * cell * channels, (y + 1) * cell * channels), ((top + y) * width + left) * channels);
    }
  });
  const overlay = overlaySvg(title, classes, width, height, (r) => origin(r, 0).top, cell);
  const composed = sharp(pixels, { raw: { width, height, channels } }).composite([{ input: Buffer.from(overlay, 'utf8'), top: 0, left: 0 }]);
  // Composited text comes back as sRGB with alpha: flatten to the sheet's own channels.
  const { data: raw, info: rawInfo } = await composed.raw().toBuffer({ resolveWithObject: true });
  const flat = sharp(raw, { raw: { width: rawInfo.width, height: rawInfo.height, channels: rawInfo.channels } }).removeAlpha();
  const encoded = channels === 1 ? flat.toColourspace('b-w') : flat;
  const { data, info } = await encoded.png({ compressionLevel: 9 }).toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(data), width: info.width, height: info.height };
}
