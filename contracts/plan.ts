// The plan a sweep runs on: the validated spec and what every later stage depends on, with each
// data source's content-addressed storage prefix and the eval sets every cell is evaluated on.
import { inputHash } from '../core/hash.js';
import { keySegment } from '../core/keys.js';
import { suiteId } from '../core/image/ood.js';
import type { SweepSpec } from './spec/sweep.js';
import type { EvalSetSpec } from './types.js';
import { GENERATOR_CODE_VERSION, PROMPTS_CODE_VERSION } from './code-versions.js';

export const SYNTHETIC_SHARDS_CODE_VERSION = 'synthetic-shards-1';

export interface SweepPlan {
  spec: SweepSpec;
  classes: string[];
  datasetFingerprint: string;
  storeRoot: string;
  /** Per source: the storage prefix of its shards, a hash of everything that determines them. */
  sourceKeys: Record<string, string>;
  /** Every eval set a cell is evaluated on: the spec's `eval` entries, then one per OOD suite. */
  evalSets?: EvalSetSpec[];
}

/**
 * Image i of a synthetic source depends only on (generator, prompt strategy, CFG, seed, i), not on
 * how many images the sweep asks for, so sweeps with a different largest N share shards.
 */
export function sourceKeyFor(spec: SweepSpec, source: SweepSpec['sources'][number], fingerprint: string): string {
  if (source.kind === 'real') return `sources/real-${fingerprint}`;
  // A mixed source has no data of its own: its cells read its real and synthetic sources' shards.
  if (source.kind === 'mixed') return `sources/mixed-of-${keySegment(source.real, 'sources.real')}-and-${keySegment(source.synthetic, 'sources.synthetic')}`;
  // Imported pairs are keyed by their input shards' content (activities/shards/pairs-activity.ts).
  if (source.kind === 'real-pairs') return `sources/pairs-of-${keySegment(source.name, 'sources.name')}`;
  // Prompts that are a real-pairs source's captions depend on that source's shards.
  const captionsFrom = source.prompts.strategy === 'real-captions' && source.prompts.source !== undefined ? spec.sources.find((s) => s.name === (source.prompts as { source?: string }).source) : undefined;
  const hash = inputHash('synthetic-source', `${SYNTHETIC_SHARDS_CODE_VERSION}+${GENERATOR_CODE_VERSION}+${PROMPTS_CODE_VERSION}`, {
    generator: source.generator,
    prompts: source.prompts,
    cfgScale: source.cfgScale,
    ...(captionsFrom ? { captionsFrom: { ...captionsFrom, name: undefined } } : {}),
    generationSeed: spec.generation.seed,
    shardSize: spec.generation.shardSize,
    dataset: fingerprint,
  });
  return `sources/synthetic-${hash}`;
}

/**
 * The spec's clean eval sets, then `ood-<suite id>` per OOD suite. Every cell sees the same
 * corrupted images: the shift's seed is the sweep's generation seed, not the cell's.
 */
export function evalSetsFor(spec: SweepSpec): EvalSetSpec[] {
  return [
    ...spec.eval,
    ...spec.ood.map((s) => ({ name: `ood-${suiteId(s)}`, split: 'test' as const, shift: { suite: s.suite, severity: s.severity, seed: spec.generation.seed } })),
  ];
}
