// Classifier-free guidance in the denoiser: on a batch, the sampler's guided eps is
// eps_u + s (eps_c - eps_u) of separate forward passes (null and prompt condition), its special
// cases are exact, and the plain-JS network the sampler runs is the TF.js network training runs.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initTfBackend } from '../../../../core/nn/backend.js';
import { createRng } from '../../../../core/rng.js';
import { conditionDims, type DenoiserGeneratorModel } from '../../../../activities/generate/denoiser/model.js';
import { conditionVector, forwardEps, prepareNetwork, timeEmbedding } from '../../../../activities/generate/denoiser/network.js';
import { guidedEps } from '../../../../activities/generate/denoiser/sampler.js';
import { tfEps } from '../../../../activities/generate/denoiser/train.js';
import { TOY_CLASSES, toyModel } from './fixture.js';

const C = TOY_CLASSES.length;
const onehot = (c: number) => Float64Array.from({ length: C }, (_, k) => (k === c ? 1 : 0));

describe('denoiser classifier-free guidance', () => {
  let model: DenoiserGeneratorModel;
  const n = 6;
  const D = 8;
  const x = new Float64Array(n * D);

  before(() => {
    model = toyModel(3);
    const rng = createRng('cfg-test');
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  });

  /** eps of one plain forward pass per row under the null (cond false) or the given condition. */
  function separatePasses(items: { classWeights: Float64Array | null }[], t: number): { eu: Float64Array; ec: Float64Array } {
    const net = prepareNetwork(model);
    const K = conditionDims(C);
    const nullCond = new Float64Array(n * K);
    const promptCond = new Float64Array(n * K);
    items.forEach((it, i) => {
      conditionVector(null, null, C, nullCond, i * K);
      conditionVector(it.classWeights, null, C, promptCond, i * K);
    });
    return { eu: forwardEps(net, x, n, t, nullCond), ec: forwardEps(net, x, n, t, promptCond) };
  }

  test('guided eps = eps_u + s (eps_c - eps_u) on a batch, to float precision', () => {
    const scales = [0.5, 2, 3, 7.5, 2, 12];
    const items = scales.map((s, i) => ({ classWeights: onehot(i % C), cfgScale: s }));
    for (const t of [999, 500, 20]) {
      const guided = guidedEps(model, items, x, t);
      const { eu, ec } = separatePasses(items, t);
      let maxErr = 0;
      let maxGap = 0;
      let maxAlt = 0;
      for (let i = 0; i < n; i++) {
        const s = scales[i]!;
        for (let d = 0; d < D; d++) {
          const j = i * D + d;
          const want = eu[j]! + s * (ec[j]! - eu[j]!);
          maxErr = Math.max(maxErr, Math.abs(guided[j]! - want) / (1 + Math.abs(want)));
          maxGap = Math.max(maxGap, Math.abs(ec[j]! - eu[j]!));
          // What a wrong formula (guiding away from the unconditional from the conditional) would give.
          maxAlt = Math.max(maxAlt, Math.abs(guided[j]! - (ec[j]! + s * (ec[j]! - eu[j]!))));
        }
      }
      assert.ok(maxErr < 1e-12, `t=${t}: relative error ${maxErr}`);
      assert.ok(maxGap > 1e-3, `t=${t}: the condition changes eps (max |eps_c - eps_u| = ${maxGap})`);
      assert.ok(maxAlt > 1e-3, `t=${t}: another formula would be told apart (${maxAlt})`);
    }
  });

  test('scale 0 is exactly the unconditional eps, 1 exactly the conditional one, and no class is unconditional at any scale', () => {
    const t = 300;
    const items = Array.from({ length: n }, (_, i) => ({ classWeights: onehot(i % C) }));
    const { eu, ec } = separatePasses(items, t);
    assert.deepEqual(guidedEps(model, items.map((it) => ({ ...it, cfgScale: 0 })), x, t), eu);
    assert.deepEqual(guidedEps(model, items.map((it) => ({ ...it, cfgScale: 1 })), x, t), ec);
    assert.deepEqual(guidedEps(model, items.map(() => ({ classWeights: null, cfgScale: 5 })), x, t), eu);
  });

  test("an item's guided eps does not depend on the rest of its batch", () => {
    const items = Array.from({ length: n }, (_, i) => ({ classWeights: onehot(i % C), cfgScale: i === 2 ? 0 : 3 }));
    const batch = guidedEps(model, items, x, 400);
    items.forEach((it, i) => {
      const alone = guidedEps(model, [it], x.subarray(i * D, (i + 1) * D), 400);
      assert.deepEqual(alone, batch.subarray(i * D, (i + 1) * D), `item ${i}`);
    });
  });

  test('the sampling network (plain JS) computes what the training network (TF.js) does, to float32 precision', async () => {
    await initTfBackend('auto');
    const net = prepareNetwork(model);
    const K = conditionDims(C);
    const E = model.timeEmbedDims;
    const inDims = D + E + K;
    const t = 640;
    const cond = new Float64Array(n * K);
    const input = new Float32Array(n * inDims);
    for (let i = 0; i < n; i++) {
      conditionVector(i === 0 ? null : onehot(i % C), i === 1 ? { brightness: 1, size: -0.5, texture: 0 } : null, C, cond, i * K);
      for (let d = 0; d < D; d++) input[i * inDims + d] = x[i * D + d]!;
      timeEmbedding(t, E, input, i * inDims + D);
      for (let k = 0; k < K; k++) input[i * inDims + D + E + k] = cond[i * K + k]!;
    }
    const shapes = net.layers.flatMap((l) => [[l.inDims, l.outDims], [l.outDims]]);
    const viaTf = tf.tidy(() => tfEps(model.weights.map((w, i) => tf.tensor(w, shapes[i])), tf.tensor2d(input, [n, inDims])).dataSync());
    // The JS pass reads x in float64; give it the float32 inputs TF saw.
    const viaJs = forwardEps(net, Float64Array.from(input.filter((_, j) => j % inDims < D)), n, t, cond);
    let maxErr = 0;
    for (let j = 0; j < viaJs.length; j++) maxErr = Math.max(maxErr, Math.abs(viaJs[j]! - viaTf[j]!));
    assert.ok(maxErr < 1e-4, `max |JS - TF| = ${maxErr}`);
    assert.ok(Math.max(...Array.from(viaJs, Math.abs)) > 0.05, 'outputs are not all ~0');
  });
});
