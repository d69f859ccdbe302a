// OOD evaluation suites: the registry, the applySuite contract, determinism, severity
// monotonicity (on real Fashion-MNIST test images when present, and on synthetic garment-like
// images always) and speed. Each corruption's geometry and statistics: ood-corruptions.test.ts;
// the spec schemas: ood-spec.test.ts.
// Run: node --import tsx --test test/core/image/ood.test.ts
import { FASHION_MNIST_GEOMETRY } from '../../../core/image/geometry.js';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { applySuite, applySuiteToSet, corruptImage, getOodSuite, OOD_SUITE_NAMES, OOD_SUITES, oodImageSeed, suiteParameter, type OodSuiteName } from '../../../core/image/ood.js';
import { describeOodSuite, suiteId } from '../../../contracts/spec/ood.js';
import { COUNT, image, loadRealImages, meanAbsDiff, P, real, sets, SEVERITIES, synthetic } from './ood-fixtures.js';

before(loadRealImages);

describe('registry', () => {
  test('every named suite is registered with a description and five levels', () => {
    assert.deepEqual(Object.keys(OOD_SUITES).sort(), [...OOD_SUITE_NAMES].sort());
    for (const name of OOD_SUITE_NAMES) {
      const suite = getOodSuite(name);
      assert.equal(suite.name, name);
      assert.ok(suite.description.length > 10, name);
      assert.equal(suite.levels.length, 5, name);
      assert.ok(suite.levels.every(Number.isFinite), name);
      const line = describeOodSuite(name);
      assert.ok(line.startsWith(`${name}: `), line);
      if (!suite.severityInvariant) for (const level of suite.levels) assert.ok(line.includes(String(+level.toFixed(3))), line);
    }
    for (const name of ['rotate', 'gaussian-noise', 'gaussian-blur', 'invert', 'contrast']) assert.ok(OOD_SUITE_NAMES.includes(name as OodSuiteName), name);
  });

  test('documented parameters per level', () => {
    assert.deepEqual(SEVERITIES.map((s) => suiteParameter('rotate', s)), [15, 30, 45, 60, 90]);
    assert.deepEqual(SEVERITIES.map((s) => suiteParameter('contrast', s)), [0.4, 0.3, 0.2, 0.1, 0.05]);
    assert.deepEqual(SEVERITIES.map((s) => suiteParameter('gaussian-blur', s)), [0.5, 0.75, 1, 1.5, 2]);
    assert.ok(Math.abs(suiteParameter('gaussian-noise', 1) - 0.08 * 255) < 1e-9);
    assert.throws(() => suiteParameter('rotate', 0), /integer from 1 to 5, got 0/);
  });

  test('unknown suites are rejected naming the known ones', () => {
    for (const call of [
      () => getOodSuite('fog'),
      () => applySuite('fog', synthetic, 1, 3, 0),
      () => corruptImage('fog', image(synthetic, 0), 3, 0, 0),
      () => suiteId({ suite: 'fog' }),
      () => getOodSuite('toString'),
    ]) {
      assert.throws(call, (err: Error) => {
        assert.match(err.message, /unknown OOD suite/);
        for (const name of OOD_SUITE_NAMES) assert.ok(err.message.includes(name), `${err.message} lacks ${name}`);
        return true;
      });
    }
  });
});

describe('applySuite contract', () => {
  test('lengths, count prefix and count 0', () => {
    for (const name of OOD_SUITE_NAMES) {
      const out = applySuite(name, synthetic, 7, 3, 1);
      assert.equal(out.length, 7 * P, name);
      // Extra bytes beyond count are ignored, and image i does not depend on how many follow it.
      assert.deepEqual(out, applySuite(name, synthetic.subarray(0, 7 * P), 7, 3, 1), name);
      assert.deepEqual(out.subarray(0, 3 * P), applySuite(name, synthetic, 3, 3, 1), name);
      assert.equal(applySuite(name, synthetic, 0, 3, 1).length, 0);
    }
  });

  test('bad arguments throw clear errors', () => {
    assert.throws(() => applySuite('rotate', synthetic, COUNT + 1, 3, 0), /fewer than 201 images need/);
    assert.throws(() => applySuite('rotate', synthetic, -1, 3, 0), /count must be a non-negative integer/);
    assert.throws(() => applySuite('rotate', synthetic, 1.5, 3, 0), /count must be a non-negative integer/);
    for (const severity of [0, 6, 2.5, Number.NaN]) {
      assert.throws(() => applySuite('rotate', synthetic, 1, severity, 0), /OOD severity must be an integer from 1 to 5/);
    }
    assert.throws(() => applySuite('gaussian-noise', synthetic, 1, 3, Number.NaN), /seed must be finite/);
    assert.throws(() => corruptImage('invert', synthetic.subarray(0, 100), 3, 0, 0), /784 bytes/);
    assert.throws(() => corruptImage('invert', image(synthetic, 0), 3, 0, -1), /index must be a non-negative integer/);
  });

  test('the input is never modified', () => {
    for (const [, set] of sets()) {
      const before = set.slice();
      for (const name of OOD_SUITE_NAMES) for (const s of [1, 5]) applySuite(name, set, COUNT, s, 'x');
      for (let i = 0; i < 5; i++) corruptImage('elastic', image(set, i), 5, 0, i);
      assert.deepEqual(set, before);
    }
  });

  test('outputs stay bytes and the corruptions do change images', () => {
    for (const name of OOD_SUITE_NAMES) {
      const out = applySuite(name, synthetic, 20, 3, 0);
      assert.ok(out instanceof Uint8Array);
      assert.ok(meanAbsDiff(out, synthetic.subarray(0, 20 * P)) > 1, name);
    }
  });
});

describe('determinism', () => {
  test('same (suite, severity, seed) gives identical bytes', () => {
    for (const name of OOD_SUITE_NAMES) {
      for (const seed of [0, 42, 'sweep-a']) {
        assert.deepEqual(applySuite(name, synthetic, 30, 4, seed), applySuite(name, synthetic, 30, 4, seed), `${name} ${seed}`);
      }
    }
  });

  test('the seed matters exactly for the random suites', () => {
    for (const name of OOD_SUITE_NAMES) {
      const a = applySuite(name, synthetic, 30, 3, 1);
      const b = applySuite(name, synthetic, 30, 3, 2);
      if (getOodSuite(name).random) assert.notDeepEqual(a, b, name);
      else assert.deepEqual(a, b, name);
    }
    const noise1 = applySuite('gaussian-noise', synthetic, 30, 3, 1);
    const noise2 = applySuite('gaussian-noise', synthetic, 30, 3, '1x');
    assert.ok(meanAbsDiff(noise1, noise2) > 10, 'independent noise fields differ substantially');
  });

  test('images get independent generators: seeds differ by index and by suite', () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 10_000; i++) seeds.add(oodImageSeed('gaussian-noise', 0, i));
    assert.equal(seeds.size, 10_000);
    assert.notEqual(oodImageSeed('gaussian-noise', 0, 5), oodImageSeed('elastic', 0, 5));
    // Two identical images at different indices get different noise.
    const twin = new Uint8Array(2 * P).fill(100);
    const out = applySuite('gaussian-noise', twin, 2, 3, 0);
    assert.notDeepEqual(image(out, 0), image(out, 1));
  });

  test('any image can be recomputed alone with corruptImage', () => {
    for (const name of OOD_SUITE_NAMES) {
      const all = applySuite(name, synthetic, COUNT, 4, 'seed-7');
      for (const i of [0, 1, 57, COUNT - 1]) {
        assert.deepEqual(corruptImage(name, image(synthetic, i), 4, 'seed-7', i), image(all, i), `${name} #${i}`);
      }
    }
  });

  test('applySuiteToSet shares labels and corrupts images', () => {
    const labels = new Uint8Array(COUNT).map((_, i) => i % 10);
    const set = { images: synthetic, labels, count: COUNT, geometry: FASHION_MNIST_GEOMETRY };
    const out = applySuiteToSet({ suite: 'invert', severity: 3 }, set, 0);
    assert.equal(out.count, COUNT);
    assert.equal(out.labels, labels);
    assert.deepEqual(out.images, applySuite('invert', synthetic, COUNT, 3, 0));
  });
});

describe('severity monotonicity', () => {
  test('higher severity moves images further from the clean ones, for every suite', () => {
    for (const [setName, set] of sets()) {
      for (const name of OOD_SUITE_NAMES) {
        const distances = SEVERITIES.map((s) => meanAbsDiff(applySuite(name, set, COUNT, s, 0), set));
        if (getOodSuite(name).severityInvariant) {
          assert.ok(distances.every((d) => d === distances[0] && d > 50), `${setName} ${name}: ${distances}`);
          continue;
        }
        for (let s = 1; s < 5; s++) {
          assert.ok(distances[s]! > distances[s - 1]!, `${setName} ${name}: severity ${s + 1} (${distances[s]}) <= ${s} (${distances[s - 1]})`);
        }
      }
    }
  });
});

describe('speed', () => {
  test('every suite over 2,000 images in well under a second each', (t) => {
    const count = 2000;
    const images = new Uint8Array(count * P);
    const src = real ?? synthetic;
    for (let i = 0; i < count; i++) images.set(image(src, i % COUNT), i * P);
    const timings: string[] = [];
    let total = 0;
    for (const name of OOD_SUITE_NAMES) {
      const start = process.cpuUsage();
      applySuite(name, images, count, 5, 0); // severity 5: the largest blur kernel
      const ms = process.cpuUsage(start).user / 1000;
      total += ms;
      timings.push(`${name} ${ms.toFixed(0)}ms`);
    }
    t.diagnostic(`CPU time for ${count} images at severity 5: ${timings.join(', ')}; total ${total.toFixed(0)}ms`);
    // Generous (5x-10x headroom on a loaded 2-core box) so it flags a regression, not a slow machine.
    assert.ok(total < 5000, `${total}ms`);
  });
});
