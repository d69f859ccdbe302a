// The paper's findings as this sweep tested them, each with its numbers, bootstrap interval and
// verdict (verdicts.ts): synthetic slopes below real; the CFG trade-off and a low-CFG optimum
// (findings-cfg.ts); CLIP closing the gap; synthetic data helping out of distribution, when real
// data is scarce, and in a mix. Pure: reads the curves, comparisons and their draws.
import { clipCurveName, isClipCurve } from '../../contracts/analysis.js';
import type { Finding, RecognizabilityAnalysis, SourceComparison } from '../../contracts/analysis.js';
import type { SourceSummary } from '../../contracts/types.js';
import type { ComparedCurve, DrawnCurve } from './compare.js';
import { cfgFinding } from './findings-cfg.js';
import { cleanEvalSet, finding, isShifted, tested } from './verdicts.js';

export interface FindingsInput {
  sources: readonly SourceSummary[];
  evalSets: readonly string[];
  curves: readonly DrawnCurve[];
  compared: readonly ComparedCurve[];
  recognizability: readonly RecognizabilityAnalysis[];
  /** Eval sets of another dataset than the sweep's (shifted, like the OOD suites); default none. */
  otherDatasets?: readonly string[];
}

/** A comparison of a source on an eval set, with its draws. */
function compared(input: FindingsInput, source: string, evalSet: string | null): ComparedCurve | undefined {
  return input.compared.find((c) => c.comparison.source === source && c.comparison.evalSet === evalSet);
}

/** Synthetic sources (classifier curves) and mixed ones, by kind. */
function sourcesOfKind(input: FindingsInput, kind: SourceSummary['kind']): SourceSummary[] {
  return input.sources.filter((s) => s.kind === kind && !isClipCurve(s.name));
}

/** Why a ratio is missing, from the comparison's notes. */
function ratioNote(c: SourceComparison): string | undefined {
  const notes = c.notes.filter((n) => n.startsWith('error slope ratio'));
  return notes.length ? notes.join('; ') : undefined;
}

function slopesBelowReal(input: FindingsInput, clean: string | null): Finding {
  const evidence = sourcesOfKind(input, 'synthetic').flatMap((s) => {
    const c = compared(input, s.name, clean);
    if (!c) return [];
    const { comparison } = c;
    return [tested(`${s.name} vs ${comparison.realSource}`, 'error slope ratio', comparison.errorSlopeRatio, c.draws.ratio.error, 1, 'below', ratioNote(comparison))];
  });
  return finding('slopes-below-real', 'comparison', evidence, 'error slope ratio interval against 1', 'no synthetic source is compared with a real source on the clean eval set');
}

/** Per draw, how much closer to 1 the CLIP ratio is than the classifier's: |1 - r_classifier| - |1 - r_clip|. */
function clipClosesGap(input: FindingsInput, clean: string | null): Finding {
  const evidence = sourcesOfKind(input, 'synthetic').flatMap((s) => {
    const cls = compared(input, s.name, clean);
    const clip = compared(input, clipCurveName(s.name), clean);
    if (!cls || !clip) return [];
    const r = cls.comparison.errorSlopeRatio;
    const q = clip.comparison.errorSlopeRatio;
    const rd = cls.draws.ratio.error;
    const qd = clip.draws.ratio.error;
    const value = r === null || q === null ? null : Math.abs(1 - r) - Math.abs(1 - q);
    const draws = rd && qd ? rd.map((x, d) => Math.abs(1 - x) - Math.abs(1 - qd[d]!)) : null;
    const note = value === null ? [ratioNote(cls.comparison), ratioNote(clip.comparison)].filter(Boolean).join('; ') : `ratios: classifier ${r!.toFixed(3)}, CLIP ${q!.toFixed(3)}`;
    return [tested(s.name, '|1 - classifier ratio| - |1 - CLIP ratio|', value, draws, 0, 'above', note)];
  });
  const noClip = !input.curves.some((c) => isClipCurve(c.curve.source));
  return finding('clip-closes-gap', 'clip', evidence, 'CLIP ratio closer to 1, interval against 0', noClip ? 'no CLIP cells in this sweep' : 'no synthetic source has both classifier and CLIP slope ratios');
}

/**
 * Per synthetic source and shifted eval set (an OOD suite, or another dataset with the same classes):
 * the error slope ratio there minus on the clean set (paired draws: the same models).
 */
function helpsOod(input: FindingsInput, clean: string | null): Finding {
  const ood = input.evalSets.filter((e) => isShifted(e, input.otherDatasets));
  const evidence = sourcesOfKind(input, 'synthetic').flatMap((s) =>
    ood.flatMap((evalSet) => {
      const base = compared(input, s.name, clean);
      const shifted = compared(input, s.name, evalSet);
      if (!base || !shifted) return [];
      const r = base.comparison.errorSlopeRatio;
      const q = shifted.comparison.errorSlopeRatio;
      const rd = base.draws.ratio.error;
      const qd = shifted.draws.ratio.error;
      const value = r === null || q === null ? null : q - r;
      const note = value === null ? [ratioNote(base.comparison), ratioNote(shifted.comparison)].filter(Boolean).join('; ') : `ratios: clean ${r!.toFixed(3)}, ${evalSet} ${q!.toFixed(3)}`;
      return [tested(`${s.name} on ${evalSet}`, 'error slope ratio (OOD) - ratio (clean)', value, rd && qd ? qd.map((x, d) => x - rd[d]!) : null, 0, 'above', note)];
    }),
  );
  const untestable = ood.length === 0 ? 'no OOD eval sets in this sweep' : 'no synthetic source is compared on both the clean and an OOD eval set';
  return finding('helps-ood', 'ood', evidence, 'ratio gain under shift, interval against 0', untestable);
}

/** A mixed source's gain over real only: at its smallest N (scarce) or averaged over its N (in a mix). */
function mixingFinding(input: FindingsInput, clean: string | null, claim: 'helps-when-scarce' | 'helps-in-mix'): Finding {
  const evidence = sourcesOfKind(input, 'mixed').flatMap((s) => {
    const c = compared(input, s.name, clean);
    if (!c || c.comparison.accuracyGap.length === 0) return [];
    const gaps = c.comparison.accuracyGap;
    const label = `${s.name} vs ${c.comparison.realSource}`;
    if (claim === 'helps-when-scarce') {
      const first = gaps[0]!;
      return [tested(label, `accuracy gain at N=${first.n}`, first.gap, c.draws.gap.get(first.n) ?? null, 0, 'above')];
    }
    const all = gaps.map((g) => c.draws.gap.get(g.n)!);
    const mean = all[0]!.map((_, d) => all.reduce((sum, draws) => sum + draws[d]!, 0) / all.length);
    const value = gaps.reduce((sum, g) => sum + g.gap, 0) / gaps.length;
    return [tested(label, `mean accuracy gain over N = ${gaps.map((g) => g.n).join(', ')}`, value, mean, 0, 'above')];
  });
  return finding(claim, 'mixing', evidence, 'gain interval against 0', 'no mixed source with a real part in this sweep');
}

/** Every claim, in the paper's order. */
export function findings(input: FindingsInput): Finding[] {
  const clean = cleanEvalSet(input.evalSets, input.otherDatasets);
  return [
    slopesBelowReal(input, clean),
    cfgFinding(input, clean),
    clipClosesGap(input, clean),
    helpsOod(input, clean),
    mixingFinding(input, clean, 'helps-when-scarce'),
    mixingFinding(input, clean, 'helps-in-mix'),
  ];
}
