// CLIP training: the learned, clipped temperature, bit-exact resume from checkpoints (both Adam
// placements, windowed shuffle), run-fingerprint checks, that it learns (zero-shot accuracy and a
// linear probe on real Fashion-MNIST after a short run on captioned real images), and the fair
// recipe's validation loss (InfoNCE of the held-out pairs) with resume under early stopping.
// Run: node --import tsx --test test/clip-train.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES, loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { createRng } from '../../../core/rng.js';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { CheckpointMismatchError, type Checkpoint } from '../../../core/nn/classifier.js';
import { DEFAULT_CLASS_SYNONYMS } from '../../../core/text/text-condition.js';
import { buildVocabulary, type Vocabulary } from '../../../activities/clip/tokenizer.js';
import { LOGIT_SCALE_INIT, LOGIT_SCALE_MAX, type SerializedClip } from '../../../activities/clip/model.js';
import { decodeClipCheckpoint, deserializeClip, serializeClip } from '../../../activities/clip/checkpoint.js';
import {
  ClipTrainingSchema,
  clipDataFromCaptions,
  createClipAdam,
  trainClip,
  type ClipRecipe,
  type ClipTrainingData,
  type ClipTrainingStream,
} from '../../../activities/clip/train.js';
import { evaluateZeroShot } from '../../../activities/clip/zero-shot.js';
import { linearProbe } from '../../../activities/clip/probe.js';
import { encodeImages, encodeTexts } from '../../../activities/clip/inference.js';
import { clipLossReference } from '../../../activities/clip/loss.js';

let tf: Tf;
let train: ImageSet;
let testSet: ImageSet;

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
  const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'));
  [train, testSet] = await Promise.all([loadSplit(dir, 'train'), loadSplit(dir, 'test')]);
});

const subset = (set: ImageSet, count: number): ImageSet => ({ images: set.images.subarray(0, count * 784), labels: set.labels.subarray(0, count), count, geometry: set.geometry });

const TEMPLATES = ['a photo of a {}', 'a {}', 'a picture of the {}', 'a photo of the {}', 'an image of a {}'];

/** One simple caption per image: a template around the class name or one of three synonyms. */
function captionsFor(labels: Uint8Array, count: number, seed: string): string[] {
  const rng = createRng(`captions|${seed}`);
  return Array.from({ length: count }, (_, i) => {
    const cls = FASHION_MNIST_CLASSES[labels[i]!]!;
    const names = [cls, ...(DEFAULT_CLASS_SYNONYMS[cls] ?? []).slice(0, 3)];
    return TEMPLATES[rng.int(TEMPLATES.length)]!.replace('{}', names[rng.int(names.length)]!);
  });
}

function pairs(count: number, maxTokens: number): ClipTrainingData {
  const captions = captionsFor(train.labels, count, 'train');
  return clipDataFromCaptions(train.images, captions, buildVocabulary(captions), maxTokens);
}

/** The plain loop (no schedule, decay or validation) unless a test asks for the fair recipe. */
const PLAIN = { schedule: 'constant', weightDecay: 0, validationFraction: 0, patience: 0 } as const;

function recipe(overrides: Partial<ClipRecipe>): ClipRecipe {
  const { schedule, weightDecay, validationFraction, patience, ...spec } = { ...PLAIN, ...overrides };
  const base = ClipTrainingSchema.parse({ hidden: [16], embedDim: 8, tokenWidth: 8, maxTokens: 8, epochs: 1, minSteps: 0, batchSize: 32, backend: 'wasm', ...spec });
  return { ...base, schedule, weightDecay, validationFraction, patience };
}

function assertSameBits(a: SerializedClip, b: SerializedClip, message: string) {
  assert.equal(a.weights.length, b.weights.length);
  a.weights.forEach((w, i) => {
    const x = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    const y = Buffer.from(b.weights[i]!.buffer, b.weights[i]!.byteOffset, b.weights[i]!.byteLength);
    assert.ok(x.equals(y), `${message}: weight ${i} differs`);
  });
}

/** The same pairs read through the streaming interface, in 3 shards (so the windowed shuffle runs). */
function asShardedStream(data: ClipTrainingData): ClipTrainingStream {
  const third = Math.floor(data.count / 3);
  return {
    count: data.count,
    segments: [third, third, data.count - 2 * third],
    maxTokens: data.maxTokens,
    vocabulary: data.vocabulary,
    gather(indices, images, tokens) {
      for (let i = 0; i < indices.length; i++) {
        const k = indices[i]!;
        images.set(data.images.subarray(k * 784, (k + 1) * 784), i * 784);
        tokens.set(data.tokens.subarray(k * data.maxTokens, (k + 1) * data.maxTokens), i * data.maxTokens);
      }
    },
  };
}

describe('temperature', () => {
  test('logitScale is clipped to [0, ln 100] after every step, on both Adam placements', () => {
    for (const placement of ['device', 'host'] as const) {
      for (const [start, grad, expected] of [
        [10, 0, Math.fround(LOGIT_SCALE_MAX)], // set above ln 100: clipped by the next step
        [-3, 0, 0],
        [4.5, -1e6, Math.fround(LOGIT_SCALE_MAX)], // a huge push upwards (lr 1 moves it by ~1)
        [0.5, 1e6, 0],
      ] as const) {
        const shapes = [[2], []];
        const init = { weights: [Float32Array.of(1, 2), Float32Array.of(start)], m: [new Float32Array(2), new Float32Array(1)], v: [new Float32Array(2), new Float32Array(1)] };
        const adam = createClipAdam(placement, shapes, init, 1);
        try {
          tf.tidy(() => adam.apply([tf.tensor1d([0.1, -0.1]), tf.scalar(grad)], 1));
          assert.equal(adam.logitScale(), expected, `${placement}: ${start} with gradient ${grad}`);
          assert.equal(adam.state().weights[1]![0], expected, `${placement}: the state holds the clipped value`);
          const w = adam.state().weights[0]!;
          assert.ok(Math.abs(w[0]! - 0) < 1e-5 && Math.abs(w[1]! - 3) < 1e-5, `${placement}: the other weights take a plain Adam step (${w})`);
        } finally {
          adam.dispose();
        }
      }
    }
  });

  test('with a huge learning rate training keeps logitScale within the clip range', async () => {
    const seen: number[] = [];
    const result = await trainClip(pairs(320, 8), recipe({ learningRate: 1, epochs: 2 }), { seed: 3, yieldEveryMs: 0, onProgress: (p) => seen.push(p.logitScale) });
    assert.equal(seen.length, 20);
    for (const s of seen) assert.ok(s >= 0 && s <= Math.fround(LOGIT_SCALE_MAX), `logitScale ${s}`);
    assert.ok(seen.some((s) => s === 0 || s === Math.fround(LOGIT_SCALE_MAX)), `some step hits a bound: ${seen.map((s) => s.toFixed(2))}`);
    assert.equal(result.model.weights.at(-1)![0], seen.at(-1));
  });
});

describe('checkpoints', () => {
  for (const placement of ['device', 'host'] as const) {
    test(`resuming reproduces an uninterrupted run bit for bit (${placement} Adam, windowed shuffle)`, async () => {
      const saved = process.env.SYNTHSCALE_ADAM;
      process.env.SYNTHSCALE_ADAM = placement;
      try {
        const data = asShardedStream(pairs(300, 8));
        const r = recipe({ epochs: 2, checkpointEvery: 7, shuffleWindow: 150 }); // 10 steps per epoch
        const checkpoints: Checkpoint[] = [];
        const full = await trainClip(data, r, { seed: 11, onCheckpoint: async (c) => void checkpoints.push(c) });
        assert.equal(full.steps, 20);
        assert.deepEqual(checkpoints.map((c) => c.step), [7, 14, 20]);
        assert.notEqual(full.model.weights.at(-1)![0], Math.fround(LOGIT_SCALE_INIT), 'the temperature is learned');

        const again = await trainClip(data, r, { seed: 11 });
        assertSameBits(again.model, full.model, 'same seed');
        const other = await trainClip(data, r, { seed: 12 });
        assert.ok(!Buffer.from(other.model.weights[0]!.buffer).equals(Buffer.from(full.model.weights[0]!.buffer)), 'another seed differs');

        // Interrupted at step 14 (the abort lands in onCheckpoint), then resumed from what was saved.
        const controller = new AbortController();
        let stored = null as Checkpoint | null;
        await assert.rejects(
          trainClip(data, r, {
            seed: 11,
            signal: controller.signal,
            onCheckpoint: async (c) => {
              stored = c;
              if (c.step === 14) controller.abort();
            },
          }),
          { name: 'AbortError' },
        );
        assert.equal(stored!.step, 14);
        const last: Checkpoint[] = [];
        const resumed = await trainClip(data, r, { seed: 11, resume: stored, onCheckpoint: async (c) => void last.push(c) });
        assert.equal(resumed.resumedFromStep, 14);
        assertSameBits(resumed.model, full.model, 'resumed at 14');
        assert.ok(Buffer.from(last.at(-1)!.bytes).equals(Buffer.from(checkpoints.at(-1)!.bytes)), 'final checkpoints (weights and Adam state) are byte-identical');
        assert.equal(resumed.finalLoss, full.finalLoss);

        const fromFirst = await trainClip(data, r, { seed: 11, resume: checkpoints[0] });
        assertSameBits(fromFirst.model, full.model, 'resumed at 7');
        const done = await trainClip(data, r, { seed: 11, resume: checkpoints.at(-1) });
        assert.equal(done.steps, 20);
        assertSameBits(done.model, full.model, 'a finished checkpoint');
      } finally {
        if (saved === undefined) delete process.env.SYNTHSCALE_ADAM;
        else process.env.SYNTHSCALE_ADAM = saved;
      }
    });
  }

  test('a checkpoint of another run is refused; its contents decode', async () => {
    const data = pairs(100, 8);
    const r = recipe({ checkpointEvery: 2 });
    let first = null as Checkpoint | null;
    await trainClip(data, r, { seed: 1, onCheckpoint: async (c) => void (first ??= c) });
    const state = decodeClipCheckpoint(first!.bytes);
    assert.equal(state.step, 2);
    assert.equal(state.adam.iteration, 2);
    assert.equal(state.run.count, 100);
    assert.deepEqual(state.model.vocabulary.tokens, data.vocabulary.tokens);
    await assert.rejects(trainClip(data, { ...r, learningRate: 0.01 }, { seed: 1, resume: first }), CheckpointMismatchError);
    await assert.rejects(trainClip(data, r, { seed: 2, resume: first }), CheckpointMismatchError);
    const otherVocabulary: Vocabulary = buildVocabulary(['completely different words']);
    const retokenized = clipDataFromCaptions(data.images, captionsFor(train.labels, 100, 'train'), otherVocabulary, 8);
    await assert.rejects(trainClip(retokenized, r, { seed: 1, resume: first }), CheckpointMismatchError);
    await assert.rejects(trainClip(data, r, { seed: 1, resume: { ...first!, step: 3 } }), CheckpointMismatchError);
  });
});

describe('learning', () => {
  test('a short run on 2000 captioned real images zero-shot classifies the real test split well above chance', async (t) => {
    const count = 2000;
    const data = pairs(count, 16);
    const r = ClipTrainingSchema.parse({ hidden: [128], maxTokens: 16, batchSize: 128, epochs: 5, minSteps: 0, learningRate: 0.002, backend: 'wasm' });
    const started = performance.now();
    const result = await trainClip(data, r, { seed: 1 });
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`trained ${result.steps} steps (${count * r.epochs} pairs) in ${seconds.toFixed(2)} s: ${((count * r.epochs) / seconds).toFixed(0)} img/s on wasm; final loss ${result.finalLoss.toFixed(3)}`);
    const model = deserializeClip(serializeClip(result.model));
    const logitScale = model.weights.at(-1)![0]!;
    assert.ok(Math.abs(logitScale - LOGIT_SCALE_INIT) > 1e-3, `the temperature moved (${logitScale})`);

    const test1000 = subset(testSet, 1000);
    const zs = await evaluateZeroShot(model, test1000, FASHION_MNIST_CLASSES, { backend: 'wasm' });
    t.diagnostic(
      `zero-shot on 1000 real test images: single template top-1 ${zs.single.accuracy.toFixed(3)} loss ${zs.single.loss.toFixed(3)}; ` +
        `80-template ensemble top-1 ${zs.ensemble.accuracy.toFixed(3)} loss ${zs.ensemble.loss.toFixed(3)}; logitScale ${logitScale.toFixed(3)}`,
    );
    assert.equal(zs.ensemble.templates, 80);
    assert.ok(zs.single.accuracy > 0.4, `single-template zero-shot accuracy ${zs.single.accuracy}`);
    assert.ok(zs.ensemble.accuracy > 0.4, `ensemble zero-shot accuracy ${zs.ensemble.accuracy}`);
    assert.ok(zs.single.loss < Math.log(10), `zero-shot loss ${zs.single.loss} beats chance (ln 10)`);

    const probe = await linearProbe(model, train, test1000, { backend: 'wasm', trainCount: 1000 });
    t.diagnostic(`linear probe (first 1000 train images, ${probe.features} features): test top-1 ${probe.accuracy.toFixed(3)} loss ${probe.loss.toFixed(3)}, train top-1 ${probe.trainAccuracy.toFixed(3)}`);
    assert.ok(probe.accuracy > 0.7, `linear probe accuracy ${probe.accuracy}`);
  });
});

describe('fair recipe', () => {
  test('the validation loss is the InfoNCE of the held-out pairs (in chunks of the batch); a resumed run ends bit for bit the same', async () => {
    const count = 300;
    const captions = captionsFor(train.labels, count, 'train');
    const data = pairs(count, 8);
    const r = recipe({ epochs: 20, batchSize: 32, learningRate: 0.02, schedule: 'cosine', weightDecay: 0.001, validationFraction: 0.2, patience: 2, checkpointEvery: 5 });
    const full: Checkpoint[] = [];
    const result = await trainClip(data, r, { seed: 5, onCheckpoint: async (c) => void full.push(c) });
    assert.equal(result.trainCount, 240);
    assert.equal(result.plannedSteps, 20 * Math.ceil(240 / 32));
    assert.ok(result.stoppedEarly && result.stoppedEpoch === result.bestEpoch + 2, `stopped at ${result.stoppedEpoch}, best ${result.bestEpoch}`);

    // The held-out pairs through the returned model's towers, InfoNCE in float64 per chunk of 32.
    const held = Array.from(result.validationIndices);
    const images = new Uint8Array(held.length * 784);
    held.forEach((row, i) => images.set(train.images.subarray(row * 784, (row + 1) * 784), i * 784));
    const E = result.model.config.embedDim;
    const imageEmb = await encodeImages(result.model, images, held.length, { backend: 'wasm' });
    const textEmb = await encodeTexts(result.model, held.map((row) => captions[row]!), { backend: 'wasm' });
    const rowsOf = (emb: Float32Array, from: number, to: number) => Array.from({ length: to - from }, (_, i) => Array.from(emb.subarray((from + i) * E, (from + i + 1) * E)));
    let sum = 0;
    for (let start = 0; start < held.length; start += 32) {
      const end = Math.min(start + 32, held.length);
      sum += (end - start) * clipLossReference(rowsOf(imageEmb, start, end), rowsOf(textEmb, start, end), result.model.weights.at(-1)![0]!);
    }
    assert.ok(Math.abs(sum / held.length - result.bestValidationLoss!) < 1e-4, `reference ${sum / held.length} vs the loop's ${result.bestValidationLoss}`);

    // A checkpoint after the best epoch, before the stop: early stopping's state mid-count.
    const from = full.find((c) => {
      const early = decodeClipCheckpoint(c.bytes).early;
      return early.bestEpoch > 0 && early.epochsSinceBest > 0 && early.stoppedEpoch === 0;
    });
    assert.ok(from);
    const resumed = await trainClip(data, r, { seed: 5, resume: from });
    assertSameBits(resumed.model, result.model, `resumed at ${from.step}`);
    assert.equal(resumed.bestValidationLoss, result.bestValidationLoss);
    assert.equal(resumed.stoppedEpoch, result.stoppedEpoch);
  });
});
