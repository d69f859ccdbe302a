// Generator kinds as the orchestration sees them: whether a model is fitted first, the sampler
// steps a shard is made with, and how the kind is named in reports and artifact labels. The code
// that generates lives in activities/generate (its own registry); adding a kind adds an entry
// here, a schema in spec/generators.ts and a backend there.
import type { EmbeddedDenoiserGeneratorSpec, EmbeddedGeneratorSpec, GeneratorSpec } from './spec/sweep.js';

type GeneratorOf<N extends GeneratorSpec['name']> = Extract<GeneratorSpec, { name: N }>;

export interface GeneratorKind<G extends GeneratorSpec> {
  /** True when the sweep fits the generator's model before it samples (fitGenerator activity). */
  fitted: boolean;
  /** The model family the report groups sources by in its generator-type section. */
  family: GeneratorFamily;
  /** Sampler steps a shard is generated with (0 where the API takes none). */
  steps(g: G): number;
  /** One line for the report, e.g. "embedded-gmm (48 PCA dims, 12 comps/class, 40 DDIM steps)". */
  describe(g: G): string;
  /** The label stored with every image: the kind and its model (fitted) or host (remote). */
  label(g: G, modelUri: string | undefined): string;
}

export const GENERATOR_KINDS: { readonly [N in GeneratorSpec['name']]: GeneratorKind<GeneratorOf<N>> } = {
  'embedded-gmm': {
    fitted: true,
    family: 'gaussian-mixture',
    steps: (g) => g.steps,
    describe: (g) => `${presetPrefix(g)}embedded-gmm (${g.pcaDims} PCA dims, ${g.componentsPerClass} comps/class, ${g.steps} DDIM steps)`,
    label: (g, modelUri) => `${g.name}@${modelUri?.split('/').slice(-2, -1)[0] ?? ''}`,
  },
  'embedded-denoiser': {
    fitted: true,
    family: 'neural-denoiser',
    steps: (g) => g.steps,
    describe: (g) => `${presetPrefix(g)}embedded-denoiser (${g.pcaDims} PCA dims, MLP ${g.hidden.join('-')}, ${g.trainSteps} steps x ${g.batchSize}, ${g.steps} DDIM steps)`,
    label: (g, modelUri) => `${g.name}@${modelUri?.split('/').slice(-2, -1)[0] ?? ''}`,
  },
  a1111: {
    fitted: false,
    family: 'remote',
    steps: (g) => g.steps,
    describe: (g) => `A1111 txt2img at ${hostOf(g.baseUrl)} (${g.steps} steps, ${g.samplerName}, ${g.width}x${g.height})`,
    label: (g) => `${g.name}@${hostOf(g.baseUrl)}`,
  },
  'openai-images': {
    fitted: false,
    family: 'remote',
    steps: () => 0,
    describe: (g) => `OpenAI images API at ${hostOf(g.baseUrl)} (model ${g.model}, ${g.size})`,
    label: (g) => `${g.name}@${hostOf(g.baseUrl)}`,
  },
};

/** The registry entry of a generator spec, typed for it. */
export function generatorKind<G extends GeneratorSpec>(g: G): GeneratorKind<G> {
  return GENERATOR_KINDS[g.name] as unknown as GeneratorKind<G>;
}

/** Generator specs whose model the sweep fits first (the fitGenerator activity's input). */
export type FittedGeneratorSpec = EmbeddedGeneratorSpec | EmbeddedDenoiserGeneratorSpec;

/** Generator types as the paper compares them (Stable Diffusion vs Imagen vs Muse): here, the embedded families and remote servers. */
export type GeneratorFamily = 'gaussian-mixture' | 'neural-denoiser' | 'remote';

export function generatorFamily(g: GeneratorSpec): GeneratorFamily {
  return GENERATOR_KINDS[g.name].family;
}

/** "neural-small: " when the spec came from a preset, so the report names it. */
function presetPrefix(g: { preset?: string | undefined }): string {
  return g.preset ? `${g.preset}: ` : '';
}

export function isFittedGenerator(g: GeneratorSpec): g is FittedGeneratorSpec {
  return GENERATOR_KINDS[g.name].fitted;
}

export function describeGenerator(g: GeneratorSpec): string {
  return generatorKind(g).describe(g);
}

/** The host of a URL (never its path or query, which may be long or private). */
export function hostOf(url: string): string {
  const match = /^https?:\/\/([^/]+)/.exec(url);
  return match ? match[1]! : url;
}
