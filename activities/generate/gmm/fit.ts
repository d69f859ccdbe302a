// Fitting the embedded generator: PCA of the training images, then a diagonal Gaussian mixture per
// class in PCA space, at the training images' geometry. Deterministic for given data and config.
import { checkGeometry, FASHION_MNIST_GEOMETRY, pixelsPerImage } from '../../../core/image/geometry.js';
import { createRng } from '../../../core/rng.js';
import { GENERATOR_CODE_VERSION } from '../../../contracts/code-versions.js';
import { fitDiagonalGmm } from './mixture.js';
import { GMM_FORMAT_VERSION, type GmmFitConfig, type GmmGeneratorModel, type TrainImages } from './model.js';
import { validateGmmModel } from './model-format.js';
import { fitPca, type Pca } from './pca.js';

/** Component variances are floored at this fraction of the global variance along each PCA axis. */
const VARIANCE_FLOOR = 1e-2;

/**
 * Fit the generator at the images' geometry (train.geometry, default 28x28 grey): PCA (mean + top
 * `pcaDims` directions of the covariance of all pixelsPerImage values, scaled to [-1, 1]; pca.ts
 * says how it is computed at each size) and, per class, a `componentsPerClass`-component diagonal Gaussian mixture in PCA space
 * (k-means++ seeded by `fitSeed`, Lloyd iterations, then EM). Deterministic for given data and config.
 * Parameters are rounded to float32, so a serialized model samples exactly like this one.
 */
export function fitGmmGenerator(
  train: TrainImages,
  cfg: GmmFitConfig,
  classes: readonly string[],
  onProgress?: (msg: string) => void,
): GmmGeneratorModel {
  const geometry = checkGeometry(train.geometry ?? FASHION_MNIST_GEOMETRY, 'training images');
  const P = pixelsPerImage(geometry);
  const n = train.count;
  const D = cfg.pcaDims;
  const classCounts = checkFitInput(train, P, cfg, classes);
  const progress = onProgress ?? (() => {});
  const started = Date.now();
  const step = (msg: string) => progress(`${msg} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  const pca = fitPca(train, P, D, cfg.fitSeed, step);
  const mixtures = fitClassMixtures(train, pca, classCounts, cfg, classes, step);
  const model: GmmGeneratorModel = {
    formatVersion: GMM_FORMAT_VERSION,
    codeVersion: GENERATOR_CODE_VERSION,
    classes: [...classes],
    geometry: { size: geometry.size, channels: geometry.channels },
    pixels: P,
    pcaDims: D,
    componentsPerClass: cfg.componentsPerClass,
    fitSeed: cfg.fitSeed,
    trainCount: n,
    explainedVariance: Math.fround(Math.min(1, pca.explained / pca.totalVariance)),
    mean: pca.mean,
    basis: pca.basis,
    eigenvalues: pca.eigenvalues,
    classPrior: Float32Array.from(classCounts, (x) => x / n),
    componentClass: Uint16Array.from(mixtures.compClass),
    componentWeight: Float32Array.from(mixtures.compWeight),
    componentMean: Float32Array.from(mixtures.compMean),
    componentVar: Float32Array.from(mixtures.compVar),
  };
  validateGmmModel(model);
  return model;
}

/** Throws unless the training set and config can be fitted; returns the images per class. */
function checkFitInput(train: TrainImages, P: number, cfg: GmmFitConfig, classes: readonly string[]): Float64Array {
  const n = train.count;
  const C = classes.length;
  const D = cfg.pcaDims;
  if (!Number.isInteger(n) || n < 2) throw new Error(`fitGmmGenerator: need at least 2 training images, got ${n}`);
  if (train.images.length < n * P) throw new Error(`fitGmmGenerator: ${train.images.length} image bytes for ${n} images of ${P} pixels`);
  if (train.labels.length < n) throw new Error(`fitGmmGenerator: ${train.labels.length} labels for ${n} images`);
  if (C < 1 || C > 65535) throw new Error(`fitGmmGenerator: ${C} classes`);
  if (!Number.isInteger(D) || D < 1 || D > P) throw new Error(`fitGmmGenerator: pcaDims must be an integer in 1..${P}, got ${D}`);
  if (!Number.isInteger(cfg.componentsPerClass) || cfg.componentsPerClass < 1) {
    throw new Error(`fitGmmGenerator: componentsPerClass must be a positive integer, got ${cfg.componentsPerClass}`);
  }
  if (!Number.isInteger(cfg.fitSeed)) throw new Error(`fitGmmGenerator: fitSeed must be an integer, got ${cfg.fitSeed}`);
  const classCounts = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const label = train.labels[i]!;
    if (label >= C) throw new Error(`fitGmmGenerator: label ${label} of image ${i} is out of range for ${C} classes`);
    classCounts[label]! += 1;
  }
  for (let c = 0; c < C; c++) {
    if (classCounts[c] === 0) throw new Error(`fitGmmGenerator: class "${classes[c]}" has no training images`);
  }
  return classCounts;
}

interface ClassMixtures {
  compClass: number[];
  compWeight: number[];
  compMean: number[];
  compVar: number[];
}

/** A diagonal GMM per class, in PCA coordinates; components come out grouped by class. */
function fitClassMixtures(
  train: TrainImages,
  pca: Pca,
  classCounts: Float64Array,
  cfg: GmmFitConfig,
  classes: readonly string[],
  step: (msg: string) => void,
): ClassMixtures {
  const n = train.count;
  const C = classes.length;
  const D = cfg.pcaDims;
  const { eigenvalues, Z } = pca;
  const floor = new Float64Array(D);
  for (let d = 0; d < D; d++) floor[d] = Math.max(VARIANCE_FLOOR * eigenvalues[d]!, 1e-8);
  const compClass: number[] = [];
  const compWeight: number[] = [];
  const compMean: number[] = [];
  const compVar: number[] = [];
  for (let c = 0; c < C; c++) {
    const nc = classCounts[c]!;
    const Xc = new Float64Array(nc * D);
    let row = 0;
    for (let i = 0; i < n; i++) {
      if (train.labels[i] !== c) continue;
      Xc.set(Z.subarray(i * D, (i + 1) * D), row * D);
      row++;
    }
    const K = Math.min(cfg.componentsPerClass, nc);
    const gmm = fitDiagonalGmm(Xc, nc, D, K, floor, createRng(`gmm-fit|${cfg.fitSeed}|class|${c}`));
    for (let k = 0; k < K; k++) {
      compClass.push(c);
      compWeight.push(gmm.weights[k]!);
      for (let d = 0; d < D; d++) {
        compMean.push(gmm.means[k * D + d]!);
        compVar.push(gmm.vars[k * D + d]!);
      }
    }
    step(`class ${c} "${classes[c]}": ${K} components from ${nc} images`);
  }
  return { compClass, compWeight, compMean, compVar };
}
