// OOD evaluation suites: determinism, purity, the geometry and statistics each corruption must
// have, severity monotonicity (on real Fashion-MNIST test images when present, and on synthetic
// garment-like images always), the spec schemas and speed.
// Run: node --import tsx --test test/ood.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { z } from 'zod';
import { DatasetUnavailableError, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { createRng } from '../../../core/rng.js';
import {
  applySuite,
  applySuiteToSet,
  blurImage,
  corruptImage,
  DEFAULT_OOD_SUITES,
  describeOodSuite,
  gaussianKernel,
  getOodSuite,
  OOD_SUITE_NAMES,
  OOD_SUITES,
  oodImageSeed,
  OodSelectionSchema,
  OodSuiteListSchema,
  OodSuiteSpecSchema,
  rotateImage,
  shiftImage,
  suiteId,
  suiteParameter,
  type OodSuiteName,
} from '../../../core/image/ood.js';

const P = IMAGE_PIXELS;
const SEVERITIES = [1, 2, 3, 4, 5] as const;

/** Deterministic garment-like images: a filled, shaded blob (ellipse or rectangle) on black. */
function syntheticImages(count: number): Uint8Array {
  const out = new Uint8Array(count * P);
  for (let i = 0; i < count; i++) {
    const rng = createRng(`ood-test|synthetic|${i}`);
    const cx = 11 + 6 * rng.uniform();
    const cy = 11 + 6 * rng.uniform();
    const rx = 5 + 7 * rng.uniform();
    const ry = 5 + 7 * rng.uniform();
    const ellipse = rng.uniform() < 0.5;
    const base = 90 + 140 * rng.uniform();
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const u = (x - cx) / rx;
        const v = (y - cy) / ry;
        const inside = ellipse ? u * u + v * v <= 1 : Math.abs(u) <= 1 && Math.abs(v) <= 1;
        if (inside) out[i * P + y * 28 + x] = Math.min(255, Math.round(base + 25 * Math.sin(x / 2) * Math.cos(y / 3)));
      }
    }
  }
  return out;
}

function image(set: Uint8Array, i: number): Uint8Array {
  return set.subarray(i * P, (i + 1) * P);
}

function mean(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

function std(a: Uint8Array): number {
  const m = mean(a);
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return Math.sqrt(s / a.length);
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** Anisotropic total variation of one 28x28 image. */
function totalVariation(img: Uint8Array): number {
  let tv = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x]!;
      if (x + 1 < 28) tv += Math.abs(img[y * 28 + x + 1]! - v);
      if (y + 1 < 28) tv += Math.abs(img[(y + 1) * 28 + x]! - v);
    }
  }
  return tv;
}

function single(x: number, y: number, value = 200): Uint8Array {
  const img = new Uint8Array(P);
  img[y * 28 + x] = value;
  return img;
}

const COUNT = 200;
let real: Uint8Array | undefined; // first COUNT Fashion-MNIST test images, when the dataset is present
const synthetic = syntheticImages(COUNT);

before(async () => {
  try {
    const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'), { download: false });
    // A plain Uint8Array copy (the loader's array is a Buffer, whose slice() would be a view).
    real = new Uint8Array((await loadSplit(dir, 'test')).images.subarray(0, COUNT * P));
  } catch (err) {
    if (!(err instanceof DatasetUnavailableError)) throw err;
  }
});

/** The image sets to check: real (if present) and synthetic, with a name for messages. */
function sets(): Array<[string, Uint8Array]> {
  return real ? [['fashion-mnist', real], ['synthetic', synthetic]] : [['synthetic', synthetic]];
}

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
    const set = { images: synthetic, labels, count: COUNT };
    const out = applySuiteToSet({ suite: 'invert', severity: 3 }, set, 0);
    assert.equal(out.count, COUNT);
    assert.equal(out.labels, labels);
    assert.deepEqual(out.images, applySuite('invert', synthetic, COUNT, 3, 0));
  });
});

describe('invert', () => {
  test('255 - x, an involution, the same at every severity', () => {
    for (const [name, set] of sets()) {
      const once = applySuite('invert', set, COUNT, 3, 0);
      for (let i = 0; i < 1000; i++) assert.equal(once[i], 255 - set[i]!);
      assert.deepEqual(applySuite('invert', once, COUNT, 3, 0), set, name);
      for (const s of SEVERITIES) assert.deepEqual(applySuite('invert', set, COUNT, s, s), once, name);
    }
  });
});

describe('rotate', () => {
  test('by 0 and by 360 degrees is the identity', () => {
    for (const [, set] of sets()) {
      for (let i = 0; i < 20; i++) {
        assert.deepEqual(rotateImage(image(set, i), 0), image(set, i));
        assert.deepEqual(rotateImage(image(set, i), 360), image(set, i));
      }
    }
  });

  test('by 90 degrees turns counter-clockwise as displayed, exactly', () => {
    // The top-right pixel goes to the top-left, the top-left to the bottom-left.
    assert.deepEqual(rotateImage(single(27, 0), 90), single(0, 0));
    assert.deepEqual(rotateImage(single(0, 0), 90), single(0, 27));
    assert.deepEqual(rotateImage(single(20, 5), 90), single(5, 7));
    assert.deepEqual(rotateImage(single(20, 5), -90), single(22, 20));
    for (const [, set] of sets()) {
      for (let i = 0; i < 20; i++) {
        const src = image(set, i);
        const out = rotateImage(src, 90);
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) assert.equal(out[y * 28 + x], src[x * 28 + (27 - y)]);
        let four = src;
        for (let k = 0; k < 4; k++) four = rotateImage(four, 90);
        assert.deepEqual(four, src);
        assert.deepEqual(rotateImage(out, -90), src);
      }
    }
  });

  test('a small rotation moves an off-centre pixel along its circle, zero fill at the corners', () => {
    // A pixel at radius 10.5 right of centre, rotated 30 degrees counter-clockwise, lands near
    // (13.5 + 10.5 cos 30, 13.5 - 10.5 sin 30) = (22.6, 8.25).
    const out = rotateImage(single(24, 13, 255), 30);
    let sx = 0;
    let sy = 0;
    let mass = 0;
    for (let p = 0; p < P; p++) {
      sx += (p % 28) * out[p]!;
      sy += Math.floor(p / 28) * out[p]!;
      mass += out[p]!;
    }
    assert.ok(mass > 0);
    const c = 13.5;
    const ex = c + 10.5 * Math.cos(Math.PI / 6) - 0.5 * Math.sin(Math.PI / 6);
    const ey = c - 10.5 * Math.sin(Math.PI / 6) - 0.5 * Math.cos(Math.PI / 6);
    assert.ok(Math.abs(sx / mass - ex) < 0.75 && Math.abs(sy / mass - ey) < 0.75, `centroid (${sx / mass}, ${sy / mass}) vs (${ex}, ${ey})`);
    // A full white image rotated by 45 degrees has black (zero-filled) corners and a white centre.
    const white = rotateImage(new Uint8Array(P).fill(255), 45);
    assert.equal(white[0], 0);
    assert.equal(white[P - 1], 0);
    assert.equal(white[14 * 28 + 14], 255);
  });

  test('the suite rotates each image one way or the other by the level angle', () => {
    const out = applySuite('rotate', synthetic, COUNT, 5, 0); // 90 degrees
    let ccw = 0;
    let cw = 0;
    for (let i = 0; i < COUNT; i++) {
      const got = image(out, i);
      const isCcw = meanAbsDiff(got, rotateImage(image(synthetic, i), 90)) === 0;
      const isCw = meanAbsDiff(got, rotateImage(image(synthetic, i), -90)) === 0;
      assert.ok(isCcw || isCw, `image ${i}`);
      if (isCcw) ccw++;
      if (isCw) cw++;
    }
    assert.ok(ccw > COUNT / 4 && cw > COUNT / 4, `${ccw} ccw, ${cw} cw`);
    // The sense is shared across severities (severity is not in the seed).
    const s1 = applySuite('rotate', synthetic, 10, 1, 0);
    for (let i = 0; i < 10; i++) {
      const sense = meanAbsDiff(image(out, i), rotateImage(image(synthetic, i), 90)) === 0 ? 1 : -1;
      assert.deepEqual(image(s1, i), rotateImage(image(synthetic, i), 15 * sense));
    }
  });
});

describe('gaussian-blur', () => {
  test('the kernel is normalised and symmetric', () => {
    for (const sigma of [0.5, 0.75, 1, 1.5, 2]) {
      const k = gaussianKernel(sigma);
      assert.equal(k.length, 2 * Math.max(1, Math.ceil(3 * sigma)) + 1);
      assert.ok(Math.abs(k.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      for (let i = 0; i < k.length; i++) assert.equal(k[i], k[k.length - 1 - i]);
    }
    assert.throws(() => gaussianKernel(0), /sigma must be a positive number/);
  });

  test('preserves the mean and a constant image, reduces total variation', () => {
    assert.deepEqual(blurImage(new Uint8Array(P).fill(77), 2), new Uint8Array(P).fill(77));
    // An impulse spreads symmetrically and keeps its mass (away from the edges).
    const spot = blurImage(single(14, 14, 255), 1);
    assert.ok(Math.abs(spot.reduce((a, b) => a + b, 0) - 255) <= 15);
    assert.equal(spot[14 * 28 + 13], spot[14 * 28 + 15]);
    assert.equal(spot[13 * 28 + 14], spot[15 * 28 + 14]);
    for (const [name, set] of sets()) {
      for (const s of SEVERITIES) {
        const out = applySuite('gaussian-blur', set, COUNT, s, 0);
        // Mirrored edges keep each image's total exactly; only the final rounding moves the mean.
        assert.ok(Math.abs(mean(out) - mean(set)) < 0.05, `${name} s${s}: mean ${mean(out)} vs ${mean(set)}`);
        for (let i = 0; i < COUNT; i++) {
          const src = image(set, i);
          assert.ok(Math.abs(mean(image(out, i)) - mean(src)) < 0.5, `${name} s${s} #${i} mean`);
          assert.ok(totalVariation(image(out, i)) < totalVariation(src), `${name} s${s} #${i} TV`);
        }
      }
    }
  });
});

describe('contrast', () => {
  test('scales the spread around the image mean by the level factor', () => {
    for (const [name, set] of sets()) {
      for (const s of SEVERITIES) {
        const factor = suiteParameter('contrast', s);
        const out = applySuite('contrast', set, COUNT, s, 0);
        for (let i = 0; i < COUNT; i++) {
          const src = image(set, i);
          const got = image(out, i);
          assert.ok(std(got) < std(src), `${name} s${s} #${i}`);
          assert.ok(Math.abs(std(got) - factor * std(src)) <= 0.6, `${name} s${s} #${i}: ${std(got)} vs ${factor * std(src)}`);
          assert.ok(Math.abs(mean(got) - mean(src)) <= 0.5, `${name} s${s} #${i} mean`);
        }
      }
    }
  });
});

describe('gaussian-noise', () => {
  test('adds zero-mean noise of the level sigma (unclamped grey image)', () => {
    const grey = new Uint8Array(50 * P).fill(128);
    for (const s of [1, 2]) {
      const sigma = suiteParameter('gaussian-noise', s);
      const out = applySuite('gaussian-noise', grey, 50, s, 0);
      assert.ok(Math.abs(mean(out) - 128) < 1, `s${s} mean ${mean(out)}`);
      assert.ok(Math.abs(std(out) / sigma - 1) < 0.03, `s${s} std ${std(out)} vs ${sigma}`);
    }
  });

  test('increases the spread of images away from 0 and 255, and roughness everywhere', () => {
    for (const [name, set] of sets()) {
      // Real images squeezed into 64..191, so clamping does not interfere: std grows for every image.
      const squeezed = set.map((v) => 64 + (v >> 1));
      for (const s of [1, 3]) {
        const out = applySuite('gaussian-noise', squeezed, COUNT, s, 0);
        for (let i = 0; i < COUNT; i++) assert.ok(std(image(out, i)) > std(image(squeezed, i)), `${name} s${s} #${i}`);
      }
      for (const s of SEVERITIES) {
        const out = applySuite('gaussian-noise', set, COUNT, s, 0);
        for (let i = 0; i < COUNT; i++) assert.ok(totalVariation(image(out, i)) > totalVariation(image(set, i)), `${name} s${s} #${i} TV`);
      }
    }
  });

  test('clamps at 0: black background becomes half-normal, mean sigma / sqrt(2 pi)', () => {
    // On raw Fashion-MNIST this lifts the black background, which is why low-severity noise
    // slightly *lowers* the per-image std of these nearly binary images (it rises from severity 4).
    for (const [name, set] of sets()) {
      for (const s of SEVERITIES) {
        const sigma = suiteParameter('gaussian-noise', s);
        const out = applySuite('gaussian-noise', set, COUNT, s, 0);
        let sum = 0;
        let n = 0;
        for (let p = 0; p < out.length; p++) {
          if (set[p] === 0) {
            sum += out[p]!;
            n++;
          }
        }
        const expected = sigma / Math.sqrt(2 * Math.PI);
        assert.ok(n > 10_000 && Math.abs(sum / n / expected - 1) < 0.03, `${name} s${s}: ${sum / n} vs ${expected}`);
      }
      const s5 = applySuite('gaussian-noise', set, COUNT, 5, 0);
      let before = 0;
      let after = 0;
      for (let i = 0; i < COUNT; i++) {
        before += std(image(set, i));
        after += std(image(s5, i));
      }
      assert.ok(after > before, `${name} s5: mean std ${after / COUNT} vs ${before / COUNT}`);
    }
  });

  test('higher levels scale the same draws', () => {
    // Severity is not in the seed: on mid-grey pixels the s5 deviation is (96.9 / 20.4) times s1's.
    const grey = new Uint8Array(P).fill(128);
    const s1 = corruptImage('gaussian-noise', grey, 1, 0, 3);
    const s5 = corruptImage('gaussian-noise', grey, 5, 0, 3);
    const ratio = suiteParameter('gaussian-noise', 5) / suiteParameter('gaussian-noise', 1);
    for (let p = 0; p < P; p++) {
      const d1 = s1[p]! - 128;
      const d5 = s5[p]! - 128;
      if (s5[p]! > 0 && s5[p]! < 255) assert.ok(Math.abs(d5 - d1 * ratio) <= 0.5 * ratio + 0.5, `pixel ${p}: ${d1} vs ${d5}`);
    }
  });
});

describe('pixelate, shift, elastic', () => {
  test('pixelate makes each cell one value, the rounded cell mean', () => {
    const out = applySuite('pixelate', synthetic, 20, 3, 0); // 4x4 cells; 28 = 7 * 4 so the grid starts at 0
    for (let i = 0; i < 20; i++) {
      const src = image(synthetic, i);
      const got = image(out, i);
      for (let by = 0; by < 28; by += 4) {
        for (let bx = 0; bx < 28; bx += 4) {
          let sum = 0;
          for (let y = by; y < by + 4; y++) for (let x = bx; x < bx + 4; x++) sum += src[y * 28 + x]!;
          for (let y = by; y < by + 4; y++) for (let x = bx; x < bx + 4; x++) assert.equal(got[y * 28 + x], Math.round(sum / 16));
        }
      }
    }
    // A 3x3 grid on 28 pixels is centred: 2-pixel partial cells at both edges.
    const cells = applySuite('pixelate', single(0, 0, 100), 1, 2, 0);
    assert.equal(cells[0], 25);
    assert.equal(cells[1 * 28 + 1], 25);
    assert.equal(cells[2], 0);
  });

  test('shiftImage translates whole pixels with zero fill', () => {
    assert.deepEqual(shiftImage(single(5, 6), 3, -2), single(8, 4));
    assert.deepEqual(shiftImage(single(27, 0), 1, 0), new Uint8Array(P));
    assert.deepEqual(shiftImage(image(synthetic, 0), 0, 0), image(synthetic, 0));
    assert.deepEqual(shiftImage(shiftImage(single(10, 10), 28, 0), -28, 0), new Uint8Array(P));
    assert.throws(() => shiftImage(image(synthetic, 0), 0.5, 0), /whole pixels/);
  });

  test('the shift suite moves each image by about the level distance', () => {
    for (const s of SEVERITIES) {
      const d = suiteParameter('shift', s);
      const out = applySuite('shift', synthetic, 40, s, 0);
      const directions = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const got = image(out, i);
        let found: string | undefined;
        for (let dy = -d; dy <= d && !found; dy++) {
          for (let dx = -d; dx <= d && !found; dx++) {
            const r = Math.hypot(dx, dy);
            if (r >= d - 0.71 && r <= d + 0.71 && meanAbsDiff(got, shiftImage(image(synthetic, i), dx, dy)) === 0) found = `${dx},${dy}`;
          }
        }
        assert.ok(found, `s${s} #${i} is no shift by ~${d}px`);
        directions.add(found);
      }
      assert.ok(directions.size >= 4, `s${s}: directions ${[...directions].join(' ')}`);
    }
  });

  test('elastic warps locally: small displacements keep the image close, mass roughly kept', () => {
    for (const [name, set] of sets()) {
      const out = applySuite('elastic', set, COUNT, 1, 0);
      for (let i = 0; i < COUNT; i++) {
        const src = image(set, i);
        const got = image(out, i);
        const m = mean(src);
        if (m < 5) continue;
        assert.ok(Math.abs(mean(got) - m) / m < 0.25, `${name} #${i}: mean ${mean(got)} vs ${m}`);
      }
      assert.ok(meanAbsDiff(out, set) < meanAbsDiff(applySuite('shift', set, COUNT, 3, 0), set), name);
    }
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

describe('schemas', () => {
  const message = (result: { success: boolean; error?: z.ZodError }) => (result.success ? '' : z.prettifyError(result.error!));

  test('spec: severity defaults to 3, strict keys', () => {
    assert.deepEqual(OodSuiteSpecSchema.parse({ suite: 'rotate' }), { suite: 'rotate', severity: 3 });
    assert.deepEqual(OodSuiteSpecSchema.parse({ suite: 'elastic', severity: 5 }), { suite: 'elastic', severity: 5 });
    assert.match(message(OodSuiteSpecSchema.safeParse({ suite: 'rotate', sevrity: 2 })), /sevrity/);
  });

  test('spec: unknown suites rejected, naming the known ones', () => {
    for (const suite of ['fog', 'Rotate', 3, undefined]) {
      const text = message(OodSuiteSpecSchema.safeParse({ suite }));
      assert.match(text, /unknown OOD suite/);
      for (const name of OOD_SUITE_NAMES) assert.ok(text.includes(name), text);
      assert.match(text, /at suite/);
    }
  });

  test('spec: severities outside 1..5 or not integers rejected', () => {
    for (const severity of [0, 6, -1, 2.5, '3', null]) {
      const text = message(OodSuiteSpecSchema.safeParse({ suite: 'rotate', severity }));
      assert.match(text, /OOD severity must be an integer from 1 to 5/, String(severity));
      assert.match(text, /at severity/);
    }
  });

  test('suiteId: stable, storage-safe, severity-free for invert', () => {
    assert.equal(suiteId({ suite: 'rotate', severity: 3 }), 'rotate-s3');
    assert.equal(suiteId({ suite: 'gaussian-noise', severity: 5 }), 'gaussian-noise-s5');
    assert.equal(suiteId({ suite: 'rotate' }), 'rotate-s3');
    assert.equal(suiteId({ suite: 'invert', severity: 4 }), 'invert');
    assert.throws(() => suiteId({ suite: 'rotate', severity: 9 }), /from 1 to 5/);
    const ids = OOD_SUITE_NAMES.flatMap((suite) => SEVERITIES.map((severity) => suiteId({ suite, severity })));
    for (const id of ids) assert.match(id, /^[a-z0-9][a-z0-9-]{0,62}$/);
    assert.equal(new Set(ids).size, ids.length - 4); // invert's five severities share one id
  });

  test('list: several severities of a suite allowed, duplicate ids rejected', () => {
    const ok = OodSuiteListSchema.parse([{ suite: 'rotate' }, { suite: 'rotate', severity: 5 }, { suite: 'invert' }]);
    assert.deepEqual(ok.map(suiteId), ['rotate-s3', 'rotate-s5', 'invert']);
    const dup = message(OodSuiteListSchema.safeParse([{ suite: 'rotate' }, { suite: 'contrast' }, { suite: 'rotate', severity: 3 }]));
    assert.match(dup, /duplicate OOD suite "rotate-s3"/);
    assert.match(dup, /at \[2\]/);
    assert.match(message(OodSuiteListSchema.safeParse([{ suite: 'invert', severity: 1 }, { suite: 'invert', severity: 5 }])), /invert ignores severity/);
    assert.match(message(OodSuiteListSchema.safeParse([{ suite: 'blur' }])), /unknown OOD suite "blur"; known suites: rotate, /);
  });

  test("selection: 'default', 'none' and explicit lists", () => {
    const defaults = OodSelectionSchema.parse('default');
    assert.deepEqual(defaults, DEFAULT_OOD_SUITES);
    assert.deepEqual(DEFAULT_OOD_SUITES.map((s) => s.suite), [...OOD_SUITE_NAMES]);
    assert.ok(DEFAULT_OOD_SUITES.every((s) => s.severity === 3));
    assert.ok(Object.isFrozen(DEFAULT_OOD_SUITES));
    defaults.pop(); // the parsed list is a copy
    assert.equal(DEFAULT_OOD_SUITES.length, OOD_SUITE_NAMES.length);
    assert.deepEqual(OodSelectionSchema.parse('none'), []);
    assert.deepEqual(OodSelectionSchema.parse([{ suite: 'pixelate', severity: 1 }]), [{ suite: 'pixelate', severity: 1 }]);
    assert.match(message(OodSelectionSchema.safeParse('all')), /ood must be 'default', 'none' or a list/);
    assert.match(message(OodSelectionSchema.safeParse([{ suite: 'noise' }])), /unknown OOD suite "noise"/);
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
