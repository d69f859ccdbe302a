import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENERATOR_KINDS, describeGenerator } from '../../contracts/generators.js';
import { SOURCE_KINDS, describeSource } from '../../contracts/sources.js';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { TASKS, TASK_NAMES } from '../../contracts/tasks.js';
import { DATASETS } from '../../core/datasets/registry.js';

test('every kind the spec accepts has a registry entry, and every entry is accepted', () => {
  assert.deepEqual(Object.keys(TASKS).sort(), [...TASK_NAMES].sort());
  for (const dataset of Object.keys(DATASETS)) assert.equal(validateSpec({ sweepId: 'x', dataset, sources: [{ name: 'real', kind: 'real' }], sizes: [100], seeds: [0] }).dataset, dataset);
  assert.throws(() => validateSpec({ sweepId: 'x', dataset: 'cifar-10', sources: [{ name: 'real', kind: 'real' }], sizes: [100], seeds: [0] }), /dataset/);
  assert.deepEqual(Object.keys(SOURCE_KINDS).sort(), ['control', 'mixed', 'real', 'real-pairs', 'synthetic']);
  assert.deepEqual(Object.keys(GENERATOR_KINDS).sort(), ['a1111', 'embedded-denoiser', 'embedded-gmm', 'openai-images']);
});

test('descriptions come from the registries, as the report printed them before', () => {
  const spec = validateSpec({
    sweepId: 'x',
    dataset: 'fashion-mnist',
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2 },
      { name: 'mix', kind: 'mixed', real: 'real', synthetic: 'syn', syntheticPerReal: 1 },
    ],
    sizes: [100],
    seeds: [0],
  });
  assert.deepEqual(spec.sources.map(describeSource), [
    'real Fashion-MNIST training images',
    'embedded-gmm (48 PCA dims, 12 comps/class, 40 DDIM steps), prompts: classnames, CFG 2',
    "N real images of 'real' plus 1 x N synthetic images of 'syn'",
  ]);
  assert.equal(
    describeGenerator({ name: 'openai-images', baseUrl: 'http://gen.example:8080/v1', model: 'm', size: '256x256' } as never),
    'OpenAI images API at gen.example:8080 (model m, 256x256)',
  );
});
