// The captions strategy: "{class}, {caption}" from a captions file (JSON lines, per class or
// class-less, or plain text), with the file's size bounded before reading and its lines validated;
// and the built-in captioner when no file is given.
// Run: node --import tsx --test test/prompts-captions.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { PromptConfigError } from '../../../contracts/spec/prompts.js';
import { buildPromptList, promptFingerprint } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const CLASSES = FASHION_MNIST_CLASSES;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-captions-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test('per-class JSON-lines captions are combined as "{class}, {caption}", class-less ones fill the rest', async () => {
  const lines = [
    { caption: 'a woman in a white tee at the beach', class: 'T-shirt/top', image: 'img-1.jpg' },
    { caption: 'a grey tee on a chair', class: 0 },
    { caption: 'a black leather handbag on a table', class: 'bag' }, // class names match case-insensitively
    { caption: 'a hat on a hook', class: 'Hat' }, // not a class here: skipped
    'a product photo on a plain background',
    { caption: '   ' }, // empty after cleaning: skipped
  ];
  const path = await file('captions.jsonl', lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const list = await buildPromptList({ strategy: 'captions', file: path }, CLASSES, 200, 1);
  const of = (name: string) => new Set(list.prompts.filter((p) => CLASSES[p.classIndex] === name).map((p) => p.text));
  assert.deepEqual(of('T-shirt/top'), new Set(['T-shirt/top, a woman in a white tee at the beach', 'T-shirt/top, a grey tee on a chair']));
  assert.deepEqual(of('Bag'), new Set(['Bag, a black leather handbag on a table']));
  assert.deepEqual(of('Coat'), new Set(['Coat, a product photo on a plain background']));
  assert.equal(list.provenance.source, 'captions-file');
  assert.equal(list.provenance.captions, 4);
  assert.equal(list.provenance.captionLinesSkipped, 2);
  assert.match(list.provenance.captionsSha256 ?? '', /^[0-9a-f]{64}$/);
  const viaUri = await buildPromptList({ strategy: 'captions', file: pathToFileURL(path).href }, CLASSES, 200, 1);
  assert.deepEqual(viaUri.prompts, list.prompts);
  assert.notDeepEqual((await buildPromptList({ strategy: 'captions', file: path }, CLASSES, 200, 2)).prompts, list.prompts);
});

test('plain-text captions, one per line, control characters cleaned; the fingerprint follows the content', async () => {
  const path = await file('captions.txt', 'a photo taken outdoors\r\n\r\n{not json, but plain text here}\n\u0007a studio\tshot \n');
  const list = await buildPromptList({ strategy: 'captions', file: path, format: 'text' }, ['Dress', 'Coat'], 40, 0);
  assert.deepEqual(new Set(list.prompts.map((p) => p.text.split(', ').slice(1).join(', '))), new Set(['a photo taken outdoors', '{not json, but plain text here}', 'a studio shot']));
  const auto = await buildPromptList({ strategy: 'captions', file: await file('auto.txt', 'first caption\nsecond caption\n') }, ['Dress'], 5, 0);
  assert.equal(auto.provenance.captions, 2);
  const before = await promptFingerprint({ strategy: 'captions', file: path });
  await writeFile(path, 'a different caption\n');
  assert.notDeepEqual(await promptFingerprint({ strategy: 'captions', file: path }), before);
  assert.equal(await promptFingerprint({ strategy: 'captions' }), null);
});

test('bad captions files are clear errors naming prompts.file', async () => {
  const expectFileError = async (config: object, why: RegExp, classes: readonly string[] = CLASSES) =>
    assert.rejects(buildPromptList({ strategy: 'captions', ...config }, classes, 10, 0, { field: 'sources.2.prompts' }), (err: unknown) => {
      assert.ok(err instanceof PromptConfigError, String(err));
      assert.equal(err.field, 'sources.2.prompts.file');
      assert.match(err.message, why);
      return true;
    });
  const big = await file('big.txt', 'x'.repeat(2048));
  await expectFileError({ file: big, maxFileBytes: 1024 }, /is 2048 bytes, over maxFileBytes \(1024\)/);
  await expectFileError({ file: join(dir, 'missing.jsonl') }, /captions file .*missing\.jsonl is unreadable/);
  await expectFileError({ file: dir }, /not a regular file/);
  await expectFileError({ file: 'https://example.com/captions.jsonl' }, /only local paths and file:\/\/ URIs are supported/);
  await expectFileError({ file: await file('bad.jsonl', '{"caption": "ok"}\n{broken\n') }, /line 2 is not JSON \(use format: text for plain captions\)/);
  await expectFileError({ file: await file('shape.jsonl', '{"caption": 3}\n') }, /line 1: want a string or \{"caption": string/);
  await expectFileError({ file: await file('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])) }, /is not UTF-8 text/);
  await expectFileError(
    { file: await file('partial.jsonl', '{"caption": "a tee", "class": "T-shirt/top"}\n') },
    /has no captions for "Trouser", .*"Ankle boot" and no class-less captions to fall back on/,
  );
});

test('without a file, the built-in captioner describes a catalogue photo of the class, deterministically', async () => {
  const list = await buildPromptList({ strategy: 'captions' }, CLASSES, 400, 3);
  assert.equal(list.provenance.source, 'built-in-captioner');
  for (const p of list.prompts) {
    const name = CLASSES[p.classIndex]!;
    assert.ok(p.text.startsWith(`${name}, a`), p.text);
  }
  const sneakers = list.prompts.filter((p) => CLASSES[p.classIndex] === 'Sneaker').map((p) => p.text);
  assert.ok(sneakers.every((t) => /^Sneaker, an? .* sneaker (seen from|on a|in a|at an)/.test(t)), sneakers.join('\n'));
  assert.ok(new Set(sneakers).size > 30);
  assert.ok(list.prompts.filter((p) => CLASSES[p.classIndex] === 'Trouser').every((p) => /^Trouser, a pair of .* trousers /.test(p.text)));
  // Classes without metadata still get captions, with the generic vocabulary.
  const hats = await buildPromptList({ strategy: 'captions' }, ['Hat'], 5, 0);
  assert.ok(hats.prompts.every((p) => /^Hat, an? [a-z -]+ hat /.test(p.text)), JSON.stringify(hats.prompts));
});
