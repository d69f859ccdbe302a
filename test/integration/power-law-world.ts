// Stand-in data, train and evaluate activities whose results follow a known power law, for sweeps
// run through the real Temporal server, workflows, analysis, decisions and report. They write
// what the real activities write, at the keys the analysis reads (a manifest per seed, a cell's
// train.json and model.bin, one evaluation per eval set), so everything downstream is real.
// error(N) = a N^-b x exp(tau z_N + sigma z_seed): z_N an N-level effect shared by every seed at
// N, z_seed the seed's own noise; both fixed by the world's seed, so a rerun sees the same data.
import { createRng } from '../../core/rng.js';
import { putJson } from '../../core/storage.js';
import type { BlobStore } from '../../core/blob-store.js';
import { cellKey, evalKey, type EvaluateInput, type EvaluateOutput, type TrainCellInput } from '../../contracts/cells.js';

export interface PowerLawTruth {
  /** Per source: error = a N^-b (accuracy = 1 - error), loss = la N^-lb. */
  sources: Record<string, { a: number; b: number; la: number; lb: number }>;
  /** Seed noise and N-level effect, sd in log space. */
  sigma: number;
  tau: number;
  seed: string;
}

const normal = (key: string): number => createRng(key).normal();

/** The world's error and loss for one cell. */
export function cellOutcome(truth: PowerLawTruth, source: string, size: number, seed: number): { error: number; loss: number } {
  const s = truth.sources[source];
  if (!s) throw new Error(`the power-law world has no source '${source}'`);
  const wobble = Math.exp(truth.tau * normal(`${truth.seed}|n|${source}|${size}`) + truth.sigma * normal(`${truth.seed}|seed|${source}|${size}|${seed}`));
  return { error: Math.min(0.95, s.a * size ** -s.b * wobble), loss: s.la * size ** -s.lb * wobble };
}

/** Activities for the cpu queue's writeRealShards and the train queue's classifier cells. */
export function powerLawActivities(store: BlobStore, truth: PowerLawTruth) {
  const counts = { trained: 0, evaluated: 0 };
  const sha = async (uri: string) => {
    const head = await store.head(store.keyOf(uri));
    if (!head) throw new Error(`${uri} is missing`);
    return head.sha256;
  };
  return {
    counts,
    activities: {
      // One small manifest per seed: the cells' keys hold its checksum, as they hold a real manifest's.
      async writeRealShards(input: { source: string; count: number; seeds?: number[]; seed: number }) {
        const seeds = input.seeds ?? [input.seed];
        const uris: Record<string, string> = {};
        for (const seed of seeds) uris[String(seed)] = (await putJson(store, `stand-in/${truth.seed}/${input.source}-${seed}.json`, { seed, count: input.count })).uri;
        return { manifestUri: uris[String(seeds[0])]!, totalSamples: input.count, failedItems: 0, cached: false, ...(input.seeds ? { seedManifests: uris } : {}) };
      },
      async trainClassifier(input: TrainCellInput) {
        counts.trained++;
        const manifest = await store.get(store.keyOf(input.manifestUri), { maxBytes: 4096 });
        const { seed: drawSeed } = JSON.parse(new TextDecoder().decode(manifest)) as { seed: number };
        const prefix = cellKey(await sha(input.manifestUri), input, []);
        // Which source: the manifest's name (stand-in/<world>/<source>-<seed>.json).
        const source = /\/([^/]+)-\d+\.json$/.exec(input.manifestUri)![1]!;
        const model = await putJson(store, `${prefix}/model.bin`, { source, size: input.size, seed: input.seed, drawSeed });
        await putJson(store, `${prefix}/train.json`, { steps: 1, seconds: input.size / 10_000 });
        return { cellPrefix: prefix, modelUri: model.uri, steps: 1, stepsRun: 1, attempt: 1, seconds: 0, backend: 'stand-in', resumedFromStep: 0, cached: false };
      },
      async evaluateClassifier(input: EvaluateInput): Promise<EvaluateOutput> {
        counts.evaluated++;
        const modelKey = store.keyOf(input.modelUri);
        const model = JSON.parse(new TextDecoder().decode(await store.get(modelKey, { maxBytes: 4096 }))) as { source: string; size: number; seed: number };
        const { error, loss } = cellOutcome(truth, model.source, model.size, model.seed);
        const key = evalKey(modelKey, await sha(input.modelUri), input.evalSet, input.split, input.shift, input.dataset);
        const metrics = { loss, accuracy: 1 - error, ece: 0, perClassAccuracy: [] as number[] };
        const put = await putJson(store, key, metrics);
        return { resultUri: put.uri, ...metrics, cached: false, attempt: 1 };
      },
    },
  };
}
