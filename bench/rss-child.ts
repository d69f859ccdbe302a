// Child process: what a train worker holds to train one cell of N images. Runs the real
// trainClassifier activity (activities/train/activity.ts: manifest, loadFirstSamples from shards,
// 1 epoch, checkpoint + model written to the store) in a MockActivityEnvironment, then reports
// process.resourceUsage().maxRSS.
//   node --import tsx bench/rss-child.ts <storeDir> <manifestUri> <N | baseline> <backend>
import { MockActivityEnvironment } from '@temporalio/testing';
import { projectDataDir } from '../core/activity-deps.js';
import { createTrainActivities } from '../activities/index.js';
import type { TrainCellOutput } from '../activities/train/activity.js';
import { initTfBackend, type BackendPreference } from '../core/nn/backend.js';
import { readManifest } from '../core/shards/manifest.js';
import { TrainingSchema } from '../contracts/spec/sweep.js';
import { openStore } from '../core/storage.js';
import { emitResult } from './lib.js';

const [storeDir, manifestUri, sizeArg, backendArg] = process.argv.slice(2) as [string, string, string, string];
const store = openStore(storeDir);
const backend = backendArg as BackendPreference;
const mb = (kb: number) => kb / 1024;

if (sizeArg === 'baseline') {
  // Everything a train worker has before touching data: modules, TF backend, the manifest.
  const { backend: active } = await initTfBackend(backend);
  createTrainActivities({ store, dataDir: projectDataDir() });
  await readManifest(store, manifestUri);
  emitResult({ size: 0, backend: active, maxRssMb: mb(process.resourceUsage().maxRSS), rssMb: process.memoryUsage().rss / 2 ** 20 });
} else {
  const size = Number(sizeArg);
  const activities = createTrainActivities({ store, dataDir: projectDataDir() });
  const recipe = { ...TrainingSchema.parse({}), backend, epochs: 1, minSteps: 0, checkpointEvery: 100_000, validationFraction: 0, patience: 0 };
  const t = performance.now();
  const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 });
  // The first heartbeat comes ~25 ms into training, right after loadFirstSamples: memory with the data loaded.
  let afterLoad: { maxRssMb: number; rssMb: number; arrayBuffersMb: number } | null = null;
  env.on('heartbeat', () => {
    if (afterLoad) return;
    const m = process.memoryUsage();
    afterLoad = { maxRssMb: mb(process.resourceUsage().maxRSS), rssMb: m.rss / 2 ** 20, arrayBuffersMb: m.arrayBuffers / 2 ** 20 };
  });
  const out = (await env.run(activities.trainClassifier, {
    manifestUri,
    size,
    seed: 0,
    recipe,
  })) as TrainCellOutput;
  const memory = process.memoryUsage();
  emitResult({
    size,
    backend: out.backend,
    steps: out.steps,
    seconds: (performance.now() - t) / 1000,
    maxRssMb: mb(process.resourceUsage().maxRSS),
    rssMb: memory.rss / 2 ** 20,
    heapUsedMb: memory.heapUsed / 2 ** 20,
    arrayBuffersMb: memory.arrayBuffers / 2 ** 20,
    afterLoad,
  });
}
