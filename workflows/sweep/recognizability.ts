// The paper's recognizability analysis: a judge trained on real images labels each synthetic
// source's images. Runs beside the cells, once (its results are carried across continue-as-new).
import { condition } from '@temporalio/workflow';
import { judgeSourceOf, largestSize } from '../../contracts/grid.js';
import type { SweepPlan } from '../../contracts/plan.js';
import type { RecognizabilityRef } from '../../contracts/sweep.js';
import { summary } from '../labels.js';
import { train } from '../proxies.js';
import type { SweepRun } from './run.js';

export async function measureRecognizability(run: SweepRun, plan: SweepPlan): Promise<RecognizabilityRef[]> {
  const { spec } = plan;
  const options = spec.recognizability!;
  const judgeSource = judgeSourceOf(spec)!;
  await condition(() => run.summaryOf(judgeSource.name) !== undefined);
  const realSummary = run.summaryOf(judgeSource.name)!;
  const judgeSize = Math.min(options.judgeImages, realSummary.images);
  const judge = await train.trainClassifier.executeWithOptions(summary(`train judge · ${judgeSource.name} · N=${judgeSize} · seed 0`), [
    {
      manifestUri: realSummary.seedManifests?.[String(spec.seeds[0])] ?? realSummary.manifestUri,
      size: judgeSize,
      seed: 0,
      recipe: { ...spec.training, ...options.judge },
    },
  ]);
  const dataset = plan.datasetRef;
  const testSplit = spec.eval.find((e) => !e.dataset)?.split ?? 'test';
  const judgeEval = await train.evaluateClassifier.executeWithOptions(summary(`evaluate judge · on ${testSplit}`), [
    { modelUri: judge.modelUri, evalSet: 'judge-test', split: testSplit, ...(dataset ? { dataset } : {}) },
  ]);
  return Promise.all(
    spec.sources
      .filter((s) => s.kind === 'synthetic' || s.kind === 'control')
      .map(async (s) => {
        await condition(() => run.summaryOf(s.name) !== undefined);
        const count = options.images ?? largestSize(spec);
        const out = await train.measureRecognizability.executeWithOptions(summary(`recognizability · ${s.name} · ${count} images`), [
          {
            judgeModelUri: judge.modelUri,
            judgeTestAccuracy: judgeEval.accuracy,
            manifestUri: run.summaryOf(s.name)!.manifestUri,
            count,
            ...(dataset ? { datasetFingerprint: dataset } : {}),
          },
        ]);
        return { source: s.name, resultUri: out.resultUri, overall: out.overall };
      }),
  );
}
