// Analysis stage: power-law fits per source over all cells; stored content-addressed.
import { inputHash } from '../../core/hash.js';
import { hasValidObject, putJson } from '../../core/storage.js';
import type { CellMetrics, SourceSummary } from '../../core/types.js';
import type { ActivityDeps } from '../context.js';
import { analyzeSweep, type SweepAnalysis } from './analyze-sweep.js';

export const ANALYZE_CODE_VERSION = 'analyze-1';

export interface AnalyzeInput {
  sweepId: string;
  cells: CellMetrics[];
  sources: SourceSummary[];
}

export interface AnalysisDocument {
  sweepId: string;
  cells: CellMetrics[];
  sources: SourceSummary[];
  analysis: SweepAnalysis;
}

/** Headline numbers small enough to return through the workflow. */
export interface AnalyzeOutput {
  analysisUri: string;
  slopes: { source: string; evalSet: string; errorSlope: number | null; lossSlope: number | null }[];
  cached: boolean;
}

export function createAnalyzeActivities(deps: ActivityDeps) {
  return {
    async analyzeSweepResults(input: AnalyzeInput): Promise<AnalyzeOutput> {
      const key = `analyses/${input.sweepId}-${inputHash('analyze', ANALYZE_CODE_VERSION, input)}.json`;
      const cached = await hasValidObject(deps.store, key);
      const analysis = analyzeSweep(input.cells, input.sources);
      if (!cached) await putJson(deps.store, key, { ...input, analysis } satisfies AnalysisDocument);
      return {
        analysisUri: deps.store.uri(key),
        slopes: analysis.curves.map((curve) => ({
          source: curve.source,
          evalSet: curve.evalSet,
          errorSlope: curve.error.scalingSlope,
          lossSlope: curve.loss.scalingSlope,
        })),
        cached,
      };
    },
  };
}
