// Training the denoiser: deterministic for a seed, checkpointed every K steps, and a run killed
// after a checkpoint and resumed from it in a fresh call ends with the uninterrupted run's weights,
// bit for bit; checkpoints of other runs and damaged ones are not resumed from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CorruptModelError } from '../../../../core/nn/container.js';
import { createRng } from '../../../../core/rng.js';
import { decodeDenoiserCheckpoint, encodeDenoiserCheckpoint } from '../../../../activities/generate/denoiser/checkpoint.js';
import { trainDenoiser, type CheckpointStore, type DenoiserTrainConfig, type DenoiserTrainData } from '../../../../activities/generate/denoiser/train.js';

const D = 8;
const N = 500;

function toyData(seed = 0): DenoiserTrainData {
  const rng = createRng(`train-test|${seed}`);
  const labels = Uint8Array.from({ length: N }, (_, i) => i % 3);
  const x0 = Float32Array.from({ length: N * D }, (_, j) => rng.normal() + (labels[Math.floor(j / D)]! - 1) * (j % D === 0 ? 2 : 0));
  const attributes = Float32Array.from({ length: N * 3 }, () => 2 * rng.uniform() - 1);
  return { x0, labels, attributes, count: N, D, classes: 3 };
}

const CFG: DenoiserTrainConfig = { hidden: [64, 64], trainSteps: 60, batchSize: 32, learningRate: 1e-3, condDropout: 0.2, checkpointEvery: 20, seed: 5, timeEmbedDims: 16 };

class Killed extends Error {}

/** A checkpoint store in memory that kills the run (throws) right after saving step `killAt`. */
function memoryStore(killAt?: number): CheckpointStore & { saved: number[]; ranges: string[]; bytes?: Uint8Array } {
  const store: CheckpointStore & { saved: number[]; ranges: string[]; bytes?: Uint8Array } = {
    saved: [],
    ranges: [],
    load: async () => store.bytes,
    async save(bytes, at) {
      store.bytes = bytes;
      store.saved.push(at.step);
      store.ranges.push(`${at.from}-${at.step}`);
      if (at.step === killAt) throw new Killed(`killed after step ${at.step}`);
    },
  };
  return store;
}

describe('denoiser training', () => {
  const data = toyData();

  test('resumed after a kill, training ends with the uninterrupted run’s weights, bit for bit', async () => {
    const full = memoryStore();
    const reference = await trainDenoiser(data, CFG, { checkpoint: full });
    assert.deepEqual(full.saved, [20, 40, 60]);
    assert.deepEqual(full.ranges, ['0-20', '20-40', '40-60']);
    assert.equal(reference.steps, 60);

    const interrupted = memoryStore(20);
    await assert.rejects(trainDenoiser(data, CFG, { checkpoint: interrupted }), Killed);
    // A fresh call (a new attempt) picks the checkpoint up, and is killed again at 40.
    const again = Object.assign(memoryStore(40), { bytes: interrupted.bytes });
    await assert.rejects(trainDenoiser(data, CFG, { checkpoint: again }), Killed);
    const last = Object.assign(memoryStore(), { bytes: again.bytes });
    const resumed = await trainDenoiser(data, CFG, { checkpoint: last });
    assert.equal(resumed.resumedFromStep, 40);
    assert.deepEqual(last.saved, [60]);
    assert.deepEqual([...interrupted.ranges, ...again.ranges, ...last.ranges], ['0-20', '20-40', '40-60'], 'each step is trained (and reported) once');
    assert.deepEqual(resumed.weights, reference.weights);
    assert.equal(resumed.finalLoss, reference.finalLoss);
  });

  test('equal seeds train equal weights, another seed other weights (so equality above is not vacuous)', async () => {
    const a = await trainDenoiser(data, { ...CFG, trainSteps: 20 });
    const b = await trainDenoiser(data, { ...CFG, trainSteps: 20 });
    const c = await trainDenoiser(data, { ...CFG, trainSteps: 20, seed: 6 });
    assert.deepEqual(a.weights, b.weights);
    assert.notDeepEqual(a.weights, c.weights);
    assert.ok(Number.isFinite(a.finalLoss) && a.finalLoss > 0);
  });

  test("another run's checkpoint, or a damaged one, is not resumed from", async () => {
    const fresh = await trainDenoiser(data, { ...CFG, trainSteps: 20 });
    const other = memoryStore(20);
    await assert.rejects(trainDenoiser(data, { ...CFG, trainSteps: 20, condDropout: 0.3 }, { checkpoint: other }), Killed);
    const ignored: string[] = [];
    for (const bytes of [other.bytes!, other.bytes!.subarray(0, other.bytes!.length - 4)]) {
      const store = Object.assign(memoryStore(), { bytes });
      const out = await trainDenoiser(data, { ...CFG, trainSteps: 20 }, { checkpoint: store, onResumeIgnored: (r) => ignored.push(r) });
      assert.equal(out.resumedFromStep, 0);
      assert.deepEqual(out.weights, fresh.weights);
    }
    assert.equal(ignored.length, 2);
    assert.match(ignored[0]!, /another run/);
    // Other data is another run too.
    const otherData = memoryStore(20);
    await assert.rejects(trainDenoiser(toyData(1), { ...CFG, trainSteps: 20 }, { checkpoint: otherData }), Killed);
    const out = await trainDenoiser(data, { ...CFG, trainSteps: 20 }, { checkpoint: Object.assign(memoryStore(), { bytes: otherData.bytes }), onResumeIgnored: (r) => ignored.push(r) });
    assert.equal(out.resumedFromStep, 0);
    assert.equal(ignored.length, 3);
  });

  test('the checkpoint codec round-trips and rejects malformed bytes', async () => {
    const store = memoryStore(20);
    await assert.rejects(trainDenoiser(data, CFG, { checkpoint: store }), Killed);
    const c = decodeDenoiserCheckpoint(store.bytes!);
    assert.equal(c.step, 20);
    assert.deepEqual(encodeDenoiserCheckpoint(c), store.bytes);
    const bad = store.bytes!.slice();
    bad[0] = 0x00;
    assert.throws(() => decodeDenoiserCheckpoint(bad), CorruptModelError);
    assert.throws(() => decodeDenoiserCheckpoint(store.bytes!.subarray(0, 100)), CorruptModelError);
  });

  test('training stops when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(trainDenoiser(data, CFG, { signal: controller.signal }), /cancelled/);
  });
});
