// The paper spec's sweep (specs/paper.yaml: every source, the clean eval set and the default OOD
// suites) as an analysis to render: per-cell numbers drawn from power laws with seed noise, the
// slope depending on the source's generator, CFG scale and prompt strategy and shrinking on the
// shifted eval sets. The weak generator ignores the prompt, so its three prompt strategies at one
// CFG scale hold the same images: the same cells, and the same image digest.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeSweep, type SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';
import type { ReportMeta } from '../../../activities/report/render.js';
import { evalSetsFor } from '../../../contracts/eval-sets.js';
import { parseSpecText, type SweepSpec } from '../../../contracts/spec/sweep.js';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { sha256Hex } from '../../../core/hash.js';

const ROOT = join(import.meta.dirname, '../../..');

export interface PaperFixture {
  spec: SweepSpec;
  sources: SourceSummary[];
  analysis: SweepAnalysis;
  meta: ReportMeta;
  /** Source name -> digest of its images (the weak generator's prompt strategies share one per CFG scale). */
  imageDigests: Record<string, string>;
}

type SpecSource = SweepSpec['sources'][number];

function isNeural(s: SpecSource): boolean {
  return 'generator' in s && (s.generator as { name?: string } | undefined)?.name === 'embedded-denoiser';
}

function isWeak(s: SpecSource): boolean {
  return 'generator' in s && (s.generator as { componentsPerClass?: number } | undefined)?.componentsPerClass === 1;
}

/** What the source's images are made of, as far as the images go: the weak generator drops the prompt. */
function imageIdentity(s: SpecSource): string {
  if (s.kind !== 'synthetic') return s.name;
  const g = 'generator' in s ? JSON.stringify(s.generator ?? {}) : '{}';
  const prompts = isWeak(s) ? 'ignored' : JSON.stringify('prompts' in s ? s.prompts : {});
  return `${g}|${prompts}|${'cfgScale' in s ? s.cfgScale : ''}`;
}

function summaryOf(s: SpecSource): SourceSummary {
  const base = { name: s.name, manifestUri: `mem://paper/${s.name}`, images: 24_000 };
  if (s.kind === 'real') return { ...base, kind: 'real', description: 'Fashion-MNIST train split' };
  if (s.kind === 'control') return { ...base, kind: 'control', description: 'real images through the generator representation' };
  if (s.kind === 'mixed') return { ...base, kind: 'mixed', description: `${s.real} + ${s.synthetic}`, mix: { real: s.real, synthetic: s.synthetic, syntheticPerReal: 1 } };
  if (s.kind !== 'synthetic') throw new Error(`paper fixture: unexpected source kind ${s.kind}`);
  const g = (s.generator ?? {}) as { fitImages?: number };
  return {
    ...base,
    kind: 'synthetic',
    description: `${isNeural(s) ? 'neural-small: embedded-denoiser' : 'embedded-gmm'}${isWeak(s) ? ' (weak: 8 PCA dims, 1 component per class)' : ''}, ${s.prompts.strategy}, CFG ${s.cfgScale}`,
    cfgScale: s.cfgScale,
    promptStrategy: s.prompts.strategy,
    generatorRealImages: g.fitImages ?? 10_000,
    generationSeconds: 600,
  };
}

/** The true scaling exponent of a source's error on the clean eval set. */
function slopeOf(s: SpecSource): number {
  if (s.kind === 'real') return 0.34;
  if (s.kind === 'control') return 0.3;
  if (s.kind === 'mixed') return 0.32;
  if (s.kind !== 'synthetic') return 0.2;
  const cfg = s.cfgScale;
  // The CFG trade-off: best near 1.5-2, worse at both ends.
  const cfgTerm = 0.2 - 0.05 * Math.abs(Math.log2(cfg / 1.75));
  const prompt: Record<string, number> = { classnames: 0, 'clip-templates': 0.015, captions: 0.025, 'classname-description': 0.01, 'classname-hypernym': 0.005, word2sentence: 0.02 };
  const fit = ((s.generator ?? {}) as { fitImages?: number }).fitImages;
  const fitTerm = fit === 1000 ? -0.05 : fit === 30000 ? 0.02 : 0;
  // The learned family: a little flatter than the mixture it shares its PCA space with.
  if (isNeural(s)) return cfgTerm - 0.03 + (prompt[s.prompts.strategy] ?? 0);
  return isWeak(s) ? 0.09 + 0.3 * (cfgTerm - 0.15) : cfgTerm + (prompt[s.prompts.strategy] ?? 0) + fitTerm;
}

/** The paper spec's analysis: one cell per (source, N, seed, eval set), loss and error on power laws with 3% seed noise. */
export async function paperFixture(): Promise<PaperFixture> {
  const spec = parseSpecText(await readFile(join(ROOT, 'specs/paper.yaml'), 'utf8'), 'specs/paper.yaml');
  const evalSets = evalSetsFor(spec).map((e) => e.name);
  const sources = spec.sources.map(summaryOf);
  const identities = new Map(spec.sources.map((s) => [s.name, imageIdentity(s)]));
  const cells: CellMetrics[] = [];
  for (const s of spec.sources) {
    // Same images, same cells: the noise is seeded by what the images are, not by the source's name.
    let state = Number.parseInt(sha256Hex(identities.get(s.name)!).slice(0, 8), 16) >>> 0;
    const noise = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.06;
    const b0 = slopeOf(s);
    evalSets.forEach((evalSet, e) => {
      const shift = e === 0 ? 1 : 0.55 + 0.05 * (e % 5);
      const b = b0 * shift;
      for (const size of spec.sizes) {
        for (const seed of spec.seeds) {
          const error = Math.min(0.95, (e === 0 ? 1.6 : 1.1 + 0.1 * (e % 3)) * size ** -b) * (1 + noise());
          cells.push({
            source: s.name,
            size,
            seed,
            evalSet,
            loss: (e === 0 ? 3.2 : 4.4) * size ** (-0.9 * b) * (1 + noise()),
            accuracy: 1 - error,
            ece: 0.03 + 0.02 * noise(),
            perClassAccuracy: FASHION_MNIST_CLASSES.map((_, k) => Math.max(0, Math.min(1, 1 - error * (0.5 + k / 10)))),
            trainSteps: size,
            trainSeconds: size / 100,
            resultUri: `mem://paper/${s.name}/${size}/${seed}/${evalSet}`,
          });
        }
      }
    });
  }
  const analysis = analyzeSweep(cells, sources, { analysis: { bootstrapDraws: 200 }, seedDraws: spec.seedDraws });
  const imageDigests = Object.fromEntries(spec.sources.filter((s) => s.kind === 'synthetic').map((s) => [s.name, sha256Hex(identities.get(s.name)!)]));
  const meta: ReportMeta = { sweepId: spec.sweepId, spec, generatedAt: '2026-12-01T00:00:00.000Z', stageTimings: { generate: 3600, train: 86_400 } };
  return { spec, sources, analysis, meta, imageDigests };
}
