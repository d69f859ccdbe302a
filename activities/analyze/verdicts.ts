// Verdicts on the paper's claims from bootstrap intervals: a claim is supported when the interval
// of its measure lies wholly on the claim's side of the null value, contradicted when wholly on the
// other side, inconclusive at this precision when it straddles it, and not testable without one.
import type { EvidenceSection, Finding, FindingClaim, FindingEvidence, Verdict } from '../../contracts/analysis.js';
import { percentileInterval, type PercentileInterval } from '../../core/stats/bootstrap.js';

/** The verdict of one interval against `nullValue`, for a claim that the measure lies above or below it. */
export function verdictOf(ci: PercentileInterval | null, nullValue: number, claim: 'above' | 'below'): Verdict {
  if (!ci) return 'not-testable';
  const above = ci.lo !== null && ci.lo > nullValue;
  const below = ci.hi !== null && ci.hi < nullValue;
  if (above) return claim === 'above' ? 'supported' : 'contradicted';
  if (below) return claim === 'below' ? 'supported' : 'contradicted';
  return 'inconclusive';
}

/**
 * Several tests of one claim: supported when some support it and none contradict it, contradicted
 * the other way round, inconclusive when they disagree or none decides, not testable when none could be run.
 */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  const tested = verdicts.filter((v) => v !== 'not-testable');
  if (tested.length === 0) return 'not-testable';
  const supported = tested.includes('supported');
  const contradicted = tested.includes('contradicted');
  if (supported && !contradicted) return 'supported';
  if (contradicted && !supported) return 'contradicted';
  return 'inconclusive';
}

/** "2 supported, 1 inconclusive of 3 tests (what)": the tally behind a combined verdict. */
export function tally(evidence: readonly FindingEvidence[], what: string): string {
  const decided = evidence.filter((e) => e.verdict !== undefined);
  const counts = (['supported', 'contradicted', 'inconclusive', 'not-testable'] as const)
    .map((v) => [v, decided.filter((e) => e.verdict === v).length] as const)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v === 'not-testable' ? 'not testable' : v}`);
  return `${counts.join(', ')} of ${decided.length} test${decided.length === 1 ? '' : 's'} (${what})`;
}

/** One tested measure: its point value, the interval of its draws, and its verdict against the null value. */
export function tested(
  label: string,
  measure: string,
  value: number | null,
  draws: Float64Array | null,
  nullValue: number,
  claim: 'above' | 'below',
  note?: string,
): FindingEvidence {
  const ci95 = value === null || draws === null ? null : percentileInterval(draws);
  return { label, measure, value, ci95, verdict: verdictOf(ci95, nullValue, claim), ...(note ? { note } : {}) };
}

const STATEMENTS: Record<FindingClaim, string> = {
  'slopes-below-real': 'Synthetic training data scales worse than real data: its error slope is below the real one (slope ratio < 1).',
  'cfg-optimum': 'Classifier-free guidance trades recognizability against diversity, and a low CFG scale gives the best accuracy (an optimum inside the CFG range, at its low end).',
  'clip-closes-gap': 'For CLIP the synthetic/real slope ratio is closer to 1 than for supervised classifiers.',
  'helps-ood': 'Synthetic data does relatively better out of distribution: its slope ratio to real is higher on shifted test sets than on the clean one.',
  'helps-when-scarce': 'Synthetic data helps when real data is scarce: adding it to the smallest real N raises accuracy.',
  'helps-in-mix': 'Mixed with real data, synthetic data raises accuracy over real data alone (mean gain over the real N tested).',
};

/** A finding from its tests: the combined verdict and the tally, or why it could not be tested. */
export function finding(claim: FindingClaim, section: EvidenceSection, evidence: FindingEvidence[], what: string, untestable: string): Finding {
  const verdict = combineVerdicts(evidence.flatMap((e) => (e.verdict ? [e.verdict] : [])));
  const reason = evidence.some((e) => e.verdict) ? tally(evidence, what) : untestable;
  return { claim, statement: STATEMENTS[claim], verdict, reason, evidence, section };
}

/**
 * Whether an eval set is shifted from the training distribution: an OOD suite's corrupted test
 * images (`ood-*`), or another dataset with the same classes (`otherDatasets`: the analogue of the
 * paper's ImageNet-Sketch and ImageNet-R).
 */
export function isShifted(evalSet: string, otherDatasets: readonly string[] = []): boolean {
  return evalSet.startsWith('ood-') || otherDatasets.includes(evalSet);
}

/** The first eval set that is not shifted: a split of the sweep's own dataset, as it is. */
export function cleanEvalSet(evalSets: readonly string[], otherDatasets: readonly string[] = []): string | null {
  return evalSets.find((e) => !isShifted(e, otherDatasets)) ?? null;
}

