// Renders a SweepAnalysis as a JSON document, a Markdown report and a self-contained SVG chart
// (Vega-Lite compiled to Vega and rendered server-side with the headless 'none' renderer: no canvas, no fonts to fetch).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { CurveAnalysis, MetricScaling, SweepAnalysis } from '../analyze/analyze-sweep.js';
import type { MeanCI } from '../analyze/powerlaw.js';
import { predictPowerLaw } from '../analyze/powerlaw.js';
import type { SourceSummary } from '../../core/types.js';

export interface ReportMeta {
  sweepId: string;
  /** The sweep spec, stored verbatim in the JSON and shown in the Markdown. */
  spec: unknown;
  /** Wall-clock seconds per stage (e.g. generate, train, evaluate). */
  stageTimings?: Record<string, number>;
  /** ISO timestamp. */
  generatedAt: string;
  /** Cells whose results came from cache instead of being recomputed. */
  cacheHits?: number;
  notes?: string[];
}

export interface RenderedReport {
  /** { meta, analysis } as pretty-printed JSON. */
  json: string;
  markdown: string;
  /** Standalone SVG document; the Markdown links it as scaling.svg. */
  svg: string;
  /** Per-class recognizability bars (recognizability.svg), when the sweep measured it. */
  recognizabilitySvg: string | null;
}

/** Figure 1 of Fan et al. (CVPR 2024): supervised "scaling ability" slopes on ImageNet-trained classifiers, read off ±0.005. */
export const PAPER_FIGURE1_SLOPES: readonly { source: string; imagenet: number; sketch: number; r: number }[] = [
  { source: 'real', imagenet: 0.528, sketch: 0.239, r: 0.207 },
  { source: 'SD, CLIP templates', imagenet: 0.195, sketch: 0.253, r: 0.308 },
  { source: 'SD, captions', imagenet: 0.245, sketch: 0.162, r: 0.179 },
  { source: 'Muse, captions', imagenet: 0.237, sketch: 0.252, r: 0.227 },
  { source: 'Imagen, captions', imagenet: 0.265, sketch: 0.152, r: 0.189 },
];

const METRIC_LABEL: Record<'loss' | 'error', string> = {
  loss: 'test loss (cross-entropy)',
  error: 'top-1 error (1 − accuracy)',
};

// ---------------------------------------------------------------------------------------------
// Formatting helpers

function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return x.toFixed(digits);
}

function sig(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return Number(x.toPrecision(digits)).toString();
}

function ci(m: MeanCI, digits = 3): string {
  if (m.degenerate) return `${num(m.mean, digits)} (1 seed)`;
  return `${num(m.mean, digits)} ± ${num(m.halfWidth, digits)}`;
}

function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h} h ${m} min ${s} s` : `${m} min ${s} s`;
}

function slopeText(m: MetricScaling): string {
  if (m.scalingSlope !== null) {
    const c = m.scalingSlopeCI95;
    return c ? `${num(m.scalingSlope)} [${num(c[0])}, ${num(c[1])}]` : num(m.scalingSlope);
  }
  if (!m.fit) return '— (no fit)';
  return `— (unreliable${m.monotone ? '' : ': not monotone'})`;
}

function specDataset(spec: unknown): string | null {
  if (spec && typeof spec === 'object' && 'dataset' in spec) {
    const d = (spec as { dataset: unknown }).dataset;
    if (typeof d === 'string') return d;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Markdown

function renderMarkdown(a: SweepAnalysis, meta: ReportMeta): string {
  const out: string[] = [];
  const dataset = specDataset(meta.spec);
  out.push(`# Scaling report: ${meta.sweepId}`);
  out.push('');
  const facts = [
    `Generated ${meta.generatedAt}`,
    dataset ? `dataset \`${dataset}\`` : null,
    `${a.cellCount} evaluated cells`,
    `N = ${a.sizes.join(', ') || '—'}`,
    `seeds = ${a.seeds.join(', ') || '—'}`,
    `eval sets: ${a.evalSets.join(', ') || '—'}`,
    meta.cacheHits !== undefined ? `cache hits: ${meta.cacheHits}` : null,
  ].filter((x): x is string => x !== null);
  out.push(facts.join(' · ') + '.');
  out.push('');
  out.push(
    'Each classifier is trained on N images of one source and evaluated on real test data. The scaling exponent b ' +
      'is fitted as y = a·N^(−b) by least squares in log-log space over all per-seed points; larger b means the ' +
      'source keeps paying off as it grows. Intervals are 95% Student-t intervals over seeds.',
  );
  out.push('');

  // Headline
  out.push('## Headline');
  out.push('');
  for (const evalSet of a.evalSets) {
    const curves = a.curves.filter((c) => c.evalSet === evalSet);
    if (a.evalSets.length > 1) out.push(`### Eval set \`${evalSet}\``, '');
    out.push(
      table(
        ['source', 'kind', 'error slope b [95% CI]', 'loss slope b [95% CI]', 'accuracy at largest N', 'ECE at largest N'],
        curves.map((c) => {
          const last = c.perN[c.perN.length - 1];
          return [
            c.source,
            c.kind,
            slopeText(c.error),
            slopeText(c.loss),
            last ? `${ci(last.accuracy)} (N=${last.n})` : '—',
            last ? ci(last.ece) : '—',
          ];
        }),
      ),
    );
    out.push('');
  }
  const flagged = a.curves.flatMap((c) =>
    [c.loss, c.error].filter((m) => m.unreliable).map((m) => `- **${c.source}** (${c.evalSet}), ${m.metric}: ${m.reason ?? 'unreliable'}`),
  );
  if (flagged.length > 0) {
    out.push('**Slopes withheld.** A dash means the fit exists (see *Fits*) but is not a scaling law:');
    out.push('');
    out.push(...flagged);
    out.push('');
  }

  // Sources
  const pairLabels = (p: NonNullable<SourceSummary['pairs']>) =>
    `own captions (${p.inputShards} img2dataset shards; class from metadata ${p.labels.metadata}, from caption ${p.labels.caption}, none ${p.labels.unlabeled})`;
  out.push('## Sources');
  out.push('');
  out.push(
    table(
      ['source', 'kind', 'description', 'CFG', 'prompts', 'images', 'generation time'],
      a.sources.map((s) => [
        s.name,
        s.kind,
        s.description,
        s.cfgScale !== undefined ? String(s.cfgScale) : '—',
        s.promptProvenance ?? s.promptStrategy ?? (s.pairs ? pairLabels(s.pairs) : '—'),
        String(s.images),
        s.generationSeconds !== undefined ? duration(s.generationSeconds) : '—',
      ]),
    ),
  );
  out.push('');

  // Results per N
  out.push('## Results per N');
  out.push('');
  out.push('Mean ± 95% CI half-width over seeds. Error = 1 − accuracy. ECE: expected calibration error (15 bins).');
  out.push('');
  for (const evalSet of a.evalSets) {
    if (a.evalSets.length > 1) out.push(`### Eval set \`${evalSet}\``, '');
    const curves = a.curves.filter((c) => c.evalSet === evalSet);
    const rows: string[][] = [];
    for (const n of a.sizes) {
      for (const c of curves) {
        const p = c.perN.find((x) => x.n === n);
        if (!p) continue;
        rows.push([String(n), c.source, String(p.seeds), ci(p.accuracy), ci(p.loss), ci(p.ece)]);
      }
    }
    out.push(table(['N', 'source', 'seeds', 'top-1 accuracy', 'test loss', 'ECE'], rows));
    out.push('');
  }

  // Fits
  out.push('## Fits');
  out.push('');
  out.push(
    'Plain fit: y = a·N^(−b), log-log least squares (R² and RMSE in log space; slope CI from the regression\'s ' +
      'standard error, needs ≥ 3 distinct N). Offset fit: y = c + a·N^(−b) with the floor c in [0, min y), ' +
      'profiled over c (R² in linear space); "no" means the floor is not identified (c at a boundary, b ≤ 0 or < 4 distinct N).',
  );
  out.push('');
  for (const evalSet of a.evalSets) {
    if (a.evalSets.length > 1) out.push(`### Eval set \`${evalSet}\``, '');
    const rows: string[][] = [];
    for (const c of a.curves.filter((x) => x.evalSet === evalSet)) {
      for (const m of [c.error, c.loss]) {
        const f = m.fit;
        const o = m.offsetFit;
        rows.push([
          c.source,
          m.metric,
          f ? num(f.b) : '—',
          f?.slopeCI95 ? `[${num(f.slopeCI95[0])}, ${num(f.slopeCI95[1])}]` : '—',
          f ? sig(f.a, 4) : '—',
          f ? num(f.r2) : '—',
          f ? num(f.rmse) : '—',
          m.monotone ? 'yes' : '**no**',
          o ? num(o.c) : '—',
          o ? num(o.b) : '—',
          o ? (o.converged ? 'yes' : 'no') : '—',
          m.unreliable ? `⚠ unreliable: ${m.reason ?? ''}` : 'ok',
        ]);
      }
    }
    out.push(
      table(
        ['source', 'metric', 'b', 'b 95% CI', 'a', 'R² (log)', 'RMSE (log)', 'monotone', 'offset c', 'offset b', 'offset converged', 'status'],
        rows,
      ),
    );
    out.push('');
    const offsetReasons = a.curves
      .filter((x) => x.evalSet === evalSet)
      .flatMap((c) =>
        [c.error, c.loss]
          .filter((m) => (m.offsetFit && !m.offsetFit.converged) || m.offsetFitError)
          .map((m) => `- ${c.source}, ${m.metric}: ${m.offsetFit?.reason ?? m.offsetFitError ?? ''}`),
      );
    if (offsetReasons.length > 0) {
      out.push('Offset fits not converged:', '', ...offsetReasons, '');
    }
  }

  // Comparison
  out.push('## Comparison to real data');
  out.push('');
  if (a.realSource === null || a.comparisons.length === 0) {
    out.push(a.realSource === null ? 'No real source in this sweep: nothing to compare against.' : 'No synthetic source to compare.');
    out.push('');
  } else {
    out.push(
      `Slope ratio = b(synthetic) / b(${a.realSource}); below 1 means the synthetic source scales worse than real data. ` +
        'Accuracy gap = accuracy(synthetic) − accuracy(real) at the same N (negative: synthetic is behind).',
    );
    out.push('');
    for (const evalSet of a.evalSets) {
      const comps = a.comparisons.filter((c) => c.evalSet === evalSet);
      if (comps.length === 0) continue;
      if (a.evalSets.length > 1) out.push(`### Eval set \`${evalSet}\``, '');
      const ns = [...new Set(comps.flatMap((c) => c.accuracyGap.map((g) => g.n)))].sort((p, q) => p - q);
      out.push(
        table(
          ['source', 'error slope ratio', 'loss slope ratio', ...ns.map((n) => `gap @ N=${n}`)],
          comps.map((c) => [
            c.source,
            c.errorSlopeRatio !== null ? num(c.errorSlopeRatio) : '—',
            c.lossSlopeRatio !== null ? num(c.lossSlopeRatio) : '—',
            ...ns.map((n) => {
              const g = c.accuracyGap.find((x) => x.n === n);
              return g ? `${g.gap >= 0 ? '+' : ''}${num(g.gap)}` : '—';
            }),
          ]),
        ),
      );
      out.push('');
      const notes = comps.flatMap((c) => c.notes.map((n) => `- ${c.source}: ${n}`));
      if (notes.length > 0) out.push(...notes, '');
      const effectiveNs = [...new Set(comps.flatMap((c) => c.effectiveRealN.map((e) => e.n)))].sort((p, q) => p - q);
      out.push(
        `**Effective real-data equivalent**: how many real images reach the same error (loss) as N images of the source, from ` +
          `${a.realSource}'s fitted power law (— where that fit is withheld; * = outside the real curve's measured N, extrapolated).`,
        '',
      );
      const roundN = (x: number | null) => (x === null ? '—' : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
      out.push(
        table(
          ['source', ...effectiveNs.map((n) => `N=${n}: error (loss)`)],
          comps.map((c) => [
            c.source,
            ...effectiveNs.map((n) => {
              const e = c.effectiveRealN.find((x) => x.n === n);
              return e ? `${roundN(e.byError)} (${roundN(e.byLoss)})${e.extrapolated ? '*' : ''}` : '—';
            }),
          ]),
        ),
        '',
      );
    }
  }

  out.push(...renderPaperAnalyses(a));

  // Paper context
  const realPaper = PAPER_FIGURE1_SLOPES[0]!.imagenet;
  const ratios = PAPER_FIGURE1_SLOPES.slice(1).map((r) => r.imagenet / realPaper);
  out.push('## Context: the paper\'s slopes (ImageNet, not comparable in absolute terms)');
  out.push('');
  out.push(
    'Fan et al., "Scaling Laws of Synthetic Images for Model Training ... for Now" (CVPR 2024), Figure 1: the ' +
      '"scaling ability" (fitted power-law slope) of supervised classifiers trained on real ImageNet or on ' +
      'synthetic images, evaluated on ImageNet, ImageNet-Sketch and ImageNet-R. Values are read off the figure (±0.005).',
  );
  out.push('');
  out.push(
    table(
      ['paper source (ImageNet training)', 'ImageNet', 'ImageNet-Sketch', 'ImageNet-R'],
      PAPER_FIGURE1_SLOPES.map((r) => [r.source, r.imagenet.toFixed(3), r.sketch.toFixed(3), r.r.toFixed(3)]),
    ),
  );
  out.push('');
  out.push(
    `**Caveat.** These are the paper's ImageNet numbers, not a target for this sweep. They come from ImageNet-scale ` +
      `training (N ≈ 0.125M–4M images) with large vision models and Stable Diffusion / Imagen / Muse images; this ` +
      `sweep uses ${dataset ? `\`${dataset}\`` : 'a different dataset'}, N = ${a.sizes.length > 0 ? `${a.sizes[0]}–${a.sizes[a.sizes.length - 1]}` : '—'}, ` +
      'its own small classifier and its own generator, so absolute slopes are not comparable. The paper does not ' +
      'confirm whether its slopes are fitted to loss or to error (most likely loss vs N). At most the qualitative ' +
      `pattern transfers: on clean ImageNet the paper's synthetic/real slope ratio is about ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ` +
      'while out of distribution (Sketch, R) some synthetic configurations scale more steeply than real data. ' +
      'Prompt strategies beyond class names, CLIP templates and captions have no numbers in the paper.',
  );
  out.push('');
  out.push(
    '**Measuring pitfall.** The cross-entropy on real test data of a model trained on synthetic images can rise with ' +
      'N even while its accuracy rises (it grows confident on the generator\'s clean modes and is confidently wrong on ' +
      'real images). This report therefore fits both loss and top-1 error, shows each fit\'s quality, reports ECE, and ' +
      'withholds the slope of any curve that is not monotone decreasing.',
  );
  out.push('');

  // Warnings
  const curveWarnings = a.curves.flatMap((c) => c.warnings.map((w) => `- ${c.source} (${c.evalSet}): ${w}`));
  if (a.warnings.length > 0 || curveWarnings.length > 0) {
    out.push('## Warnings');
    out.push('');
    out.push(...a.warnings.map((w) => `- ${w}`), ...curveWarnings);
    out.push('');
  }

  // Stage timings
  if (meta.stageTimings && Object.keys(meta.stageTimings).length > 0) {
    out.push('## Stage timings');
    out.push('');
    const entries = Object.entries(meta.stageTimings);
    const total = entries.reduce((s, [, v]) => s + (Number.isFinite(v) ? v : 0), 0);
    out.push(table(['stage', 'wall time'], [...entries.map(([k, v]) => [k, duration(v)]), ['**total**', duration(total)]]));
    out.push('');
  }

  if (meta.notes && meta.notes.length > 0) {
    out.push('## Notes');
    out.push('');
    out.push(...meta.notes.map((n) => `- ${n}`));
    out.push('');
  }

  out.push('## Figure');
  out.push('');
  out.push(
    'Log-log axes. Points: mean over seeds (slightly offset horizontally per source so error bars do not overlap); ' +
      'bars: 95% CI; dashed: fitted power law (omitted for curves flagged unreliable).',
  );
  out.push('');
  out.push('![scaling](scaling.svg)');
  out.push('');

  if (meta.spec !== undefined) {
    out.push('<details><summary>Sweep spec</summary>');
    out.push('');
    out.push('```json');
    out.push(JSON.stringify(meta.spec, null, 2) ?? 'null');
    out.push('```');
    out.push('');
    out.push('</details>');
    out.push('');
  }
  return out.join('\n');
}

/** The paper's analyses: OOD evaluation, mixing real with synthetic, recognizability. */
function renderPaperAnalyses(a: SweepAnalysis): string[] {
  const out: string[] = [];
  const ood = a.evalSets.filter((e) => e.startsWith('ood-'));
  const clean = a.evalSets.find((e) => !e.startsWith('ood-'));
  if (ood.length > 0 && clean) {
    out.push('## Out-of-distribution evaluation');
    out.push('');
    out.push(
      `Each OOD set is the real test split under one deterministic corruption (activities/evaluate/ood.ts). The paper finds ` +
        'synthetic data helps more under shift: there the synthetic/real slope ratio approaches or passes 1. Per source: ' +
        'error slope b, and accuracy at the largest N; ratio = b(source) / b(real) on the same set (— where a slope is withheld).',
    );
    out.push('');
    const sets = [clean, ...ood];
    const cellText = (source: string, evalSet: string) => {
      const c = a.curves.find((x) => x.source === source && x.evalSet === evalSet);
      if (!c) return '—';
      const last = c.perN[c.perN.length - 1];
      const ratio = a.comparisons.find((x) => x.source === source && x.evalSet === evalSet)?.errorSlopeRatio ?? null;
      return `${num(c.error.scalingSlope)} / ${last ? num(last.accuracy.mean) : '—'}${ratio !== null ? ` (×${num(ratio, 2)})` : ''}`;
    };
    out.push('Cells: error slope b / accuracy at the largest N (×ratio to real).', '');
    out.push(
      table(
        ['source', ...sets.map((e) => (e === clean ? `${e} (clean)` : e))],
        a.sources.map((s) => [s.name, ...sets.map((e) => cellText(s.name, e))]),
      ),
    );
    out.push('');
  }

  const clipCurves = a.curves.filter((c) => c.source.startsWith('clip:'));
  if (clipCurves.length > 0 && clean) {
    out.push('## Classifiers vs CLIP');
    out.push('');
    out.push(
      'The paper\'s headline: synthetic images scale almost as well as real ones for CLIP (language supervision), and much ' +
        'worse for supervised classifiers. CLIP curves are the `clip:` sources: zero-shot top-1 (80-template ensemble) and its ' +
        `loss on the real test split. Slope ratio = b(source) / b(real) within each task, on \`${clean}\`.`,
    );
    out.push('');
    const rows = a.sources
      .filter((s) => !s.name.startsWith('clip:') && s.kind !== 'real' && s.kind !== 'real-pairs')
      .map((s) => {
        const cls = a.comparisons.find((c) => c.source === s.name && c.evalSet === clean);
        const clip = a.comparisons.find((c) => c.source === `clip:${s.name}` && c.evalSet === clean);
        const acc = (name: string) => {
          const curve = a.curves.find((c) => c.source === name && c.evalSet === clean);
          const last = curve?.perN[curve.perN.length - 1];
          return last ? num(last.accuracy.mean) : '—';
        };
        return [s.name, num(cls?.errorSlopeRatio), num(clip?.errorSlopeRatio), num(cls?.lossSlopeRatio), num(clip?.lossSlopeRatio), acc(s.name), acc(`clip:${s.name}`)];
      });
    out.push(
      table(['source', 'classifier: error slope ratio', 'CLIP: error slope ratio', 'classifier: loss slope ratio', 'CLIP: loss slope ratio', 'classifier acc', 'CLIP zero-shot acc'], rows),
    );
    out.push('');
    out.push('### CLIP: zero-shot templates and linear probe');
    out.push('');
    out.push(
      'Zero-shot top-1 on the real test split with the 80-template ensemble and with the single template "a photo of a {}.", and ' +
        `the linear probe: a logistic regression on the frozen image trunk's features of 1,000 real training images (100 per class), scored on \`${clean}\`. Mean ± 95% CI over seeds, per N.`,
    );
    out.push('');
    const ci = (m: { mean: number; lo: number; hi: number } | undefined) => (m ? `${num(m.mean)} ± ${num((m.hi - m.lo) / 2)}` : '—');
    out.push(
      table(
        ['source', 'N', 'ensemble', 'single template', 'linear probe'],
        clipCurves
          .filter((c) => c.evalSet === clean)
          .flatMap((c) => c.perN.map((p) => [c.source.slice('clip:'.length), String(p.n), ci(p.accuracy), ci(p.singleTemplateAccuracy), ci(p.probeAccuracy)])),
      ),
    );
    out.push('');
  }

  if (a.mixing.length > 0) {
    out.push('## Mixing real and synthetic data');
    out.push('');
    out.push(
      'A mixed source trains on the same N real images as the real source plus synthetic ones; gain = accuracy(mixed) − ' +
        'accuracy(real only) at equal real N (the paper: synthetic data helps most when real data is scarce).',
    );
    out.push('');
    for (const evalSet of a.evalSets) {
      const mixes = a.mixing.filter((m) => m.evalSet === evalSet);
      if (mixes.length === 0) continue;
      if (a.evalSets.length > 1) out.push(`### Eval set \`${evalSet}\``, '');
      const ns = [...new Set(mixes.flatMap((m) => m.gains.map((g) => g.n)))].sort((p, q) => p - q);
      out.push(
        table(
          ['source', ...ns.map((n) => `gain @ N=${n}`)],
          mixes.map((m) => [
            `${m.source} (vs ${m.realSource})`,
            ...ns.map((n) => {
              const g = m.gains.find((x) => x.n === n);
              return g ? `${g.gain >= 0 ? '+' : ''}${num(g.gain)} (${num(g.accuracy)} vs ${num(g.realAccuracy)})` : '—';
            }),
          ]),
        ),
      );
      out.push('');
    }
  }

  if (a.recognizability.length > 0) {
    out.push('## Recognizability');
    out.push('');
    const judge = a.recognizability[0]!.judgeTestAccuracy;
    out.push(
      'A judge classifier trained on real images labels each source\'s generated images; recognizability is the fraction ' +
        `labelled as the class they were prompted for${judge !== null ? ` (the judge's own accuracy on the real test split: ${num(judge)}, which caps what it can recognize)` : ''}. ` +
        'The paper attributes synthetic data\'s poor scaling to concepts the generator cannot make; if so, classes with low ' +
        'recognizability should show the largest accuracy gap to real data (gap = per-class accuracy of the synthetic-trained ' +
        'model − the real-trained one, at the largest shared N). See recognizability.svg for the bars.',
    );
    out.push('');
    const classes = a.recognizability[0]!.perClass.map((p) => p.className);
    out.push('Per class: recognized share (accuracy gap to real).', '');
    out.push(
      table(
        ['source', ...classes],
        a.recognizability.map((r) => [
          r.source,
          ...classes.map((_, k) => {
            const p = r.perClass[k];
            return `${num(p?.recognizability, 2)}${p?.gap === null || p?.gap === undefined ? '' : ` (${p.gap >= 0 ? '+' : ''}${num(p.gap, 2)})`}`;
          }),
        ]),
      ),
    );
    out.push('');
    out.push(
      table(
        ['source', 'overall recognizability', 'N for gaps', 'Pearson r (recognizability, gap)', 'Spearman ρ', 'classes'],
        a.recognizability.map((r) => [r.source, num(r.overall), r.n === null ? '—' : String(r.n), num(r.correlation.pearson), num(r.correlation.spearman), String(r.correlation.n)]),
      ),
    );
    out.push('');
    out.push('With 10 classes a correlation is a weak signal: |r| below about 0.63 is not significant at the 5% level.');
    out.push('');
  }
  return out;
}

/** Per-class recognizability bars per synthetic source (Vega-Lite, compiled to SVG on the server). */
export async function renderRecognizabilitySvg(a: SweepAnalysis): Promise<string | null> {
  if (a.recognizability.length === 0) return null;
  const values = a.recognizability.flatMap((r) =>
    r.perClass.filter((p) => p.recognizability !== null).map((p) => ({ source: r.source, className: p.className, recognizability: p.recognizability })),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Recognizability: share of generated images the real-data judge labels as the prompted class',
    data: { values },
    mark: 'bar',
    width: 60 * Math.max(1, a.recognizability.length),
    height: 220,
    encoding: {
      column: { field: 'className', type: 'nominal', title: null, sort: values.map((v) => v.className) },
      x: { field: 'source', type: 'nominal', title: null, axis: { labels: false, ticks: false } },
      y: { field: 'recognizability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recognized' },
      color: { field: 'source', type: 'nominal', title: 'source' },
    },
  } as TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  } finally {
    view.finalize();
  }
}

// ---------------------------------------------------------------------------------------------
// Chart

interface MeanRow {
  source: string;
  n: number;
  x: number;
  y: number;
  lo: number;
  hi: number;
  series: string;
}

interface FitRow {
  source: string;
  x: number;
  y: number;
  series: string;
}

const SERIES_MEAN = 'mean ± 95% CI';
const SERIES_FIT = 'power-law fit';

function panelSpec(
  curves: CurveAnalysis[],
  metric: 'loss' | 'error',
  evalSet: string,
  sourceOrder: string[],
  multiEval: boolean,
): Record<string, unknown> {
  const k = sourceOrder.length;
  const means: MeanRow[] = [];
  const fits: FitRow[] = [];
  const noFit: string[] = [];
  for (const c of curves) {
    const idx = sourceOrder.indexOf(c.source);
    const dodge = Math.pow(10, 0.012 * (idx - (k - 1) / 2));
    for (const p of c.perN) {
      const m = p[metric];
      means.push({ source: c.source, n: p.n, x: p.n * dodge, y: m.mean, lo: m.lo, hi: m.hi, series: SERIES_MEAN });
    }
    const ms = c[metric];
    if (ms.fit && !ms.unreliable && c.perN.length >= 2) {
      const n0 = c.perN[0]!.n;
      const n1 = c.perN[c.perN.length - 1]!.n;
      const steps = 40;
      for (let i = 0; i <= steps; i++) {
        const n = n0 * Math.pow(n1 / n0, i / steps);
        fits.push({ source: c.source, x: n, y: predictPowerLaw(ms.fit, n), series: SERIES_FIT });
      }
    } else {
      noFit.push(`${c.source} (${!ms.monotone ? 'not monotone' : !ms.fit ? 'no fit' : 'unreliable'})`);
    }
  }
  // Log axes need positive values: pick a domain from the positive values and clip CI ends below it.
  const positives = [
    ...means.map((r) => r.y),
    ...means.map((r) => r.lo),
    ...means.map((r) => r.hi),
    ...fits.map((r) => r.y),
  ].filter((v) => v > 0 && Number.isFinite(v));
  const centers = [...means.map((r) => r.y), ...fits.map((r) => r.y)].filter((v) => v > 0 && Number.isFinite(v));
  let yMin = positives.length > 0 ? Math.min(...positives) / 1.1 : 1e-3;
  const centerMin = centers.length > 0 ? Math.min(...centers) : yMin;
  // A very wide CI (e.g. two seeds, t = 12.7) would squash the panel: keep the domain within a factor 5 of the
  // extreme means and clip the bars there.
  yMin = Math.max(yMin, centerMin / 5);
  const centerMax = centers.length > 0 ? Math.max(...centers) : 1;
  const yMax = positives.length > 0 ? Math.min(Math.max(...positives) * 1.1, centerMax * 5) : 1;
  const clip = (v: number): number => Math.min(yMax, Math.max(yMin, Number.isFinite(v) ? v : yMin));
  const meanRows = means.filter((r) => r.y > 0).map((r) => ({ ...r, lo: clip(r.lo), hi: clip(r.hi) }));
  const xs = means.map((r) => r.x).filter((v) => v > 0);
  const xDomain = xs.length > 0 ? [Math.min(...xs) / 1.25, Math.max(...xs) * 1.25] : [1, 10];

  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'training images N (log scale)',
    scale: { type: 'log', domain: xDomain, nice: false },
    axis: { format: '~s', grid: true, labelOverlap: 'greedy' },
  };
  const yTitle = `${METRIC_LABEL[metric]} (log scale)`;
  const yScale = { type: 'log', domain: [yMin, yMax], nice: false };
  const color = { field: 'source', type: 'nominal', title: 'source', scale: { domain: sourceOrder } };
  const dash = {
    field: 'series',
    type: 'nominal',
    title: 'series',
    scale: { domain: [SERIES_MEAN, SERIES_FIT], range: [[1, 0], [6, 4]] },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, symbolStrokeColor: '#555' },
  };
  const subtitle: string[] = [];
  if (multiEval) subtitle.push(`eval set: ${evalSet}`);
  // Every panel gets a subtitle so the two panels of a row stay aligned.
  subtitle.push(noFit.length > 0 ? `no fit line: ${noFit.join(', ')}` : 'fit lines for all sources');
  const title = metric === 'loss' ? 'Test loss vs N' : 'Top-1 error vs N';

  const layers: Record<string, unknown>[] = [
    {
      data: { values: meanRows },
      mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.8 },
      encoding: {
        x,
        y: { field: 'lo', type: 'quantitative', title: yTitle, scale: yScale },
        y2: { field: 'hi' },
        color,
      },
    },
    {
      data: { values: meanRows },
      mark: { type: 'line', strokeWidth: 1.5, opacity: 0.6 },
      encoding: { x, y: { field: 'y', type: 'quantitative', title: yTitle, scale: yScale }, color, strokeDash: dash },
    },
    {
      data: { values: meanRows },
      mark: { type: 'point', filled: true, size: 45, opacity: 1 },
      encoding: {
        x,
        y: { field: 'y', type: 'quantitative', title: yTitle, scale: yScale },
        color,
        tooltip: [
          { field: 'source', type: 'nominal' },
          { field: 'n', type: 'quantitative', title: 'N' },
          { field: 'y', type: 'quantitative', title: 'mean', format: '.4f' },
          { field: 'lo', type: 'quantitative', title: 'CI lo', format: '.4f' },
          { field: 'hi', type: 'quantitative', title: 'CI hi', format: '.4f' },
        ],
      },
    },
  ];
  if (fits.length > 0) {
    layers.push({
      data: { values: fits },
      mark: { type: 'line', strokeWidth: 1.5, opacity: 0.9 },
      encoding: { x, y: { field: 'y', type: 'quantitative', title: yTitle, scale: yScale }, color, strokeDash: dash },
    });
  }
  return {
    title: { text: title, subtitle },
    width: 360,
    height: 270,
    layer: layers,
  };
}

function chartSpec(a: SweepAnalysis, meta: ReportMeta): TopLevelSpec {
  const sourceOrder = [...new Set(a.curves.map((c) => c.source))];
  const multiEval = a.evalSets.length > 1;
  const rows = a.evalSets.map((evalSet) => {
    const curves = a.curves.filter((c) => c.evalSet === evalSet);
    return {
      hconcat: [
        panelSpec(curves, 'loss', evalSet, sourceOrder, multiEval),
        panelSpec(curves, 'error', evalSet, sourceOrder, multiEval),
      ],
    };
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Scaling of synthetic vs real training data — ${meta.sweepId}`,
      subtitle: 'log-log axes · points: mean over seeds · bars: 95% CI · dashed: fitted power law a·N^(−b)',
      anchor: 'start',
      fontSize: 15,
    },
    background: 'white',
    padding: 12,
    vconcat: rows.length > 0 ? rows : [{ mark: 'text', encoding: { text: { value: 'no data' } } }],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: {
      font: 'Helvetica, Arial, sans-serif',
      title: { fontSize: 13, subtitleFontSize: 11, subtitleColor: '#555' },
      axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'right', symbolStrokeWidth: 2 },
      range: { category: { scheme: 'tableau10' } },
      view: { stroke: '#ccc' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** Renders the Vega-Lite chart of the analysis to a standalone SVG string. */
export async function renderChartSvg(a: SweepAnalysis, meta: ReportMeta): Promise<string> {
  const compiled = vl.compile(chartSpec(a, meta)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  } finally {
    view.finalize();
  }
}

/** Renders the analysis as JSON ({ meta, analysis }), a Markdown report and the scaling chart as SVG. */
export async function renderReport(analysis: SweepAnalysis, meta: ReportMeta): Promise<RenderedReport> {
  const json = JSON.stringify({ meta, analysis }, null, 2);
  const markdown = renderMarkdown(analysis, meta);
  const svg = await renderChartSvg(analysis, meta);
  return { json, markdown, svg, recognizabilitySvg: await renderRecognizabilitySvg(analysis) };
}
