// Contact sheets of what each source trains on: the first K images of every class in manifest
// order, one row per class, at the manifest's geometry (grey or RGB, any size: sheet-draw.ts picks
// the thumbnail size). With more than MAX_ROWS classes a sheet shows MAX_ROWS classes spread evenly
// over the class list (its caption says so), so it stays a figure, not a dump.
//
// Reading is bounded: shards are read in manifest order only until every shown class has K images
// or a sample budget is spent, and only the images shown are decoded. (decodeShard decodes every
// image of a shard: a shard of 1,000 512x512 RGB images is 786 MB of pixels, for a sheet of ~200.)
import type { BlobStore } from '../../core/storage.js';
import type { SourceSummary } from '../../contracts/types.js';
import { isClipCurve } from '../../contracts/analysis.js';
import { FASHION_MNIST_GEOMETRY, geometryLabel, type ImageGeometry } from '../../core/image/geometry.js';
import { decodePng, MAX_SAMPLE_PNG_BYTES } from '../../core/png.js';
import { readManifest, type SourceManifest } from '../../core/shards/manifest.js';
import { MAX_SHARD_BYTES } from '../../core/shards/stream.js';
import { ShardFormatError, UNLABELED, unpackShard } from '../../core/shards/webdataset.js';
import type { RasterImage } from './raster.js';
import { drawSheet, thumbnailSide } from './sheet-draw.js';

export { sheetLayout, thumbnailSide } from './sheet-draw.js';

export interface SampleSheet {
  source: string;
  /** File name in the report dir. */
  file: string;
  /** One line on what the sheet shows (source, CFG, description): the figure's caption and alt text. */
  caption: string;
  /** The classes of the rows, in order (all of them, or MAX_ROWS spread over the list). */
  classes: string[];
  /** The source's number of classes. */
  classCount: number;
  /** K: image columns per class row. */
  columns: number;
  /** Images found per row (below K where the budget ran out first). */
  shown: number[];
  /** The images' geometry (the manifest's), and the side of a thumbnail on the sheet. */
  geometry: ImageGeometry;
  cell: number;
  image: RasterImage;
}

export interface SampleSheetOptions {
  /** K, images per class. */
  perClass?: number;
  /** Thumbnail side in pixels (default: thumbnailSide of the images' size). */
  cell?: number;
  /** Samples read per source at most, beyond the first shard (which is always read whole). */
  maxSamples?: number;
  /** Class rows per sheet at most. */
  maxRows?: number;
  /** Called before each source is read (the activity heartbeats). */
  onSource?: (source: string) => void;
  /** Source name -> digest of its images: sources with the same images get one sheet, captioned with all their names. */
  imageDigests?: Readonly<Record<string, string>>;
}

/** Sheets of more classes show this many, spread evenly over the class list. */
export const MAX_ROWS = 24;

/**
 * Sources that own their images, real kinds first; mixed sources show nothing of their own, and a
 * source with the same manifest or the same images (`imageDigests`, image-digest.ts) as an earlier one has no sheet of its own.
 */
export function sheetSources(sources: readonly SourceSummary[], imageDigests: Readonly<Record<string, string>> = {}): SourceSummary[] {
  const own = sources.filter((s) => s.kind !== 'mixed' && !isClipCurve(s.name));
  const realFirst = [...own.filter((s) => s.kind !== 'synthetic'), ...own.filter((s) => s.kind === 'synthetic')];
  const same = (s: SourceSummary, t: SourceSummary) => t.manifestUri === s.manifestUri || (imageDigests[s.name] !== undefined && imageDigests[s.name] === imageDigests[t.name]);
  return realFirst.filter((s, i) => realFirst.findIndex((t) => same(s, t)) === i);
}

export function sheetFileName(source: string): string {
  return `samples-${source.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}.png`;
}

/** The classes a sheet shows: all of them, or `maxRows` spread evenly (the first always among them). */
export function sheetRows(classCount: number, maxRows = MAX_ROWS): number[] {
  if (classCount <= maxRows) return Array.from({ length: classCount }, (_, c) => c);
  return Array.from({ length: maxRows }, (_, r) => Math.floor((r * classCount) / maxRows));
}

/** The geometry of a manifest's images (absent: 28x28 grey, manifests from before geometries). */
export function sheetGeometry(manifest: Pick<SourceManifest, 'geometry'>): ImageGeometry {
  return manifest.geometry ?? FASHION_MNIST_GEOMETRY;
}

/** The first `perClass` images of each class in `rows`, in manifest order, reading shards until full or over budget; only those images are decoded. */
export async function firstImagesPerClass(
  store: BlobStore,
  manifest: SourceManifest,
  perClass: number,
  maxSamples: number,
  rows: readonly number[] = sheetRows(manifest.classes.length),
): Promise<{ images: Uint8Array[][]; scanned: number; geometry: ImageGeometry }> {
  const geometry = sheetGeometry(manifest);
  const classCount = manifest.classes.length;
  const rowOf = new Map(rows.map((c, r) => [c, r]));
  const images: Uint8Array[][] = rows.map(() => []);
  let scanned = 0;
  const full = () => images.every((row) => row.length >= perClass);
  for (const record of manifest.shards) {
    if (full() || (scanned > 0 && scanned >= maxSamples)) break;
    if (record.samples === 0) continue;
    const bytes = await store.get(store.keyOf(record.uri), { maxBytes: MAX_SHARD_BYTES });
    const samples = await unpackShard(bytes, record.uri, { maxSamples: 100_000, maxEntryBytes: MAX_SAMPLE_PNG_BYTES });
    if (samples.length !== record.samples) throw new ShardFormatError(record.uri, undefined, `${samples.length} samples, manifest says ${record.samples}`);
    for (const sample of samples) {
      const { label } = sample.meta;
      if (label >= classCount && label !== UNLABELED) throw new ShardFormatError(record.uri, sample.key, `label ${label} out of range`);
      const row = images[rowOf.get(label) ?? -1]; // unlabeled pairs (255) and classes not shown have no row
      if (row && row.length < perClass) row.push(decodePng(sample.png, geometry, `${record.uri} [${sample.key}]`));
    }
    scanned += samples.length;
  }
  return { images, scanned, geometry };
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
  const { perClass = 8, maxSamples = 4096, maxRows = MAX_ROWS } = options;
  const sheets: SampleSheet[] = [];
  const problems: string[] = [];
  // One source at a time: its images are held only while its sheet is drawn.
  const digests = options.imageDigests ?? {};
  for (const source of sheetSources(sources, digests)) {
    options.onSource?.(source.name);
    try {
      const manifest = await readManifest(store, source.manifestUri);
      const rows = sheetRows(manifest.classes.length, maxRows);
      const { images, geometry } = await firstImagesPerClass(store, manifest, perClass, maxSamples, rows);
      const classes = rows.map((c) => manifest.classes[c]!);
      const cell = options.cell ?? thumbnailSide(geometry.size);
      // The other sources with the same images, named in the caption (their sheets would repeat this one).
      const twins = digests[source.name] === undefined ? [] : sources.filter((s) => s.name !== source.name && s.kind !== 'mixed' && digests[s.name] === digests[source.name]).map((s) => s.name);
      const title = sheetTitle(source);
      const subset = rows.length < manifest.classes.length ? ` (${rows.length} of ${manifest.classes.length} classes)` : '';
      sheets.push({
        source: source.name,
        file: sheetFileName(source.name),
        caption: `${title}: ${source.description} · ${geometryLabel(geometry)}${subset}${twins.length > 0 ? ` · same images as ${twins.join(', ')}` : ''}`,
        classes,
        classCount: manifest.classes.length,
        columns: perClass,
        shown: images.map((row) => row.length),
        geometry,
        cell,
        image: await drawSheet(title, classes, images, perClass, geometry, cell),
      });
    } catch (err) {
      problems.push(`${source.name}: no sample sheet (${(err as Error).message})`);
    }
  }
  return { sheets, problems };
}
