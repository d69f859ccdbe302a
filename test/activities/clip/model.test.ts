// CLIP model pieces: tokenizer, the symmetric InfoNCE loss (against a direct float64
// computation, and its gradient against finite differences), the text tower's pooling, zero-shot
// classification of constructed embeddings, and the model container's validation.
// Run: node --import tsx --test test/clip-model.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { CorruptModelError } from '../../../core/nn/classifier.js';
import {
  buildVocabulary,
  captionTokens,
  decode,
  encode,
  encodeAll,
  MAX_TEXT_CHARS,
  PAD_ID,
  UNK_ID,
  vocabularyDigest,
  VocabularyError,
  vocabularyFromJSON,
  vocabularyToJSON,
} from '../../../activities/clip/tokenizer.js';
import { clipLayout, clipShapes, initialClip, LOGIT_SCALE_INIT, type ClipConfig } from '../../../activities/clip/model.js';
import { clipLoss, clipLossReference } from '../../../activities/clip/loss.js';
import { embedImages, embedTexts, tokenBag } from '../../../activities/clip/towers.js';
import { encodeTexts } from '../../../activities/clip/inference.js';
import { deserializeClip, serializeClip } from '../../../activities/clip/checkpoint.js';
import { classEmbeddings, fillTemplate, zeroShotFromEmbeddings } from '../../../activities/clip/zero-shot.js';
import { createRng } from '../../../core/rng.js';

let tf: Tf;

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
});

const CORPUS = ['a photo of a sneaker', 'A photo of a Bag.', 'a sneaker', 'the T-shirt', 'a bag, a bag'];

describe('tokenizer', () => {
  test('the vocabulary is deterministic: [PAD], [UNK], then words by count, ties alphabetical', () => {
    const v = buildVocabulary(CORPUS);
    // a x7, bag x3, of/photo/sneaker x2, shirt/t/the x1 ("T-shirt" reads as t, shirt).
    assert.deepEqual(v.tokens, ['[PAD]', '[UNK]', 'a', 'bag', 'of', 'photo', 'sneaker', 'shirt', 't', 'the']);
    assert.deepEqual(buildVocabulary([...CORPUS].reverse()).tokens, v.tokens, 'corpus order does not matter');
    assert.deepEqual(buildVocabulary(CORPUS, { minCount: 2 }).tokens, ['[PAD]', '[UNK]', 'a', 'bag', 'of', 'photo', 'sneaker']);
    assert.deepEqual(buildVocabulary(CORPUS, { maxSize: 4 }).tokens, ['[PAD]', '[UNK]', 'a', 'bag']);
    assert.equal(vocabularyDigest(v), vocabularyDigest(buildVocabulary([...CORPUS].reverse())));
    assert.throws(() => buildVocabulary(CORPUS, { maxSize: 1 }), VocabularyError);
  });

  test('encode pads with [PAD] = 0, maps unknown words to [UNK] = 1 and truncates', () => {
    const v = buildVocabulary(CORPUS);
    const ids = encode(v, 'A sneaker in the RAIN', 8);
    assert.equal(ids.length, 8);
    assert.deepEqual([...ids], [2, 6, UNK_ID, 9, UNK_ID, PAD_ID, PAD_ID, PAD_ID]);
    assert.deepEqual(decode(v, ids), ['a', 'sneaker', '[UNK]', 'the', '[UNK]']);
    assert.deepEqual([...encode(v, 'a bag a bag a bag', 3)], [2, 3, 2]);
    assert.deepEqual([...encode(v, '', 3)], [0, 0, 0]);
    assert.deepEqual([...encodeAll(v, ['bag', 'of'], 2)], [3, 0, 4, 0]);
    assert.throws(() => encode(v, 'a', 0), RangeError);
  });

  test('input length is bounded', () => {
    const v = buildVocabulary(CORPUS);
    const huge = 'bag '.repeat(1_000_000);
    const started = performance.now();
    assert.equal(captionTokens(huge).length, MAX_TEXT_CHARS / 4);
    assert.deepEqual([...encode(v, huge, 2)], [3, 3]);
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(buildVocabulary([`${'x'.repeat(65)} bag`]).tokens, ['[PAD]', '[UNK]', 'bag'], 'over-long tokens never enter');
  });

  test('JSON round trip; malformed vocabularies are rejected', () => {
    const v = buildVocabulary(CORPUS);
    assert.deepEqual(vocabularyFromJSON(JSON.stringify(vocabularyToJSON(v))).tokens, v.tokens);
    for (const bad of [
      '{',
      { format: 2, tokens: v.tokens },
      { format: 1, tokens: ['[UNK]', '[PAD]', 'a'] },
      { format: 1, tokens: ['[PAD]', '[UNK]', 'a', 'a'] },
      { format: 1, tokens: ['[PAD]', '[UNK]', 'two words'] },
      { format: 1, tokens: ['[PAD]', '[UNK]', 'Upper'] },
      { format: 1, tokens: ['[PAD]', '[UNK]', 7] },
    ]) {
      assert.throws(() => vocabularyFromJSON(typeof bad === 'string' ? bad : JSON.stringify(bad)), VocabularyError, JSON.stringify(bad));
    }
  });
});

const rows = (t: import('@tensorflow/tfjs').Tensor) => t.arraySync() as number[][];

describe('InfoNCE', () => {
  test('clipLoss equals the direct float64 computation, symmetric and asymmetric cases', () => {
    const cases: { I: number[][]; T: number[][]; s: number }[] = [
      // Perfectly aligned, orthogonal pairs.
      { I: [[1, 0], [0, 1]], T: [[1, 0], [0, 1]], s: Math.log(1 / 0.07) },
      // Asymmetric: image 0 is close to both texts, so row and column losses differ.
      { I: [[0.6, 0.8, 0], [0, 1, 0], [0, 0, 1]], T: [[1, 0, 0], [0.8, 0.6, 0], [0, 0.6, 0.8]], s: 2 },
      // Not normalised, negative entries, scale at both ends of the clip range.
      { I: [[0.3, -1.2, 2], [1.5, 0.2, -0.7], [-0.4, 0.9, 0.1], [2, 2, -2]], T: [[1, 0.5, -0.5], [-1, 1, 0.2], [0.3, 0.3, 0.3], [0.1, -2, 1]], s: 0 },
      { I: [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]], T: [[0.6, -0.1], [0.2, 0.2], [-0.3, 0.9]], s: Math.log(100) },
    ];
    for (const [k, c] of cases.entries()) {
      const got = tf.tidy(() => clipLoss(tf.tensor2d(c.I), tf.tensor2d(c.T), tf.scalar(c.s)).dataSync()[0]!);
      const want = clipLossReference(c.I, c.T, c.s);
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `case ${k}: ${got} vs ${want}`);
    }
    // The asymmetric case really is asymmetric: swapping the towers transposes the logits and
    // leaves the symmetric loss unchanged, while the one-sided losses differ.
    const { I, T, s } = cases[1]!;
    assert.ok(Math.abs(clipLossReference(I, T, s) - clipLossReference(T, I, s)) < 1e-12);
    const oneSided = (A: number[][], B: number[][]) => {
      const z = A.map((a) => B.map((b) => Math.exp(s) * a.reduce((acc, x, i) => acc + x * b[i]!, 0)));
      return z.reduce((acc, row, i) => acc + Math.log(row.reduce((q, x) => q + Math.exp(x), 0)) - row[i]!, 0) / z.length;
    };
    assert.ok(Math.abs(oneSided(I, T) - oneSided(T, I)) > 0.01, 'rows and columns differ in the asymmetric case');
    assert.ok(Math.abs((oneSided(I, T) + oneSided(T, I)) / 2 - clipLossReference(I, T, s)) < 1e-12);
  });

  test('the gradient matches finite differences of the reference (embeddings and logitScale)', () => {
    const rng = createRng('clip-grad');
    const n = 3;
    const d = 4;
    const I = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
    const T = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
    const s = 0.7;
    const [gI, gT, gS] = tf.tidy(() =>
      tf.grads((a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor, c: import('@tensorflow/tfjs').Tensor) =>
        clipLoss(a as never, b as never, c),
      )([tf.tensor2d(I), tf.tensor2d(T), tf.scalar(s)]).map((g) => g.arraySync()),
    ) as [number[][], number[][], number];
    const h = 1e-5;
    const fd = (f: (delta: number) => number) => (f(h) - f(-h)) / (2 * h);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-4 + 1e-3 * Math.abs(b), `${what}: ${a} vs finite difference ${b}`);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) {
        const bump = (M: number[][], delta: number) => M.map((row, r) => row.map((x, c) => (r === i && c === k ? x + delta : x)));
        close(gI[i]![k]!, fd((e) => clipLossReference(bump(I, e), T, s)), `dI[${i}][${k}]`);
        close(gT[i]![k]!, fd((e) => clipLossReference(I, bump(T, e), s)), `dT[${i}][${k}]`);
      }
    }
    close(gS, fd((e) => clipLossReference(I, T, s + e)), 'dlogitScale');
  });
});

const CONFIG: Omit<ClipConfig, 'vocabSize'> = { arch: 'mlp', hidden: [6], embedDim: 3, tokenWidth: 4, maxTokens: 4 };

describe('dual encoder', () => {
  test('shapes: classifier trunk minus its 10-way layer, projections, embedding table, scalar logitScale', () => {
    const v = buildVocabulary(CORPUS);
    assert.deepEqual(clipShapes({ ...CONFIG, vocabSize: v.tokens.length }), [[784, 6], [6], [6, 3], [10, 4], [4, 3], []]);
    assert.deepEqual(clipShapes({ ...CONFIG, arch: 'cnn', hidden: [], vocabSize: 10 }), [[3, 3, 1, 16], [16], [3, 3, 16, 32], [32], [1568, 3], [10, 4], [4, 3], []]);
    const model = initialClip(CONFIG, v, 1);
    assert.equal(model.weights.at(-1)![0], Math.fround(LOGIT_SCALE_INIT));
    assert.deepEqual(model.weights, initialClip(CONFIG, v, 1).weights, 'initial weights depend on the seed only');
    assert.notDeepEqual(model.weights[0], initialClip(CONFIG, v, 2).weights[0]);
  });

  test('the text tower is masked mean pooling of token embeddings, with a correct embedding gradient', () => {
    const v = buildVocabulary(CORPUS);
    const model = initialClip(CONFIG, v, 3);
    const config = model.config;
    const layout = clipLayout(config);
    const tokens = encodeAll(v, ['a bag a', 'sneaker unknownword', '', 'the photo of a'], config.maxTokens);
    const bag = tokenBag(tokens, 4, config.maxTokens, config.vocabSize);
    const table = model.weights[layout.tokenEmbedding]!;
    const projection = model.weights[layout.textProjection]!;
    // Direct: mean of the non-PAD rows of the table, projected, normalised.
    const direct = [0, 1, 2, 3].map((r) => {
      const ids = [...tokens.subarray(r * 4, r * 4 + 4)].filter((id) => id !== PAD_ID);
      const pooled = Array.from({ length: 4 }, (_, k) => (ids.length ? ids.reduce((acc, id) => acc + table[id * 4 + k]!, 0) / ids.length : 0));
      const e = Array.from({ length: 3 }, (_, j) => pooled.reduce((acc, p, k) => acc + p * projection[k * 3 + j]!, 0));
      const norm = Math.hypot(...e);
      return e.map((x) => (norm > 0 ? x / norm : 0));
    });
    const shapes = clipShapes(config);
    const got = tf.tidy(() => rows(embedTexts(config, bag, model.weights.map((w, i) => tf.tensor(w, shapes[i])))));
    got.forEach((row, r) => row.forEach((x, j) => assert.ok(Math.abs(x - direct[r]![j]!) < 1e-5, `row ${r}: ${row} vs ${direct[r]}`)));
    assert.deepEqual(got[2], [0, 0, 0], 'an empty caption embeds to zero');

    // d(sum(embeddings · R))/d(table) by the scatter gradient vs finite differences in float64.
    const R = [[0.3, -0.2, 0.5], [1, 0.1, -0.4], [0.2, 0.2, 0.2], [-0.6, 0.3, 0.9]];
    const objective = (t: Float32Array | Float64Array) =>
      [0, 1, 2, 3].reduce((acc, r) => {
        const ids = [...tokens.subarray(r * 4, r * 4 + 4)].filter((id) => id !== PAD_ID);
        if (!ids.length) return acc;
        const pooled = Array.from({ length: 4 }, (_, k) => ids.reduce((q, id) => q + t[id * 4 + k]!, 0) / ids.length);
        const e = Array.from({ length: 3 }, (_, j) => pooled.reduce((q, p, k) => q + p * projection[k * 3 + j]!, 0));
        const norm = Math.hypot(...e);
        return acc + e.reduce((q, x, j) => q + (x / norm) * R[r]![j]!, 0);
      }, 0);
    const grad = tf.tidy(() => {
      const weights = model.weights.map((w, i) => tf.tensor(w, shapes[i]));
      const f = (t: import('@tensorflow/tfjs').Tensor) => {
        const w = [...weights];
        w[layout.tokenEmbedding] = t;
        return tf.sum(tf.mul(embedTexts(config, bag, w), tf.tensor2d(R)));
      };
      return tf.grad(f)(weights[layout.tokenEmbedding]!).dataSync();
    });
    const base = Float64Array.from(table);
    for (let i = 0; i < base.length; i++) {
      const plus = Float64Array.from(base);
      const minus = Float64Array.from(base);
      plus[i]! += 1e-6;
      minus[i]! -= 1e-6;
      const fd = (objective(plus) - objective(minus)) / 2e-6;
      assert.ok(Math.abs(grad[i]! - fd) < 1e-3 + 1e-3 * Math.abs(fd), `table[${i}]: ${grad[i]} vs ${fd}`);
    }
    for (let k = 0; k < 4; k++) assert.equal(grad[PAD_ID * 4 + k], 0, 'the [PAD] row gets no gradient');
  });

  test('image and text embeddings are unit vectors; encodeTexts agrees with embedTexts', async () => {
    const v = buildVocabulary(CORPUS);
    const model = initialClip({ ...CONFIG, arch: 'cnn', hidden: [5] }, v, 4);
    const shapes = clipShapes(model.config);
    const pixels = tf.tidy(() => rows(embedImages(model.config, tf.randomUniform([3, 784], 0, 1, 'float32', 5) as never, model.weights.map((w, i) => tf.tensor(w, shapes[i])))));
    for (const row of pixels) assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
    const texts = await encodeTexts(model, ['a photo of a bag', 'sneaker'], { backend: 'wasm' });
    const direct = tf.tidy(() => embedTexts(model.config, tokenBag(encodeAll(v, ['a photo of a bag', 'sneaker'], 4), 2, 4, v.tokens.length), model.weights.map((w, i) => tf.tensor(w, shapes[i]))).dataSync());
    texts.forEach((x, i) => assert.ok(Math.abs(x - direct[i]!) < 1e-6));
  });

  test('serialization round trip; corrupt bytes fail with CorruptModelError', () => {
    const v = buildVocabulary(CORPUS);
    const model = initialClip(CONFIG, v, 5);
    const bytes = serializeClip(model);
    assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), 'SSCL');
    const back = deserializeClip(bytes);
    assert.deepEqual(back.config, model.config);
    assert.deepEqual(back.vocabulary.tokens, model.vocabulary.tokens);
    assert.deepEqual(back.weights, model.weights);
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const withHeader = (edit: (h: Record<string, unknown>) => void) => {
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
      edit(header);
      return serializeRaw(header, bytes.subarray((8 + headerLength + 3) & ~3));
    };
    const outOfRange = Uint8Array.from(bytes);
    new DataView(outOfRange.buffer).setFloat32(outOfRange.length - 4, 4.7, true);
    const corrupt: [string, Uint8Array][] = [
      ['bad magic', Uint8Array.from([0x58, ...bytes.subarray(1)])],
      ['truncated', bytes.subarray(0, bytes.length - 4)],
      ['short', bytes.subarray(0, 6)],
      ['logitScale above ln 100', outOfRange],
      ['vocabulary tampered', withHeader((h) => ((h.vocabulary as string[])[2] = 'two words'))],
      ['vocabulary size differs', withHeader((h) => (h.vocabulary as string[]).push('extra'))],
      ['shapes differ', withHeader((h) => ((h.config as ClipConfig).embedDim = 4))],
      ['huge config', withHeader((h) => ((h.config as ClipConfig).hidden = [65536, 65536, 65536]))],
      ['bad arch', withHeader((h) => ((h.config as Record<string, unknown>).arch = 'vit'))],
    ];
    for (const [what, b] of corrupt) assert.throws(() => deserializeClip(b), CorruptModelError, what);
  });
});

/** A container with an edited header and the original payload (for corruption tests). */
function serializeRaw(header: unknown, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const offset = (8 + json.length + 3) & ~3;
  const out = new Uint8Array(offset + payload.length);
  out.set([0x53, 0x53, 0x43, 0x4c]);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(payload, offset);
  return out;
}

describe('zero-shot', () => {
  const rng = createRng('zero-shot');
  const classes = 10;
  const dim = 16;
  const classEmb = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal()));
  const labels = Array.from({ length: 200 }, (_, i) => i % classes);
  const images = labels.map((c) => classEmb[c]!.map((x) => 3 * x + 0.05 * rng.normal()));

  test('embeddings near their class embedding are classified exactly; a swapped label scores 0', () => {
    const m = zeroShotFromEmbeddings(images, classEmb, labels, Math.log(100));
    assert.equal(m.accuracy, 1);
    assert.deepEqual(m.perClassAccuracy, new Array(classes).fill(1));
    assert.equal(m.count, 200);
    const swapped = labels.map((c) => (c + 1) % classes);
    const s = zeroShotFromEmbeddings(images, classEmb, swapped, Math.log(100));
    assert.equal(s.accuracy, 0);
    assert.deepEqual(s.perClassAccuracy, new Array(classes).fill(0));
    assert.ok(s.loss > m.loss);
  });

  test('the loss is the cross-entropy of softmax(exp(logitScale) · cos)', () => {
    const cls = [[1, 0], [0, 2]];
    const imgs = [[3, 4], [-1, 0], [0, 0.5]];
    const lab = [1, 0, 0];
    const scale = 1.3;
    const cos = imgs.map((x) => cls.map((c) => (x[0]! * c[0]! + x[1]! * c[1]!) / (Math.hypot(...x) * Math.hypot(...c))));
    const want = cos.reduce((acc, row, r) => {
      const z = row.map((c) => Math.exp(scale) * c);
      return acc + Math.log(z.reduce((q, x) => q + Math.exp(x), 0)) - z[lab[r]!]!;
    }, 0) / 3;
    const m = zeroShotFromEmbeddings(imgs, cls, lab, scale);
    assert.ok(Math.abs(m.loss - want) < 1e-12, `${m.loss} vs ${want}`);
    // cos rows: [0.6, 0.8], [-1, 0], [0, 1]: every image goes to class 1.
    assert.equal(m.accuracy, 1 / 3);
    assert.deepEqual(m.confusion, [[0, 2], [0, 1]]);
  });

  test('class embeddings: one template is its prompt embedding; an ensemble is the renormalised mean', async () => {
    const v = buildVocabulary(['a photo of a bag', 'a drawing of the sneaker']);
    const model = initialClip(CONFIG, v, 6);
    assert.equal(fillTemplate('a {} of {}', 'bag'), 'a bag of bag');
    const templates = ['a photo of a {}.', 'a drawing of the {}.'];
    const [single] = await classEmbeddings(model, ['bag'], templates.slice(0, 1), { backend: 'wasm' });
    const [ensemble] = await classEmbeddings(model, ['bag'], templates, { backend: 'wasm' });
    const texts = await encodeTexts(model, templates.map((t) => fillTemplate(t, 'bag')), { backend: 'wasm' });
    const dim = model.config.embedDim;
    const a = [...texts.subarray(0, dim)];
    const b = [...texts.subarray(dim, 2 * dim)];
    const mean = a.map((x, i) => x / Math.hypot(...a) + b[i]! / Math.hypot(...b));
    const norm = Math.hypot(...mean);
    single!.forEach((x, i) => assert.ok(Math.abs(x - a[i]! / Math.hypot(...a)) < 1e-7));
    ensemble!.forEach((x, i) => assert.ok(Math.abs(x - mean[i]! / norm) < 1e-7));
  });
});
