// Shared by the embedded generator's tests: a model fitted on the first 6000 Fashion-MNIST
// training images (pcaDims 24, 6 components per class), the real class means, and helpers.
import { join } from 'node:path';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist, type ImageSet } from '../../../../core/datasets/fashion-mnist.js';
import { fitGmmGenerator } from '../../../../activities/generate/gmm/fit.js';
import type { GmmGeneratorModel, SampleOptions } from '../../../../activities/generate/gmm/model.js';

export const CLASSES = FASHION_MNIST_CLASSES;
export const P = IMAGE_PIXELS;
export const cls = (name: string) => CLASSES.indexOf(name as (typeof CLASSES)[number]);

export interface FittedFixture {
  train: ImageSet;
  subset: ImageSet;
  model: GmmGeneratorModel;
  classMeans: Float64Array[];
}

export async function loadTrain(): Promise<ImageSet> {
  return loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
}

/** The fitted model and the real class means (call from a before hook). */
export async function fittedFixture(): Promise<FittedFixture> {
  const train = await loadTrain();
  const n = 6000;
  const subset: ImageSet = { images: train.images.subarray(0, n * P), labels: train.labels.subarray(0, n), count: n, geometry: train.geometry };
  const model = fitGmmGenerator(subset, { pcaDims: 24, componentsPerClass: 6, fitSeed: 1 }, CLASSES);
  const classMeans = CLASSES.map(() => new Float64Array(P));
  const counts = new Float64Array(CLASSES.length);
  for (let i = 0; i < train.count; i++) {
    const c = train.labels[i]!;
    counts[c]! += 1;
    const m = classMeans[c]!;
    for (let p = 0; p < P; p++) m[p]! += train.images[i * P + p]!;
  }
  classMeans.forEach((m, c) => m.forEach((v, p) => (m[p] = v / counts[c]!)));
  return { train, subset, model, classMeans };
}

export const onehot = (c: number) => {
  const w = new Float64Array(CLASSES.length);
  w[c] = 1;
  return w;
};
export const items = (classWeights: Float64Array | null, cfgScale: number, n: number, tag: string): SampleOptions[] =>
  Array.from({ length: n }, (_, i) => ({ classWeights, cfgScale, steps: 40, seed: `${tag}|${i}` }));

/** The class whose real mean image is nearest to image i of `images`. */
export function nearestClassMean(classMeans: Float64Array[], images: Uint8Array, i: number): number {
  let best = -1;
  let bestDist = Infinity;
  classMeans.forEach((m, c) => {
    let s = 0;
    for (let p = 0; p < P; p++) {
      const e = images[i * P + p]! - m[p]!;
      s += e * e;
    }
    if (s < bestDist) {
      bestDist = s;
      best = c;
    }
  });
  return best;
}
