// Named generator presets: `generator: { preset: neural-small }` in a source, with any of the
// preset's parameters overridden beside it. The one place to add a preset; the report names a
// source's generator by its preset. Expanded before the generator schema validates the result.
import { z } from 'zod';

/** Each preset's full generator spec (every field its schema has, so a preset never drifts with a default). */
export const GENERATOR_PRESETS = {
  'gmm-default': {
    description: "the embedded Gaussian-mixture denoiser at its defaults (48 PCA dims, 12 components per class): exact sampling from a fitted mixture",
    spec: { name: 'embedded-gmm', pcaDims: 48, componentsPerClass: 12, steps: 40, fitSeed: 0, fitImages: 10000 },
  },
  'gmm-weak': {
    description: 'a much weaker Gaussian mixture (8 PCA dims, 1 component per class): the same family at a fraction of its capacity',
    spec: { name: 'embedded-gmm', pcaDims: 8, componentsPerClass: 1, steps: 40, fitSeed: 0, fitImages: 10000 },
  },
  'neural-small': {
    description: 'a learned MLP epsilon-denoiser (3 x 256, trained 3000 steps with condition dropout for classifier-free guidance) in the same 48-dim PCA space',
    spec: {
      name: 'embedded-denoiser',
      pcaDims: 48,
      hidden: [256, 256, 256],
      trainSteps: 3000,
      batchSize: 256,
      learningRate: 0.001,
      condDropout: 0.15,
      steps: 40,
      fitSeed: 0,
      fitImages: 10000,
      checkpointEvery: 500,
    },
  },
} as const satisfies Record<string, { description: string; spec: { name: string } & Record<string, unknown> }>;

export type GeneratorPresetName = keyof typeof GENERATOR_PRESETS;
export const GENERATOR_PRESET_NAMES = Object.keys(GENERATOR_PRESETS) as GeneratorPresetName[];

/**
 * `{ preset, ...overrides }` -> the preset's spec with the overrides and `preset` kept (so the
 * report can name it); anything else as it is. An unknown preset is an issue naming the presets.
 */
export function expandGeneratorPreset(input: unknown, ctx: { addIssue(issue: { code: 'custom'; message: string; path?: PropertyKey[] }): void }): unknown {
  if (typeof input !== 'object' || input === null || !('preset' in input)) return input;
  const { preset, ...overrides } = input as { preset: unknown } & Record<string, unknown>;
  if (typeof preset !== 'string' || !(preset in GENERATOR_PRESETS)) {
    ctx.addIssue({ code: 'custom', path: ['preset'], message: `unknown generator preset ${JSON.stringify(preset)}: use one of ${GENERATOR_PRESET_NAMES.join(', ')}` });
    return input;
  }
  const base = GENERATOR_PRESETS[preset as GeneratorPresetName].spec;
  if (overrides.name !== undefined && overrides.name !== base.name) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: `preset ${preset} is a ${base.name} generator: drop name, or drop the preset to use ${String(overrides.name)}` });
    return input;
  }
  return { ...base, ...overrides, preset };
}

/** The `preset` field every embedded generator schema carries once a preset was expanded. */
export const presetField = z.enum(GENERATOR_PRESET_NAMES as [GeneratorPresetName, ...GeneratorPresetName[]]).optional().describe(`a named preset (${GENERATOR_PRESET_NAMES.join(', ')}): its parameters, with any given beside it overriding them`);
