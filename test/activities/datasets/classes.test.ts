// Class lists of imported datasets (activities/datasets/classes.ts): classes files (plain and
// LOC_synset_mapping), wnid folders, filesystem-safe folder names, and matching a sweep's classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { classFolderName, loadClasses, loadWnids, orderClasses, parseClassesText, resolveClasses } from '../../../activities/datasets/classes.js';

test('a LOC_synset_mapping file gives wnids and first-comma names; repeated names get their wnid', () => {
  const text = 'n01440764 tench, Tinca tinca\nn02012849 crane\nn03126707 crane\n\n# comment\n';
  assert.deepEqual(parseClassesText(text, 'dataset.classes'), [
    { wnid: 'n01440764', name: 'tench' },
    { wnid: 'n02012849', name: 'crane (n02012849)' },
    { wnid: 'n03126707', name: 'crane (n03126707)' },
  ]);
  assert.deepEqual(parseClassesText('T-shirt/top\r\nTrouser\n', 'c'), [{ name: 'T-shirt/top' }, { name: 'Trouser' }]);
});

test('class folder names are filesystem-safe and match their class', () => {
  assert.equal(classFolderName('T-shirt/top'), 'T-shirt_top');
  assert.equal(classFolderName('..hidden'), '__hidden');
  assert.equal(classFolderName('a\\b:c'), 'a_b_c');
  const r = resolveClasses(undefined, { entries: [{ name: 'T-shirt/top' }, { name: 'Trouser' }], digest: '' }, undefined, 'dataset');
  assert.equal(r.lookup.get('T-shirt_top'), 0);
  assert.equal(r.lookup.get('T-shirt/top'), 0);
});

test('folders named by wnid take names from a LOC-style wnids file; without one the wnids are the names', async () => {
  const wnids = await loadWnids(['n02', 'n01'].map((w) => w.padEnd(9, '0')), 'dataset.wnids');
  assert.deepEqual(wnids?.entries.map((e) => e.wnid), ['n02000000', 'n01000000']);
  const loc = { entries: [{ wnid: 'n01000000', name: 'fish' }, { wnid: 'n02000000', name: 'bird' }], digest: '' };
  const named = resolveClasses(['n01000000', 'n02000000'], undefined, loc, 'dataset');
  assert.deepEqual(named.classes, ['fish', 'bird']);
  assert.deepEqual(named.wnids, ['n01000000', 'n02000000']);
  assert.equal(named.lookup.get('n02000000'), 1);
  const bare = resolveClasses(['n01000000', 'n02000000'], undefined, undefined, 'dataset');
  assert.deepEqual(bare.classes, ['n01000000', 'n02000000']);
  assert.deepEqual(bare.wnids, ['n01000000', 'n02000000']);
});

test("a sweep's class order is applied; different class sets fail naming missing and extra classes", () => {
  const r = resolveClasses(['Bag', 'Coat', 'Hat'], undefined, undefined, 'eval.1.dataset');
  const ordered = orderClasses(r, ['Hat', 'Bag', 'Coat'], 'eval.1.dataset');
  assert.deepEqual(ordered.classes, ['Hat', 'Bag', 'Coat']);
  assert.equal(ordered.lookup.get('Bag'), 1);
  const other = resolveClasses(['Bag', 'Hat'], undefined, undefined, 'eval.1.dataset');
  assert.throws(
    () => orderClasses(other, ['Bag', 'Coat'], 'eval.1.dataset'),
    (err: Error) => err instanceof ApplicationFailure && err.nonRetryable && err.message.startsWith("eval.1.dataset: classes differ from the sweep's: missing [Coat], extra [Hat]"),
  );
});

test('bad class lists fail naming the field: duplicates, one class, unreadable file, integer labels without classes', async () => {
  await assert.rejects(loadClasses(['a', 'a'], 'dataset.classes'), /dataset\.classes: class "a" is listed twice/);
  await assert.rejects(loadClasses(['a'], 'dataset.classes'), /1 classes; 2 to 254/);
  await assert.rejects(loadClasses('/nonexistent/classes.txt', 'dataset.classes'), /dataset\.classes: cannot read/);
  await assert.rejects(loadWnids(['n0123'], 'dataset.wnids'), /not a WordNet id/);
  assert.throws(() => resolveClasses(undefined, undefined, undefined, 'dataset'), /dataset\.classes: the labels are class indices, so give the class names/);
});
