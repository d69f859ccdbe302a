// The embedded generator's model as bytes: a round trip samples identically, and malformed bytes
// (untrusted input) throw a GmmModelFormatError naming the problem.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fitGmmGenerator } from '../../../../activities/generate/gmm/fit.js';
import { GmmModelFormatError, type GmmGeneratorModel } from '../../../../activities/generate/gmm/model.js';
import { deserializeGmmModel, serializeGmmModel } from '../../../../activities/generate/gmm/model-format.js';
import { sampleBatch } from '../../../../activities/generate/gmm/sampler.js';
import { CLASSES, cls, items, loadTrain, onehot, P } from './fixture.js';

describe('GMM model format', () => {
  let model: GmmGeneratorModel;

  before(async () => {
    // A small model: the format does not depend on the model's size.
    const train = await loadTrain();
    const n = 2000;
    model = fitGmmGenerator({ images: train.images.subarray(0, n * P), labels: train.labels.subarray(0, n), count: n }, { pcaDims: 8, componentsPerClass: 3, fitSeed: 7 }, CLASSES);
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
});
