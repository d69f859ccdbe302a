// Report stage: report.json, report.md, report.html and the figures (scaling.svg/.png,
// recognizability.svg/.png, one samples-<source>.png per source) side by side under the sweep's report key.
import { ADAPTIVE_FIGURE } from './sections-adaptive.js';
import { heartbeat } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { joinKey, keySegment } from '../../core/keys.js';
import { getJson } from '../../core/storage.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { AnalysisDocument } from '../../contracts/analysis.js';
import { DIVERSITY_FIGURE, RECOGNIZABILITY_FIGURE, renderReport, SCALING_FIGURE, SLOPE_RATIO_FIGURE } from './render.js';
import { sourceImageDigests } from './image-digest.js';
import { buildSampleSheets } from './samples.js';
import type { SweepStats } from '../../contracts/sweep.js';
import type { DatasetInfo } from '../../contracts/plan.js';
import type { EvalSetSpec } from '../../contracts/types.js';
import { CostAggregator, EXECUTION_START_ACTIVITY, type SweepCost } from '../../contracts/cost.js';
import { pricesOf } from '../../contracts/spec/cost.js';
import { forEachUsageRecord } from '../../core/usage/read.js';
import type { BlobStore } from '../../core/storage.js';
import type { ReportMeta } from './render.js';
import type { CostReportMeta } from './sections-context.js';

/** What the run did, in words, for the report's notes. */
export function describeRun(stats: SweepStats): string[] {
  const notes = [
    stats.cellsCached === stats.cellsTotal
      ? `All ${stats.cellsTotal} cells came from the cache (content-addressed artifacts of an earlier run): no training was redone.`
      : `${stats.cellsCached} of ${stats.cellsTotal} cells came from the cache; ${stats.trainStepsRun} training steps were run.`,
    `Generation: ${stats.imagesSampled} images sampled in this sweep, ${stats.shardsCached} shards reused from the cache, ` +
      `${stats.failedItems} items failed for good (recorded in the manifests with their reasons), ` +
      `${stats.corruptRegenerated} shards regenerated after a checksum mismatch.`,
    `Retries: ${stats.activityRetries + stats.cellActivityRetries} activity retries (generation ${stats.activityRetries}, training/evaluation ${stats.cellActivityRetries}), ` +
      `${stats.itemRetries} generator item retries, ${stats.storageRetries} storage retries during generation.`,
    `Workflow runs: ${stats.runs} (continue-as-new keeps each history bounded).`,
  ];
  return notes;
}

// report-3: report.html, PNG copies of the charts, sample sheets, CI bands in scaling.svg.
// report-5: Findings first, the interval method, bootstrap intervals, quality gates, held-out checks,
// generators' real images, accuracy against CFG, diversity and the CFG trade-off figure.
// report-6: the Dataset section, eval sets of other datasets as their own panels, sample sheets at any geometry (RGB in colour), data made inert in report.md.
// report-7: the Time section (wall spans vs summed activity time) and the Cost section, from the workers' usage records.
// report-8: one-screen summary, small multiples by the spec's factors, slope-ratio heatmap, source legend, tables folded per eval set, sources with identical images shown once, log-axis ticks.
export const REPORT_CODE_VERSION = 'report-8';

export interface RenderReportInput {
  sweepId: string;
  workflowId: string;
  analysisUri: string;
  spec: unknown;
  stageSeconds: Record<string, number>;
  stats: SweepStats;
  /** plan.dataset: the sweep's dataset (the Dataset section; absent in plans from before datasets: the spec's, else Fashion-MNIST). */
  dataset?: DatasetInfo;
  /** plan.evalDatasets: eval sets' own datasets, by fingerprint (their titles and origins label their curves). */
  evalDatasets?: Record<string, DatasetInfo>;
  /** plan.evalSets: every eval set, with its split, dataset and shift. */
  evalSets?: EvalSetSpec[];
  /**
   * When this execution of the sweep started (epoch ms, the workflow's startedAt): usage records
   * before it belong to earlier runs under the same workflow id. Default: the start of its last
   * planSweep attempt 1 in the usage records.
   */
  sweepStartedAt?: number;
}

/**
 * The sweep's cost so far, from the workers' usage records under its workflow id (bounded: one
 * listing, records read a few at a time and folded; see core/usage/read.ts). Prices from the
 * spec's `cost` field, when it has one.
 */
export async function sweepCostOf(
  store: BlobStore,
  input: { workflowId: string; spec: unknown; sweepStartedAt?: number },
  onProgress?: (read: number, of: number) => void,
): Promise<SweepCost> {
  const aggregator = new CostAggregator(input.workflowId);
  const summary = await forEachUsageRecord(
    store,
    input.workflowId,
    { executionStart: EXECUTION_START_ACTIVITY, ...(input.sweepStartedAt === undefined ? {} : { since: input.sweepStartedAt }), ...(onProgress ? { onProgress } : {}) },
    (record) => aggregator.add(record),
  );
  return aggregator.finish({
    prices: pricesOf(input.spec),
    since: summary.since,
    until: Date.now(),
    records: { read: summary.read, skipped: summary.skipped, truncated: summary.truncated, problems: summary.problems },
  });
}

export interface RenderReportOutput {
  reportJsonUri: string;
  reportMarkdownUri: string;
  plotUri: string;
  // Optional only so that stubs returning the first three (test/integration/big-sweep.test.ts,
  // bench/orchestration.ts) still type-check; renderSweepReport always sets them.
  /** report.html: the whole report in one self-contained page. */
  reportHtmlUri?: string;
  /** scaling.png: scaling.svg at 2x. */
  plotPngUri?: string;
  /** recognizability.png, when the sweep measured recognizability. */
  recognizabilityPngUri?: string;
  /** cfg-tradeoff.png, when the sweep has sources that differ only in CFG. */
  diversityPngUri?: string;
  /** The slope-ratio heatmap (source x eval set), when there is a ratio to show. */
  slopeRatioPngUri?: string;
  /** samples-<source>.png by source name. */
  sampleSheetUris?: Record<string, string>;
}

export function createReportActivities(deps: ActivityDeps) {
  return {
    async renderSweepReport(input: RenderReportInput): Promise<RenderReportOutput> {
      const doc = await getJson<AnalysisDocument>(deps.store, deps.store.keyOf(input.analysisUri), 64 * 1024 * 1024);
      const notes = [`Workflow: ${input.workflowId}`, ...describeRun(input.stats)];
      const datasets = {
        ...(input.dataset ? { dataset: input.dataset } : {}),
        ...(input.evalDatasets ? { evalDatasets: input.evalDatasets } : {}),
        ...(input.evalSets ? { evalSets: input.evalSets } : {}),
      };
      // Timings differ between runs and are left out of the key; what the run did (cache hits, retries) is in it, and the datasets when given.
      const keyed = { analysis: input.analysisUri, spec: input.spec, notes, ...(Object.keys(datasets).length > 0 ? { datasets } : {}) };
      const dir = joinKey('reports', keySegment(input.sweepId, 'sweepId'), inputHash('report', REPORT_CODE_VERSION, keyed));
      // Sources whose images are identical (e.g. a generator that ignores the prompt) are shown once.
      const { digests: imageDigests, problems: digestProblems } = await sourceImageDigests(deps.store, doc.sources, {
        onSource: (source) => heartbeat({ stage: 'image-digests', source }),
      });
      const { sheets, problems } = await buildSampleSheets(deps.store, doc.sources, { imageDigests, onSource: (source) => heartbeat({ stage: 'samples', source }) });
      const cost = await sweepCostOf(deps.store, input, (read, of) => heartbeat({ stage: 'cost', read, of }));
      heartbeat({ stage: 'render' });
      // The cost reaches the sections through the meta (sections-context.ts reads it); report.json holds it once, at the top.
      const meta: ReportMeta & CostReportMeta = {
        sweepId: input.sweepId,
        spec: input.spec,
        stageTimings: input.stageSeconds,
        generatedAt: new Date().toISOString(),
        cacheHits: input.stats.cellsCached,
        notes,
        ...datasets,
        cost,
      };
      const rendered = await renderReport(doc.analysis, meta, {
        sampleSheets: sheets,
        sampleProblems: [...problems, ...digestProblems],
        imageDigests,
        ...(doc.adaptive ? { adaptive: doc.adaptive.decisions } : {}),
      });
      const { meta: renderedMeta, ...renderedRest } = JSON.parse(rendered.json) as { meta: Record<string, unknown> };
      const { cost: _inMeta, ...metaWithoutCost } = renderedMeta;
      const json = JSON.stringify({ meta: metaWithoutCost, ...renderedRest, run: input.stats, cost, sources: doc.sources, cells: doc.cells, ...(doc.adaptive ? { adaptive: doc.adaptive } : {}) }, null, 1);
      const encoder = new TextEncoder();
      const put = async (file: string, data: Uint8Array | string) => (await deps.store.put(`${dir}/${file}`, typeof data === 'string' ? encoder.encode(data) : data)).uri;
      const plotUri = await put(SCALING_FIGURE.file, rendered.svg);
      const plotPngUri = await put(SCALING_FIGURE.raster, rendered.png.png);
      let recognizabilityPngUri: string | undefined;
      if (rendered.recognizabilitySvg !== null && rendered.recognizabilityPng !== null) {
        await put(RECOGNIZABILITY_FIGURE.file, rendered.recognizabilitySvg);
        recognizabilityPngUri = await put(RECOGNIZABILITY_FIGURE.raster, rendered.recognizabilityPng.png);
      }
      let diversityPngUri: string | undefined;
      if (rendered.diversitySvg !== null && rendered.diversityPng !== null) {
        await put(DIVERSITY_FIGURE.file, rendered.diversitySvg);
        diversityPngUri = await put(DIVERSITY_FIGURE.raster, rendered.diversityPng.png);
      }
      let slopeRatioPngUri: string | undefined;
      if (rendered.slopeRatioSvg !== null && rendered.slopeRatioPng !== null) {
        await put(SLOPE_RATIO_FIGURE.file, rendered.slopeRatioSvg);
        slopeRatioPngUri = await put(SLOPE_RATIO_FIGURE.raster, rendered.slopeRatioPng.png);
      }
      if (rendered.adaptiveSvg !== null && rendered.adaptivePng !== null) {
        await put(ADAPTIVE_FIGURE.file, rendered.adaptiveSvg);
        await put(ADAPTIVE_FIGURE.raster, rendered.adaptivePng.png);
      }
      const sampleSheetUris: Record<string, string> = {};
      for (const sheet of sheets) sampleSheetUris[sheet.source] = await put(sheet.file, sheet.image.png);
      const reportHtmlUri = await put('report.html', rendered.html);
      const reportMarkdownUri = await put('report.md', rendered.markdown);
      const reportJsonUri = await put('report.json', json);
      return {
        reportJsonUri,
        reportMarkdownUri,
        plotUri,
        reportHtmlUri,
        plotPngUri,
        ...(recognizabilityPngUri ? { recognizabilityPngUri } : {}),
        ...(diversityPngUri ? { diversityPngUri } : {}),
        ...(slopeRatioPngUri ? { slopeRatioPngUri } : {}),
        sampleSheetUris,
      };
    },
  };
}
