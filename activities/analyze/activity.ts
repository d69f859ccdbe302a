// Analysis stage: gathers every cell's results from the store (their keys derive from the spec
// and the sources' manifests, so a 10,000-cell sweep passes no per-cell data through workflows),
// then fits power laws per source. Stored content-addressed.
import { heartbeat } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { keySegment } from '../../core/keys.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { EvalMetrics } from '../../core/nn/metrics.js';
import type { MixedSourceSpec, SweepSpec } from '../../contracts/spec/sweep.js';
import { cellsOf, cellsPerTask, mixCount, tasksOf, type Cell, type Task } from '../../contracts/grid.js';
import { TASKS } from '../../contracts/tasks.js';
import { clipCurveName, type AnalysisDocument } from '../../contracts/analysis.js';
import {
  cellKey,
  clipCellKey,
  clipEvalKey,
  evalKey,
  type ClipEvalResult,
  type RecognizabilityDocument,
  type TrainCellInput,
} from '../../contracts/cells.js';
import type { CellMetrics, EvalSetSpec, SourceSummary } from '../../contracts/types.js';
import { analyzeSweep } from './analyze-sweep.js';
export type { AnalysisDocument } from '../../contracts/analysis.js';

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

/** How a task's cells are found in the store: the trained cell's key prefix and one evaluation's key. */
interface TaskReader {
  prefix(spec: SweepSpec, manifestSha: string, data: CellData, mixShas: string[]): string;
  evalKey: (modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift']) => string;
}

/** What a cell trains on: the source's first N samples, plus a mixed source's synthetic part. */
type CellData = Pick<TrainCellInput, 'manifestUri' | 'size' | 'seed' | 'mix'>;

const TASK_READERS: Record<Task, TaskReader> = {
  clip: {
    prefix: (spec, sha, data, mixShas) => clipCellKey(sha, { ...data, recipe: spec.clip, captionSeed: spec.generation.seed }, mixShas),
    evalKey: clipEvalKey,
  },
  classifier: { prefix: (spec, sha, data, mixShas) => cellKey(sha, { ...data, recipe: spec.training }, mixShas), evalKey },
};

/**
 * The order cells are listed in (the list is part of the analysis key, so it stays as it was):
 * N ascending, seeds in spec order, and at each (N, seed) the CLIP cell before the classifier's.
 */
const TASK_READ_ORDER: readonly Task[] = ['clip', 'classifier'];

function cellsInReadOrder(spec: SweepSpec, name: string): Cell[] {
  const perTask = cellsPerTask(spec);
  const rank = (cell: Cell) => TASK_READ_ORDER.indexOf(cell.task);
  return cellsOf(spec, name).sort((p, q) => (p.index % perTask) - (q.index % perTask) || rank(p) - rank(q));
}

/** What a source's cells are keyed by besides (N, seed): its manifest, and a mixed source's synthetic part. */
interface SourceReading {
  source: SourceSummary;
  manifestSha: string;
  mix?: { spec: MixedSourceSpec; manifestUri: string; manifestSha: string };
}

async function headOf(deps: ActivityDeps, uri: string): Promise<{ sha256: string; size: number }> {
  const head = await deps.store.head(deps.store.keyOf(uri));
  if (!head) throw new Error(`${uri} is missing`);
  return head;
}

/** A mixed source's cells also hash the synthetic manifest they mix in (contracts/cells.ts cellKey). */
async function sourceReading(deps: ActivityDeps, spec: SweepSpec, source: SourceSummary, sources: SourceSummary[]): Promise<SourceReading> {
  const manifestSha = (await headOf(deps, source.manifestUri)).sha256;
  const mixSpec = source.kind === 'mixed' ? spec.sources.find((s): s is MixedSourceSpec => s.name === source.name && s.kind === 'mixed') : undefined;
  if (!mixSpec) return { source, manifestSha };
  const mixedIn = sources.find((s) => s.name === mixSpec.synthetic);
  if (!mixedIn) throw new Error(`mixed source ${source.name}: its synthetic source ${mixSpec.synthetic} has no summary`);
  return { source, manifestSha, mix: { spec: mixSpec, manifestUri: mixedIn.manifestUri, manifestSha: (await headOf(deps, mixedIn.manifestUri)).sha256 } };
}

/** Read each (source, N, seed, eval set) result written by the train and evaluate stages. */
export async function collectCells(
  deps: ActivityDeps,
  spec: SweepSpec,
  sources: SourceSummary[],
  evalSets: EvalSetSpec[] = spec.eval,
): Promise<CellMetrics[]> {
  const cells: CellMetrics[] = [];
  for (const source of sources) {
    const reading = await sourceReading(deps, spec, source, sources);
    const order = cellsInReadOrder(spec, source.name);
    for (const [i, cell] of order.entries()) {
      cells.push(...(await readCell(deps, spec, reading, cell, evalSets)));
      if (order[i + 1]?.size !== cell.size) heartbeat({ source: source.name, cellsRead: cells.length });
    }
  }
  return cells;
}

/** One cell's metrics on every eval set, from its train record and stored evaluations (either task). */
async function readCell(deps: ActivityDeps, spec: SweepSpec, reading: SourceReading, cell: Cell, evalSets: EvalSetSpec[]): Promise<CellMetrics[]> {
  const { source, mix } = reading;
  const { size, seed } = cell;
  const mixes = mix ? [{ manifestUri: mix.manifestUri, count: mixCount(mix.spec, size) }] : undefined;
  const data: CellData = { manifestUri: source.manifestUri, size, seed, ...(mixes ? { mix: mixes } : {}) };
  const reader = TASK_READERS[cell.task];
  const prefix = reader.prefix(spec, reading.manifestSha, data, mix ? [mix.manifestSha] : []);
  const sourceName = TASKS[cell.task].curveName(source.name);
  const record = await getJson<{ steps: number; seconds: number }>(deps.store, `${prefix}/train.json`);
  const model = await deps.store.head(`${prefix}/model.bin`);
  if (!model) throw new Error(`cell ${sourceName} N=${size} seed=${seed}: ${prefix}/model.bin is missing`);
  const out: CellMetrics[] = [];
  for (const evalSet of evalSets) {
    const key = reader.evalKey(`${prefix}/model.bin`, model.sha256, evalSet.name, evalSet.split, evalSet.shift);
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

/** The sources as analysed: each source with classifier cells, then its `clip:` twin where it has CLIP cells. */
export function analysedSources(spec: SweepSpec, sources: SourceSummary[]): SourceSummary[] {
  return [
    ...sources.filter((s) => tasksOf(spec, s.name).includes('classifier')),
    ...sources
      .filter((s) => tasksOf(spec, s.name).includes('clip'))
      .map((s) => ({ ...s, name: clipCurveName(s.name), description: `CLIP on ${s.description}` })),
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
