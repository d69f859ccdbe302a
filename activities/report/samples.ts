// Contact sheets of what each source trains on: the first K images of every class in manifest
// order, one row per class, scaled up without smoothing, with the class names and the source
// drawn in by compositing an SVG text layer with sharp. Reading is bounded: shards are decoded in
// manifest order only until every class has K images or a sample budget is spent.
import sharp from 'sharp';
import type { BlobStore } from '../../core/storage.js';
import type { SourceSummary } from '../../contracts/types.js';
import { isClipCurve } from '../../contracts/analysis.js';
import { IMAGE_PIXELS, IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { readManifest, type SourceManifest } from '../../core/shards/manifest.js';
import { decodeShard } from '../../core/shards/stream.js';
import type { RasterImage } from './raster.js';

export interface SampleSheet {
  source: string;
  /** File name in the report dir. */
  file: string;
  /** One line on what the sheet shows (source, CFG, description): the figure's caption and alt text. */
  caption: string;
  classes: string[];
  /** K: image columns per class row. */
  columns: number;
  /** Images found per class (below K where the budget ran out first). */
  shown: number[];
  image: RasterImage;
}

export interface SampleSheetOptions {
  /** K, images per class. */
  perClass?: number;
  /** Integer upscaling of the 28x28 images. */
  scale?: number;
  /** Samples decoded per source at most, beyond the first shard (which is always read whole). */
  maxSamples?: number;
  /** Called before each source is read (the activity heartbeats). */
  onSource?: (source: string) => void;
}

/** Rows longer than this many classes are cut: the sheet stays a figure, not a dump. */
const MAX_ROWS = 50;
const LABEL_WIDTH = 100;
const TITLE_HEIGHT = 30;
const GAP = 2;
const PAD = 8;
const BACKGROUND = 255;
const EMPTY_SLOT = 225;

/** Sources that own their images, real kinds first; mixed sources show nothing of their own. */
export function sheetSources(sources: readonly SourceSummary[]): SourceSummary[] {
  const own = sources.filter((s) => s.kind !== 'mixed' && !isClipCurve(s.name));
  const realFirst = [...own.filter((s) => s.kind !== 'synthetic'), ...own.filter((s) => s.kind === 'synthetic')];
  return realFirst.filter((s, i) => realFirst.findIndex((t) => t.manifestUri === s.manifestUri) === i);
}

export function sheetFileName(source: string): string {
  return `samples-${source.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}.png`;
}

/** The first `perClass` images of each class, in manifest order, reading shards until full or over budget. */
export async function firstImagesPerClass(
  store: BlobStore,
  manifest: SourceManifest,
  perClass: number,
  maxSamples: number,
): Promise<{ images: Uint8Array[][]; scanned: number }> {
  const classCount = Math.min(manifest.classes.length, MAX_ROWS);
  const images: Uint8Array[][] = Array.from({ length: classCount }, () => []);
  let scanned = 0;
  const full = () => images.every((row) => row.length >= perClass);
  for (const record of manifest.shards) {
    if (full() || (scanned > 0 && scanned >= maxSamples)) break;
    if (record.samples === 0) continue;
    const shard = await decodeShard(store, record, manifest.classes.length);
    for (let i = 0; i < shard.labels.length; i++) {
      const row = images[shard.labels[i]!]; // unlabeled pairs (255) and classes past MAX_ROWS have no row
      if (row && row.length < perClass) row.push(shard.images.slice(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
    }
    scanned += shard.labels.length;
  }
  return { images, scanned };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Where things sit on a sheet of `rows` class rows by `columns` images, each scaled `scale` times. */
export function sheetLayout(rows: number, columns: number, scale: number) {
  const cell = IMAGE_SIDE * scale;
  return {
    cell,
    width: PAD + LABEL_WIDTH + columns * (cell + GAP) - GAP + PAD,
    height: TITLE_HEIGHT + rows * (cell + GAP) - GAP + PAD,
    /** Top-left pixel of image `column` of row `row`. */
    origin: (row: number, column: number) => ({ left: PAD + LABEL_WIDTH + column * (cell + GAP), top: TITLE_HEIGHT + row * (cell + GAP) }),
  };
}

/** The sheet as a grey PNG: a title line, then one labelled row of `columns` images per class. */
export async function drawSheet(title: string, classes: readonly string[], images: readonly Uint8Array[][], columns: number, scale: number): Promise<RasterImage> {
  const { cell, width, height, origin } = sheetLayout(images.length, columns, scale);
  const pixels = new Uint8Array(width * height).fill(BACKGROUND);
  images.forEach((row, r) => {
    for (let c = 0; c < columns; c++) {
      const { left, top } = origin(r, c);
      const image = row[c];
      // Nearest neighbour: each source pixel becomes a scale x scale block, so the pixels stay visible.
      for (let y = 0; y < cell; y++) {
        const line = (top + y) * width + left;
        const sourceLine = Math.floor(y / scale) * IMAGE_SIDE;
        for (let x = 0; x < cell; x++) pixels[line + x] = image ? image[sourceLine + Math.floor(x / scale)]! : EMPTY_SLOT;
      }
    }
  });
  const font = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
  const labels = classes.map((name, r) => {
    const { top } = origin(r, 0);
    return `<text x="${PAD + LABEL_WIDTH - 8}" y="${top + cell / 2 + 5}" text-anchor="end" font-size="14" ${font}>${escapeXml(truncate(name, 16))}</text>`;
  });
  const overlay = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<text x="${PAD}" y="20" font-size="15" font-weight="bold" ${font}>${escapeXml(truncate(title, Math.floor((width - 2 * PAD) / 9)))}</text>`,
    ...labels,
    '</svg>',
  ].join('\n');
  const { data, info } = await sharp(pixels, { raw: { width, height, channels: 1 } })
    .composite([{ input: Buffer.from(overlay, 'utf8'), top: 0, left: 0 }])
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(data), width: info.width, height: info.height };
}

function sheetTitle(source: SourceSummary): string {
  const kind = source.kind === source.name ? [] : [source.kind];
  return [source.name, ...kind, ...(source.cfgScale !== undefined ? [`CFG ${source.cfgScale}`] : [])].join(' · ');
}

/** One sheet per source that owns images (sheetSources); a source whose shards cannot be read gets a problem line instead. */
export async function buildSampleSheets(
  store: BlobStore,
  sources: readonly SourceSummary[],
  options: SampleSheetOptions = {},
): Promise<{ sheets: SampleSheet[]; problems: string[] }> {
  // Scale 2 keeps a sheet under 600 px wide: two side by side in the page (real next to synthetic).
  const { perClass = 8, scale = 2, maxSamples = 4096 } = options;
  const sheets: SampleSheet[] = [];
  const problems: string[] = [];
  // One source at a time: a decoded shard is held only while its sheet is drawn.
  for (const source of sheetSources(sources)) {
    options.onSource?.(source.name);
    try {
      const manifest = await readManifest(store, source.manifestUri);
      const { images } = await firstImagesPerClass(store, manifest, perClass, maxSamples);
      const classes = manifest.classes.slice(0, images.length);
      const title = sheetTitle(source);
      sheets.push({
        source: source.name,
        file: sheetFileName(source.name),
        caption: `${title}: ${source.description}`,
        classes,
        columns: perClass,
        shown: images.map((row) => row.length),
        image: await drawSheet(title, classes, images, perClass, scale),
      });
    } catch (err) {
      problems.push(`${source.name}: no sample sheet (${(err as Error).message})`);
    }
  }
  return { sheets, problems };
}
