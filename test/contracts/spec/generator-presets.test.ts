import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeGenerator } from '../../../contracts/generators.js';
import { GENERATOR_PRESETS } from '../../../contracts/spec/generator-presets.js';
import { DEFAULT_EMBEDDED_GENERATOR, validateSpec, type SweepSpec } from '../../../contracts/spec/sweep.js';

const withGenerator = (generator: unknown) =>
  validateSpec({
    sweepId: 'x',
    dataset: 'fashion-mnist',
    sources: [{ name: 'real', kind: 'real' }, { name: 'syn', kind: 'synthetic', generator, prompts: { strategy: 'classnames' }, cfgScale: 2 }],
    sizes: [100],
    seeds: [0],
  } as Parameters<typeof validateSpec>[0]);
const generatorOf = (spec: SweepSpec) => (spec.sources[1] as Extract<SweepSpec['sources'][number], { kind: 'synthetic' }>).generator;

test('a preset expands to its parameters, keeps its name for the report, and takes overrides', () => {
  const neural = generatorOf(withGenerator({ preset: 'neural-small' }));
  assert.deepEqual(neural, { ...GENERATOR_PRESETS['neural-small'].spec, preset: 'neural-small' });
  assert.match(describeGenerator(neural), /^neural-small: embedded-denoiser \(48 PCA dims, MLP 256-256-256/);
  const gmm = generatorOf(withGenerator({ preset: 'gmm-default' }));
  const { preset, ...params } = gmm as typeof gmm & { preset?: string };
  assert.equal(preset, 'gmm-default');
  assert.deepEqual(params, DEFAULT_EMBEDDED_GENERATOR, 'gmm-default is the default generator');
  assert.deepEqual(generatorOf(withGenerator({ preset: 'gmm-weak', steps: 20 })), { ...GENERATOR_PRESETS['gmm-weak'].spec, steps: 20, preset: 'gmm-weak' });
});

test('an unknown preset, a clashing name or a bad override is refused, naming the field', () => {
  assert.throws(() => withGenerator({ preset: 'stable-diffusion' }), /preset.*unknown generator preset "stable-diffusion": use one of gmm-default, gmm-weak, neural-small/s);
  assert.throws(() => withGenerator({ preset: 'neural-small', name: 'embedded-gmm' }), /preset neural-small is a embedded-denoiser generator: drop name/);
  assert.throws(() => withGenerator({ preset: 'neural-small', condDropout: 0 }), /condDropout/);
});
