// The spec's dataset, geometry and eval-set fields: what validates, and errors that name the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpecError, validateSpec } from '../../../contracts/spec/sweep.js';
import { withAbsolutePaths } from '../../../cli/spec-file.js';

const base = {
  sweepId: 'own',
  sources: [{ name: 'real', kind: 'real' }],
  sizes: [100],
  seeds: [0],
};

function issuesOf(raw: unknown): { path: string; message: string }[] {
  try {
    validateSpec(raw);
  } catch (err) {
    assert.ok(err instanceof SpecError);
    return err.issues;
  }
  assert.fail('expected the spec to be invalid');
}

test('an image folder with a geometry, and an eval set from another dataset', () => {
  const spec = validateSpec({
    ...base,
    dataset: { kind: 'imagefolder', root: '/data/lab' },
    image: { size: 64 },
    eval: [{ name: 'test' }, { name: 'sketch', split: 'val', dataset: { kind: 'imagefolder', root: 'gs://bucket/sketch' } }],
  });
  assert.deepEqual(spec.image, { size: 64, channels: 3 });
  assert.equal(spec.eval[0]!.split, 'test');
  assert.equal(spec.dataset !== 'fashion-mnist' && spec.dataset.kind === 'imagefolder' && spec.dataset.skipBudget, 0.01);
});

test('labelled shards need a train split, and eval splits they have', () => {
  const issues = issuesOf({ ...base, dataset: { kind: 'webdataset', splits: { val: ['gs://b/val-{0..3}.tar'] } }, eval: [{ name: 'test', split: 'test' }] });
  assert.ok(issues.some((i) => i.path === 'dataset.splits' && /splits\.train/.test(i.message)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === 'eval[test].split' && /has no 'test'/.test(i.message)), JSON.stringify(issues));
});

test('bad geometry, bad locations and bad shard URIs name their field', () => {
  assert.ok(issuesOf({ ...base, dataset: 'fashion-mnist', image: { size: 4, channels: 3 } }).some((i) => i.path === 'image.size'));
  assert.ok(issuesOf({ ...base, dataset: 'fashion-mnist', image: { size: 32, channels: 4 } }).some((i) => i.path === 'image.channels'));
  assert.ok(issuesOf({ ...base, dataset: { kind: 'imagefolder', root: 'https://example.com/x' } }).some((i) => i.path === 'dataset.root'));
  assert.ok(issuesOf({ ...base, dataset: { kind: 'webdataset', splits: { train: ['s3://b/x.tar'] } } }).some((i) => i.path.startsWith('dataset.splits.train')));
  assert.ok(issuesOf({ ...base, dataset: 'fashion-mnist', eval: [{ name: 'val', split: 'val' }] }).some((i) => i.path === 'eval[val].split'));
  assert.ok(issuesOf({ ...base, dataset: 'fashion-mnist', eval: [{ name: 'a' }, { name: 'a' }] }).some((i) => i.path === 'eval'));
});

test('relative dataset paths become absolute against the working directory; URIs stay', () => {
  const spec = validateSpec({
    ...base,
    dataset: { kind: 'imagefolder', root: 'data/lab', classes: 'data/lab/classes.txt' },
    eval: [{ name: 'test' }, { name: 'r', dataset: { kind: 'imagefolder', root: 'file:///x/r' } }],
  });
  const fixed = withAbsolutePaths(spec, '/home/lab');
  assert.ok(typeof fixed.dataset !== 'string' && fixed.dataset.kind === 'imagefolder');
  assert.equal(fixed.dataset.root, '/home/lab/data/lab');
  assert.equal(fixed.dataset.classes, '/home/lab/data/lab/classes.txt');
  assert.equal(fixed.eval[1]!.dataset?.kind === 'imagefolder' && fixed.eval[1]!.dataset.root, 'file:///x/r');
});
