// What a source's cells train. Zod-free, so workflow code can import it.
import type { SourceSpec, SweepSpec } from './spec.js';

/**
 * Classifiers need labels, which external image-caption pairs lack, so a real-pairs source (and a
 * mix over one) trains CLIP only; every other source trains all of the spec's tasks.
 */
export function tasksForSource(spec: Pick<SweepSpec, 'tasks' | 'sources'>, source: SourceSpec): SweepSpec['tasks'] {
  const realPart = source.kind === 'mixed' ? spec.sources.find((s) => s.name === source.real) : source;
  return realPart?.kind === 'real-pairs' ? spec.tasks.filter((t) => t === 'clip') : spec.tasks;
}
