// The last phase: analysis over every cell, then the report; the sweep's result points at both.
import { workflowInfo } from '@temporalio/workflow';
import type { SweepPlan } from '../../contracts/plan.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { summary } from '../labels.js';
import { cpu } from '../proxies.js';
import type { SweepRun } from './run.js';

export async function analyzeAndReport(run: SweepRun, plan: SweepPlan): Promise<SweepResult> {
  const { spec } = plan;
  const { sources, stats, stageSeconds, recognizability } = run;
  // Children finish in any order; order sources as in the spec so the analysis input is stable.
  const order = spec.sources.map((s) => s.name);
  sources.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  run.setStage('analyze');
  let t0 = Date.now();
  const analysis = await cpu.analyzeSweepResults.executeWithOptions(summary(`analyze · ${sources.length} sources · ${stats.cellsTotal} cells · power-law fits`), [
    {
      sweepId: spec.sweepId,
      spec,
      sources,
      ...(plan.evalSets ? { evalSets: plan.evalSets } : {}),
      ...(recognizability ? { recognizability } : {}),
      ...(run.adaptive ? { adaptive: { decisionUris: run.adaptive.decisionUris } } : {}),
    },
  ]);
  run.addSeconds('analyze', t0);
  // The headline slopes: each curve on the first eval set, as the analysis fitted them.
  const headlineSet = analysis.slopes[0]?.evalSet;
  run.fittedSlopes = analysis.slopes.filter((s) => s.evalSet === headlineSet).map((s) => ({ curve: s.source, b: s.lossSlope, from: 'fitted' as const }));

  run.setStage('report');
  t0 = Date.now();
  const report = await cpu.renderSweepReport.executeWithOptions(summary(`report · ${spec.sweepId} · html, markdown, plots, sample sheets`), [{
    sweepId: spec.sweepId,
    workflowId: workflowInfo().workflowId,
    analysisUri: analysis.analysisUri,
    spec,
    stageSeconds,
    stats,
    // Usage records from before this start (an earlier run under the same workflow id) are not this sweep's cost.
    sweepStartedAt: run.startedAt,
    ...(plan.dataset ? { dataset: plan.dataset } : {}),
    ...(plan.evalDatasets ? { evalDatasets: plan.evalDatasets } : {}),
    ...(plan.evalSets ? { evalSets: plan.evalSets } : {}),
  }]);
  run.addSeconds('report', t0);
  run.setStage('done');
  return {
    sweepId: spec.sweepId,
    reportUri: report.reportJsonUri,
    reportMarkdownUri: report.reportMarkdownUri,
    plotUri: report.plotUri,
    ...(report.reportHtmlUri ? { reportHtmlUri: report.reportHtmlUri } : {}),
    ...(report.plotPngUri ? { plotPngUri: report.plotPngUri } : {}),
    ...(report.sampleSheetUris ? { sampleSheetUris: report.sampleSheetUris } : {}),
    ...(report.diversityPngUri ? { diversityPngUri: report.diversityPngUri } : {}),
    cells: stats.cellsTotal,
    cachedCells: stats.cellsCached,
    stats,
    stageSeconds,
  };
}
