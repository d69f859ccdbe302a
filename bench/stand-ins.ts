// Instant stand-in activities for orchestration benchmarks: the real plan activity (the sweep
// fingerprints its dataset) and no-op train/evaluate/analyze/report, so what is timed is Temporal
// and the workflows, not training. Shared by bench/orchestration.ts and bench/cluster.ts.
import type { createCpuActivities, createGenerateActivities, createTrainActivities } from '../activities/index.js';
import { createNotifyActivities } from '../activities/notify/activity.js';
import { createPlanActivities } from '../activities/plan/activity.js';
import type { BenchActivities } from './workflows.js';

type Activities = ReturnType<typeof createCpuActivities> & ReturnType<typeof createGenerateActivities> & ReturnType<typeof createTrainActivities>;

export type StandInActivities = Partial<Activities> & BenchActivities;

/** Stand-ins for a sweep of `cells` cells; `trained()` counts the cells that reached training. */
export function standInActivities(plan: ReturnType<typeof createPlanActivities>, cells: number): { activities: StandInActivities; trained: () => number } {
  let trained = 0;
  const activities: StandInActivities = {
    planSweep: plan.planSweep,
    writeRealShards: async (input) => ({ manifestUri: `file:///stub/${input.source}.json`, totalSamples: input.count, failedItems: 0, cached: false }),
    trainClassifier: async (input) => {
      trained++;
      return { cellPrefix: `cells/n${input.size}s${input.seed}`, modelUri: 'file:///stub/model.bin', steps: 1, stepsRun: 1, attempt: 1, seconds: 0, backend: 'stub', resumedFromStep: 0, cached: false };
    },
    evaluateClassifier: async () => ({ resultUri: 'file:///stub/eval.json', loss: 1, accuracy: 0.5, ece: 0, perClassAccuracy: [], cached: false, attempt: 1 }),
    analyzeSweepResults: async () => ({ analysisUri: 'file:///stub/analysis.json', cells, slopes: [], cached: false }),
    renderSweepReport: async () => ({ reportJsonUri: 'file:///stub/report.json', reportMarkdownUri: 'file:///stub/report.md', plotUri: 'file:///stub/scaling.svg' }),
    // The real notice activity with no webhook configured: it sends nothing and returns at once.
    notifySweep: createNotifyActivities({ env: {} }).notifySweep,
    benchNoop: async (input) => input,
  };
  return { activities, trained: () => trained };
}
