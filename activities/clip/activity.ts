// CLIP stage (train queue): one CLIP model per (source, N, seed) cell, trained on image-caption
// pairs, then zero-shot evaluation on the real test split (clean or under an OOD shift).
//
// Pairs: a synthetic sample's text is the prompt it was generated from; a real sample's text is
// its seeded caption (captioner.ts, seed = the sweep's generation seed), so a `real-captions`
// synthetic source pairs its images with exactly the real images' captions (the paper's setup).
// Like classifier cells, outputs are content-addressed (cells/clip-<hash>/...), a cell reads its
// window of each manifest and records it in items.json, training checkpoints and resumes, and a
// finished cell is a cache hit. The image tower reads the manifest's geometry; zero-shot prompts
// name the eval input's classes and the linear probe trains on the sweep's dataset (both
// Fashion-MNIST's when the input does not say).
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { MalformedImageError } from '../../core/png.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { FASHION_MNIST_CLASSES } from '../../core/datasets/fashion-mnist.js';
import { imageRows, type ImageSet } from '../../core/datasets/image-set.js';
import { FASHION_MNIST_GEOMETRY, type ImageGeometry } from '../../core/image/geometry.js';
import { recordWork } from '../../core/work-ledger.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { balancedOrder } from '../../core/datasets/balanced-order.js';
import { linearProbe } from './probe.js';
import { loadEvalImages } from '../../core/datasets/eval-images.js';
import { readManifest } from '../../core/shards/manifest.js';
import { concatStreams, openSamples, type SampleStream } from '../../core/shards/stream.js';
import { ShardFormatError } from '../../core/shards/webdataset.js';
import { CELL_ITEMS_FILE, cellItems, cellParts, trainingSummary, type TrainingSummary } from '../../core/nn/cell-record.js';
import { storedCheckpoint, trainResumable } from '../../core/nn/resumable.js';
import { prepareCaptioner } from '../../core/text/captioner.js';
import { clipCheckpointFromBytes, deserializeClip, serializeClip } from './checkpoint.js';
import { buildVocabulary, encode, type Vocabulary } from './tokenizer.js';
import { trainClip, type ClipRecipe, type ClipTrainingStream, type ClipTrainOptions } from './train.js';
import { evaluateZeroShot } from './zero-shot.js';
export type { ClipCellInput, ClipCellOutput, ClipEvalInput, ClipEvalResult, ClipEvalOutput } from '../../contracts/cells.js';
export { CLIP_TRAIN_CODE_VERSION, CLIP_EVAL_CODE_VERSION, clipCellKey, clipEvalKey } from '../../contracts/cells.js';
import type { ClipCellInput, ClipCellOutput, ClipEvalInput, ClipEvalResult, ClipEvalOutput } from '../../contracts/cells.js';
import { clipCellKey, clipEvalKey } from '../../contracts/cells.js';

/** The probe's fixed real subset: the first 1000 training images in class-balanced order (seed 0): 100 per class of 10. */
export const PROBE_TRAIN_IMAGES = 1000;

export interface ClipTrainRecord extends TrainingSummary {
  steps: number;
  seconds: number;
  backend: string;
  resumedFromStep: number;
  attempt: number;
  vocabularySize: number;
  finalLogitScale?: number;
}

/** The probe's training images (see PROBE_TRAIN_IMAGES) of each dataset (fingerprint; '' for Fashion-MNIST), built once per process. */
const probeSets = new Map<string, Promise<ImageSet>>();
function probeTrainSet(deps: ActivityDeps, dataset: string | undefined, classCount: number): Promise<ImageSet> {
  const key = `${dataset ?? ''}|${classCount}`;
  let set = probeSets.get(key);
  if (!set) {
    set = (async () => {
      const train = await loadDatasetSplit(deps, dataset, 'train');
      return imageRows(train, balancedOrder(train.labels, classCount, 0).slice(0, PROBE_TRAIN_IMAGES));
    })();
    probeSets.set(key, set);
    set.catch(() => probeSets.delete(key));
  }
  return set;
}

/** Image-caption pairs over a sample stream: tokens from each sample's text. */
async function pairStream(data: SampleStream, classes: readonly string[], geometry: ImageGeometry, captionSeed: number, recipe: ClipRecipe): Promise<ClipTrainingStream> {
  const captioner = await prepareCaptioner(classes, { seed: captionSeed });
  const textOf = (s: { label: number; index: number; prompt: string | null }) => s.prompt ?? captioner.captionFor(s.label, s.index);
  // The vocabulary comes from this cell's own captions (all N), in chunks to bound memory.
  const corpus: string[] = [];
  const chunk = 4096;
  for (let start = 0; start < data.count; start += chunk) {
    const ids = Array.from({ length: Math.min(chunk, data.count - start) }, (_, i) => start + i);
    corpus.push(...(await data.gatherTexts(ids, textOf)));
  }
  const vocabulary: Vocabulary = buildVocabulary(corpus, { maxSize: recipe.maxVocabulary, minCount: recipe.minTokenCount });
  const labels = new Uint8Array(0);
  return {
    count: data.count,
    segments: data.segments,
    maxTokens: recipe.maxTokens,
    vocabulary,
    geometry,
    async gather(indices, images, tokens) {
      const scratchLabels = labels.length >= indices.length ? labels : new Uint8Array(indices.length);
      await data.gather(indices, images, scratchLabels);
      const texts = await data.gatherTexts(indices, textOf);
      texts.forEach((text, i) => tokens.set(encode(vocabulary, text, recipe.maxTokens), i * recipe.maxTokens));
    },
  };
}

export function createClipActivities(deps: ActivityDeps) {
  return {
    trainClipCell: (input: ClipCellInput): Promise<ClipCellOutput> => trainClipCell(deps, input),
    evaluateClip: (input: ClipEvalInput): Promise<ClipEvalOutput> => evaluateClip(deps, input),
  };
}

async function trainClipCell(deps: ActivityDeps, input: ClipCellInput): Promise<ClipCellOutput> {
  const started = Date.now();
  const head = async (uri: string) => {
    const h = await deps.store.head(deps.store.keyOf(uri));
    if (!h) throw new Error(`${uri} does not exist`);
    return h.sha256;
  };
  const mixShas = await Promise.all((input.mix ?? []).map((m) => head(m.manifestUri)));
  const prefix = clipCellKey(await head(input.manifestUri), input, mixShas);
  const modelKey = `${prefix}/model.bin`;
  const recordKey = `${prefix}/train.json`;
  const attempt = activityInfo().attempt;
  if ((await hasValidObject(deps.store, recordKey)) && (await hasValidObject(deps.store, modelKey))) {
    const record = await getJson<ClipTrainRecord>(deps.store, recordKey);
    return { cellPrefix: prefix, modelUri: deps.store.uri(modelKey), ...record, stepsRun: 0, attempt, cached: true };
  }
  const manifest = await readManifest(deps.store, input.manifestUri);
  const [main, ...mix] = cellParts(input);
  const parts = [openSamples(deps.store, manifest, main!)];
  for (const m of mix) parts.push(openSamples(deps.store, await readManifest(deps.store, m.manifestUri), m));
  const malformed = (err: unknown) => {
    if (err instanceof ShardFormatError || err instanceof MalformedImageError) {
      throw ApplicationFailure.nonRetryable((err as Error).message, FAILURE_TYPES.malformedImage);
    }
    throw err;
  };
  const geometry = manifest.geometry ?? FASHION_MNIST_GEOMETRY;
  const data = await pairStream(concatStreams(parts), manifest.classes, geometry, input.captionSeed, input.recipe).catch(malformed);
  const { result, lastLogitScale } = await trainClipResumable(deps, input, data, prefix).catch(malformed);
  const put = await deps.store.put(modelKey, serializeClip(result.model));
  await putJson(deps.store, `${prefix}/${CELL_ITEMS_FILE}`, cellItems(input, result.validationIndices));
  const record: ClipTrainRecord = {
    steps: result.steps,
    seconds: (Date.now() - started) / 1000,
    backend: result.backend,
    resumedFromStep: result.resumedFromStep,
    attempt,
    vocabularySize: data.vocabulary.tokens.length,
    ...(lastLogitScale === undefined ? {} : { finalLogitScale: lastLogitScale }),
    ...trainingSummary(result),
  };
  await putJson(deps.store, recordKey, record);
  return { cellPrefix: prefix, modelUri: put.uri, ...record, stepsRun: result.steps - result.resumedFromStep, attempt, cached: false };
}

/** Trains the cell's CLIP model from its stored checkpoint, if any, writing checkpoints as it goes. */
async function trainClipResumable(deps: ActivityDeps, input: ClipCellInput, data: ClipTrainingStream, prefix: string) {
  const checkpointKey = `${prefix}/checkpoint.bin`;
  const attempt = activityInfo().attempt;
  const resume = await storedCheckpoint(deps.store, checkpointKey, clipCheckpointFromBytes, {
    onCorrupt: (m) => log.warn('ignoring corrupt clip checkpoint', { reason: m }),
    onUnreadable: (m) => log.warn('ignoring unreadable clip checkpoint', { reason: m }),
  });
  let lastLogitScale: number | undefined;
  const result = await trainResumable({
    resume,
    seed: input.seed,
    signal: cancellationSignal(),
    train: (opts: ClipTrainOptions) => trainClip(data, input.recipe, opts),
    saveCheckpoint: (checkpoint) => deps.store.put(checkpointKey, checkpoint.bytes),
    onProgress: (p) => {
      lastLogitScale = p.logitScale;
      heartbeat({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: Number(p.loss.toFixed(4)), logitScale: Number(p.logitScale.toFixed(3)) });
    },
    onMismatch: (reason) => log.warn('clip checkpoint belongs to another run; training from scratch', { reason }),
    onSteps: (from, to) => recordWork({ kind: 'train-steps', key: prefix, from, to, attempt }),
  });
  return { result, lastLogitScale };
}

async function evaluateClip(deps: ActivityDeps, input: ClipEvalInput): Promise<ClipEvalOutput> {
  const modelKey = deps.store.keyOf(input.modelUri);
  const modelHead = await deps.store.head(modelKey);
  if (!modelHead) throw new Error(`${input.modelUri} does not exist`);
  const key = clipEvalKey(modelKey, modelHead.sha256, input.evalSet, input.split, input.shift);
  const attempt = activityInfo().attempt;
  if (await hasValidObject(deps.store, key)) return { ...(await getJson<ClipEvalResult>(deps.store, key)), resultUri: deps.store.uri(key), cached: true, attempt };
  const model = deserializeClip(await deps.store.get(modelKey, { maxBytes: 1024 * 1024 * 1024 }));
  const test = await loadEvalImages(deps, input);
  const classNames = input.classes ?? [...FASHION_MNIST_CLASSES];
  heartbeat({ phase: 'zero-shot', images: test.count });
  const report = await evaluateZeroShot(model, test, classNames);
  let probe: ClipEvalResult['probe'];
  if (!input.shift) {
    heartbeat({ phase: 'linear-probe', trainImages: PROBE_TRAIN_IMAGES });
    const probeTrain = await probeTrainSet(deps, input.trainDataset, classNames.length);
    const fitted = await linearProbe(model, probeTrain, test, { trainCount: PROBE_TRAIN_IMAGES, classes: classNames.length, signal: cancellationSignal() });
    probe = { loss: fitted.loss, accuracy: fitted.accuracy, trainImages: fitted.trainCount, trainAccuracy: fitted.trainAccuracy, features: fitted.features };
  }
  const result: ClipEvalResult = {
    loss: report.ensemble.loss,
    accuracy: report.ensemble.accuracy,
    ece: report.ensemble.ece,
    perClassAccuracy: report.ensemble.perClassAccuracy,
    single: { loss: report.single.loss, accuracy: report.single.accuracy },
    ensemble: { loss: report.ensemble.loss, accuracy: report.ensemble.accuracy },
    logitScale: report.logitScale,
    ...(probe ? { probe } : {}),
  };
  await putJson(deps.store, key, result);
  return { ...result, resultUri: deps.store.uri(key), cached: false, attempt };
}
