import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSpecText, SpecError, validateSpec } from '../../../contracts/spec/sweep.js';
import { loadSpecFile } from '../../../cli/spec-file.js';

const minimal = {
  sweepId: 'ok-sweep',
  dataset: 'fashion-mnist',
  sources: [{ name: 'real', kind: 'real' }],
  sizes: [100, 200],
  seeds: [0],
};

function issuesOf(raw: unknown): { path: string; message: string }[] {
  try {
    validateSpec(raw);
  } catch (err) {
    assert.ok(err instanceof SpecError);
    return err.issues;
  }
  assert.fail('expected a SpecError');
}

test('a minimal spec gets defaults for training, generation and eval', () => {
  const spec = validateSpec(minimal);
  assert.equal(spec.training.model, 'mlp');
  assert.equal(spec.generation.shardSize, 1000);
  assert.deepEqual(spec.eval, [{ name: 'test', split: 'test' }]);
});

test('the demo spec in the repo is valid and has real + two CFG scales + >= 4 sizes', async () => {
  const spec = await loadSpecFile(fileURLToPath(new URL('../../../specs/demo.yaml', import.meta.url)));
  assert.ok(spec.sources.some((s) => s.kind === 'real'));
  const cfgs = new Set(spec.sources.flatMap((s) => (s.kind === 'synthetic' ? [s.cfgScale] : [])));
  assert.ok(cfgs.size >= 2);
  assert.ok(spec.sizes.length >= 4);
});

test('errors name the offending field by path', () => {
  const issues = issuesOf({
    ...minimal,
    sources: [{ name: 'syn', kind: 'synthetic', prompts: { strategy: 'haiku' }, cfgScale: -1 }],
  });
  const paths = issues.map((i) => i.path);
  assert.ok(paths.includes('sources[syn].prompts.strategy'), paths.join());
  assert.ok(paths.includes('sources[syn].cfgScale'), paths.join());
  assert.match(issues.find((i) => i.path === 'sources[syn].prompts.strategy')!.message, /classnames/);
});

test('unsafe names, duplicate sources, unknown keys and bad sizes are rejected', () => {
  assert.ok(issuesOf({ ...minimal, sweepId: '../etc' }).some((i) => i.path === 'sweepId'));
  assert.ok(issuesOf({ ...minimal, sources: [{ name: 'real', kind: 'real' }, { name: 'real', kind: 'real' }] }).some((i) => i.path === 'sources'));
  assert.ok(issuesOf({ ...minimal, typo: 1 }).some((i) => i.message.includes('typo')));
  assert.ok(issuesOf({ ...minimal, sizes: [5] }).some((i) => i.path === 'sizes.0'));
  assert.ok(issuesOf({ ...minimal, sizes: [100, 100] }).some((i) => i.path === 'sizes'));
});

test('YAML syntax errors say which file', () => {
  assert.throws(() => parseSpecText('sweepId: [unclosed', 'bad.yaml'), /bad\.yaml is not valid YAML/);
});

test('real-pairs sources: CLIP only, shard URIs checked, usable as the real part of a mix and as caption source', async () => {
  const { tasksForSource } = await import('../../../contracts/grid.js');
  const spec = validateSpec({
    ...minimal,
    tasks: ['classifier', 'clip'],
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'lab', kind: 'real-pairs', shards: ['gs://lab-bucket/laion/{00000..00009}.tar'] },
      { name: 'embedded', kind: 'real-pairs' },
      { name: 'lab-captions', kind: 'synthetic', prompts: { strategy: 'real-captions', source: 'lab' }, cfgScale: 2 },
      { name: 'lab-mix', kind: 'mixed', real: 'lab', synthetic: 'lab-captions', syntheticPerReal: 1 },
    ],
  });
  const tasksOf = (name: string) => tasksForSource(spec, spec.sources.find((s) => s.name === name)!);
  assert.deepEqual(tasksOf('real'), ['classifier', 'clip']);
  assert.deepEqual(tasksOf('lab'), ['clip']);
  assert.deepEqual(tasksOf('lab-mix'), ['clip'], 'a mix over unlabelled pairs trains CLIP only');
  assert.deepEqual(tasksOf('lab-captions'), ['classifier', 'clip']);
  const lab = spec.sources[1]!;
  assert.ok(lab.kind === 'real-pairs' && lab.maxShardBytes === 1024 ** 3);

  assert.deepEqual(issuesOf({ ...minimal, sources: [{ name: 'lab', kind: 'real-pairs' }] }).map((i) => i.path), ['sources[lab].kind'], 'no clip task');
  const badUri = issuesOf({ ...minimal, tasks: ['clip'], sources: [{ name: 'lab', kind: 'real-pairs', shards: ['https://example.com/0.tar'] }] });
  assert.equal(badUri[0]!.path, 'sources[lab].shards.0');
  assert.match(badUri[0]!.message, /file:\/\/ or gs:\/\//);
  const badRef = issuesOf({
    ...minimal,
    sources: [{ name: 'real', kind: 'real' }, { name: 's', kind: 'synthetic', prompts: { strategy: 'real-captions', source: 'real' }, cfgScale: 2 }],
  });
  assert.equal(badRef[0]!.path, 'sources[s].prompts.source');
  assert.match(badRef[0]!.message, /not a real-pairs source/);
});
