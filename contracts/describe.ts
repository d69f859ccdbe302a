// One-line descriptions of sources and generators, for the report, memos and the UI.
import type { GeneratorSpec, SourceSpec } from './spec/sweep.js';

export function describeGenerator(g: GeneratorSpec): string {
  if (g.name === 'embedded-gmm') return `embedded-gmm (${g.pcaDims} PCA dims, ${g.componentsPerClass} comps/class, ${g.steps} DDIM steps)`;
  if (g.name === 'a1111') return `A1111 txt2img at ${hostOf(g.baseUrl)} (${g.steps} steps, ${g.samplerName}, ${g.width}x${g.height})`;
  return `OpenAI images API at ${hostOf(g.baseUrl)} (model ${g.model}, ${g.size})`;
}

export function describeSource(source: SourceSpec): string {
  if (source.kind === 'real') return 'real Fashion-MNIST training images';
  if (source.kind === 'real-pairs') {
    if (!source.shards) return 'real Fashion-MNIST images with seeded captions (embedded img2dataset-layout pairs)';
    const first = source.shards[0]!;
    return `image-caption pairs from ${source.shards.length === 1 ? first : `${first} and ${source.shards.length - 1} more`}`;
  }
  if (source.kind === 'mixed') {
    const extra = source.syntheticImages !== undefined ? `${source.syntheticImages}` : `${source.syntheticPerReal} x N`;
    return `N real images of '${source.real}' plus ${extra} synthetic images of '${source.synthetic}'`;
  }
  return `${describeGenerator(source.generator)}, prompts: ${source.prompts.strategy}, CFG ${source.cfgScale}`;
}

export function hostOf(url: string): string {
  const match = /^https?:\/\/([^/]+)/.exec(url);
  return match ? match[1]! : url;
}

/** Sampler steps a shard is generated with (the OpenAI images API takes none). */
export function generatorSteps(g: GeneratorSpec): number {
  return g.name === 'openai-images' ? 0 : g.steps;
}
