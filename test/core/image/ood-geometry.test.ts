// OOD suites at any geometry: every suite works per channel (a grey image replicated to RGB gives
// the grey result in each channel; noise is drawn per channel), pixel-measured levels scale with
// size / 28, corruptImage agrees with applySuite, and 28x28 grey gives the bytes it gave before
// geometries (sha256 prefixes pinned from the code before this change, on the synthetic images).
// Run: node --import tsx --test test/core/image/ood-geometry.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { FASHION_MNIST_GEOMETRY, type ImageGeometry } from '../../../core/image/geometry.js';
import { applySuite, applySuiteToSet, corruptImage, OOD_SUITE_NAMES, oodPixelScale, suiteParameter } from '../../../core/image/ood.js';
import { resampleImages } from '../../../core/image/resample.js';
import { syntheticImages, std } from './ood-fixtures.js';

const SEVERITIES = [1, 2, 3, 4, 5] as const;
const RGB28: ImageGeometry = { size: 28, channels: 3 };
const grey = syntheticImages(40);
const rgb = resampleImages(grey, 40, FASHION_MNIST_GEOMETRY, RGB28);

/** sha256 prefixes of applySuite(name, syntheticImages(40), 40, severity, 5) before geometries. */
const PINNED_28X28_GREY: Record<string, string> = {
  'rotate|1': 'ebbd28736d97ac5d',
  'rotate|2': 'acdf364c8b4208ee',
  'rotate|3': '2a33266dc15fbe94',
  'rotate|4': '34d9fde26adefd95',
  'rotate|5': '3fc41b9e9f07bea3',
  'gaussian-noise|1': 'f0d472f1a92db096',
  'gaussian-noise|2': '4d6d8cf27a52128c',
  'gaussian-noise|3': '341724d379d92259',
  'gaussian-noise|4': '05db0dee0976b4a7',
  'gaussian-noise|5': '10ed00715864a9b9',
  'gaussian-blur|1': 'e3cfd5cea7f0c074',
  'gaussian-blur|2': 'c86aaf38b8202e10',
  'gaussian-blur|3': 'e0dff113cdc587cc',
  'gaussian-blur|4': '83e2ac4132bbd83e',
  'gaussian-blur|5': 'c701c17edd87eeb4',
  'invert|1': '4af7a9276f617562',
  'invert|2': '4af7a9276f617562',
  'invert|3': '4af7a9276f617562',
  'invert|4': '4af7a9276f617562',
  'invert|5': '4af7a9276f617562',
  'contrast|1': 'df312dd63e3c4cd0',
  'contrast|2': '08fd76f2007d8b1c',
  'contrast|3': '97047b2b576463fd',
  'contrast|4': '3b307c823bdf937d',
  'contrast|5': '6228b77b181544fa',
  'pixelate|1': '2d050f9c2295f818',
  'pixelate|2': 'be85f6a728615a49',
  'pixelate|3': 'f61a933138cda837',
  'pixelate|4': '1ecea17bfe37dca5',
  'pixelate|5': 'b7779ca0e3756f73',
  'shift|1': '77601187e184ca1b',
  'shift|2': '29041220bd4104fe',
  'shift|3': '40044733c750550f',
  'shift|4': '673765a02df58213',
  'shift|5': 'e6a334845a5b0832',
  'elastic|1': '0676d988db29c56c',
  'elastic|2': 'a83f36bda7da5f70',
  'elastic|3': 'e93d5e806f056f7d',
  'elastic|4': 'ce29917d554f4538',
  'elastic|5': 'efa0fe7a535e5940',
};

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** Channel c of interleaved RGB images. */
function channel(images: Uint8Array, c: number): Uint8Array {
  return Uint8Array.from({ length: images.length / 3 }, (_, i) => images[3 * i + c]!);
}

test('28x28 grey: every suite and severity gives the bytes it gave before geometries', () => {
  for (const name of OOD_SUITE_NAMES) {
    for (const severity of SEVERITIES) assert.equal(sha(applySuite(name, grey, 40, severity, 5)), PINNED_28X28_GREY[`${name}|${severity}`], `${name} at ${severity}`);
  }
});

test('RGB: a grey image replicated to three channels gives the grey result in each channel (noise: per channel)', () => {
  for (const name of OOD_SUITE_NAMES) {
    for (const severity of [1, 3, 5]) {
      const expected = applySuite(name, grey, 40, severity, 5);
      const out = applySuite(name, rgb, 40, severity, 5, RGB28);
      assert.equal(out.length, rgb.length);
      if (name === 'gaussian-noise') continue;
      for (let c = 0; c < 3; c++) assert.deepEqual(channel(out, c), expected, `${name} at ${severity}, channel ${c}`);
    }
  }
});

test('RGB gaussian noise: an independent draw per channel, each of the suite\'s sigma', () => {
  const flat = new Uint8Array(28 * 28 * 3).fill(128);
  const out = applySuite('gaussian-noise', flat, 1, 2, 9, RGB28);
  const [r, g, b] = [0, 1, 2].map((c) => channel(out, c));
  assert.notDeepEqual(r, g);
  assert.notDeepEqual(g, b);
  const sigma = suiteParameter('gaussian-noise', 2);
  for (const ch of [r!, g!, b!]) assert.ok(Math.abs(std(ch) - sigma) < 0.15 * sigma, `std ${std(ch)} vs ${sigma}`);
});

test('pixel-measured levels scale with size / 28: pixelate on a 2x image is the 2x of pixelate on the image; shifts go twice as far', () => {
  assert.equal(oodPixelScale(FASHION_MNIST_GEOMETRY), 1);
  assert.equal(oodPixelScale({ size: 56, channels: 3 }), 2);
  const big: ImageGeometry = { size: 56, channels: 3 };
  // An exact nearest-neighbour 2x of the images.
  const nearest = new Uint8Array(40 * 56 * 56 * 3);
  for (let i = 0; i < 40; i++) for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) for (let c = 0; c < 3; c++) {
    nearest[((i * 56 + y) * 56 + x) * 3 + c] = rgb[((i * 28 + (y >> 1)) * 28 + (x >> 1)) * 3 + c]!;
  }
  const small = applySuite('pixelate', rgb, 40, 1, 0, RGB28);
  const large = applySuite('pixelate', nearest, 40, 1, 0, big);
  for (let i = 0; i < 40; i++) for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) for (let c = 0; c < 3; c++) {
    assert.equal(large[((i * 56 + y) * 56 + x) * 3 + c], small[((i * 28 + (y >> 1)) * 28 + (x >> 1)) * 3 + c]);
  }
  // Shift: the same direction (one draw per image), twice the distance (6 px at 28, 12 at 56).
  for (const size of [28, 56]) {
    const dot = new Uint8Array(size * size);
    const mid = size / 2;
    dot[mid * size + mid] = 255;
    const moved = applySuite('shift', dot, 1, 5, 3, { size, channels: 1 }).indexOf(255);
    const distance = Math.hypot((moved % size) - mid, Math.floor(moved / size) - mid);
    assert.ok(Math.abs(distance - 6 * (size / 28)) <= 1, `shift at ${size}: ${distance} px`);
  }
});

test('any size: corruptImage equals applySuite row for row, applySuiteToSet uses the set geometry', () => {
  const g: ImageGeometry = { size: 16, channels: 3 };
  const images = resampleImages(rgb, 40, RGB28, g);
  for (const name of OOD_SUITE_NAMES) {
    const all = applySuite(name, images, 40, 4, 'seed', g);
    for (const i of [0, 17, 39]) assert.deepEqual(corruptImage(name, images.subarray(i * 768, (i + 1) * 768), 4, 'seed', i, g), all.subarray(i * 768, (i + 1) * 768), name);
    const set = applySuiteToSet({ suite: name, severity: 4 }, { images, labels: new Uint8Array(40), count: 40, geometry: g }, 'seed');
    assert.deepEqual(set.images, all);
    assert.deepEqual(set.geometry, g);
  }
  assert.throws(() => corruptImage('invert', new Uint8Array(784), 1, 0, 0, g), /must have 768 bytes \(16x16x3\), got 784/);
  assert.throws(() => applySuite('invert', images, 40, 1, 0, { size: 4, channels: 3 }), /size must be an integer from 8/);
});
