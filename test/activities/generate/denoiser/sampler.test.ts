// Sampling a denoiser trained briefly on real Fashion-MNIST: determinism (same seed, same PNG;
// batches equal single items), guidance that narrows diversity, class conditioning well above
// chance, and prompt attributes that move what they name.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES } from '../../../../core/datasets/fashion-mnist.js';
import { denoiserBatchPngs, denoiserItemGenerator } from '../../../../activities/generate/denoiser/backend.js';
import type { DenoiserGeneratorModel } from '../../../../activities/generate/denoiser/model.js';
import { sampleBatch, sampleImage } from '../../../../activities/generate/denoiser/sampler.js';
import type { SampleOptions } from '../../../../activities/generate/gmm/model.js';
import type { GenerateItem } from '../../../../activities/generate/item-generator.js';
import { CLASSES, cls, loadTrain, nearestClassMean, onehot, P } from '../gmm/fixture.js';
import { trainedFashionModel } from './fixture.js';

const item = (text: string, seed: string, cfgScale = 2): GenerateItem => ({ index: 0, prompt: { index: 0, classIndex: 0, text }, seed, cfgScale, steps: 40 });

describe('denoiser sampler on Fashion-MNIST', () => {
  let model: DenoiserGeneratorModel;
  let classMeans: Float64Array[];

  before(async () => {
    model = await trainedFashionModel();
    const train = await loadTrain();
    classMeans = CLASSES.map(() => new Float64Array(P));
    const counts = new Float64Array(CLASSES.length);
    for (let i = 0; i < 20000; i++) {
      const c = train.labels[i]!;
      counts[c]! += 1;
      for (let p = 0; p < P; p++) classMeans[c]![p]! += train.images[i * P + p]!;
    }
    classMeans.forEach((m, c) => m.forEach((v, p) => (m[p] = v / counts[c]!)));
  });

  /** 10 items per class, cycling through the classes, seeds tagged. */
  const perClass = (cfgScale: number, tag: string, n = 100): SampleOptions[] =>
    Array.from({ length: n }, (_, i) => ({ classWeights: onehot(i % CLASSES.length), cfgScale, steps: 40, seed: `${tag}|${i}` }));

  test('same seed gives the same PNG bytes; another seed another image', async () => {
    const generate = denoiserItemGenerator(model);
    const a = await generate(item('a photo of a sneaker', '7|0'));
    const b = await generate(item('a photo of a sneaker', '7|0'));
    const c = await generate(item('a photo of a sneaker', '7|1'));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const [batched] = denoiserBatchPngs(model, [item('a photo of a sneaker', '7|0'), item('a bag', '7|2')]);
    assert.deepEqual(batched, a, 'the batch path gives the per-item bytes');
  });

  test('a batch of mixed items equals sampling each alone', () => {
    const items: SampleOptions[] = [
      { classWeights: onehot(1), cfgScale: 3, steps: 40, seed: 'm|0' },
      { classWeights: null, cfgScale: 3, steps: 40, seed: 'm|1' },
      { classWeights: onehot(4), cfgScale: 0, steps: 40, seed: 'm|2' },
      { classWeights: onehot(8), cfgScale: 1, steps: 12, seed: 'm|3', attributes: { brightness: 1, size: 0, texture: 0 } },
      { classWeights: Float64Array.from([0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0]), cfgScale: 5, steps: 40, seed: 'm|4' },
    ];
    const batch = sampleBatch(model, items);
    items.forEach((opts, i) => assert.deepEqual(sampleImage(model, opts), batch.subarray(i * P, (i + 1) * P), `item ${i}`));
  });

  test('high guidance makes samples of a class less diverse than guidance 0 (unconditional)', (t) => {
    const spread = (images: Uint8Array) => {
      // Mean distance between samples asked for the same class (items i, i + 10, ...).
      let total = 0;
      let pairs = 0;
      for (let i = 0; i < 100; i++) {
        for (let j = i + 10; j < 100; j += 10) {
          let s = 0;
          for (let p = 0; p < P; p++) s += (images[i * P + p]! - images[j * P + p]!) ** 2;
          total += Math.sqrt(s);
          pairs++;
        }
      }
      return total / pairs;
    };
    const unguided = spread(sampleBatch(model, perClass(0, 'div')));
    const guided = spread(sampleBatch(model, perClass(5, 'div')));
    t.diagnostic(`within-class spread: guidance 0 ${unguided.toFixed(0)}, guidance 5 ${guided.toFixed(0)}`);
    assert.ok(unguided > 1.15 * guided, `within-class spread: guidance 0 ${unguided.toFixed(0)}, guidance 5 ${guided.toFixed(0)}`);
  });

  test('samples for class c look like class c far more often than chance', (t) => {
    const images = sampleBatch(model, perClass(3, 'cond', 200));
    let hits = 0;
    for (let i = 0; i < 200; i++) if (nearestClassMean(classMeans, images, i) === i % CLASSES.length) hits++;
    // Chance is 0.1; real training images score ~0.7 under this nearest-class-mean rule.
    assert.ok(hits / 200 > 0.45, `nearest class mean agrees on ${hits}/200`);
    const unconditional = sampleBatch(model, perClass(0, 'cond', 200));
    let unHits = 0;
    for (let i = 0; i < 200; i++) if (nearestClassMean(classMeans, unconditional, i) === i % CLASSES.length) unHits++;
    t.diagnostic(`nearest class mean = asked class: guidance 3 ${hits}/200, guidance 0 ${unHits}/200`);
    assert.ok(unHits / 200 < 0.25, `unconditional samples agree with the asked class at chance (${unHits}/200)`);
  });

  test('prompt attributes move brightness and size the way they say', (t) => {
    const stats = (attributes: SampleOptions['attributes']) => {
      const images = sampleBatch(model, Array.from({ length: 40 }, (_, i) => ({ classWeights: onehot(cls('T-shirt/top')), attributes, cfgScale: 2, steps: 40, seed: `attr|${i}` })));
      let fg = 0;
      let sum = 0;
      for (const v of images) {
        if (v <= 64) continue;
        fg++;
        sum += v;
      }
      return { brightness: sum / fg, size: fg / images.length };
    };
    const light = stats({ brightness: 1, size: 0, texture: 0 });
    const dark = stats({ brightness: -1, size: 0, texture: 0 });
    const large = stats({ brightness: 0, size: 1, texture: 0 });
    const small = stats({ brightness: 0, size: -1, texture: 0 });
    t.diagnostic(`brightness light/dark ${light.brightness.toFixed(0)}/${dark.brightness.toFixed(0)}, share large/small ${large.size.toFixed(3)}/${small.size.toFixed(3)}`);
    assert.ok(light.brightness > dark.brightness + 20, `foreground brightness: light ${light.brightness.toFixed(0)}, dark ${dark.brightness.toFixed(0)}`);
    assert.ok(large.size > small.size + 0.05, `foreground share: large ${large.size.toFixed(3)}, small ${small.size.toFixed(3)}`);
    assert.equal(FASHION_MNIST_CLASSES[cls('T-shirt/top')], 'T-shirt/top');
  });
});
