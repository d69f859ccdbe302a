// The template grammar (word2sentence without an LLM) and the built-in captioner: no slot word
// names a Fashion-MNIST class or a synonym the generator's text encoder knows, so a prompt's
// class condition comes from its class name alone; output is a pure function of the rng.
// Run: node --import tsx --test test/prompts-grammar.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchClasses } from '../../../core/text/text-condition.js';
import { builtInCaption, CAPTIONER, GRAMMAR, grammarSentence } from '../../../core/text/grammar.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { FASHION_MNIST_CLASS_INFO } from '../../../core/datasets/fashion-mnist-classes.js';
import { createRng } from '../../../core/rng.js';

const allStrings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(allStrings) : value && typeof value === 'object' ? Object.values(value).flatMap(allStrings) : [];

test('no grammar or captioner slot word names a class', () => {
  const words = [...allStrings(GRAMMAR), ...allStrings(CAPTIONER)];
  assert.ok(words.length > 100);
  for (const word of words) assert.deepEqual(matchClasses(word, FASHION_MNIST_CLASSES), [], `"${word}" names a class`);
});

test("each class's head noun names exactly that class", () => {
  FASHION_MNIST_CLASSES.forEach((name, c) => {
    assert.deepEqual(matchClasses(FASHION_MNIST_CLASS_INFO[name].noun, FASHION_MNIST_CLASSES), [{ cls: c, count: 1 }], name);
  });
});

test('sentences and captions are a pure function of the rng, and fit the category', () => {
  const sentence = (seed: string) => grammarSentence('Bag', 'bag', createRng(seed));
  assert.equal(sentence('a'), sentence('a'));
  const bags = new Set(Array.from({ length: 200 }, (_, i) => sentence(`s${i}`)));
  assert.ok(bags.size > 150);
  for (const s of bags) {
    assert.match(s, /^([A-Z].* a|A)n? \w+ Bag .*\.$/);
    assert.ok(!/\b(wears|is wearing|tries on)\b/.test(s), `a bag is carried, not worn: ${s}`);
  }
  assert.equal(builtInCaption('sneaker', 'footwear', createRng('x')), builtInCaption('sneaker', 'footwear', createRng('x')));
  assert.match(builtInCaption('pair of trousers', 'bottom', createRng('y')), /^a pair of [a-z -]+ trousers [a-z ]+$/);
});
