// The paper's analyses as report sections: OOD evaluation (corruption suites and other datasets
// with the same classes), classifiers vs CLIP, mixing real with synthetic data, recognizability
// (sections-recognizability.ts).
import { clipCurveName, clipCurveSource, isClipCurve, type SweepAnalysis } from '../../contracts/analysis.js';
import { heading, joinText, md, paragraph, table, type Block } from './document.js';
import { num, perEvalSet, signed, sortedUnique, withInterval } from './format.js';
import { EVIDENCE_SECTIONS } from './figures.js';
import { viewByName, type ReportView } from './dataset-view.js';
import { recognizabilitySection } from './sections-recognizability.js';
import { flatLayout, type ReportLayout } from './layout.js';

/** From this many table cells on, the OOD table is folded (the slope-ratio heatmap shows its ratios at a glance). */
const OOD_TABLE_OPEN_CELLS = 60;

/** The paper's analyses: OOD evaluation, classifiers vs CLIP, mixing real with synthetic, recognizability. */
export function paperSections(a: SweepAnalysis, view: ReportView = viewByName(a), layout: ReportLayout = flatLayout()): Block[] {
  const clean = view.clean;
  if (!clean) return [...mixingSection(a, view), ...recognizabilitySection(a)];
  return [...oodSection(a, clean, view, layout), ...clipSection(a, clean, view.dataset?.classes?.length), ...mixingSection(a, view), ...recognizabilitySection(a)];
}

/** A shifted eval set's column title: its name, and another dataset's title. */
function shiftedTitle(evalSet: string, view: ReportView): string {
  const e = view.evalSets.find((x) => x.name === evalSet);
  return e?.kind === 'dataset' ? `${evalSet} (${e.dataset?.title ?? 'another dataset'})` : evalSet;
}

function oodSection(a: SweepAnalysis, clean: string, view: ReportView, layout: ReportLayout): Block[] {
  const ood = view.shifted.filter((e) => a.evalSets.includes(e));
  if (ood.length === 0) return [];
  const sets = [clean, ...ood];
  const cellText = (source: string, evalSet: string) => {
    const c = a.curves.find((x) => x.source === source && x.evalSet === evalSet);
    if (!c) return '—';
    const last = c.perN[c.perN.length - 1];
    const comparison = a.comparisons.find((x) => x.source === source && x.evalSet === evalSet);
    const ratio = comparison?.errorSlopeRatio ?? null;
    const ratioText = ratio !== null ? ` (×${withInterval(ratio, comparison?.errorSlopeRatioCI95, (x) => num(x, 2))})` : '';
    return `${num(c.error.scalingSlope)} / ${last ? num(last.accuracy.mean) : '—'}${ratioText}`;
  };
  const rows = a.sources.filter((s) => layout.shown(s.name)).map((s) => [layout.label(s.name), ...sets.map((e) => cellText(s.name, e))]);
  return [
    heading(2, EVIDENCE_SECTIONS.ood),
    paragraph(
      `Each OOD set is either the clean split under one deterministic corruption (ood-*, activities/evaluate/ood.ts) or a split of another ` +
        "dataset with the same classes (the analogue of the paper's ImageNet-Sketch and ImageNet-R). The paper finds " +
        'synthetic data helps more under shift: there the synthetic/real slope ratio approaches or passes 1. Per source: ' +
        'error slope b, and accuracy at the largest N; ratio = b(source) / b(real) on the same set with its bootstrap 95% interval (— where a slope is withheld).',
    ),
    ...foldedIf(rows.length * sets.length >= OOD_TABLE_OPEN_CELLS, `Error slope / accuracy / ratio per source on ${sets.length} eval sets`, [
      paragraph('Cells: error slope b / accuracy at the largest N (×ratio to real).'),
      table(['source', ...sets.map((e) => (e === clean ? `${e} (clean)` : shiftedTitle(e, view)))], rows),
    ]),
  ];
}

/** `blocks` as they are, or folded under `summary` when `fold`. */
function foldedIf(fold: boolean, summary: string, blocks: Block[]): Block[] {
  return fold ? [{ kind: 'details', summary, blocks }] : blocks;
}

function clipSection(a: SweepAnalysis, clean: string, classCount: number | undefined): Block[] {
  const clipCurves = a.curves.filter((c) => isClipCurve(c.source));
  if (clipCurves.length === 0) return [];
  const accuracyAtLargestN = (name: string) => {
    const curve = a.curves.find((c) => c.source === name && c.evalSet === clean);
    const last = curve?.perN[curve.perN.length - 1];
    return last ? num(last.accuracy.mean) : '—';
  };
  const ratios = a.sources
    .filter((s) => !isClipCurve(s.name) && s.kind !== 'real' && s.kind !== 'real-pairs')
    .map((s) => {
      const cls = a.comparisons.find((c) => c.source === s.name && c.evalSet === clean);
      const clip = a.comparisons.find((c) => c.source === clipCurveName(s.name) && c.evalSet === clean);
      return [
        s.name,
        withInterval(cls?.errorSlopeRatio, cls?.errorSlopeRatioCI95),
        withInterval(clip?.errorSlopeRatio, clip?.errorSlopeRatioCI95),
        withInterval(cls?.lossSlopeRatio, cls?.lossSlopeRatioCI95),
        withInterval(clip?.lossSlopeRatio, clip?.lossSlopeRatioCI95),
        accuracyAtLargestN(s.name),
        accuracyAtLargestN(clipCurveName(s.name)),
      ];
    });
  const interval = (m: { mean: number; lo: number; hi: number } | undefined) => (m ? `${num(m.mean)} ± ${num((m.hi - m.lo) / 2)}` : '—');
  return [
    heading(2, EVIDENCE_SECTIONS.clip),
    paragraph(
      joinText(
        [
          'The paper\'s headline: synthetic images scale almost as well as real ones for CLIP (language supervision), and much ',
          md`worse for supervised classifiers. CLIP curves are the \`clip:\` sources: zero-shot top-1 (80-template ensemble) and its `,
          md`loss on the clean eval set. Slope ratio = b(source) / b(real) within each task, on \`${clean}\`, with its bootstrap 95% interval.`,
        ],
        '',
      ),
    ),
    table(['source', 'classifier: error slope ratio', 'CLIP: error slope ratio', 'classifier: loss slope ratio', 'CLIP: loss slope ratio', 'classifier acc', 'CLIP zero-shot acc'], ratios),
    heading(3, 'CLIP: zero-shot templates and linear probe'),
    paragraph(
      joinText(
        [
          'Zero-shot top-1 on the clean eval set with the 80-template ensemble and with the single template "a photo of a {}.", and ',
          md`the linear probe: a logistic regression on the frozen image trunk's features of 1,000 real training images in class-balanced order${classCount ? ` (about ${Math.floor(1000 / classCount)} per class)` : ''}, scored on \`${clean}\`. Mean ± 95% CI over seeds, per N.`,
        ],
        '',
      ),
    ),
    table(
      ['source', 'N', 'ensemble', 'single template', 'linear probe'],
      clipCurves
        .filter((c) => c.evalSet === clean)
        .flatMap((c) => c.perN.map((p) => [clipCurveSource(c.source), String(p.n), interval(p.accuracy), interval(p.singleTemplateAccuracy), interval(p.probeAccuracy)])),
    ),
  ];
}

function mixingSection(a: SweepAnalysis, view: ReportView): Block[] {
  if (a.mixing.length === 0) return [];
  return [
    heading(2, EVIDENCE_SECTIONS.mixing),
    paragraph(
      'A mixed source trains on the same N real images as the real source plus synthetic ones; gain = accuracy(mixed) − ' +
        'accuracy(real only) at equal real N, with its bootstrap 95% interval (the paper: synthetic data helps most when real data is scarce).',
    ),
    ...perEvalSet(a, (evalSet) => {
      const mixes = a.mixing.filter((m) => m.evalSet === evalSet);
      if (mixes.length === 0) return [];
      const ns = sortedUnique(mixes.flatMap((m) => m.gains.map((g) => g.n)));
      return [
        table(
          ['source', ...ns.map((n) => `gain @ N=${n}`)],
          mixes.map((m) => [
            `${m.source} (vs ${m.realSource})`,
            ...ns.map((n) => {
              const g = m.gains.find((x) => x.n === n);
              return g ? `${withInterval(g.gain, g.ci95, signed)} (${num(g.accuracy)} vs ${num(g.realAccuracy)})` : '—';
            }),
          ]),
        ),
      ];
    }, view),
  ];
}
