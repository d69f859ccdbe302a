// Report stage: report.json, report.md and scaling.svg side by side under the sweep's report key.
import { inputHash } from '../../core/hash.js';
import { getJson } from '../../core/storage.js';
import type { ActivityDeps } from '../context.js';
import type { AnalysisDocument } from '../analyze/activity.js';
import { renderReport } from './render.js';

export const REPORT_CODE_VERSION = 'report-1';

export interface RenderReportInput {
  sweepId: string;
  workflowId: string;
  analysisUri: string;
  spec: unknown;
  stageSeconds: Record<string, number>;
  cachedCells: number;
  totalCells: number;
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
      // Timings differ between runs, so they are not part of the key; a rerun rewrites the same report.
      const dir = `reports/${input.sweepId}/${inputHash('report', REPORT_CODE_VERSION, { analysis: input.analysisUri, spec: input.spec })}`;
      const notes = [
        `Workflow: ${input.workflowId}`,
        input.cachedCells === input.totalCells
          ? `All ${input.totalCells} cells came from the cache (content-addressed artifacts of an earlier run): no training was redone.`
          : `${input.cachedCells} of ${input.totalCells} cells came from the cache.`,
      ];
      const rendered = await renderReport(doc.analysis, {
        sweepId: input.sweepId,
        spec: input.spec,
        stageTimings: input.stageSeconds,
        generatedAt: new Date().toISOString(),
        cacheHits: input.cachedCells,
        notes,
      });
      const json = JSON.stringify({ ...JSON.parse(rendered.json), sources: doc.sources, cells: doc.cells }, null, 1);
      const encoder = new TextEncoder();
      const plot = await deps.store.put(`${dir}/scaling.svg`, encoder.encode(rendered.svg));
      const markdown = await deps.store.put(`${dir}/report.md`, encoder.encode(rendered.markdown));
      const report = await deps.store.put(`${dir}/report.json`, encoder.encode(json));
      return { reportJsonUri: report.uri, reportMarkdownUri: markdown.uri, plotUri: plot.uri };
    },
  };
}
