// Fitting the denoiser: the Gaussian-mixture generator's PCA, the dataset's geometry (RGB too),
// heartbeats while training, and a fit killed after a checkpoint and resumed in a fresh call that
// stores the very bytes of an uninterrupted fit (so the model can be content-addressed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePng } from '../../../../core/png.js';
import { denoiserItemGenerator } from '../../../../activities/generate/denoiser/backend.js';
import { fitDenoiserGenerator, type DenoiserFitHeartbeat } from '../../../../activities/generate/denoiser/fit.js';
import type { DenoiserFitConfig } from '../../../../activities/generate/denoiser/model.js';
import { serializeDenoiserModel } from '../../../../activities/generate/denoiser/model-format.js';
import { fitGmmGenerator } from '../../../../activities/generate/gmm/fit.js';
import { TOY_CLASSES, toySet } from './fixture.js';

const RGB16 = { size: 16, channels: 3 } as const;
const CFG: DenoiserFitConfig = { pcaDims: 12, hidden: [64, 64], trainSteps: 80, batchSize: 64, learningRate: 2e-3, condDropout: 0.15, fitSeed: 4, checkpointEvery: 30 };

class Killed extends Error {}

function hooks(opts: { killAt?: number; bytes?: Uint8Array } = {}) {
  const beats: DenoiserFitHeartbeat[] = [];
  const state = { bytes: opts.bytes, saved: [] as number[] };
  return {
    beats,
    state,
    hooks: {
      heartbeat: (h: DenoiserFitHeartbeat) => beats.push(h),
      checkpoint: {
        load: async () => state.bytes,
        async save(bytes: Uint8Array, at: { step: number }) {
          state.bytes = bytes;
          state.saved.push(at.step);
          if (at.step === opts.killAt) throw new Killed(`killed at ${at.step}`);
        },
      },
    },
  };
}

describe('fitDenoiserGenerator', () => {
  const train = toySet(RGB16, 600);

  test('fits at the data geometry in the PCA space of the Gaussian-mixture generator, and samples PNGs there', async () => {
    const run = hooks();
    const { model, resumedFromStep } = await fitDenoiserGenerator(train, CFG, TOY_CLASSES, run.hooks);
    assert.equal(resumedFromStep, 0);
    assert.deepEqual(model.geometry, RGB16);
    assert.equal(model.pixels, 16 * 16 * 3);
    assert.equal(model.training.steps, 80);
    assert.deepEqual(run.state.saved, [30, 60, 80]);
    const gmm = fitGmmGenerator(train, { pcaDims: CFG.pcaDims, componentsPerClass: 1, fitSeed: CFG.fitSeed }, TOY_CLASSES);
    assert.deepEqual(model.basis, gmm.basis);
    assert.deepEqual(model.mean, gmm.mean);
    assert.ok(run.beats.some((b) => /PCA/.test(b.phase)), 'reports the PCA phase');
    assert.ok(run.beats.some((b) => b.step === 80 && b.totalSteps === 80 && Number.isFinite(b.loss)), 'reports training steps');
    const png = await denoiserItemGenerator(model)({ index: 0, prompt: { index: 0, classIndex: 1, text: 'a square' }, seed: 's', cfgScale: 2, steps: 20 });
    assert.equal(decodePng(png, RGB16, 'sample').length, 16 * 16 * 3);
  });

  test('a fit killed after a checkpoint and resumed stores the uninterrupted fit’s bytes', async () => {
    const reference = serializeDenoiserModel((await fitDenoiserGenerator(train, CFG, TOY_CLASSES, hooks().hooks)).model);
    const killed = hooks({ killAt: 60 });
    await assert.rejects(fitDenoiserGenerator(train, CFG, TOY_CLASSES, killed.hooks), Killed);
    const resumed = hooks({ bytes: killed.state.bytes });
    const out = await fitDenoiserGenerator(train, CFG, TOY_CLASSES, resumed.hooks);
    assert.equal(out.resumedFromStep, 60);
    assert.deepEqual(resumed.state.saved, [80]);
    assert.deepEqual(serializeDenoiserModel(out.model), reference);
    const otherSeed = serializeDenoiserModel((await fitDenoiserGenerator(train, { ...CFG, fitSeed: 5, trainSteps: 20 }, TOY_CLASSES, hooks().hooks)).model);
    assert.notDeepEqual(otherSeed, reference);
  });

  test('fits 32x32 RGB (the randomized PCA) too', async () => {
    const rgb32 = toySet({ size: 32, channels: 3 }, 120, 1);
    const { model } = await fitDenoiserGenerator(rgb32, { ...CFG, pcaDims: 8, trainSteps: 5 }, TOY_CLASSES, hooks().hooks);
    assert.equal(model.pixels, 32 * 32 * 3);
  });

  test('refuses what it cannot fit', async () => {
    const noSquares = { ...train, labels: train.labels.map((l) => (l === 1 ? 0 : l)) };
    await assert.rejects(fitDenoiserGenerator(noSquares, CFG, TOY_CLASSES, hooks().hooks), /"square" has no training images/);
    await assert.rejects(fitDenoiserGenerator(train, { ...CFG, pcaDims: 2000 }, TOY_CLASSES, hooks().hooks), /pcaDims/);
    await assert.rejects(fitDenoiserGenerator(train, { ...CFG, condDropout: 0 }, TOY_CLASSES, hooks().hooks), /condDropout/);
  });
});
