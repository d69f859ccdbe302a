// OOD corruptions one by one: the geometry and statistics each must have (on real Fashion-MNIST
// test images when present, and on synthetic garment-like images always).
// Run: node --import tsx --test test/core/image/ood-corruptions.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { applySuite, blurImage, corruptImage, gaussianKernel, rotateImage, shiftImage, suiteParameter } from '../../../core/image/ood.js';
import { COUNT, image, loadRealImages, mean, meanAbsDiff, P, sets, SEVERITIES, single, std, synthetic, totalVariation } from './ood-fixtures.js';

before(loadRealImages);

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
