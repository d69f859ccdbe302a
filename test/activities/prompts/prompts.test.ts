import { promptToClassWeights } from '../../../core/text/text-condition.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIP_IMAGENET_TEMPLATES, PROMPT_STRATEGY_REGISTRY, buildPromptList, synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const topClass = (text: string) => {
  const w = promptToClassWeights(text, FASHION_MNIST_CLASSES);
  return w ? w.indexOf(Math.max(...w)) : -1;
};

test('every strategy is deterministic per seed, class-balanced, and names its class', async () => {
  for (const name of Object.keys(PROMPT_STRATEGY_REGISTRY)) {
    const a = (await buildPromptList(name, FASHION_MNIST_CLASSES, 200, 7)).prompts;
    const b = (await buildPromptList(name, FASHION_MNIST_CLASSES, 200, 7)).prompts;
    assert.deepEqual(a, b, `${name} is deterministic`);
    assert.equal(a.length, 200);
    for (const prompt of a) {
      assert.equal(prompt.classIndex, prompt.index % 10);
      // Real-image captions name the class by a name or synonym ("tee", "running shoe"): the text
      // encoder must read them as that class.
      if (name === 'real-captions') assert.equal(topClass(prompt.text), prompt.classIndex, `${name}: "${prompt.text}"`);
      else assert.ok(prompt.text.includes(FASHION_MNIST_CLASSES[prompt.classIndex]!), `${name}: "${prompt.text}"`);
    }
  }
});

test('classnames gives the plain name, without a "a photo of" wrapper', () => {
  const prompts = synthesizePromptList('classnames', FASHION_MNIST_CLASSES, 10, 0);
  assert.deepEqual(prompts.map((p) => p.text), [...FASHION_MNIST_CLASSES]);
});

test('clip-templates draws from the 80 templates, varies with the seed, and a prefix is seed-stable', () => {
  assert.equal(CLIP_IMAGENET_TEMPLATES.length, 80);
  assert.equal(new Set(CLIP_IMAGENET_TEMPLATES).size, 80);
  const a = synthesizePromptList('clip-templates', FASHION_MNIST_CLASSES, 400, 1);
  const b = synthesizePromptList('clip-templates', FASHION_MNIST_CLASSES, 400, 2);
  assert.notDeepEqual(a, b);
  assert.ok(new Set(a.map((p) => p.text.replace(FASHION_MNIST_CLASSES[p.classIndex]!, '{}'))).size > 40);
  assert.deepEqual(synthesizePromptList('clip-templates', FASHION_MNIST_CLASSES, 50, 1), a.slice(0, 50));
});

test('an unknown strategy is an error that lists the known ones', async () => {
  assert.throws(
    () => synthesizePromptList('haiku', FASHION_MNIST_CLASSES, 1, 0),
    /unknown prompt strategy "haiku"; known: classnames, clip-templates, classname-description, classname-hypernym, word2sentence, captions/,
  );
  await assert.rejects(buildPromptList('haiku', FASHION_MNIST_CLASSES, 1, 0), /prompts\.strategy: unknown prompt strategy "haiku"; use one of: classnames, clip-templates/);
});
