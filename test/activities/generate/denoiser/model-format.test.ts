// The denoiser's stored model: bytes round-trip exactly (and sample as the original does), equal
// models give equal bytes, and malformed or out-of-bounds blobs are refused before use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DenoiserModelFormatError, type DenoiserGeneratorModel } from '../../../../activities/generate/denoiser/model.js';
import { deserializeDenoiserModel, serializeDenoiserModel, validateDenoiserModel } from '../../../../activities/generate/denoiser/model-format.js';
import { sampleImage } from '../../../../activities/generate/denoiser/sampler.js';
import { toyModel } from './fixture.js';

/** The bytes with the JSON header replaced by `edit` of it (lengths fixed up; the float data kept). */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Record<string, unknown>;
  edit(header);
  const data = bytes.subarray((12 + len + 3) & ~3);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = (12 + json.length + 3) & ~3;
  const out = new Uint8Array(start + data.length);
  out.set(bytes.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  return out;
}

describe('denoiser model format', () => {
  const model = toyModel(2);
  const bytes = serializeDenoiserModel(model);

  test('round-trips to equal bytes and equal samples', () => {
    const back = deserializeDenoiserModel(bytes);
    assert.deepEqual(serializeDenoiserModel(back), bytes);
    assert.deepEqual(back.weights, model.weights);
    assert.deepEqual(back.geometry, model.geometry);
    const opts = { classWeights: Float64Array.from([0, 1, 0]), cfgScale: 3, steps: 10, seed: 'fmt' };
    assert.deepEqual(sampleImage(back, opts), sampleImage(model, opts));
    assert.deepEqual(serializeDenoiserModel(toyModel(2)), bytes, 'equal models, equal bytes');
    assert.notDeepEqual(serializeDenoiserModel(toyModel(3)), bytes);
  });

  test('refuses malformed bytes', () => {
    const cases: [string, Uint8Array][] = [
      ['bad magic', Uint8Array.from(bytes, (b, i) => (i === 0 ? 0x00 : b))],
      ['truncated', bytes.subarray(0, bytes.length - 4)],
      ['trailing bytes', Uint8Array.from([...bytes, 0, 0, 0, 0])],
      ['too short', bytes.subarray(0, 8)],
      ['other version', Uint8Array.from(bytes, (b, i) => (i === 4 ? 9 : b))],
      ['hidden that does not match the data', withHeader(bytes, (h) => (h.hidden = [32, 16]))],
      ['hidden beyond the bounds', withHeader(bytes, (h) => (h.hidden = [1_000_000, 1_000_000]))],
      ['too many values', withHeader(bytes, (h) => (h.hidden = [8192, 8192, 8192]))],
      ['pcaDims above the pixels', withHeader(bytes, (h) => (h.pcaDims = 65))],
      ['geometry that does not match the pixels', withHeader(bytes, (h) => (h.geometry = { size: 9, channels: 1 }))],
      ['odd time embedding', withHeader(bytes, (h) => (h.timeEmbedDims = 31))],
      ['no training record', withHeader(bytes, (h) => delete h.training)],
      ['another format', withHeader(bytes, (h) => (h.format = 'synthscale-gmm'))],
    ];
    for (const [what, b] of cases) assert.throws(() => deserializeDenoiserModel(b), DenoiserModelFormatError, what);
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 4, Number.NaN, true);
    assert.throws(() => deserializeDenoiserModel(nan), /not finite/);
  });

  test('validation refuses inconsistent models', () => {
    const bad = (edit: (m: DenoiserGeneratorModel) => void) => {
      const m = toyModel(2);
      edit(m);
      return () => validateDenoiserModel(m);
    };
    assert.throws(bad((m) => (m.mean[0] = 3)), DenoiserModelFormatError);
    assert.throws(bad((m) => (m.basis[0] = 2)), /norm/);
    assert.throws(bad((m) => (m.eigenvalues[1] = -1)), DenoiserModelFormatError);
    assert.throws(bad((m) => m.weights.pop()), /weight arrays/);
    assert.throws(bad((m) => (m.weights[0] = new Float32Array(3))), DenoiserModelFormatError);
    assert.throws(bad((m) => (m.formatVersion = 2)), /format version/);
    assert.doesNotThrow(bad(() => {}));
  });
});
