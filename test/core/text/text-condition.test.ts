// How the embedded generator reads a prompt (core/text/text-condition.ts): class weights from class
// names and synonyms, and attribute words outside class phrases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { DEFAULT_CLASS_SYNONYMS, namesNoOtherClass, promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';

const CLASSES = FASHION_MNIST_CLASSES;
const cls = (name: string) => CLASSES.indexOf(name as (typeof CLASSES)[number]);

function weightsOf(prompt: string): Record<string, number> | null {
  const w = promptToClassWeights(prompt, CLASSES);
  if (!w) return null;
  const out: Record<string, number> = {};
  w.forEach((v, i) => {
    if (v > 0) out[CLASSES[i]!] = v;
  });
  return out;
}

describe('text condition', () => {
  test('t-shirt is T-shirt/top, not Shirt; shirt alone is Shirt', () => {
    assert.deepEqual(weightsOf('a photo of a T-Shirt'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a tee'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a photo of a T-shirt/top.'), { 'T-shirt/top': 1 });
    assert.deepEqual(weightsOf('a SHIRT'), { Shirt: 1 });
    assert.deepEqual(weightsOf('a dress shirt'), { Shirt: 1 }, 'the longer phrase wins over "dress"');
  });

  test('plurals and multi-word names', () => {
    assert.deepEqual(weightsOf('two sneakers'), { Sneaker: 1 });
    assert.deepEqual(weightsOf('Sandals on a beach'), { Sandal: 1 });
    assert.deepEqual(weightsOf('a pair of ankle boots'), { 'Ankle boot': 1 });
    assert.deepEqual(weightsOf('boots'), { 'Ankle boot': 1 });
    assert.deepEqual(weightsOf('summer dresses'), { Dress: 1 });
    assert.deepEqual(weightsOf('trousers'), { Trouser: 1 });
  });

  test('attribute words outside class phrases, clipped to [-1, 1]', () => {
    assert.deepEqual(promptAttributes('a white striped t-shirt', CLASSES), { brightness: 1, size: 0, texture: 1 });
    assert.deepEqual(promptAttributes('a dark photo of a large black coat', CLASSES), { brightness: -1, size: 1, texture: 0 });
    assert.deepEqual(promptAttributes('a close-up photo of a plain sandal', CLASSES), { brightness: 0, size: 1, texture: -1 });
    // "tank top" and "dress shirt" are class phrases, not attributes; no attribute words -> null.
    assert.equal(promptAttributes('a tank top and a dress shirt', CLASSES), null);
    assert.equal(promptAttributes('Sneaker', CLASSES), null);
  });

  test('unmatched prompt is unconditional (null)', () => {
    assert.equal(promptToClassWeights('a photo of a cat', CLASSES), null);
    assert.equal(promptToClassWeights('', CLASSES), null);
    assert.equal(promptToClassWeights('shirtless bootstrap', CLASSES), null, 'whole tokens only');
  });

  test('two classes share the mass; weights sum to 1', () => {
    const w = promptToClassWeights('a coat or a bag', CLASSES)!;
    assert.equal(w.length, CLASSES.length);
    assert.equal(w[cls('Coat')], 0.5);
    assert.equal(w[cls('Bag')], 0.5);
    assert.equal(w.reduce((a, b) => a + b, 0), 1);
    assert.deepEqual(weightsOf('a sweater, a hoodie and a jacket'), { Pullover: 0.5, Coat: 0.5 });
  });

  test('custom synonyms and class lists', () => {
    assert.deepEqual(Object.keys(DEFAULT_CLASS_SYNONYMS).sort(), [...CLASSES].sort());
    const w = promptToClassWeights('a moggy', ['cat', 'dog'], { cat: ['moggy'] });
    assert.deepEqual(Array.from(w!), [1, 0]);
    assert.deepEqual(Array.from(promptToClassWeights('Dogs!', ['cat', 'dog'])!), [0, 1]);
  });
});

test('namesNoOtherClass: a text may name its own class, or none, but no other', () => {
  assert.equal(namesNoOtherClass('a close-fitting pullover shirt', cls('T-shirt/top'), CLASSES), false);
  assert.equal(namesNoOtherClass('a sweater that is put on by pulling it over the head', cls('Pullover'), CLASSES), true);
  assert.equal(namesNoOtherClass('a garment worn on the upper half of the body', cls('T-shirt/top'), CLASSES), true);
  assert.equal(namesNoOtherClass('tee shirt', cls('T-shirt/top'), CLASSES), true, '"tee shirt" is one T-shirt phrase, not tee + shirt');
  assert.equal(namesNoOtherClass('a kitten', 0, ['cat', 'dog'], { cat: ['kitten'], dog: [] }), true);
  assert.equal(namesNoOtherClass('a kitten', 1, ['cat', 'dog'], { cat: ['kitten'], dog: [] }), false);
});
