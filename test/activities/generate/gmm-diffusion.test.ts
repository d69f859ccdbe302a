// The embedded generator: the lexical text condition, fitting on real Fashion-MNIST, determinism,
// serialization, and what classifier-free guidance does to diversity and class fidelity.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import {
  GENERATOR_CODE_VERSION,
  GmmModelFormatError,
  deserializeGmmModel,
  ddimTimesteps,
  conditionalComponentWeights,
  fitGmmGenerator,
  sampleBatch,
  sampleImage,
  serializeGmmModel,
  type GmmGeneratorModel,
  type SampleOptions,
} from '../../../activities/generate/gmm-diffusion.js';
import { DEFAULT_CLASS_SYNONYMS, promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';

const CLASSES = FASHION_MNIST_CLASSES;
const P = IMAGE_PIXELS;
const cls = (name: string) => CLASSES.indexOf(name as (typeof CLASSES)[number]);

function weightsOf(prompt: string): Record<string, number> | null {
  const w = promptToClassWeights(prompt, CLASSES);
  if (!w) return null;
  const out: Record<string, number> = {};
  w.forEach((v, i) => {
    if (v > 0) out[CLASSES[i]!] = v;
  });
  return out;
}

describe('text condition', () => {
  test('t-shirt is T-shirt/top, not Shirt; shirt alone is Shirt', () => {
    assert.deepEqual(weightsOf('a photo of a T-Shirt'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a tee'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a photo of a T-shirt/top.'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a SHIRT'), { Shirt: 1 });
    assert.deepEqual(weightsOf('a dress shirt'), { Shirt: 1 }, 'the longer phrase wins over "dress"');
  });

  test('plurals and multi-word names', () => {
    assert.deepEqual(weightsOf('two sneakers'), { Sneaker: 1 });
    assert.deepEqual(weightsOf('Sandals on a beach'), { Sandal: 1 });
    assert.deepEqual(weightsOf('a pair of ankle boots'), { 'Ankle boot': 1 });
    assert.deepEqual(weightsOf('boots'), { 'Ankle boot': 1 });
    assert.deepEqual(weightsOf('summer dresses'), { Dress: 1 });
    assert.deepEqual(weightsOf('trousers'), { Trouser: 1 });
  });

  test('attribute words outside class phrases, clipped to [-1, 1]', () => {
    assert.deepEqual(promptAttributes('a white striped t-shirt', CLASSES), { brightness: 1, size: 0, texture: 1 });
    assert.deepEqual(promptAttributes('a dark photo of a large black coat', CLASSES), { brightness: -1, size: 1, texture: 0 });
    assert.deepEqual(promptAttributes('a close-up photo of a plain sandal', CLASSES), { brightness: 0, size: 1, texture: -1 });
    // "tank top" and "dress shirt" are class phrases, not attributes; no attribute words -> null.
    assert.equal(promptAttributes('a tank top and a dress shirt', CLASSES), null);
    assert.equal(promptAttributes('Sneaker', CLASSES), null);
  });

  test('unmatched prompt is unconditional (null)', () => {
    assert.equal(promptToClassWeights('a photo of a cat', CLASSES), null);
    assert.equal(promptToClassWeights('', CLASSES), null);
    assert.equal(promptToClassWeights('shirtless bootstrap', CLASSES), null, 'whole tokens only');
  });

  test('two classes share the mass; weights sum to 1', () => {
    const w = promptToClassWeights('a coat or a bag', CLASSES)!;
    assert.equal(w.length, CLASSES.length);
    assert.equal(w[cls('Coat')], 0.5);
    assert.equal(w[cls('Bag')], 0.5);
    assert.equal(w.reduce((a, b) => a + b, 0), 1);
    assert.deepEqual(weightsOf('a sweater, a hoodie and a jacket'), { Pullover: 0.5, Coat: 0.5 });
  });

  test('custom synonyms and class lists', () => {
    assert.deepEqual(Object.keys(DEFAULT_CLASS_SYNONYMS).sort(), [...CLASSES].sort());
    const w = promptToClassWeights('a moggy', ['cat', 'dog'], { cat: ['moggy'] });
    assert.deepEqual(Array.from(w!), [1, 0]);
    assert.deepEqual(Array.from(promptToClassWeights('Dogs!', ['cat', 'dog'])!), [0, 1]);
  });
});

describe('gmm-ddim generator', () => {
  let train: ImageSet;
  let subset: ImageSet;
  let model: GmmGeneratorModel;
  let classMeans: Float64Array[];

  before(async () => {
    const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'));
    train = await loadSplit(dir, 'train');
    const n = 6000;
    subset = { images: train.images.subarray(0, n * P), labels: train.labels.subarray(0, n), count: n };
    model = fitGmmGenerator(subset, { pcaDims: 24, componentsPerClass: 6, fitSeed: 1 }, CLASSES);
    classMeans = CLASSES.map(() => new Float64Array(P));
    const counts = new Float64Array(CLASSES.length);
    for (let i = 0; i < train.count; i++) {
      const c = train.labels[i]!;
      counts[c]! += 1;
      const m = classMeans[c]!;
      for (let p = 0; p < P; p++) m[p]! += train.images[i * P + p]!;
    }
    classMeans.forEach((m, c) => m.forEach((v, p) => (m[p] = v / counts[c]!)));
  });

  const onehot = (c: number) => {
    const w = new Float64Array(CLASSES.length);
    w[c] = 1;
    return w;
  };
  const items = (classWeights: Float64Array | null, cfgScale: number, n: number, tag: string): SampleOptions[] =>
    Array.from({ length: n }, (_, i) => ({ classWeights, cfgScale, steps: 40, seed: `${tag}|${i}` }));

  function nearestClassMean(images: Uint8Array, i: number): number {
    let best = -1;
    let bestDist = Infinity;
    classMeans.forEach((m, c) => {
      let s = 0;
      for (let p = 0; p < P; p++) {
        const e = images[i * P + p]! - m[p]!;
        s += e * e;
      }
      if (s < bestDist) {
        bestDist = s;
        best = c;
      }
    });
    return best;
  }

  function meanPairwiseDistance(images: Uint8Array, n: number): number {
    let total = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let s = 0;
        for (let p = 0; p < P; p++) {
          const e = images[i * P + p]! - images[j * P + p]!;
          s += e * e;
        }
        total += Math.sqrt(s);
        pairs++;
      }
    }
    return total / pairs;
  }

  test('fitted model has the configured shape', () => {
    assert.equal(model.codeVersion, GENERATOR_CODE_VERSION);
    assert.equal(model.pcaDims, 24);
    assert.equal(model.componentClass.length, 6 * CLASSES.length);
    assert.equal(model.basis.length, 24 * P);
    assert.ok(model.explainedVariance > 0.7 && model.explainedVariance < 1, `explained ${model.explainedVariance}`);
    for (let d = 1; d < model.pcaDims; d++) assert.ok(model.eigenvalues[d]! <= model.eigenvalues[d - 1]! * (1 + 1e-6));
  });

  test('fitting is deterministic for a fitSeed', () => {
    const small: ImageSet = { images: train.images.subarray(0, 2000 * P), labels: train.labels.subarray(0, 2000), count: 2000 };
    const cfg = { pcaDims: 8, componentsPerClass: 3, fitSeed: 7 };
    const a = serializeGmmModel(fitGmmGenerator(small, cfg, CLASSES));
    const b = serializeGmmModel(fitGmmGenerator(small, cfg, CLASSES));
    assert.deepEqual(a, b);
    const c = serializeGmmModel(fitGmmGenerator(small, { ...cfg, fitSeed: 8 }, CLASSES));
    assert.notDeepEqual(a, c);
  });

  test('same seed gives identical bytes; different seeds differ', () => {
    const opts = { classWeights: onehot(cls('Dress')), cfgScale: 2, steps: 40, seed: 'dress|0' };
    const a = sampleImage(model, opts);
    const b = sampleImage(model, { ...opts, classWeights: onehot(cls('Dress')) });
    assert.equal(a.length, P);
    assert.deepEqual(a, b);
    const c = sampleImage(model, { ...opts, seed: 'dress|1' });
    assert.notDeepEqual(a, c);
    // A batch is the same as one-by-one.
    const batch = sampleBatch(model, [opts, { ...opts, seed: 'dress|1' }]);
    assert.deepEqual(batch.subarray(0, P), a);
    assert.deepEqual(batch.subarray(P), c);
  });

  test('null weights are unconditional whatever the scale; cfgScale 0 is unconditional', () => {
    const base = { steps: 20, seed: 'u|0' };
    const u = sampleImage(model, { ...base, classWeights: null, cfgScale: 0 });
    assert.deepEqual(sampleImage(model, { ...base, classWeights: null, cfgScale: 7.5 }), u);
    assert.deepEqual(sampleImage(model, { ...base, classWeights: onehot(cls('Bag')), cfgScale: 0 }), u);
    assert.notDeepEqual(sampleImage(model, { ...base, classWeights: onehot(cls('Bag')), cfgScale: 1 }), u);
  });

  test('bad options throw', () => {
    assert.throws(() => sampleImage(model, { classWeights: new Float64Array(3), cfgScale: 1, steps: 40, seed: 'x' }), RangeError);
    assert.throws(() => sampleImage(model, { classWeights: new Float64Array(10), cfgScale: 1, steps: 40, seed: 'x' }), RangeError);
    assert.throws(() => sampleImage(model, { classWeights: null, cfgScale: 1, steps: 0, seed: 'x' }), RangeError);
    assert.throws(() => sampleImage(model, { classWeights: null, cfgScale: -1, steps: 40, seed: 'x' }), RangeError);
    assert.deepEqual(ddimTimesteps(4), [999, 666, 333, 0]);
  });

  test('serialize/deserialize round trip samples identically', () => {
    const bytes = serializeGmmModel(model);
    const back = deserializeGmmModel(bytes);
    assert.deepEqual(back, model);
    const batch = items(onehot(cls('Sneaker')), 3, 4, 'rt');
    assert.deepEqual(sampleBatch(back, batch), sampleBatch(model, batch));
    assert.deepEqual(serializeGmmModel(back), bytes);
  });

  test('malformed model bytes throw a clear error', () => {
    const bytes = serializeGmmModel(model);
    const expectFormatError = (b: Uint8Array, pattern: RegExp) =>
      assert.throws(() => deserializeGmmModel(b), (err: unknown) => err instanceof GmmModelFormatError && pattern.test(err.message));
    expectFormatError(bytes.subarray(0, 8), /too short/);
    expectFormatError(bytes.subarray(0, bytes.length - 4), /bytes, expected/);
    expectFormatError(new Uint8Array([...bytes, 0, 0, 0, 0]), /bytes, expected/);
    const badMagic = Uint8Array.from(bytes);
    badMagic[0] = 0x00;
    expectFormatError(badMagic, /magic/);
    const badVersion = Uint8Array.from(bytes);
    new DataView(badVersion.buffer).setUint32(4, 99, true);
    expectFormatError(badVersion, /version 99/);
    const badHeader = Uint8Array.from(bytes);
    badHeader[12] = 0x5b; // '[' instead of '{'
    expectFormatError(badHeader, /header/);
    const hugeHeader = Uint8Array.from(bytes);
    new DataView(hugeHeader.buffer).setUint32(8, 0xffffffff, true);
    expectFormatError(hugeHeader, /header length/);
    const nan = Uint8Array.from(bytes);
    new DataView(nan.buffer).setFloat32(nan.length - 4, Number.NaN, true);
    expectFormatError(nan, /not finite/);
    const negativeVar = Uint8Array.from(bytes);
    new DataView(negativeVar.buffer).setFloat32(negativeVar.length - 4, -1, true);
    expectFormatError(negativeVar, /componentVar.*out of range/);
  });

  test('higher CFG lowers diversity', () => {
    const n = 64;
    const c = cls('T-shirt/top');
    const div = (scale: number) => meanPairwiseDistance(sampleBatch(model, items(onehot(c), scale, n, 'div')), n);
    const d0 = div(0);
    const d1 = div(1);
    const d75 = div(7.5);
    // Seen: ~2280 (unconditional), ~1680 (conditional), ~750 (CFG 7.5).
    assert.ok(d1 < 0.9 * d0, `conditional ${d1.toFixed(0)} vs unconditional ${d0.toFixed(0)}`);
    assert.ok(d75 < 0.75 * d1, `CFG 7.5 ${d75.toFixed(0)} vs conditional ${d1.toFixed(0)}`);
  });

  test('conditional samples look like their class (nearest real class mean)', () => {
    const n = 32;
    const accuracy = (scale: number) => {
      let hits = 0;
      let majorities = 0;
      CLASSES.forEach((_, c) => {
        const imgs = sampleBatch(model, items(onehot(c), scale, n, `fid|${c}`));
        let classHits = 0;
        for (let i = 0; i < n; i++) if (nearestClassMean(imgs, i) === c) classHits++;
        hits += classHits;
        if (classHits > n / 2) majorities++;
      });
      return { accuracy: hits / (n * CLASSES.length), majorities };
    };
    // Real training images score ~0.69 with this nearest-class-mean rule; Shirt is the hard class.
    const cond = accuracy(1);
    assert.ok(cond.accuracy > 0.55, `CFG 1 accuracy ${cond.accuracy}`);
    const guided = accuracy(2);
    assert.ok(guided.accuracy > 0.75, `CFG 2 accuracy ${guided.accuracy}`);
    assert.ok(guided.majorities >= 8, `CFG 2: ${guided.majorities}/10 classes with a majority`);
    // Unconditional samples match a given class at about chance.
    const uncond = accuracy(0);
    assert.ok(uncond.accuracy < 0.25, `CFG 0 accuracy ${uncond.accuracy}`);
  });

  test('soft weights over two classes give a mix of both', () => {
    const w = promptToClassWeights('a trouser or a bag', CLASSES)!;
    const n = 40;
    const imgs = sampleBatch(model, items(w, 2, n, 'mix'));
    const found = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const c = nearestClassMean(imgs, i);
      found.set(c, (found.get(c) ?? 0) + 1);
    }
    const trousers = found.get(cls('Trouser')) ?? 0;
    const bags = found.get(cls('Bag')) ?? 0;
    assert.ok(trousers + bags >= 0.8 * n, `trousers ${trousers}, bags ${bags} of ${n}`);
    assert.ok(trousers >= 0.2 * n && bags >= 0.2 * n, `trousers ${trousers}, bags ${bags} of ${n}`);
  });

  test('prompt attributes tilt a class towards lighter, larger or more textured modes, and nothing else', () => {
    const c = cls('T-shirt/top');
    const n = 48;
    const meanOf = (images: Uint8Array, f: (img: Uint8Array) => number) => {
      let total = 0;
      for (let i = 0; i < n; i++) total += f(images.subarray(i * P, (i + 1) * P));
      return total / n;
    };
    const brightness = (img: Uint8Array) => {
      let s = 0;
      let k = 0;
      for (const v of img) if (v > 64) (s += v), k++;
      return k ? s / k : 0;
    };
    const coverage = (img: Uint8Array) => img.filter((v) => v > 64).length / P;
    const sample = (prompt: string, tag: string) =>
      sampleBatch(
        model,
        Array.from({ length: n }, (_, i) => ({ classWeights: promptToClassWeights(prompt, CLASSES), attributes: promptAttributes(prompt, CLASSES), cfgScale: 2, steps: 40, seed: `${tag}|${i}` })),
      );
    const white = sample('a white t-shirt', 'attr');
    const black = sample('a black t-shirt', 'attr');
    const plain = sample('a t-shirt', 'attr');
    assert.ok(meanOf(white, brightness) > meanOf(black, brightness) + 5, `white ${meanOf(white, brightness).toFixed(1)} vs black ${meanOf(black, brightness).toFixed(1)}`);
    const large = sample('an oversized t-shirt', 'attr');
    const small = sample('a cropped t-shirt', 'attr');
    assert.ok(meanOf(large, coverage) > meanOf(small, coverage), `coverage large ${meanOf(large, coverage).toFixed(3)} vs small ${meanOf(small, coverage).toFixed(3)}`);
    assert.ok(meanOf(plain, brightness) < meanOf(white, brightness) && meanOf(plain, brightness) > meanOf(black, brightness));
    // The class stays the class: attributes only move mass between the class's own components.
    for (const attributes of [{ brightness: -1, size: 1, texture: 1 }, { brightness: 1, size: -1, texture: 0 }]) {
      const w = conditionalComponentWeights(model, onehot(c), attributes);
      const plainW = conditionalComponentWeights(model, onehot(c));
      let inClass = 0;
      let moved = 0;
      w.forEach((v, k) => {
        if (model.componentClass[k] === c) inClass += v;
        else assert.equal(v, 0, `component ${k} of another class has weight ${v}`);
        moved += Math.abs(v - plainW[k]!);
      });
      assert.ok(Math.abs(inClass - 1) < 1e-9, `class mass ${inClass}`);
      assert.ok(moved > 0.1, `attributes moved ${moved.toFixed(3)} of the class's mass`);
    }
    // A prompt with no attribute words samples exactly as before (attributes null).
    assert.equal(promptAttributes('a photo of a t-shirt', CLASSES), null);
    const before = sampleBatch(model, items(onehot(c), 2, 4, 'same'));
    const after = sampleBatch(model, items(onehot(c), 2, 4, 'same').map((o) => ({ ...o, attributes: null })));
    assert.deepEqual(after, before);
  });
});
