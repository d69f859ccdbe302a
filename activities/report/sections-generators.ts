// The report's "Generator types" section: the paper's third factor. When the synthetic sources
// come from more than one generator family (the embedded Gaussian mixture, the embedded neural
// denoiser, a remote server), per source its family, slope with CI, slope ratio to real with its
// bootstrap interval, accuracy at the largest N, recognizability and diversity; then sources that
// differ only in their generator's family, side by side.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import type { SourceSummary } from '../../contracts/types.js';
import { describeGenerator, generatorFamily, type GeneratorFamily } from '../../contracts/generators.js';
import type { GeneratorSpec } from '../../contracts/spec/sweep.js';
import { heading, list, paragraph, table, type Block, type Text } from './document.js';
import { ci, num, slopeText, withInterval } from './format.js';
import type { ReportView } from './dataset-view.js';
import { flatLayout, type ReportLayout } from './layout.js';

const FAMILY_NAMES: Record<GeneratorFamily, string> = {
  'gaussian-mixture': 'Gaussian mixture (closed form: samples its fit exactly)',
  'neural-denoiser': 'neural denoiser (learned: an MLP trained to predict the noise)',
  remote: 'remote text-to-image server',
};

interface SyntheticSpec {
  name: string;
  kind: string;
  generator?: GeneratorSpec;
  prompts?: { strategy: string };
  cfgScale?: number;
}

/** Each synthetic source of the spec with its generator (a source naming none has the embedded default). */
function syntheticSources(spec: unknown): { name: string; generator: GeneratorSpec; match: string }[] {
  const sources = ((spec as { sources?: SyntheticSpec[] } | null)?.sources ?? []).filter((s) => s.kind === 'synthetic' && s.generator);
  return sources.map((s) => ({ name: s.name, generator: s.generator!, match: `${s.prompts?.strategy ?? ''}|${s.cfgScale ?? ''}` }));
}

export function generatorTypeSection(a: SweepAnalysis, spec: unknown, view: ReportView, layout: ReportLayout = flatLayout()): Block[] {
  const clean = view.clean ?? a.evalSets[0];
  const sources = syntheticSources(spec).filter((s) => a.sources.some((x: SourceSummary) => x.name === s.name) && layout.shown(s.name));
  const families = new Set(sources.map((s) => generatorFamily(s.generator)));
  if (!clean || families.size < 2) return [];
  const at = (name: string) => {
    const curve = a.curves.find((c) => c.source === name && c.evalSet === clean);
    const comparison = a.comparisons.find((c) => c.source === name && c.evalSet === clean);
    return { curve, comparison, last: curve?.perN[curve.perN.length - 1], recognizability: a.recognizability.find((r) => r.source === name) };
  };
  const rows: Text[][] = sources
    .sort((p, q) => generatorFamily(p.generator).localeCompare(generatorFamily(q.generator)) || p.name.localeCompare(q.name))
    .map((s) => {
      const { curve, comparison, last, recognizability } = at(s.name);
      const d = recognizability?.diversity;
      return [
        generatorFamily(s.generator),
        layout.label(s.name),
        describeGenerator(s.generator),
        curve ? slopeText(curve.error) : '—',
        withInterval(comparison?.errorSlopeRatio, comparison?.errorSlopeRatioCI95),
        last ? `${ci(last.accuracy)} (N=${last.n})` : '—',
        recognizability ? num(recognizability.overall) : '—',
        d ? `${num(d.precision, 2)} / ${num(d.recall, 2)} / ${num(d.coverage, 2)}` : '—',
      ];
    });
  const intro =
    `The paper's third factor, the type of text-to-image model: ${[...families].map((f) => FAMILY_NAMES[f]).join('; ')}. ` +
    `On ${clean}: error slope b [t over per-N means], ratio to real [seed bootstrap], accuracy at the largest N (± 95% t), recognizability, precision / recall / coverage. ` +
    "What this can say: how a learned generator's errors move the curve against exact sampling, all else equal (prompts, text encoding, PCA space, real images). " +
    'What it cannot say: how Stable Diffusion, Imagen and Muse compare (both families are small models of 28x28 images).';
  const pairs = matchedPairs(sources, at);
  const body = [table(TYPE_HEADER, rows), ...(pairs.length > 0 ? [heading(3, 'Same prompts and CFG, different generator family'), list(pairs)] : [])];
  // Many sources (the paper spec's): folded, like the CFG section's table, so the page reads at the study's scale.
  const folded = rows.length + pairs.length > 12;
  if (!folded) return [heading(2, 'Generator types'), paragraph(intro), ...body];
  return [
    heading(2, 'Generator types'),
    paragraph(`The paper's third factor, the type of text-to-image model: ${families.size} families here (${[...families].join(', ')}).`),
    { kind: 'details', summary: `The ${rows.length} synthetic sources by generator family, and ${pairs.length} pairs that differ only in it`, blocks: [paragraph(intro), ...body] },
  ];
}

/** Sources that share prompts and CFG but not their generator's family: accuracy at the largest N and slope ratio, side by side, one line each. */
function matchedPairs(
  sources: { name: string; generator: GeneratorSpec; match: string }[],
  at: (name: string) => { comparison: SweepAnalysis['comparisons'][number] | undefined; last: SweepAnalysis['curves'][number]['perN'][number] | undefined },
): string[] {
  const items: string[] = [];
  for (const [i, p] of sources.entries()) {
    for (const q of sources.slice(i + 1)) {
      if (p.match !== q.match || generatorFamily(p.generator) === generatorFamily(q.generator)) continue;
      const [ap, aq] = [at(p.name), at(q.name)];
      if (!ap.last || !aq.last || ap.last.n !== aq.last.n) continue;
      // Independent seeds per source: half-widths combined in quadrature (a Welch-style approximation).
      const diff = ap.last.accuracy.mean - aq.last.accuracy.mean;
      const half = Math.hypot(ap.last.accuracy.halfWidth, aq.last.accuracy.halfWidth);
      items.push(
        `${p.name} vs ${q.name} (same prompts and CFG): accuracy at N=${ap.last.n} differs by ${num(diff)} ± ${num(half)}; ` +
          `slope ratios ${withInterval(ap.comparison?.errorSlopeRatio, ap.comparison?.errorSlopeRatioCI95)} vs ${withInterval(aq.comparison?.errorSlopeRatio, aq.comparison?.errorSlopeRatioCI95)}`,
      );
    }
  }
  return items;
}

const TYPE_HEADER = ['family', 'source', 'generator', 'error slope b', 'slope ratio to real', 'accuracy at largest N', 'recognizability', 'precision / recall / coverage'];

