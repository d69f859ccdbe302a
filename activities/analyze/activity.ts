// Analysis stage: gathers every cell's results from the store (their keys derive from the spec
// and the sources' manifests, so a 10,000-cell sweep passes no per-cell data through workflows),
// then fits power laws per source. Stored content-addressed.
import { inputHash } from '../../core/hash.js';
import type { SweepSpec } from '../../core/spec.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import type { CellMetrics, SourceSummary } from '../../core/types.js';
import type { ActivityDeps } from '../context.js';
import { evalKey } from '../evaluate/activity.js';
import type { EvalMetrics } from '../evaluate/metrics.js';
import { cellKey, type TrainRecord } from '../train/activity.js';
import { analyzeSweep, type SweepAnalysis } from './analyze-sweep.js';
import { heartbeat } from '@temporalio/activity';

export const ANALYZE_CODE_VERSION = 'analyze-2';

export interface AnalyzeInput {
  sweepId: string;
  spec: SweepSpec;
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
  cells: number;
  slopes: { source: string; evalSet: string; errorSlope: number | null; lossSlope: number | null }[];
  cached: boolean;
}

/** Read each (source, N, seed, eval set) result written by the train and evaluate stages. */
export async function collectCells(deps: ActivityDeps, spec: SweepSpec, sources: SourceSummary[]): Promise<CellMetrics[]> {
  const cells: CellMetrics[] = [];
  for (const source of sources) {
    const manifest = await deps.store.head(deps.store.keyOf(source.manifestUri));
    if (!manifest) throw new Error(`${source.manifestUri} is missing`);
    for (const size of [...spec.sizes].sort((a, b) => a - b)) {
      for (const seed of spec.seeds) {
        const prefix = cellKey(manifest.sha256, { manifestUri: source.manifestUri, size, seed, recipe: spec.training });
        const record = await getJson<TrainRecord>(deps.store, `${prefix}/train.json`);
        const model = await deps.store.head(`${prefix}/model.bin`);
        if (!model) throw new Error(`cell ${source.name} N=${size} seed=${seed}: ${prefix}/model.bin is missing`);
        for (const evalSet of spec.eval) {
          const key = evalKey(`${prefix}/model.bin`, model.sha256, evalSet.name, evalSet.split);
          const metrics = await getJson<EvalMetrics>(deps.store, key);
          cells.push({
            source: source.name,
            size,
            seed,
            evalSet: evalSet.name,
            loss: metrics.loss,
            accuracy: metrics.accuracy,
            ece: metrics.ece,
            perClassAccuracy: metrics.perClassAccuracy,
            trainSteps: record.steps,
            trainSeconds: record.seconds,
            resultUri: deps.store.uri(key),
          });
        }
      }
      heartbeat({ source: source.name, cellsRead: cells.length });
    }
  }
  return cells;
}

export function createAnalyzeActivities(deps: ActivityDeps) {
  return {
    async analyzeSweepResults(input: AnalyzeInput): Promise<AnalyzeOutput> {
      const cells = await collectCells(deps, input.spec, input.sources);
      const key = `analyses/${input.sweepId}-${inputHash('analyze', ANALYZE_CODE_VERSION, { cells, sources: input.sources })}.json`;
      const cached = await hasValidObject(deps.store, key);
      const analysis = cached
        ? (await getJson<AnalysisDocument>(deps.store, key, 256 * 1024 * 1024)).analysis
        : analyzeSweep(cells, input.sources);
      if (!cached) await putJson(deps.store, key, { sweepId: input.sweepId, cells, sources: input.sources, analysis } satisfies AnalysisDocument);
      return {
        analysisUri: deps.store.uri(key),
        cells: cells.length,
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
