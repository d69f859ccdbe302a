// The prompt-strategy registry: one contract over every strategy (deterministic per seed, seed-
// dependent where it draws, class-balanced and prefix-stable, names its class), today's outputs
// kept byte for byte, WordNet text that really is WordNet 3.0's, clear errors for missing class
// metadata, and the class condition the generator's text encoder reads from each strategy's prompts.
// Run: node --import tsx --test test/prompts-strategies.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { matchClasses, promptToClassWeights } from '../../../core/text/text-condition.js';
import { PROMPT_STRATEGY_NAMES, PromptConfigError } from '../../../contracts/spec/prompts.js';
import { buildPromptList, PROMPT_STRATEGY_REGISTRY, synthesizePromptList, type Prompt } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const CLASSES = FASHION_MNIST_CLASSES;
const texts = (prompts: Prompt[]) => prompts.map((p) => p.text);
const sha = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

const EXPECTED_SOURCE = {
  classnames: 'class-name',
  'clip-templates': 'clip-templates',
  'classname-description': 'wordnet-3.0',
  'classname-hypernym': 'wordnet-3.0',
  word2sentence: 'template-grammar',
  captions: 'built-in-captioner',
  'real-captions': 'built-in-captioner',
} as const;

test('contract: every strategy is deterministic, seeded, class-balanced, prefix-stable and names its class', async () => {
  assert.deepEqual(Object.keys(PROMPT_STRATEGY_REGISTRY), [...PROMPT_STRATEGY_NAMES]);
  for (const strategy of PROMPT_STRATEGY_NAMES) {
    const a = await buildPromptList({ strategy }, CLASSES, 300, 11);
    assert.deepEqual(a, await buildPromptList({ strategy }, CLASSES, 300, 11), `${strategy}: same seed, same list`);
    assert.equal(a.provenance.strategy, strategy);
    assert.equal(a.provenance.source, EXPECTED_SOURCE[strategy]);
    assert.ok(a.provenance.summary.length > 0);
    const other = await buildPromptList({ strategy }, CLASSES, 300, 12);
    if (strategy === 'classnames') assert.deepEqual(other.prompts, a.prompts);
    else assert.notDeepEqual(texts(other.prompts), texts(a.prompts), `${strategy}: another seed, another list`);
    assert.deepEqual((await buildPromptList({ strategy }, CLASSES, 37, 11)).prompts, a.prompts.slice(0, 37), `${strategy}: prefix-stable`);
    for (const n of [1, 9, 10, 11, 55, 300]) {
      const counts = new Array<number>(CLASSES.length).fill(0);
      for (const p of a.prompts.slice(0, n)) counts[p.classIndex]!++;
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${strategy}: prefix ${n} is class-balanced`);
    }
    for (const p of a.prompts) {
      assert.equal(p.classIndex, p.index % CLASSES.length);
      if (strategy === 'real-captions') {
        const w = promptToClassWeights(p.text, CLASSES)!;
        assert.equal(w.indexOf(Math.max(...w)), p.classIndex, `${strategy}: "${p.text}" names its class by a synonym`);
      } else assert.ok(p.text.includes(CLASSES[p.classIndex]!), `${strategy}: "${p.text}"`);
      assert.ok(p.text.length < 400 && !/[\p{Cc}]/u.test(p.text), `${strategy}: "${p.text}"`);
    }
    if (strategy !== 'classnames') assert.ok(new Set(texts(a.prompts)).size > 20, `${strategy} varies its text`);
  }
});

test("classnames and clip-templates stay byte-identical to the previous implementation's output", async () => {
  // sha256 of JSON.stringify(synthesizePromptList(name, FASHION_MNIST_CLASSES, 1000, seed)) before prompt configs.
  const before = {
    'classnames|0': 'cfde88512da64909d0959b41e752a8664ea6ceb26f0a7140a3c863c1f05344c2',
    'classnames|7': 'cfde88512da64909d0959b41e752a8664ea6ceb26f0a7140a3c863c1f05344c2',
    'clip-templates|0': '147b235729bad3a84a059b429fe38ae59785061260d61fc25cc10bf3ebffc626',
    'clip-templates|7': '74be6daaf5a8b4671176c8b3a7102d7d17ccbdcb110d0b3ce6a6665d2e877167',
  };
  for (const [key, hash] of Object.entries(before)) {
    const [name, seed] = key.split('|') as [string, string];
    assert.equal(sha(synthesizePromptList(name, CLASSES, 1000, Number(seed))), hash, `${key} (sync)`);
    assert.equal(sha((await buildPromptList(name, CLASSES, 1000, Number(seed))).prompts), hash, `${key} (async)`);
  }
  assert.throws(() => synthesizePromptList('captions', CLASSES, 1, 0), /reads external data: use buildPromptList/);
});

test('classname-description carries the WordNet 3.0 gloss of each class synset', async () => {
  const { prompts } = await buildPromptList({ strategy: 'classname-description' }, CLASSES, 200, 3);
  const of = (name: string) => prompts.filter((p) => CLASSES[p.classIndex] === name).map((p) => p.text);
  // T-shirt's own gloss, "a close-fitting pullover shirt", names Pullover and Shirt: its hypernym shirt's gloss is used.
  for (const text of of('T-shirt/top')) assert.match(text, /T-shirt\/top(,|:) a garment worn on the upper half of the body$/);
  for (const text of of('Sneaker')) assert.match(text, /Sneaker(,|:) a canvas shoe with a pliable rubber sole$/);
  for (const text of of('Bag')) assert.match(text, /a container used for carrying money and small personal items or accessories \(especially by women\)$/);
  // The usage note "(usually in the plural)" is dropped, and quoted examples are never included.
  for (const text of of('Trouser')) assert.match(text, /Trouser(,|:) a garment extending from the waist to the knee or ankle, covering each leg separately$/);
  assert.equal(new Set(of('Coat').map((t) => t.replace(/an outer garment.*/, ''))).size, 3, 'all three templates are drawn');
  // Templates with the synset's lemmas.
  const custom = await buildPromptList({ strategy: 'classname-description', templates: ['{name} ({lemma}): {gloss}'] }, CLASSES, 300, 1);
  const tee = custom.prompts.filter((p) => p.classIndex === 0);
  assert.deepEqual(new Set(texts(tee)), new Set(['jersey', 'T-shirt', 'tee shirt'].map((l) => `T-shirt/top (${l}): a garment worn on the upper half of the body`)));
  // With only T-shirt in the dataset, its own gloss names no other class and is used.
  const alone = await buildPromptList({ strategy: 'classname-description', templates: ['{name}: {gloss}'] }, ['T-shirt/top'], 3, 1);
  assert.deepEqual(new Set(texts(alone.prompts)), new Set(['T-shirt/top: a close-fitting pullover shirt']));
});

test('classname-hypernym names a WordNet 3.0 hypernym lemma of each class synset', async () => {
  const { prompts } = await buildPromptList({ strategy: 'classname-hypernym' }, CLASSES, 300, 5);
  const hypernyms = (name: string) =>
    new Set(prompts.filter((p) => CLASSES[p.classIndex] === name).map((p) => /a (?:type|kind) of (.+)$/.exec(p.text)?.[1]));
  // T-shirt's hypernym "shirt" names the Shirt class: the next one up is used.
  assert.deepEqual(hypernyms('T-shirt/top'), new Set(['garment']));
  assert.deepEqual(hypernyms('Pullover'), new Set(['sweater', 'jumper']));
  assert.deepEqual(hypernyms('Sandal'), new Set(['shoe']));
  assert.deepEqual(hypernyms('Sneaker'), new Set(['shoe']));
  assert.deepEqual(hypernyms('Bag'), new Set(['container']));
  assert.deepEqual(hypernyms('Ankle boot'), new Set(['footwear', 'footgear']));
  assert.deepEqual(hypernyms('Coat'), new Set(['overgarment', 'outer garment']));
  assert.deepEqual(hypernyms('Dress'), new Set(["woman's clothing"]));
});

test('a class without synset metadata is an error naming the field and the fix; config synsets supply it', async () => {
  const classes = ['T-shirt/top', 'Hat'];
  for (const strategy of ['classname-description', 'classname-hypernym'] as const) {
    await assert.rejects(
      buildPromptList({ strategy }, classes, 4, 0, { field: 'sources.1.prompts' }),
      (err: unknown) =>
        err instanceof PromptConfigError &&
        err.field === 'sources.1.prompts.synsets' &&
        /no WordNet synset for class "Hat".*core\/fashion-mnist-classes\.ts.*sources\.1\.prompts\.synsets: \{"Hat": \{"offset"/.test(err.message),
    );
  }
  const hat = { Hat: { offset: '03497657', lemma: 'hat' } };
  const described = await buildPromptList({ strategy: 'classname-description', synsets: hat }, classes, 4, 0);
  assert.match(described.prompts[1]!.text, /Hat(,|:) headdress that protects the head from bad weather/);
  // A lemma that the synset lacks (e.g. an offset from WordNet 3.1) fails instead of describing a hat.
  await assert.rejects(
    buildPromptList({ strategy: 'classname-hypernym', synsets: { 'T-shirt/top': { offset: '03497657', lemma: 'T-shirt' } } }, classes, 2, 0),
    /prompts\.synsets\.T-shirt\/top: WordNet 3\.0 synset 03497657 is \{hat, chapeau, lid\}.*without the lemma "T-shirt".*3\.1/,
  );
  await assert.rejects(
    buildPromptList({ strategy: 'classname-description', synsets: { Hat: { offset: '03600807', lemma: 'tee_shirt' } } }, classes, 2, 0),
    /prompts\.synsets\.Hat: .*no synset line starts at offset 03600807/,
  );
  await assert.rejects(buildPromptList({ strategy: 'classname-description', wordnetDir: '/nonexistent/wordnet' }, classes, 2, 0), /prompts\.wordnetDir: WordNet data file/);
  // Strategies that need no synset work for any class.
  for (const strategy of ['word2sentence', 'captions', 'clip-templates'] as const) {
    const list = await buildPromptList({ strategy }, classes, 10, 0);
    assert.ok(list.prompts.every((p) => p.text.includes(classes[p.classIndex]!)));
  }
  await assert.rejects(buildPromptList({ strategy: 'classnames' }, [], 1, 0), /at least one class name/);
});

/** Mean class weights the generator's text encoder gives the prompts of each class (null prompts count as 0). */
function meanWeights(prompts: Prompt[]): number[][] {
  const sums = CLASSES.map(() => new Array<number>(CLASSES.length).fill(0));
  const n = new Array<number>(CLASSES.length).fill(0);
  for (const p of prompts) {
    n[p.classIndex]!++;
    const w = promptToClassWeights(p.text, CLASSES);
    if (w) w.forEach((v, i) => (sums[p.classIndex]![i]! += v));
  }
  return sums.map((row, c) => row.map((v) => v / n[c]!));
}

test('WordNet prompts never name another class: every prompt of every Fashion-MNIST class, real WordNet 3.0 data', async () => {
  const configs = [
    { strategy: 'classname-description' },
    { strategy: 'classname-description', templates: ['{name} ({lemma}): {gloss}', '{lemma} {name}, {gloss}'] },
    { strategy: 'classname-hypernym' },
    // Shirt given the T-shirt synset: its lemmas "T-shirt" and "tee shirt" and its gloss name other classes.
    { strategy: 'classname-description', templates: ['{name} ({lemma}): {gloss}'], synsets: { Shirt: { offset: '03595614', lemma: 'jersey' } } },
  ] as const;
  // Every template, synset and lemma draw: 100 prompts per class, the lemma templates too.
  for (const config of configs) {
    const { prompts } = await buildPromptList(config, CLASSES, 1000, 11);
    for (const p of prompts) {
      const named = matchClasses(p.text, CLASSES).map((m) => CLASSES[m.cls]);
      assert.deepEqual(named, [CLASSES[p.classIndex]], `${config.strategy}: "${p.text}" (class ${CLASSES[p.classIndex]}) names ${named.join(', ')}`);
    }
    if ('synsets' in config) assert.equal(prompts[6]!.text, 'Shirt (jersey): a garment worn on the upper half of the body');
  }
});

test("each strategy's prompts condition the generator on their class alone", async () => {
  for (const strategy of PROMPT_STRATEGY_NAMES) {
    const weights = meanWeights((await buildPromptList({ strategy }, CLASSES, 500, 2)).prompts);
    CLASSES.forEach((name, c) => {
      const expected = { [name]: 1 };
      const actual = Object.fromEntries(weights[c]!.map((v, i) => [CLASSES[i]!, v] as const).filter(([, v]) => v > 0));
      assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${strategy}, ${name}: ${JSON.stringify(actual)}`);
      for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(actual[k]! - v) < 1e-9, `${strategy}, ${name} -> ${k}: ${actual[k]}`);
      assert.equal(Math.max(...weights[c]!), weights[c]![c], `${strategy}: ${name} keeps the largest weight`);
    });
  }
});

test("real-captions with a source: prompt i is that source's caption i, for its labelled class", async () => {
  const classes = ['Coat', 'Bag', 'Dress'];
  const realCaptions = { texts: ['a wool coat', 'sunset over the sea', 'a red dress'], labels: [0, 255, 2] };
  const list = await buildPromptList({ strategy: 'real-captions', source: 'lab' }, classes, 5, 0, { realCaptions });
  assert.deepEqual(list.prompts.map((p) => [p.text, p.classIndex]), [
    ['a wool coat', 0],
    ['sunset over the sea', 1], // unlabelled: class i mod C
    ['a red dress', 2],
    ['a wool coat', 0], // a failure budget asks for more prompts than pairs: wrap
    ['sunset over the sea', 1],
  ]);
  assert.equal(list.provenance.source, 'real-pairs');
  await assert.rejects(buildPromptList({ strategy: 'real-captions', source: 'lab' }, classes, 5, 0, { field: 'sources.2.prompts' }), /sources\.2\.prompts\.source: .*real-pairs/);
});
