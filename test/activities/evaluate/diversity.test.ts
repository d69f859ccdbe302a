// The recognizability stage's diversity step (activities/evaluate/diversity.ts): the judge's features
// of generated and real images through the metrics, on identical, collapsed and too-small sets.
// Run: node --import tsx --test test/activities/evaluate/diversity.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend } from '../../../core/nn/backend.js';
import { initialClassifier, INPUT_SIZE } from '../../../core/nn/classifier.js';
import { createRng } from '../../../core/rng.js';
import { judgeDiversity } from '../../../activities/evaluate/diversity.js';

function images(count: number, seed: string): { images: Uint8Array; labels: Uint8Array; count: number } {
  const rng = createRng(seed);
  // Blobs of random brightness on a dark background: varied, but not noise.
  const out = new Uint8Array(count * INPUT_SIZE);
  for (let i = 0; i < count; i++) {
    const cx = 6 + rng.int(16);
    const cy = 6 + rng.int(16);
    const level = 80 + rng.int(176);
    for (let p = 0; p < INPUT_SIZE; p++) if (Math.hypot((p % 28) - cx, Math.floor(p / 28) - cy) < 5) out[i * INPUT_SIZE + p] = level;
  }
  // Labels: two classes, by blob position (left or right half).
  return { images: out, labels: Uint8Array.from({ length: count }, (_, i) => i % 2), count };
}

describe('judgeDiversity', () => {
  const judge = initialClassifier([32], 'judge');
  before(async () => {
    await initTfBackend('wasm');
  });

  test('the real images themselves: full precision, recall and coverage, no Fréchet distance', async () => {
    const real = images(300, 'real');
    const m = await judgeDiversity(judge, real, real);
    assert.ok(m);
    assert.deepEqual([m.precision, m.recall, m.coverage, m.images, m.realImages], [1, 1, 1, 300, 300]);
    assert.ok(m.frechet < 1e-6, `frechet ${m.frechet}`);
    assert.ok(Math.abs(m.vendi - m.realVendi) < 1e-9);
    assert.ok(m.classVendi !== undefined && Math.abs(m.classVendi - m.realClassVendi!) < 1e-9, 'within-class Vendi of the same set');
  });

  test('one image repeated: low recall, Vendi 1, far from the real set', async () => {
    const real = images(300, 'real');
    const one = images(1, 'one');
    const repeated = { images: new Uint8Array(200 * INPUT_SIZE).map((_, p) => one.images[p % INPUT_SIZE]!), labels: new Uint8Array(200), count: 200 };
    const m = await judgeDiversity(judge, repeated, real);
    assert.ok(m);
    assert.ok(m.recall < 0.05 && m.coverage < 0.05, `recall ${m.recall}, coverage ${m.coverage}`);
    assert.ok(Math.abs(m.vendi - 1) < 1e-6, `vendi ${m.vendi}`);
    assert.ok(m.realVendi > 2, `real vendi ${m.realVendi}`);
    const other = await judgeDiversity(judge, images(200, 'generated'), real);
    assert.ok(other && other.frechet < m.frechet, 'a varied set of the same kind is nearer than the collapsed one');
  });

  test('the steps are announced, and too few images give no metrics', async () => {
    const steps: string[] = [];
    await judgeDiversity(judge, images(20, 'g'), images(30, 'r'), (step) => void steps.push(step));
    assert.deepEqual(steps, ['neighbours', 'frechet', 'vendi']);
    assert.equal(await judgeDiversity(judge, images(5, 'g'), images(30, 'r')), undefined);
  });
});
