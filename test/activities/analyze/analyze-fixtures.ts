// Scaling curves of known power laws for the analysis tests (and the report's): real data, a shallower
// synthetic source, and one whose loss rises while its error falls (the pitfall), over 6 sizes and 3 seeds.
import assert from 'node:assert/strict';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';
import type { SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';

export const SIZES = [100, 300, 1000, 3000, 10000, 30000];
export const SEEDS = [0, 1, 2];

export type Curve = (n: number) => { err: number; loss: number; ece: number };

export const CURVES: Record<string, Curve> = {
  // Real data: steepest.
  real: (n) => ({ err: 2.2 * n ** -0.4, loss: 5 * n ** -0.4, ece: 0.02 + 0.3 * n ** -0.4 }),
  // Synthetic, well behaved: shallower.
  'synth-cfg2': (n) => ({ err: 0.9 * n ** -0.12, loss: 1.8 * n ** -0.1, ece: 0.05 + 0.2 * n ** -0.3 }),
  // Synthetic, the pitfall: error falls with N but the loss on real test data rises (over-confidence).
  'synth-cfg7': (n) => ({ err: 0.8 * n ** -0.1, loss: 0.85 + 0.07 * Math.log(n / 100), ece: 0.08 + 0.03 * Math.log(n / 100) }),
};

export const SOURCES: SourceSummary[] = [
  { name: 'real', kind: 'real', description: 'Fashion-MNIST train split', manifestUri: 'mem://real', images: 30000 },
  {
    name: 'synth-cfg2',
    kind: 'synthetic',
    description: 'embedded-gmm, classnames, CFG 2',
    cfgScale: 2,
    promptStrategy: 'classnames',
    manifestUri: 'mem://s2',
    images: 30000,
    generationSeconds: 400,
  },
  {
    name: 'synth-cfg7',
    kind: 'synthetic',
    description: 'embedded-gmm, clip-templates, CFG 7.5',
    cfgScale: 7.5,
    promptStrategy: 'clip-templates',
    manifestUri: 'mem://s7',
    images: 30000,
  },
];

/** Where and how cells are drawn: sizes, eval set, and the seed of the deterministic noise. */
export interface CellOptions {
  sizes?: readonly number[];
  evalSet?: string;
  noiseSeed?: number;
}

/** Cells of each curve at every size and seed, with multiplicative noise of relative size `noise`. */
export function makeCells(curves: Record<string, Curve>, seeds = SEEDS, noise = 0.01, options: CellOptions = {}): CellMetrics[] {
  let s = options.noiseSeed ?? 42;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  const cells: CellMetrics[] = [];
  for (const [source, f] of Object.entries(curves)) {
    for (const size of options.sizes ?? SIZES) {
      for (const seed of seeds) {
        const v = f(size);
        const accuracy = 1 - v.err * (1 + noise * rnd());
        cells.push({
          source,
          size,
          seed,
          evalSet: options.evalSet ?? 'test',
          loss: v.loss * (1 + noise * rnd()),
          accuracy,
          ece: v.ece,
          perClassAccuracy: [accuracy],
          trainSteps: 200,
          trainSeconds: 1,
          resultUri: `mem://${source}/${size}/${seed}`,
        });
      }
    }
  }
  return cells;
}

/** A synthetic source's summary. */
export function synthetic(name: string, extra: Partial<SourceSummary> = {}): SourceSummary {
  return { name, kind: 'synthetic', description: `embedded-gmm, classnames${extra.cfgScale !== undefined ? `, CFG ${extra.cfgScale}` : ''}`, manifestUri: `mem://${name}`, images: 30000, ...extra };
}

export function curve(a: SweepAnalysis, source: string, evalSet = 'test') {
  const c = a.curves.find((x) => x.source === source && x.evalSet === evalSet);
  assert.ok(c, `curve for ${source}`);
  return c;
}

