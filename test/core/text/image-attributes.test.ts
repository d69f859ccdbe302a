// Captions of real images that describe the image: brightness, size and texture measured as the
// generator measures them, z-scored within the class over real Fashion-MNIST images, and stated by
// every attribute word of the caption (none drawn at random), as the text encoder reads it.
// Run: node --import tsx --test test/core/text/image-attributes.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CaptionerError, prepareCaptioner, type Captioner } from '../../../core/text/captioner.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { ATTRIBUTE_Z_THRESHOLD, classFeatureStats, FALLBACK_ATTRIBUTE_WORDS, IMAGE_ATTRIBUTES, imageFeatures } from '../../../core/text/image-attributes.js';
import { ATTRIBUTE_WORDS, matchClasses, promptAttributes, tokenize } from '../../../core/text/text-condition.js';

const CLASSES = FASHION_MNIST_CLASSES;
const N = 6000;
let images: ImageSet;
let captioner: Captioner;
const pixelsOf = (i: number) => images.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS);
const said = (caption: string) => promptAttributes(caption, CLASSES) ?? { brightness: 0, size: 0, texture: 0 };

before(async () => {
  const train = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
  images = { images: train.images.subarray(0, N * IMAGE_PIXELS), labels: train.labels.subarray(0, N), count: N, geometry: train.geometry };
  captioner = await prepareCaptioner(CLASSES, { seed: 0, images: { pixels: images.images, labels: images.labels, pixelsPerImage: IMAGE_PIXELS } });
});

test('image features: foreground brightness, foreground share and neighbour differences, in bytes or [-1, 1]', () => {
  // 2x2: one background pixel (0) and three foreground ones (255, 255, 127).
  const bytes = [0, 255, 255, 127];
  const [brightness, size, texture] = imageFeatures(bytes);
  assert.ok(Math.abs(brightness - (1 + 1 + 127 / 255) / 3) < 1e-12);
  assert.equal(size, 3 / 4);
  // Right neighbours |255-0|, |127-255|; lower neighbours |255-0|, |127-255|; in [-1, 1] units over 4 pixels.
  assert.ok(Math.abs(texture - (2 * 255 + 2 * 128) / 127.5 / 4) < 1e-12);
  assert.deepEqual(imageFeatures(bytes.map((b) => b / 127.5 - 1), 'signed'), imageFeatures(bytes));
  assert.throws(() => imageFeatures([1, 2, 3]), RangeError);
  // Fallback words say exactly their side.
  for (const a of IMAGE_ATTRIBUTES) {
    for (const [side, words] of Object.entries(FALLBACK_ATTRIBUTE_WORDS[a])) for (const w of words) assert.equal(ATTRIBUTE_WORDS[a][w], Number(side), `${a} ${side}: ${w}`);
  }
});

test('brighter, larger and more textured images of a class get those words more often than the rest', () => {
  const features = Array.from({ length: N }, (_, i) => imageFeatures(pixelsOf(i)));
  const saidOf = Array.from({ length: N }, (_, i) => said(captioner.captionForImage(images.labels[i]!, i, pixelsOf(i))));
  for (const [a, attribute] of IMAGE_ATTRIBUTES.entries()) {
    for (let c = 0; c < CLASSES.length; c++) {
      const rows = Array.from({ length: N }, (_, i) => i).filter((i) => images.labels[i] === c);
      const sorted = [...rows].sort((x, y) => features[x]![a]! - features[y]![a]!);
      const rate = (half: number[], side: number) => half.filter((i) => Math.sign(saidOf[i]![attribute]) === side).length / half.length;
      const low = sorted.slice(0, Math.floor(sorted.length / 2));
      const high = sorted.slice(Math.ceil(sorted.length / 2));
      const where = `${CLASSES[c]}, ${attribute}`;
      assert.ok(rate(high, 1) > 0.3 && rate(low, 1) < 0.02, `${where}: "more" words on ${rate(high, 1)} of the upper half, ${rate(low, 1)} of the lower`);
      assert.ok(rate(low, -1) > 0.3 && rate(high, -1) < 0.02, `${where}: "less" words on ${rate(low, -1)} of the lower half, ${rate(high, -1)} of the upper`);
    }
  }
});

test('no attribute word is random: what a caption says is the sign of its image\'s z-score, whatever the seed', async () => {
  const other = await prepareCaptioner(CLASSES, { seed: 9, images: { pixels: images.images, labels: images.labels, pixelsPerImage: IMAGE_PIXELS } });
  const stats = classFeatureStats(images.images, images.labels, CLASSES.length, IMAGE_PIXELS);
  let differentText = 0;
  const n = N / 2;
  for (let i = 0; i < n; i++) {
    const c = images.labels[i]!;
    const { z, signs } = captioner.imageAttributes(c, pixelsOf(i));
    const f = imageFeatures(pixelsOf(i));
    IMAGE_ATTRIBUTES.forEach((attribute, a) => {
      const za = z[a]!;
      assert.ok(Math.abs(za - (f[a]! - stats.mean[c * 3 + a]!) / stats.sd[c * 3 + a]!) < 1e-9);
      assert.equal(signs[attribute], Math.abs(za) < ATTRIBUTE_Z_THRESHOLD ? 0 : Math.sign(za));
    });
    const caption = captioner.captionForImage(c, i, pixelsOf(i));
    const again = other.captionForImage(c, i, pixelsOf(i));
    if (caption !== again) differentText++;
    for (const text of [caption, again]) {
      assert.deepEqual(said(text), { brightness: signs.brightness, size: signs.size, texture: signs.texture }, `"${text}" for ${JSON.stringify(signs)}`);
      assert.deepEqual(matchClasses(text, CLASSES).map((m) => m.cls), [c], `"${text}" names its class alone`);
    }
    if (i % 10 === 0) assert.equal(captioner.captionForImage(c, i, pixelsOf(i)), caption, 'deterministic');
  }
  assert.ok(differentText > 0.9 * n, `the wording still varies with the seed (${differentText}/${n})`);
  // Each side of each attribute is said of a good share of the images.
  const signs = Array.from({ length: N }, (_, i) => captioner.imageAttributes(images.labels[i]!, pixelsOf(i)).signs);
  const shares = IMAGE_ATTRIBUTES.map((attribute) => [1, -1].map((side) => signs.filter((s) => s[attribute] === side).length / N));
  for (const s of shares.flat()) assert.ok(s > 0.2 && s < 0.45, `shares ${JSON.stringify(shares)}`);
});

test('captions of images need the images\' statistics; provenance says where the attributes come from', async () => {
  const plain = await prepareCaptioner(CLASSES, { seed: 0 });
  assert.throws(() => plain.captionForImage(0, 0, pixelsOf(0)), CaptionerError);
  assert.equal(plain.provenance.imageAttributes, undefined);
  assert.match(captioner.provenance.imageAttributes ?? '', /^attribute words from measured image features: .* over 6000 real images$/);
  assert.ok(captioner.provenance.summary.endsWith(captioner.provenance.imageAttributes!));
  // Statistics over a subset of rows; a class without images is refused.
  const rows = Array.from({ length: 100 }, (_, i) => i);
  const sub = await prepareCaptioner(CLASSES, { seed: 0, images: { pixels: images.images, labels: images.labels, pixelsPerImage: IMAGE_PIXELS, rows } });
  assert.match(sub.provenance.imageAttributes!, /over 100 real images$/);
  await assert.rejects(prepareCaptioner(CLASSES, { seed: 0, images: { pixels: images.images, labels: images.labels, pixelsPerImage: IMAGE_PIXELS, rows: [0, 1] } }), /no images of/);
  assert.throws(() => captioner.captionForImage(10, 0, pixelsOf(0)), RangeError);
  // The vocabulary covers image captions too.
  const vocabulary = new Set(captioner.vocabularyHint);
  for (let i = 0; i < 500; i++) for (const t of tokenize(captioner.captionForImage(images.labels[i]!, i, pixelsOf(i)))) assert.ok(vocabulary.has(t), t);
});
