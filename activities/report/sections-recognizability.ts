// The Recognizability section: each synthetic source's per-class recognized share next to its
// per-class accuracy gap to real data, and their correlation across classes.
//
// Many classes: up to WIDE_TABLE_CLASSES classes are the columns of one table (as for
// Fashion-MNIST's 10). Beyond that (ImageNet-style lists of 100 or 254 classes) such a table is
// unreadable, so the section shows per source its EXTREME_CLASSES least and most recognizable
// classes, and the full per-class table (one row per class) collapsed under a summary line: the
// page stays short and nothing is dropped. report.json holds every number either way.
import type { RecognizabilityAnalysis, SweepAnalysis } from '../../contracts/analysis.js';
import { studentTQuantile } from '../../core/stats/student-t.js';
import { heading, paragraph, table, type Block } from './document.js';
import { num } from './format.js';
import { RECOGNIZABILITY_FIGURE } from './figures.js';

/** Up to this many classes, one table with a column per class. */
export const WIDE_TABLE_CLASSES = 20;
/** With more: this many least and most recognizable classes per source, and the full table collapsed. */
export const EXTREME_CLASSES = 5;

type PerClass = RecognizabilityAnalysis['perClass'][number];

/** "0.42 (+0.05)": the recognized share and, where known, the accuracy gap to real. */
function shareText(p: PerClass | undefined): string {
  return `${num(p?.recognizability, 2)}${p?.gap === null || p?.gap === undefined ? '' : ` (${p.gap >= 0 ? '+' : ''}${num(p.gap, 2)})`}`;
}

/**
 * The smallest |r| significant at the 5% level (two-sided) across `n` classes: t / sqrt(n − 2 + t²),
 * t the 97.5% Student-t quantile on n − 2 degrees of freedom (0.632 for 10 classes).
 */
export function criticalCorrelation(n: number): number | null {
  if (n < 4) return null;
  const t = studentTQuantile(0.975, n - 2);
  return t / Math.sqrt(n - 2 + t * t);
}

/** Per source: its least and most recognizable classes with their shares and gaps. */
function extremesTable(a: SweepAnalysis): Block {
  const ranked = (r: RecognizabilityAnalysis) => r.perClass.filter((p) => p.recognizability !== null).sort((p, q) => p.recognizability! - q.recognizability!);
  const line = (ps: PerClass[]) => ps.map((p) => `${p.className} ${shareText(p)}`).join(' · ') || '—';
  return table(
    ['source', `${EXTREME_CLASSES} least recognizable classes (gap to real)`, `${EXTREME_CLASSES} most recognizable classes (gap to real)`],
    a.recognizability.map((r) => {
      const sorted = ranked(r);
      return [r.source, line(sorted.slice(0, EXTREME_CLASSES)), line(sorted.slice(-EXTREME_CLASSES).reverse())];
    }),
  );
}

export function recognizabilitySection(a: SweepAnalysis): Block[] {
  const first = a.recognizability[0];
  if (!first) return [];
  const judge = first.judgeTestAccuracy;
  const classes = first.perClass.map((p) => p.className);
  const wide = classes.length <= WIDE_TABLE_CLASSES;
  const perClass: Block[] = wide
    ? [
        paragraph('Per class: recognized share (accuracy gap to real).'),
        table(['source', ...classes], a.recognizability.map((r) => [r.source, ...classes.map((_, k) => shareText(r.perClass[k]))])),
      ]
    : [
        paragraph(
          `${classes.length} classes: per source its ${EXTREME_CLASSES} least and most recognizable classes, recognized share (accuracy gap to real); ` +
            'the full per-class table, one row per class, is collapsed below.',
        ),
        extremesTable(a),
        {
          kind: 'details',
          summary: `Per-class recognized share (accuracy gap to real), all ${classes.length} classes`,
          blocks: [table(['class', ...a.recognizability.map((r) => r.source)], classes.map((name, k) => [name, ...a.recognizability.map((r) => shareText(r.perClass[k]))]))],
        },
      ];
  const pairs = Math.max(...a.recognizability.map((r) => r.correlation.n));
  const critical = criticalCorrelation(pairs);
  return [
    heading(2, 'Recognizability'),
    paragraph(
      'A judge classifier trained on real images labels each source\'s generated images; recognizability is the fraction ' +
        `labelled as the class they were prompted for${judge !== null ? ` (the judge's own accuracy on the real test split: ${num(judge)}, which caps what it can recognize)` : ''}. ` +
        'The paper attributes synthetic data\'s poor scaling to concepts the generator cannot make; if so, classes with low ' +
        'recognizability should show the largest accuracy gap to real data (gap = per-class accuracy of the synthetic-trained ' +
        'model − the real-trained one, at the largest shared N). See recognizability.svg for the bars.',
    ),
    ...perClass,
    table(
      ['source', 'overall recognizability', 'N for gaps', 'Pearson r (recognizability, gap)', 'Spearman ρ', 'classes'],
      a.recognizability.map((r) => [r.source, num(r.overall), r.n === null ? '—' : String(r.n), num(r.correlation.pearson), num(r.correlation.spearman), String(r.correlation.n)]),
    ),
    ...(critical !== null
      ? [paragraph(`With ${pairs} classes, |r| below about ${critical.toFixed(2)} is not significant at the 5% level (two-sided)${critical > 0.5 ? ': a correlation is a weak signal' : ''}.`)]
      : []),
    { kind: 'figure', file: RECOGNIZABILITY_FIGURE.file, alt: 'recognizability', raster: RECOGNIZABILITY_FIGURE.raster },
  ];
}
