// The report's figure files (each chart as SVG beside its PNG copy, under the report's key) and the
// headings other sections link to.
import type { EvidenceSection } from '../../contracts/analysis.js';

export const SCALING_FIGURE = { file: 'scaling.svg', raster: 'scaling.png' } as const;
export const RECOGNIZABILITY_FIGURE = { file: 'recognizability.svg', raster: 'recognizability.png' } as const;

/** The sections the findings link to as evidence, by the analysis's name for them: their headings. */
export const EVIDENCE_SECTIONS = {
  comparison: 'Comparison to real data',
  cfg: 'Accuracy against CFG',
  clip: 'Classifiers vs CLIP',
  ood: 'Out-of-distribution evaluation',
  mixing: 'Mixing real and synthetic data',
} as const satisfies Record<EvidenceSection, string>;

/** The section that names the interval method, which the findings point to. */
export const METHOD_SECTION = 'Method';
