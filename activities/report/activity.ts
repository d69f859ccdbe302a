// Report stage: report.json, report.md and scaling.svg side by side under the sweep's report key.
import { inputHash } from '../../core/hash.js';
import { getJson } from '../../core/storage.js';
import type { ActivityDeps } from '../context.js';
import type { AnalysisDocument } from '../analyze/activity.js';
import { renderReport } from './render.js';
import type { SweepStats } from '../../workflows/scaling-sweep.js';

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

export const REPORT_CODE_VERSION = 'report-2';

export interface RenderReportInput {
  sweepId: string;
  workflowId: string;
  analysisUri: string;
  spec: unknown;
  stageSeconds: Record<string, number>;
  stats: SweepStats;
}

export interface RenderReportOutput {
  reportJsonUri: string;
  reportMarkdownUri: string;
  plotUri: string;
}

export function createReportActivities(deps: ActivityDeps) {
  return {
    async renderSweepReport(input: RenderReportInput): Promise<RenderReportOutput> {
      const doc = await getJson<AnalysisDocument>(deps.store, deps.store.keyOf(input.analysisUri), 64 * 1024 * 1024);
      const notes = [`Workflow: ${input.workflowId}`, ...describeRun(input.stats)];
      // Timings differ between runs and are left out of the key; what the run did (cache hits, retries) is in it.
      const dir = `reports/${input.sweepId}/${inputHash('report', REPORT_CODE_VERSION, { analysis: input.analysisUri, spec: input.spec, notes })}`;
      const rendered = await renderReport(doc.analysis, {
        sweepId: input.sweepId,
        spec: input.spec,
        stageTimings: input.stageSeconds,
        generatedAt: new Date().toISOString(),
        cacheHits: input.stats.cellsCached,
        notes,
      });
      const json = JSON.stringify({ ...JSON.parse(rendered.json), run: input.stats, sources: doc.sources, cells: doc.cells }, null, 1);
      const encoder = new TextEncoder();
      const plot = await deps.store.put(`${dir}/scaling.svg`, encoder.encode(rendered.svg));
      if (rendered.recognizabilitySvg) await deps.store.put(`${dir}/recognizability.svg`, encoder.encode(rendered.recognizabilitySvg));
      const markdown = await deps.store.put(`${dir}/report.md`, encoder.encode(rendered.markdown));
      const report = await deps.store.put(`${dir}/report.json`, encoder.encode(json));
      return { reportJsonUri: report.uri, reportMarkdownUri: markdown.uri, plotUri: plot.uri };
    },
  };
}
