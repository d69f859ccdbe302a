// Analysis stage: gathers every cell's results from the store (their keys derive from the spec
// and the sources' manifests, so a 10,000-cell sweep passes no per-cell data through workflows),
// then fits power laws per source. Stored content-addressed.
import { legacyEvalSets } from '../../contracts/eval-sets.js';
import { heartbeat } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { keySegment } from '../../core/keys.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { EvalMetrics } from '../../core/nn/metrics.js';
import type { SweepSpec } from '../../contracts/spec/sweep.js';
import { cellData, cellsOf, firstRoundGrid, tasksOf, type Cell, type Task } from '../../contracts/grid.js';
import type { CellRef } from '../../contracts/adaptive-run.js';
import { readDecisions } from './adapt/decisions.js';
import { TASKS } from '../../contracts/tasks.js';
import { clipCurveName, DEFAULT_ANALYSIS_SETTINGS, type AnalysisDocument, type AnalyzeOptions } from '../../contracts/analysis.js';
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
import { analyzeSweep, type AnalyzeSweepOptions } from './analyze-sweep.js';
export type { AnalysisDocument } from '../../contracts/analysis.js';

// analyze-5: fits on per-N means, seed bootstrap intervals, quality gates, held-out checks, least-squares
// offset fits, findings, diversity; cells read from their seed's manifest and window.
export const ANALYZE_CODE_VERSION = 'analyze-5';

export interface AnalyzeInput {
  sweepId: string;
  spec: SweepSpec;
  sources: SourceSummary[];
  /** The plan's eval sets (clean and OOD); absent in sweeps planned before OOD suites: spec.eval. */
  evalSets?: EvalSetSpec[];
  /** Recognizability results per synthetic source (spec.recognizability). */
  recognizability?: { source: string; resultUri: string }[];
  /** spec.adaptive: each round's stored decision (the cells it added, and why). */
  adaptive?: { decisionUris: string[] };
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
  evalKey: (modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift'], dataset?: string) => string;
}

/** What a cell trains on: its seed's manifest of the source from its offset, plus a mixed source's synthetic part. */
type CellData = Pick<TrainCellInput, 'manifestUri' | 'size' | 'offset' | 'seed' | 'mix'>;

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

function cellsInReadOrder(spec: SweepSpec, name: string, added: readonly CellRef[]): Cell[] {
  const rank = (cell: Cell) => TASK_READ_ORDER.indexOf(cell.task);
  const seedRank = (cell: Cell) => spec.seeds.indexOf(cell.seed);
  // An adaptive sweep's cells: its first round's grid and the classifier cells its decisions added.
  const extra = added.filter((c) => c.source === name).map((c): Cell => ({ source: name, task: 'classifier', size: c.size, seed: c.seed, index: -1 }));
  return [...cellsOf(firstRoundGrid(spec), name), ...extra].sort((p, q) => p.size - q.size || seedRank(p) - seedRank(q) || rank(p) - rank(q));
}

/** A manifest's checksum (part of every cell key that reads it), fetched once per manifest. */
function manifestShas(deps: ActivityDeps): (uri: string) => Promise<string> {
  const shas = new Map<string, Promise<string>>();
  return (uri) => {
    if (!shas.has(uri)) {
      shas.set(
        uri,
        deps.store.head(deps.store.keyOf(uri)).then((head) => {
          if (!head) throw new Error(`${uri} is missing`);
          return head.sha256;
        }),
      );
    }
    return shas.get(uri)!;
  };
}

/** Read each (source, N, seed, eval set) result written by the train and evaluate stages. */
export async function collectCells(
  deps: ActivityDeps,
  spec: SweepSpec,
  sources: SourceSummary[],
  evalSets: EvalSetSpec[] = legacyEvalSets(spec),
  added: readonly CellRef[] = [],
): Promise<CellMetrics[]> {
  const cells: CellMetrics[] = [];
  const shaOf = manifestShas(deps);
  const summaryOf = (name: string) => sources.find((s) => s.name === name);
  for (const source of sources) {
    const order = cellsInReadOrder(spec, source.name, added);
    for (const [i, cell] of order.entries()) {
      // Which images the cell trained on: its seed's manifest from its seed's window on (contracts/grid.ts), as the sweep ran it.
      const where = cellData(spec, summaryOf, cell);
      const data: CellData = { ...where, size: cell.size, seed: cell.seed };
      const shas = { manifest: await shaOf(data.manifestUri), mix: await Promise.all((data.mix ?? []).map((m) => shaOf(m.manifestUri))) };
      cells.push(...(await readCell(deps, spec, source.name, data, shas, cell, evalSets)));
      if (order[i + 1]?.size !== cell.size) heartbeat({ source: source.name, cellsRead: cells.length });
    }
  }
  return cells;
}

/** One cell's metrics on every eval set, from its train record and stored evaluations (either task). */
async function readCell(
  deps: ActivityDeps,
  spec: SweepSpec,
  name: string,
  data: CellData,
  shas: { manifest: string; mix: string[] },
  cell: Cell,
  evalSets: EvalSetSpec[],
): Promise<CellMetrics[]> {
  const { size, seed } = cell;
  const reader = TASK_READERS[cell.task];
  const prefix = reader.prefix(spec, shas.manifest, data, shas.mix);
  const sourceName = TASKS[cell.task].curveName(name);
  const record = await getJson<{ steps: number; seconds: number }>(deps.store, `${prefix}/train.json`);
  const model = await deps.store.head(`${prefix}/model.bin`);
  if (!model) throw new Error(`cell ${sourceName} N=${size} seed=${seed}: ${prefix}/model.bin is missing`);
  const out: CellMetrics[] = [];
  for (const evalSet of evalSets) {
    const key = reader.evalKey(`${prefix}/model.bin`, model.sha256, evalSet.name, evalSet.split, evalSet.shift, evalSet.dataset);
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

/**
 * The eval sets of another dataset than the sweep's: the spec's `eval` entries with a `dataset`. (The
 * plan names a fingerprint on every eval set of a sweep on its own data, its own dataset's too, so
 * the spec says which are another dataset's; OOD suites corrupt the sweep's own split.)
 */
export function otherDatasetEvalSets(spec: SweepSpec): string[] {
  return spec.eval.filter((entry) => entry.dataset !== undefined).map((entry) => entry.name);
}

/** Each synthetic source's recognizability result, with its diversity measures where the stage measured them. */
async function readRecognizability(deps: ActivityDeps, refs: { source: string; resultUri: string }[]): Promise<NonNullable<AnalyzeOptions['recognizability']>> {
  return Promise.all(
    refs.map(async (ref) => {
      const doc = await getJson<RecognizabilityDocument>(deps.store, deps.store.keyOf(ref.resultUri));
      return {
        source: ref.source,
        overall: doc.overall,
        judgeTestAccuracy: doc.judgeTestAccuracy,
        classes: doc.perClass.map((c) => c.className),
        perClass: doc.perClass.map((c) => c.fraction),
        ...(doc.diversity ? { diversity: doc.diversity } : {}),
      };
    }),
  );
}

export function createAnalyzeActivities(deps: ActivityDeps) {
  return {
    async analyzeSweepResults(input: AnalyzeInput): Promise<AnalyzeOutput> {
      const decisions = await readDecisions(deps, input.adaptive?.decisionUris ?? []);
      const cells = await collectCells(deps, input.spec, input.sources, input.evalSets, decisions.flatMap((d) => d.decision.cells));
      const recognizability = await readRecognizability(deps, input.recognizability ?? []);
      const otherDatasets = otherDatasetEvalSets(input.spec);
      const options: AnalyzeSweepOptions = {
        recognizability,
        analysis: { ...DEFAULT_ANALYSIS_SETTINGS, ...input.spec.analysis },
        seedDraws: input.spec.seedDraws ?? 'init',
        otherDatasetEvalSets: otherDatasets,
      };
      // Which eval sets are another dataset's is in the key only when there are any, so earlier sweeps keep their analyses.
      const settings = { analysis: options.analysis, seedDraws: options.seedDraws, ...(otherDatasets.length > 0 ? { otherDatasets } : {}) };
      const key = `analyses/${keySegment(input.sweepId, 'sweepId')}-${inputHash('analyze', ANALYZE_CODE_VERSION, { cells, sources: input.sources, recognizability, settings })}.json`;
      const cached = await hasValidObject(deps.store, key);
      const analysis = cached
        ? (await getJson<AnalysisDocument>(deps.store, key, 256 * 1024 * 1024)).analysis
        : analyzeSweep(cells, analysedSources(input.spec, input.sources), options);
      const adaptive = decisions.length > 0 ? { adaptive: { decisions } } : {};
      if (!cached) await putJson(deps.store, key, { sweepId: input.sweepId, cells, sources: input.sources, analysis, ...adaptive } satisfies AnalysisDocument);
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
