// CLIP's image tower at any geometry, through the model registry: an RGB cnn or ResNet tower
// trains on coloured-shape captions, records its geometry (and a ResNet's batch norm state) in
// its formats, resumes bit for bit, refuses images of another geometry, and zero-shot classifies
// held-out images by class names; a 28x28 grey model's config is what it was before geometries.
// Run: node --import tsx --test test/activities/clip/geometry.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend } from '../../../core/nn/backend.js';
import type { Checkpoint } from '../../../core/nn/classifier.js';
import { decodeClipCheckpoint, deserializeClip, serializeClip } from '../../../activities/clip/checkpoint.js';
import { encodeImages } from '../../../activities/clip/inference.js';
import { initialClip, type SerializedClip } from '../../../activities/clip/model.js';
import { buildVocabulary } from '../../../activities/clip/tokenizer.js';
import { ClipTrainingSchema, clipDataFromCaptions, trainClip, type ClipRecipe } from '../../../activities/clip/train.js';
import { evaluateZeroShot } from '../../../activities/clip/zero-shot.js';
import { rgbShapes, SHAPE_CLASSES } from '../../core/nn/rgb-shapes.js';

before(async () => {
  await initTfBackend('wasm');
});

const set = rgbShapes(400, 'clip', 16);
const captions = Array.from(set.labels, (label, i) => `${i % 2 ? 'a photo of a' : 'a'} ${SHAPE_CLASSES[label]}`);
const vocabulary = buildVocabulary(captions);
const data = clipDataFromCaptions(set.images, captions, vocabulary, 6, set.geometry);

function recipe(overrides: Partial<ClipRecipe>): ClipRecipe {
  const { schedule = 'cosine', weightDecay = 0, validationFraction = 0, patience = 0, resnet, ...spec } = overrides;
  const base = ClipTrainingSchema.parse({ arch: 'cnn', hidden: [16], embedDim: 8, tokenWidth: 8, maxTokens: 6, epochs: 1, minSteps: 0, batchSize: 40, learningRate: 0.003, backend: 'wasm', ...spec });
  return { ...base, schedule, weightDecay, validationFraction, patience, ...(resnet ? { resnet } : {}) };
}

const allFloats = (m: SerializedClip) => [...m.weights, ...(m.state ?? [])];

describe('CLIP image tower at 16x16x3', () => {
  test('a ResNet tower: geometry and batch norm state in its formats, exact resume', async () => {
    const r = recipe({ arch: 'resnet', resnet: { depth: 8, width: 4 }, epochs: 3, checkpointEvery: 4, validationFraction: 0.1 }); // 360 train: 9 steps/epoch
    const checkpoints: Checkpoint[] = [];
    const full = await trainClip(data, r, { seed: 'clip-resnet', onCheckpoint: async (c) => void checkpoints.push(c) });
    const model = full.model;
    assert.deepEqual(model.config.geometry, { size: 16, channels: 3 });
    assert.deepEqual(model.config.resnet, { depth: 8, width: 4 });
    assert.deepEqual(model.config.hidden, []);
    assert.equal(model.state!.length, 14);
    const initial = initialClip(model.config, vocabulary, 'clip-resnet');
    assert.ok(model.state!.some((s, i) => s.some((v, j) => v !== initial.state![i]![j])), 'training moved the running statistics');
    const bytes = serializeClip(model);
    assert.deepEqual(deserializeClip(bytes), model);
    const resumed = await trainClip(data, r, { seed: 'clip-resnet', resume: checkpoints[3]! });
    assert.equal(resumed.resumedFromStep, 16);
    const [a, b] = [allFloats(resumed.model), allFloats(model)];
    assert.equal(a.length, b.length);
    a.forEach((w, i) => assert.ok(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength)), `array ${i} differs`));
    assert.deepEqual(decodeClipCheckpoint(checkpoints[0]!.bytes).run.geometry, { size: 16, channels: 3 });
    await assert.rejects(encodeImages(model, new Uint8Array(784), 1, { geometry: { size: 28, channels: 1 } }), /28x28x1, the model reads 16x16x3/);
  });

  test('a cnn tower learns: zero-shot accuracy on held-out shapes far above chance', async () => {
    const started = performance.now();
    const { model, steps } = await trainClip(data, recipe({ minSteps: 120 }), { seed: 'clip-cnn' });
    const held = rgbShapes(200, 'clip-held-out', 16);
    const report = await evaluateZeroShot(model, held, [...SHAPE_CLASSES], { templates: ['a {}', 'a photo of a {}'], backend: 'wasm' });
    console.log(`  [clip cnn tower, 16x16x3, ${steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s] zero-shot accuracy ${report.ensemble.accuracy.toFixed(3)} (chance 0.25)`);
    assert.ok(report.ensemble.accuracy > 0.6, `zero-shot accuracy ${report.ensemble.accuracy}`);
  });

  test("a 28x28 grey tower's config and header carry no geometry (bytes as before geometries)", () => {
    const model = initialClip(recipe({}), vocabulary, 's');
    assert.deepEqual(Object.keys(model.config), ['arch', 'hidden', 'embedDim', 'tokenWidth', 'maxTokens', 'vocabSize']);
    assert.equal(model.state, undefined);
    const bytes = serializeClip(model);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer).getUint32(4, true))));
    assert.deepEqual(Object.keys(header), ['format', 'config', 'shapes', 'vocabulary', 'preprocessing', 'tokenizer']);
  });
});
