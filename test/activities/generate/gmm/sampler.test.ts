// Sampling the embedded generator: determinism, guidance, class fidelity, soft class weights and
// prompt attributes, on a model fitted on real Fashion-MNIST.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { conditionalComponentWeights } from '../../../../activities/generate/gmm/conditioning.js';
import type { GmmGeneratorModel } from '../../../../activities/generate/gmm/model.js';
import { sampleBatch, sampleImage } from '../../../../activities/generate/gmm/sampler.js';
import { ddimTimesteps } from '../../../../activities/generate/gmm/schedule.js';
import { promptAttributes, promptToClassWeights } from '../../../../core/text/text-condition.js';
import { CLASSES, cls, fittedFixture, items, nearestClassMean as nearestOf, onehot, P } from './fixture.js';

describe('gmm-ddim sampler', () => {
  // A suite: long only by the number of its (independent) tests.
  let model: GmmGeneratorModel;
  let classMeans: Float64Array[];

  before(async () => {
    ({ model, classMeans } = await fittedFixture());
  });

  const nearestClassMean = (images: Uint8Array, i: number) => nearestOf(classMeans, images, i);

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
      for (const v of img) {
        if (v > 64) {
          s += v;
          k++;
        }
      }
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
