// Source kinds as the orchestration sees them: a description for reports and memos, whether the
// source has data of its own (a mixed source reads two others), and how many images it produces
// for the N it must hold. The data-source workflow has one handler per kind (workflows/sources).
import { describeGenerator } from './generators.js';
import type { SourceSpec } from './spec/sweep.js';

type SourceOf<K extends SourceSpec['kind']> = Extract<SourceSpec, { kind: K }>;

export interface SourceKind<S extends SourceSpec> {
  describe(source: S): string;
  /** False for a mixed source: its cells read its real and synthetic sources' shards. */
  ownData: boolean;
  /** Its images carry class labels (image-caption pairs may not), so label-needing tasks can train on it. */
  labelled: boolean;
  /** Real images: a reference the synthetic curves are compared with. */
  real: boolean;
  /** Images to produce so `count` remain: generated sources make extra for items that may fail. */
  imagesToProduce(count: number, failureBudget: number): number;
}

const exactly = (count: number) => count;

export const SOURCE_KINDS: { readonly [K in SourceSpec['kind']]: SourceKind<SourceOf<K>> } = {
  real: {
    describe: () => 'real Fashion-MNIST training images',
    ownData: true,
    labelled: true,
    real: true,
    imagesToProduce: exactly,
  },
  'real-pairs': {
    describe: (source) => {
      if (!source.shards) return 'real Fashion-MNIST images with seeded captions (embedded img2dataset-layout pairs)';
      const first = source.shards[0]!;
      return `image-caption pairs from ${source.shards.length === 1 ? first : `${first} and ${source.shards.length - 1} more`}`;
    },
    ownData: true,
    labelled: false,
    real: true,
    imagesToProduce: exactly,
  },
  synthetic: {
    describe: (source) => `${describeGenerator(source.generator)}, prompts: ${source.prompts.strategy}, CFG ${source.cfgScale}`,
    ownData: true,
    labelled: true,
    real: false,
    imagesToProduce: (count, failureBudget) => Math.ceil(count * (1 + failureBudget)),
  },
  control: {
    describe: (source) => `real images through ${describeGenerator(source.generator)}'s PCA projection and reconstruction`,
    ownData: true,
    labelled: true,
    real: false,
    imagesToProduce: exactly,
  },
  mixed: {
    describe: (source) => {
      const extra = source.syntheticImages !== undefined ? `${source.syntheticImages}` : `${source.syntheticPerReal} x N`;
      return `N real images of '${source.real}' plus ${extra} synthetic images of '${source.synthetic}'`;
    },
    ownData: false,
    // A mix is as labelled and as real as its real part (grid.ts tasksForSource looks there).
    labelled: true,
    real: false,
    imagesToProduce: exactly,
  },
};

export function sourceKind<S extends SourceSpec>(source: S): SourceKind<S> {
  return SOURCE_KINDS[source.kind] as unknown as SourceKind<S>;
}

export function describeSource(source: SourceSpec): string {
  return sourceKind(source).describe(source);
}

/**
 * What makes synthetic sources comparable across CFG: everything but the CFG scale (generator,
 * its real-image budget, prompts). Sources with equal keys differ only in CFG.
 */
export function cfgGroupKey(s: { description: string; promptStrategy?: string; promptProvenance?: string; generatorRealImages?: number }): string {
  return JSON.stringify([cfgFreeDescription(s.description), s.promptStrategy ?? null, s.promptProvenance ?? null, s.generatorRealImages ?? null]);
}

/** A source's description without its CFG scale. */
export function cfgFreeDescription(description: string): string {
  return description.replace(/,?\s*CFG\s*[\d.]+/gi, '').trim();
}
