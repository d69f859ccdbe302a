// ResNet rows: (a) ResNet-20 (width 16, 32x32x3, 10 classes) training img/s (trainClassifier,
// batch 128, Adam, the default crop-4 + flip augmentation) against 1/3 of its own inference img/s
// (predictLogits, batch 500), per backend: native TensorFlow (tfjs-node; the GPU when
// tfjs-node-gpu is installed and a CUDA device is visible) and wasm, a child process each;
// (b) the training input pipeline without the model (gather from shards through
// core/shards/stream.ts openSamples, x/255, pad-and-crop + flip) against native ResNet training:
// it must feed at least as fast as training consumes (ratio >= 1).
//   benchModels(): the rows (bench/run.ts can add them to its table);
//   node --import tsx bench/models.ts            runs it alone and prints the rows;
//   node --import tsx bench/models.ts child <tensorflow|wasm> <trainSteps> <warmupSteps> <inferImages>
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pixelsPerImage, type ImageGeometry } from '../core/image/geometry.js';
import { augmentationFor, preprocessAugmented } from '../core/nn/augment.js';
import { initTfBackend, type BackendPreference } from '../core/nn/backend.js';
import { initialClassifier, trainClassifier, type TrainingData, type TrainingRecipe } from '../core/nn/classifier.js';
import { predictLogits } from '../core/nn/metrics.js';
import { epochOrder } from '../core/nn/shuffle.js';
import { encodePng } from '../core/png.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../core/shards/manifest.js';
import { DecodedShardCache, openSamples } from '../core/shards/stream.js';
import { packShard, sampleKey } from '../core/shards/webdataset.js';
import { openStore } from '../core/storage.js';
import { emitResult, fmt, load1, median, progress, runChild, type Row } from './lib.js';

export const GEOMETRY: ImageGeometry = { size: 32, channels: 3 };
export const CLASSES = 10;
export const BATCH = 128;
const INFER_BATCH = 500;
const MODEL_NAME = 'ResNet-20 (width 16, 0.27M params) at 32x32x3';

/** [backend, train steps per timed run, warm-up steps, inference images per timed run]. */
const BACKENDS: [BackendPreference, number, number, number][] = [
  ['tensorflow', 12, 3, 2000],
  ['wasm', 4, 1, 500],
];

/** Deterministic image bytes with some structure (gradients, a bright box, mild noise), and labels. */
export function syntheticImages(count: number, geometry: ImageGeometry = GEOMETRY, classes = CLASSES): TrainingData & { geometry: ImageGeometry } {
  const { size, channels } = geometry;
  const per = pixelsPerImage(geometry);
  const images = new Uint8Array(count * per);
  const labels = new Uint8Array(count);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels[i] = label;
    const box = 4 + (label % 5) * 3;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const inBox = r >= box && r < box + 10 && c >= box && c < box + 10;
        for (let k = 0; k < channels; k++) images[i * per + (r * size + c) * channels + k] = inBox ? 200 + (next() & 31) : ((r * 5 + c * 3 + k * 40 + i) & 127) + (next() & 15);
      }
    }
  }
  return { images, labels, count, geometry, classCount: classes };
}

export function resnetRecipe(backend: BackendPreference): TrainingRecipe {
  // Plain step throughput: no validation pass, no schedule or decay; epochs 1 so that `count`
  // images are count/128 steps. Augmentation: the ResNet's default (crop 4, flip).
  return {
    ...{ model: 'resnet', hidden: [], resnet: { depth: 20, width: 16 }, epochs: 1, minSteps: 0, batchSize: BATCH, learningRate: 0.001 },
    ...{ schedule: 'constant', weightDecay: 0, validationFraction: 0, patience: 0, checkpointEvery: 1_000_000, shuffleWindow: 16384, backend },
  };
}

interface ResnetResult {
  available: boolean;
  reason?: string;
  backend?: string;
  gpu?: boolean;
  trainImages?: number;
  trainSeconds?: number[];
  trainImgPerSec?: number;
  inferImages?: number;
  inferSeconds?: number[];
  inferImgPerSec?: number;
}

/** The child: training and inference throughput of ResNet-20 on one backend. */
async function child(args: string[]): Promise<void> {
  const [backend, trainSteps, warmupSteps, inferImages] = [args[0] as BackendPreference, Number(args[1]), Number(args[2]), Number(args[3])];
  let active;
  try {
    active = await initTfBackend(backend);
  } catch (err) {
    emitResult({ available: false, reason: (err as Error).message.split('\n')[0] });
    return;
  }
  const trainImages = trainSteps * BATCH;
  const data = syntheticImages(Math.max(trainImages, inferImages));
  const slice = (count: number) => ({ ...data, images: data.images.subarray(0, count * pixelsPerImage(GEOMETRY)), labels: data.labels.subarray(0, count), count });
  const recipe = resnetRecipe(backend);
  await trainClassifier(slice(warmupSteps * BATCH), recipe, { seed: 'warmup' });
  const trainSeconds: number[] = [];
  let trained = initialClassifier([], 0, 'resnet', { geometry: GEOMETRY, classes: CLASSES });
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    trained = (await trainClassifier(slice(trainImages), recipe, { seed: rep })).model;
    trainSeconds.push((performance.now() - t) / 1000);
  }
  await predictLogits(trained, data.images, Math.min(INFER_BATCH, inferImages), { backend, batchSize: INFER_BATCH });
  const inferSeconds: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    await predictLogits(trained, data.images, inferImages, { backend, batchSize: INFER_BATCH });
    inferSeconds.push((performance.now() - t) / 1000);
  }
  emitResult({
    available: true,
    backend: active.backend,
    gpu: active.gpu,
    trainImages,
    trainSeconds,
    trainImgPerSec: trainImages / median(trainSeconds),
    inferImages,
    inferSeconds,
    inferImgPerSec: inferImages / median(inferSeconds),
  } satisfies ResnetResult);
}

interface PipelineResult {
  images: number;
  /** img/s of the first epoch: shards fetched, unpacked and PNG-decoded, then gathered, preprocessed, augmented. */
  coldImgPerSec: number;
  /** img/s of later epochs (shards decoded in the cache). */
  warmImgPerSec: number;
}

/**
 * The training input pipeline alone: `count` images in shards of 256 in a file store, read
 * batch by batch in the trainer's epoch order through openSamples (fresh cache), then
 * preprocessAugmented, for 3 epochs.
 */
export async function measurePipeline(count = 5120): Promise<PipelineResult> {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-bench-models-'));
  try {
    const store = openStore(join(dir, 'store'));
    const data = syntheticImages(count);
    const per = pixelsPerImage(GEOMETRY);
    const records = [];
    for (let s = 0; s * 256 < count; s++) {
      const samples = Array.from({ length: Math.min(256, count - s * 256) }, (_, k) => {
        const i = s * 256 + k;
        return { key: sampleKey(i), png: encodePng(data.images.subarray(i * per, (i + 1) * per), GEOMETRY), meta: { label: data.labels[i]!, className: `c${data.labels[i]}`, source: 'bench', index: i } };
      });
      const put = await store.put(`bench/shard-${s}.tar`, await packShard(samples));
      records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: samples.length, firstIndex: s * 256, failedItems: [] });
    }
    const classes = Array.from({ length: CLASSES }, (_, c) => `c${c}`);
    const manifest: SourceManifest = { format: MANIFEST_FORMAT, source: 'bench', kind: 'synthetic', description: '', classes, geometry: GEOMETRY, totalSamples: count, shards: records };
    await writeManifest(store, 'bench/manifest.json', manifest);
    const stream = openSamples(store, manifest, { count }, new DecodedShardCache(512 * 2 ** 20));
    const augment = augmentationFor('resnet')!;
    const images = new Uint8Array(BATCH * per);
    const labels = new Uint8Array(BATCH);
    const epochSeconds: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      const t = performance.now();
      const order = epochOrder('bench', epoch, count, stream.segments, 16384);
      for (let start = 0; start < count; start += BATCH) {
        const indices = order.subarray(start, Math.min(start + BATCH, count));
        await stream.gather(indices, images, labels);
        preprocessAugmented(images, indices.length, GEOMETRY, augment, 'bench', epoch, indices);
      }
      epochSeconds.push((performance.now() - t) / 1000);
    }
    return { images: count, coldImgPerSec: count / epochSeconds[0]!, warmImgPerSec: count / median(epochSeconds.slice(1)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The ResNet rows (see the file comment). */
export async function benchModels(): Promise<Row[]> {
  const rows: Row[] = [];
  const results: Record<string, ResnetResult> = {};
  for (const [backend, steps, warmup, infer] of BACKENDS) {
    progress(`models: ${MODEL_NAME} on ${backend}: train ${steps} steps x ${BATCH} (x3 after ${warmup}-step warm-up), infer ${infer} images (x3)`);
    const out = await runChild<ResnetResult>('models.ts', ['child', backend, String(steps), String(warmup), String(infer)], { timeoutMs: 600_000 });
    const r: ResnetResult = out.ok && out.result ? out.result : { available: false, reason: `${out.error}: ${out.stderrTail.slice(-300)}` };
    results[backend] = r;
    if (!r.available) {
      rows.push({ section: 'models', measurement: `${MODEL_NAME} training, ${backend} backend`, value: Number.NaN, unit: 'img/s', bound: '1/3 of inference img/s', boundValue: Number.NaN, boundUnit: 'img/s', ratio: Number.NaN, note: `not available: ${r.reason}`, load1: load1() });
      continue;
    }
    const bound = r.inferImgPerSec! / 3;
    const device = r.backend === 'tensorflow' ? (r.gpu ? 'native TensorFlow on the GPU' : 'native TensorFlow (CPU)') : `${r.backend} backend`;
    rows.push({
      section: 'models',
      measurement: `${MODEL_NAME} training (trainClassifier, batch ${BATCH}, Adam, crop 4 + flip), ${device}`,
      value: r.trainImgPerSec!,
      unit: 'img/s',
      bound: `1/3 of inference img/s (predictLogits, batch ${INFER_BATCH}, same backend and model): forward + backward ~ 3 forwards; target ratio >= 0.8`,
      boundValue: bound,
      boundUnit: 'img/s',
      ratio: r.trainImgPerSec! / bound,
      note: `${r.trainImages} images (${r.trainImages! / BATCH} steps) per timed run, whole trainClassifier call; inference ${fmt(r.inferImgPerSec!)} img/s on ${r.inferImages} images`,
      load1: load1(),
      samples: r.trainSeconds!.map((s) => r.trainImages! / s),
      boundSamples: r.inferSeconds!.map((s) => r.inferImages! / s / 3),
    });
    progress(`models: ${backend}: train ${fmt(r.trainImgPerSec!)} img/s, inference ${fmt(r.inferImgPerSec!)} img/s`);
  }
  progress('models: input pipeline (shards -> gather -> x/255 -> crop + flip), 5120 images x 3 epochs');
  const pipeline = await measurePipeline();
  const native = results.tensorflow;
  const training = native?.available ? native.trainImgPerSec! : Number.NaN;
  for (const [what, value] of [['first epoch: shards fetched, unpacked and PNG-decoded', pipeline.coldImgPerSec], ['later epochs: shards decoded in the cache', pipeline.warmImgPerSec]] as const) {
    rows.push({
      section: 'models',
      measurement: `training input pipeline at 32x32x3 (openSamples gather, preprocess, crop 4 + flip; no model), ${what}`,
      value,
      unit: 'img/s',
      bound: `${MODEL_NAME} training img/s on native TensorFlow${native?.gpu ? ' (GPU)' : ' (CPU)'}: the pipeline must feed at least that (ratio >= 1)`,
      boundValue: training,
      boundUnit: 'img/s',
      ratio: value / training,
      note: `${pipeline.images} images in shards of 256 (file store), batches of ${BATCH} in the trainer's epoch order; one thread, as in the trainer (the batch is loaded before each step)`,
      load1: load1(),
    });
  }
  progress(`models: pipeline ${fmt(pipeline.coldImgPerSec)} img/s cold, ${fmt(pipeline.warmImgPerSec)} img/s warm`);
  return rows;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === 'child') {
  await child(process.argv.slice(3));
} else if (isMain) {
  const rows = await benchModels();
  for (const r of rows) console.log(`${r.measurement}: ${fmt(r.value)} ${r.unit} | bound ${fmt(r.boundValue)} ${r.boundUnit} | ratio ${fmt(r.ratio, 2)} | ${r.note}`);
}
