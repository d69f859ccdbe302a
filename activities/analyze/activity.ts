// Analysis stage: gathers every cell's results from the store (their keys derive from the spec
// and the sources' manifests, so a 10,000-cell sweep passes no per-cell data through workflows),
// then fits power laws per source. Stored content-addressed.
import { inputHash } from '../../core/hash.js';
import { keySegment } from '../../core/keys.js';
import type { SweepSpec } from '../../contracts/spec/sweep.js';
import { mixCount } from '../../contracts/grid.js';
import { tasksForSource } from '../../contracts/grid.js';
import { cellKey, clipCellKey, clipEvalKey, evalKey, type ClipEvalResult, type RecognizabilityDocument } from '../../contracts/cells.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import type { CellMetrics, EvalSetSpec, SourceSummary } from '../../contracts/types.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { EvalMetrics } from '../../core/nn/metrics.js';
import { analyzeSweep, type SweepAnalysis } from './analyze-sweep.js';
import { heartbeat } from '@temporalio/activity';
export type { AnalysisDocument } from '../../contracts/analysis.js';
import type { AnalysisDocument } from '../../contracts/analysis.js';

export const ANALYZE_CODE_VERSION = 'analyze-4';

export interface AnalyzeInput {
  sweepId: string;
  spec: SweepSpec;
  sources: SourceSummary[];
  /** The plan's eval sets (clean and OOD); absent in sweeps planned before OOD suites: spec.eval. */
  evalSets?: EvalSetSpec[];
  /** Recognizability results per synthetic source (spec.recognizability). */
  recognizability?: { source: string; resultUri: string }[];
}


/** Headline numbers small enough to return through the workflow. */
export interface AnalyzeOutput {
  analysisUri: string;
  cells: number;
  slopes: { source: string; evalSet: string; errorSlope: number | null; lossSlope: number | null }[];
  cached: boolean;
}

/** Read each (source, N, seed, eval set) result written by the train and evaluate stages. */
export async function collectCells(
  deps: ActivityDeps,
  spec: SweepSpec,
  sources: SourceSummary[],
  evalSets: EvalSetSpec[] = spec.eval,
): Promise<CellMetrics[]> {
  const cells: CellMetrics[] = [];
  const headOf = async (uri: string) => {
    const head = await deps.store.head(deps.store.keyOf(uri));
    if (!head) throw new Error(`${uri} is missing`);
    return head;
  };
  for (const source of sources) {
    const manifest = await headOf(source.manifestUri);
    // A mixed source's cells also hash the synthetic manifest they mix in (train/activity.ts cellKey).
    const mixSpec = source.kind === 'mixed' ? spec.sources.find((s) => s.name === source.name && s.kind === 'mixed') : undefined;
    const mixedIn = mixSpec?.kind === 'mixed' ? sources.find((s) => s.name === mixSpec.synthetic) : undefined;
    if (mixSpec && !mixedIn) throw new Error(`mixed source ${source.name}: its synthetic source ${mixSpec.kind === 'mixed' ? mixSpec.synthetic : ''} has no summary`);
    const mixedInSha = mixedIn ? (await headOf(mixedIn.manifestUri)).sha256 : undefined;
    for (const size of [...spec.sizes].sort((a, b) => a - b)) {
      for (const seed of spec.seeds) {
        const mix = mixSpec?.kind === 'mixed' && mixedIn ? [{ manifestUri: mixedIn.manifestUri, count: mixCount(mixSpec, size) }] : undefined;
        const tasks = tasksOf(spec, source.name);
        const mixShas = mixedInSha ? [mixedInSha] : [];
        const data = { manifestUri: source.manifestUri, size, seed, ...(mix ? { mix } : {}) };
        if (tasks.includes('clip')) {
          const prefix = clipCellKey(manifest.sha256, { ...data, recipe: spec.clip, captionSeed: spec.generation.seed }, mixShas);
          cells.push(...(await readCell(deps, prefix, `${CLIP_PREFIX}${source.name}`, size, seed, evalSets, clipEvalKey)));
        }
        if (tasks.includes('classifier')) {
          const prefix = cellKey(manifest.sha256, { ...data, recipe: spec.training }, mixShas);
          cells.push(...(await readCell(deps, prefix, source.name, size, seed, evalSets, evalKey)));
        }
      }
      heartbeat({ source: source.name, cellsRead: cells.length });
    }
  }
  return cells;
}

/** CLIP cells are analysed as their own curves, under the source name `clip:<source>`. */
export const CLIP_PREFIX = 'clip:';

/** One cell's metrics on every eval set, from its train record and stored evaluations (either task). */
async function readCell(
  deps: ActivityDeps,
  prefix: string,
  sourceName: string,
  size: number,
  seed: number,
  evalSets: EvalSetSpec[],
  keyOf: (modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift']) => string,
): Promise<CellMetrics[]> {
  const record = await getJson<{ steps: number; seconds: number }>(deps.store, `${prefix}/train.json`);
  const model = await deps.store.head(`${prefix}/model.bin`);
  if (!model) throw new Error(`cell ${sourceName} N=${size} seed=${seed}: ${prefix}/model.bin is missing`);
  const out: CellMetrics[] = [];
  for (const evalSet of evalSets) {
    const key = keyOf(`${prefix}/model.bin`, model.sha256, evalSet.name, evalSet.split, evalSet.shift);
    // Classifier and CLIP evaluations share these fields (CLIP's are its 80-template ensemble's).
    const metrics = await getJson<Pick<EvalMetrics, 'loss' | 'accuracy' | 'ece' | 'perClassAccuracy'> & Partial<Pick<ClipEvalResult, 'single' | 'probe'>>>(deps.store, key);
    out.push({
      source: sourceName,
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
      ...(metrics.single ? { zeroShotSingle: { loss: metrics.single.loss, accuracy: metrics.single.accuracy } } : {}),
      ...(metrics.probe ? { probe: { loss: metrics.probe.loss, accuracy: metrics.probe.accuracy } } : {}),
    });
  }
  return out;
}

/** The tasks a source's cells trained (real-pairs sources: CLIP only). */
function tasksOf(spec: SweepSpec, name: string): SweepSpec['tasks'] {
  const source = spec.sources.find((s) => s.name === name);
  return source ? tasksForSource({ tasks: spec.tasks ?? ['classifier'], sources: spec.sources }, source) : (spec.tasks ?? ['classifier']);
}

/** The sources as analysed: each source with classifier cells, then its `clip:` twin where it has CLIP cells. */
export function analysedSources(spec: SweepSpec, sources: SourceSummary[]): SourceSummary[] {
  return [
    ...sources.filter((s) => tasksOf(spec, s.name).includes('classifier')),
    ...sources
      .filter((s) => tasksOf(spec, s.name).includes('clip'))
      .map((s) => ({ ...s, name: `${CLIP_PREFIX}${s.name}`, description: `CLIP on ${s.description}` })),
  ];
}

export function createAnalyzeActivities(deps: ActivityDeps) {
  return {
    async analyzeSweepResults(input: AnalyzeInput): Promise<AnalyzeOutput> {
      const cells = await collectCells(deps, input.spec, input.sources, input.evalSets);
      const recognizability = await Promise.all(
        (input.recognizability ?? []).map(async (ref) => {
          const doc = await getJson<RecognizabilityDocument>(deps.store, deps.store.keyOf(ref.resultUri));
          return {
            source: ref.source,
            overall: doc.overall,
            judgeTestAccuracy: doc.judgeTestAccuracy,
            classes: doc.perClass.map((c) => c.className),
            perClass: doc.perClass.map((c) => c.fraction),
          };
        }),
      );
      const key = `analyses/${keySegment(input.sweepId, 'sweepId')}-${inputHash('analyze', ANALYZE_CODE_VERSION, { cells, sources: input.sources, recognizability })}.json`;
      const cached = await hasValidObject(deps.store, key);
      const analysis = cached
        ? (await getJson<AnalysisDocument>(deps.store, key, 256 * 1024 * 1024)).analysis
        : analyzeSweep(cells, analysedSources(input.spec, input.sources), { recognizability });
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
