// `synthscale dataset export`: write a built-in dataset (Fashion-MNIST) in the layouts a lab brings
// its own images in, at any geometry, so the import path (activities/datasets) can be tried and
// tested end to end without outside data:
//   --layout imagefolder: out/<split>/<class folder>/<000000>.png, class folders filesystem-safe
//                         ('T-shirt/top' -> 'T-shirt_top', see activities/datasets/classes.ts)
//   --layout webdataset:  out/<split>-000000.tar, ... with {key}.png + {key}.cls (the class index)
// plus out/classes.txt, the true class names in label order. Images are the first --train / --test
// of each split, resampled from 28x28 grey to --size/--channels (core/image/resample.ts); --shift
// adds a split of the test images under an OOD suite, applied at 28x28 grey before resampling
// (core/image/ood.ts works on grey images only).
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand } from 'citty';
import { classFolderName } from '../activities/datasets/classes.js';
import { depsFromEnv, loadBuiltinSplit } from '../core/activity-deps.js';
import { DATASET_NAMES, datasetProvider, type DatasetName } from '../core/datasets/registry.js';
import { checkGeometry, FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../core/image/geometry.js';
import { applySuite, isOodSuiteName, OOD_SUITE_NAMES, type OodSuiteName } from '../core/image/ood.js';
import { resampleImages } from '../core/image/resample.js';
import { encodePng } from '../core/png.js';
import { packTar } from '../core/shards/tar.js';

export interface ExportOptions {
  dataset: DatasetName;
  layout: 'imagefolder' | 'webdataset';
  geometry: ImageGeometry;
  out: string;
  train: number;
  test: number;
  shift?: { suite: OodSuiteName; severity: number; split: string; seed: number };
  imagesPerShard: number;
  /** Builtin data dir (default: SYNTHSCALE_DATA / .synthscale/data). */
  dataDir?: string;
}

export interface ExportResult {
  out: string;
  splits: Record<string, { count: number; files: number }>;
  classesFile: string;
  /** A `dataset:` for a sweep spec that imports what was written. */
  spec: Record<string, unknown>;
}

interface SplitImages {
  name: string;
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Write the export (see the header); `out` must be empty or absent. */
export async function exportDataset(opts: ExportOptions): Promise<ExportResult> {
  checkGeometry(opts.geometry, '--size/--channels');
  const out = resolve(opts.out);
  const existing = await readdir(out).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`--out ${out} is not empty: choose a new folder (an export never mixes with older files)`);
  await mkdir(out, { recursive: true });
  const deps = { ...depsFromEnv(), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) };
  const classes = [...datasetProvider(opts.dataset).classes];
  const train = await loadBuiltinSplit(deps, 'train', opts.dataset);
  const test = await loadBuiltinSplit(deps, 'test', opts.dataset);
  const take = (name: string, set: typeof train, count: number): SplitImages => {
    if (!Number.isInteger(count) || count < 0 || count > set.count) throw new Error(`--${name} must be 0 to ${set.count}, not ${count}`);
    return { name, images: set.images.subarray(0, count * pixelsPerImage(set.geometry)), labels: set.labels.subarray(0, count), count };
  };
  // --train 0: an eval-only dataset (e.g. a shifted copy of the test split), no train folder.
  const splits = [take('train', train, opts.train), take('test', test, opts.test)].filter((split) => split.count > 0);
  if (opts.shift) {
    const t = splits.find((split) => split.name === 'test');
    if (!t) throw new Error('--shift needs a test split to shift: give --test 1 or more');
    const shifted = applySuite(opts.shift.suite, t.images, t.count, opts.shift.severity, opts.shift.seed);
    splits.push({ ...t, name: opts.shift.split, images: shifted });
  }
  const result: ExportResult['splits'] = {};
  for (const split of splits) {
    const images = resampleImages(split.images, split.count, FASHION_MNIST_GEOMETRY, opts.geometry);
    const files = opts.layout === 'imagefolder' ? await writeFolderSplit(out, split, images, classes, opts.geometry) : await writeShardSplit(out, split, images, opts);
    result[split.name] = { count: split.count, files };
  }
  const classesFile = join(out, 'classes.txt');
  await writeFile(classesFile, `${classes.join('\n')}\n`);
  return { out, splits: result, classesFile, spec: specFor(opts, out, result, classesFile) };
}

function specFor(opts: ExportOptions, out: string, splits: ExportResult['splits'], classesFile: string): Record<string, unknown> {
  const title = `${datasetProvider(opts.dataset).title} export`;
  const classes = pathToFileURL(classesFile).href;
  if (opts.layout === 'imagefolder') return { kind: 'imagefolder', root: pathToFileURL(out).href, title, classes };
  const uris = Object.fromEntries(
    Object.entries(splits).map(([name, s]) => [name, [`${pathToFileURL(out).href}/${name}-{000000..${String(s.files - 1).padStart(6, '0')}}.tar`]]),
  );
  return { kind: 'webdataset', splits: uris, label: 'cls', title, classes };
}

async function writeFolderSplit(out: string, split: SplitImages, images: Uint8Array, classes: string[], geometry: ImageGeometry): Promise<number> {
  const per = pixelsPerImage(geometry);
  const folders = classes.map(classFolderName);
  if (new Set(folders).size !== folders.length) throw new Error(`class names ${classes.join(', ')} collide as folder names`);
  for (const f of folders) await mkdir(join(out, split.name, f), { recursive: true });
  const write = (i: number) => writeFile(join(out, split.name, folders[split.labels[i]!]!, `${String(i).padStart(6, '0')}.png`), encodePng(images.subarray(i * per, (i + 1) * per), geometry));
  for (let i = 0; i < split.count; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, split.count - i) }, (_, k) => write(i + k)));
  }
  return split.count;
}

async function writeShardSplit(out: string, split: SplitImages, images: Uint8Array, opts: ExportOptions): Promise<number> {
  const per = pixelsPerImage(opts.geometry);
  let shards = 0;
  for (let first = 0; first < split.count; first += opts.imagesPerShard) {
    const entries: { name: string; data: Uint8Array }[] = [];
    for (let i = first; i < Math.min(split.count, first + opts.imagesPerShard); i++) {
      const key = String(i).padStart(9, '0');
      entries.push({ name: `${key}.cls`, data: new TextEncoder().encode(String(split.labels[i])) });
      entries.push({ name: `${key}.png`, data: encodePng(images.subarray(i * per, (i + 1) * per), opts.geometry) });
    }
    await writeFile(join(out, `${split.name}-${String(shards).padStart(6, '0')}.tar`), await packTar(entries));
    shards++;
  }
  return shards;
}

function intArg(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new Error(`--${name} ${raw}: expected a whole number from ${min} to ${max}`);
  return v;
}

/** `<suite>:<severity>` -> the shift, or an error naming the suites. */
export function parseShift(raw: string, split = 'shifted', seed = 0): NonNullable<ExportOptions['shift']> {
  const m = /^([a-z-]+):([1-5])$/.exec(raw.trim());
  if (!m || !isOodSuiteName(m[1])) throw new Error(`--shift ${raw}: expected <suite>:<severity 1-5>, suites: ${OOD_SUITE_NAMES.join(', ')}`);
  return { suite: m[1] as OodSuiteName, severity: Number(m[2]), split, seed };
}

const exportCommand = defineCommand({
  meta: { name: 'export', description: 'Write a built-in dataset as an image folder or labelled WebDataset shards (to try the import of your own images)' },
  args: {
    dataset: { type: 'string', description: `built-in dataset: ${DATASET_NAMES.join(' | ')}`, default: 'fashion-mnist' },
    layout: { type: 'string', description: 'imagefolder (out/<split>/<class>/N.png) | webdataset (out/<split>-N.tar with {key}.png + {key}.cls)', default: 'imagefolder' },
    size: { type: 'string', description: 'image side in pixels', default: '32' },
    channels: { type: 'string', description: '1 (grey) or 3 (RGB)', default: '3' },
    out: { type: 'string', description: 'output folder (new or empty)', required: true },
    train: { type: 'string', description: 'training images (the first N)', default: '6000' },
    test: { type: 'string', description: 'test images (the first N)', default: '1000' },
    shift: { type: 'string', description: `also write the test images under an OOD suite, <suite>:<severity>, e.g. rotate:3 (${OOD_SUITE_NAMES.join(', ')})` },
    'shift-split': { type: 'string', description: 'split name of the shifted test images', default: 'shifted' },
    'images-per-shard': { type: 'string', description: 'webdataset: images per tar', default: '1000' },
  },
  async run({ args }) {
    const dataset = args.dataset as DatasetName;
    if (!DATASET_NAMES.includes(dataset)) throw new Error(`--dataset ${args.dataset}: expected one of ${DATASET_NAMES.join(', ')}`);
    if (args.layout !== 'imagefolder' && args.layout !== 'webdataset') throw new Error(`--layout ${args.layout}: expected imagefolder or webdataset`);
    const channels = intArg('channels', args.channels, 3, 1, 3);
    if (channels === 2) throw new Error('--channels must be 1 or 3');
    const shiftSplit = args['shift-split'];
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(shiftSplit) || shiftSplit === 'train' || shiftSplit === 'test') throw new Error(`--shift-split ${shiftSplit}: use a new split name of letters, digits, '.', '_' and '-'`);
    const result = await exportDataset({
      dataset,
      layout: args.layout,
      geometry: { size: intArg('size', args.size, 32, 8, 512), channels: channels as 1 | 3 },
      out: args.out,
      train: intArg('train', args.train, 6000, 0, 1_000_000),
      test: intArg('test', args.test, 1000, 1, 1_000_000),
      shift: args.shift ? parseShift(args.shift, shiftSplit) : undefined,
      imagesPerShard: intArg('images-per-shard', args['images-per-shard'], 1000, 1, 1_000_000),
    });
    for (const [name, s] of Object.entries(result.splits)) console.log(`${name}: ${s.count} images in ${s.files} ${args.layout === 'imagefolder' ? 'files' : 'shards'}`);
    console.log(`classes: ${result.classesFile}`);
    console.log(`use it in a sweep spec as\ndataset: ${JSON.stringify(result.spec)}`);
  },
});

/** `synthscale dataset ...`: wire as `dataset: datasetCommand` in cli/main.ts's subCommands. */
export const datasetCommand = defineCommand({
  meta: { name: 'dataset', description: 'Datasets of your own: export a built-in one in the image folder or labelled-shard layout' },
  subCommands: { export: exportCommand },
});
