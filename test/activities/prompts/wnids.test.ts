// Datasets with WordNet ids (ImageNet-style wnids "n01440764"): a wnid is the WordNet 3.0 noun
// synset at that offset; the description and hypernym strategies take a class's synset from the
// dataset's wnids when the config gives none; a class with neither is an error naming the fix; the
// activity keys lists by the wnids only where a strategy reads them. Class names of any length and
// content make one bounded line of prompt text.
// Run: node --import tsx --test test/activities/prompts/wnids.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { PromptConfigError } from '../../../contracts/spec/prompts.js';
import { openWordNet } from '../../../core/text/wordnet.js';
import { openStore } from '../../../core/storage.js';
import { buildPromptList, synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { isWnid, synsetOffsetOfWnid } from '../../../activities/prompts/wnids.js';
import { MAX_PROMPT_CLASS_NAME, promptClassName } from '../../../activities/prompts/class-names.js';
import { createPromptActivities, type SynthesizePromptsInput, type SynthesizePromptsOutput } from '../../../activities/prompts/activity.js';

/** An ImageNet-style class list with its wnids (WordNet 3.0 noun offsets). */
const IMAGENET = [
  ['tench', 'n01440764'],
  ['goldfish', 'n01443537'],
  ['great white shark', 'n01484850'],
  ['cock', 'n01514668'],
  ['hen', 'n01514859'],
  ['tabby', 'n02123045'],
] as const;
const CLASSES = IMAGENET.map(([name]) => name);
const WNIDS = IMAGENET.map(([, wnid]) => wnid);

test('a wnid is the WordNet 3.0 noun synset at its offset', async () => {
  const wn = await openWordNet();
  const lemmasOf = async (wnid: string) => (await wn.synset(synsetOffsetOfWnid(wnid, 'test'))).lemmas;
  assert.deepEqual(await lemmasOf('n02084071'), ['dog', 'domestic dog', 'Canis familiaris']);
  assert.deepEqual(await lemmasOf('n01440764'), ['tench', 'Tinca tinca']);
  assert.match((await wn.synset(synsetOffsetOfWnid('n01440764', 'test'))).definition, /^freshwater dace-like game fish of Europe/);
  assert.ok(isWnid('n01440764') && !isWnid('01440764') && !isWnid('v01440764') && !isWnid('n0144076'));
  assert.throws(() => synsetOffsetOfWnid('N1440764', 'dataset.wnids'), (err: unknown) => err instanceof PromptConfigError && /is not a WordNet noun id: use "n" and the synset's 8-digit/.test(err.message));
});

test('classname-description: each class gets the gloss of the synset its wnid names', async () => {
  const { prompts, provenance } = await buildPromptList({ strategy: 'classname-description' }, CLASSES, 60, 1, { wnids: WNIDS });
  assert.equal(provenance.source, 'wordnet-3.0');
  const of = (name: string) => prompts.filter((p) => CLASSES[p.classIndex] === name).map((p) => p.text);
  for (const text of of('tench')) assert.match(text, /tench(,|:) freshwater dace-like game fish of Europe and western Asia noted for ability to survive outside water$/);
  for (const text of of('great white shark')) assert.match(text, /great white shark(,|:) large aggressive shark widespread in warm seas(; known to attack humans)?$/);
  for (const text of of('hen')) assert.match(text, /hen(,|:) adult female bird$/);
  for (const text of of('tabby')) assert.match(text, /tabby(,|:) a cat with a grey or tawny coat mottled with black$/);
  assert.ok(prompts.every((p) => p.classIndex === p.index % CLASSES.length));
});

test('classname-hypernym: each class names a hypernym of its wnid synset', async () => {
  const { prompts } = await buildPromptList({ strategy: 'classname-hypernym' }, CLASSES, 120, 2, { wnids: WNIDS });
  const hypernyms = (name: string) =>
    new Set(prompts.filter((p) => CLASSES[p.classIndex] === name).map((p) => /, a (?:type|kind) of (.+)$/.exec(p.text)![1]));
  assert.deepEqual(hypernyms('tench'), new Set(['cyprinid', 'cyprinid fish']));
  assert.deepEqual(hypernyms('goldfish'), new Set(['cyprinid', 'cyprinid fish']));
  assert.deepEqual(hypernyms('great white shark'), new Set(['mackerel shark']));
  assert.deepEqual(hypernyms('cock'), new Set(['bird']));
  assert.deepEqual(hypernyms('tabby'), new Set(['domestic cat', 'house cat', 'Felis domesticus', 'Felis catus']));
});

test("the config's synsets come before a wnid; a class with neither (or a bad wnid) is an error naming the fix", async () => {
  const wnids = [...WNIDS.slice(0, 5), null];
  const err = (pattern: RegExp) => (e: unknown) => e instanceof PromptConfigError && pattern.test(e.message);
  await assert.rejects(
    buildPromptList({ strategy: 'classname-hypernym' }, CLASSES, 6, 0, { wnids, field: 'sources.2.prompts' }),
    err(/^sources\.2\.prompts\.synsets: no WordNet synset for class "tabby" \(the dataset gives no WordNet id for it\).*dataset\.wnids.*sources\.2\.prompts\.synsets: \{"tabby": \{"offset"/),
  );
  const tabbyByConfig = { tabby: { offset: '02123045', lemma: 'tabby cat' } };
  const ok = await buildPromptList({ strategy: 'classname-description', synsets: tabbyByConfig }, CLASSES, 6, 0, { wnids });
  assert.match(ok.prompts[5]!.text, /a cat with a grey or tawny coat/);
  // A config synset overrides the dataset's wnid of that class (here tench described as a goldfish, with its lemma checked).
  const overridden = await buildPromptList({ strategy: 'classname-description', synsets: { tench: { offset: '01443537', lemma: 'goldfish' } } }, CLASSES, 1, 0, { wnids: WNIDS });
  assert.match(overridden.prompts[0]!.text, /small golden or orange-red freshwater fishes/);
  await assert.rejects(buildPromptList({ strategy: 'classname-description' }, CLASSES, 6, 0, { wnids: WNIDS.slice(1) }), err(/gives 5 WordNet ids for 6 classes/));
  await assert.rejects(buildPromptList({ strategy: 'classname-description' }, CLASSES, 6, 0, { wnids: ['x1', ...WNIDS.slice(1)] }), err(/wnid of class "tench".*"x1" is not a WordNet noun id/));
  // An offset that starts no synset line of data.noun (a WordNet 3.1 id, a typo) fails at that class.
  await assert.rejects(buildPromptList({ strategy: 'classname-description' }, CLASSES, 6, 0, { wnids: ['n01440765', ...WNIDS.slice(1)] }), err(/WordNet id n01440765 of class "tench".*no synset line starts at offset 01440765/));
});

test('classnames and clip-templates take any class name as one bounded line, inserted as written', () => {
  const long = `a ${'very '.repeat(100)}long\nname\twith\u0000controls`;
  const odd = 'price $& tag $1 <b>';
  for (const strategy of ['classnames', 'clip-templates']) {
    const prompts = synthesizePromptList(strategy, [long, odd], 40, 0);
    for (const p of prompts) {
      assert.ok(!/[\p{Cc}]/u.test(p.text), p.text);
      assert.ok([...p.text].length <= MAX_PROMPT_CLASS_NAME + 80, `${strategy}: ${p.text.length} chars`);
      if (p.classIndex === 1) assert.ok(p.text.includes(odd), `${strategy}: '${p.text}' keeps the name as written`);
    }
  }
  assert.equal([...promptClassName(long)].length, MAX_PROMPT_CLASS_NAME);
  assert.equal(promptClassName('a\n\n b\u2028c'), 'a b c');
  assert.ok(promptClassName(long).endsWith('…'));
  assert.equal(promptClassName('Ankle boot'), 'Ankle boot');
});

test('every strategy that embeds class names makes one line of them', async () => {
  for (const strategy of ['word2sentence', 'captions', 'real-captions'] as const) {
    const { prompts } = await buildPromptList({ strategy }, ['tench', 'odd\nname\twith tab'], 12, 0);
    for (const p of prompts) assert.ok(!/[\p{Cc}]/u.test(p.text), `${strategy}: ${JSON.stringify(p.text)}`);
  }
});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-prompts-wnids-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('the activity passes wnids to the WordNet strategies and keys lists by them only there', async () => {
  const activities = createPromptActivities({ store: openStore(join(dir, 'store')), dataDir: dir });
  const run = (input: SynthesizePromptsInput) => new MockActivityEnvironment().run(activities.synthesizePrompts, input) as Promise<SynthesizePromptsOutput>;
  const base = { classes: [...CLASSES], count: 12, seed: 0 };
  const described = await run({ ...base, prompts: { strategy: 'classname-description' }, wnids: [...WNIDS] });
  const doc = JSON.parse(await readFile(fileURLToPath(described.promptsUri), 'utf8')) as { prompts: { text: string }[] };
  assert.match(doc.prompts[0]!.text, /tench(,|:) freshwater dace-like game fish/);
  const otherWnids = await run({ ...base, prompts: { strategy: 'classname-description' }, wnids: ['n01443537', ...WNIDS.slice(1)] });
  assert.notEqual(otherWnids.promptsUri, described.promptsUri, 'other wnids, another list');
  // Strategies that do not read wnids keep their keys with or without them.
  const plain = await run({ ...base, prompts: { strategy: 'clip-templates' } });
  assert.deepEqual(await run({ ...base, prompts: { strategy: 'clip-templates' }, wnids: [...WNIDS] }), { ...plain, cached: true });
  // No wnids (and no synsets): fails without retries, naming the fix.
  await assert.rejects(run({ ...base, prompts: { strategy: 'classname-hypernym' } }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.match(err.message, /^prompts\.synsets: no WordNet synset for class "tench".*dataset\.wnids/);
    return true;
  });
});
