// The CFG trade-off and a low-CFG optimum: among synthetic sources that differ only in their CFG
// scale, accuracy at the largest N they all have, against CFG. Supported when accuracy peaks inside
// the CFG range, above both ends beyond their intervals; contradicted when it rises to the highest
// CFG beyond its interval; inconclusive otherwise (including a peak at the lowest CFG tested, which
// leaves the optimum unbracketed). Recognizability and diversity per CFG ride along as notes.
import { cfgGroupKey } from '../../contracts/sources.js';
import type { Finding, FindingEvidence, RecognizabilityAnalysis, Verdict } from '../../contracts/analysis.js';
import type { SourceSummary } from '../../contracts/types.js';
import { percentileInterval } from '../../core/stats/bootstrap.js';
import type { DrawnCurve } from './compare.js';
import { meanDraws } from './draws.js';
import type { FindingsInput } from './findings.js';
import { combineVerdicts, finding, verdictOf } from './verdicts.js';

/** Sources that differ only in CFG share this key: their description without its CFG part, prompts and generator budget. */
export { cfgGroupKey };

interface Member {
  source: SourceSummary;
  cfg: number;
  drawn: DrawnCurve;
}

/** One member's accuracy at N with its draws (null when the curve lacks N). */
function accuracyAt(m: Member, n: number): { value: number; draws: Float64Array } | null {
  const k = m.drawn.curve.perN.findIndex((p) => p.n === n);
  return k < 0 ? null : { value: m.drawn.curve.perN[k]!.accuracy.mean, draws: meanDraws(m.drawn.draws, 'accuracy', k) };
}

/** Recognizability and diversity of a member, as a note. */
function tradeOffNote(r: RecognizabilityAnalysis | undefined): string | undefined {
  if (!r) return undefined;
  const d = r.diversity;
  const diversity = d ? `, precision ${d.precision.toFixed(3)}, recall ${d.recall.toFixed(3)}, coverage ${d.coverage.toFixed(3)}, Vendi ${d.vendi.toFixed(2)}${d.classVendi !== undefined ? `, within-class Vendi ${d.classVendi.toFixed(2)}` : ''}` : '';
  return `recognizability ${r.overall.toFixed(3)}${diversity}`;
}

/** A difference of two members' accuracy, with its interval. */
function difference(measure: string, label: string, p: { value: number; draws: Float64Array }, q: { value: number; draws: Float64Array }): FindingEvidence {
  const draws = p.draws.map((x, d) => x - q.draws[d]!);
  return { label, measure, value: p.value - q.value, ci95: percentileInterval(draws) };
}

/** One group's evidence and verdict (members sorted by CFG, at least three). */
function groupVerdict(members: Member[], n: number, label: string, recognizability: readonly RecognizabilityAnalysis[]): { evidence: FindingEvidence[]; verdict: Verdict; why: string } {
  const acc = members.map((m) => accuracyAt(m, n)!);
  const evidence: FindingEvidence[] = members.map((m, i) => {
    const note = tradeOffNote(recognizability.find((r) => r.source === m.source.name));
    return { label: m.source.name, measure: `accuracy at N=${n} (CFG ${m.cfg})`, value: acc[i]!.value, ci95: percentileInterval(acc[i]!.draws), ...(note ? { note } : {}) };
  });
  const peak = acc.reduce((best, a, i) => (a.value > acc[best]!.value ? i : best), 0);
  const last = members.length - 1;
  const [lo, hi] = [members[0]!.cfg, members[last]!.cfg];
  if (peak === 0) {
    const d = difference(`accuracy(CFG ${lo}) - accuracy(CFG ${hi})`, label, acc[0]!, acc[last]!);
    evidence.push({ ...d, verdict: 'inconclusive' });
    return { evidence, verdict: 'inconclusive', why: `${label}: accuracy is highest at the lowest CFG tested (${lo}), so the optimum is not bracketed; add lower CFG values` };
  }
  if (peak === last) {
    const d = difference(`accuracy(CFG ${hi}) - accuracy(CFG ${lo})`, label, acc[last]!, acc[0]!);
    const verdict: Verdict = verdictOf(d.ci95, 0, 'below') === 'contradicted' ? 'contradicted' : 'inconclusive';
    evidence.push({ ...d, verdict });
    return { evidence, verdict, why: `${label}: accuracy is highest at the highest CFG tested (${hi})` };
  }
  const cfg = members[peak]!.cfg;
  const below = difference(`accuracy(CFG ${cfg}) - accuracy(CFG ${lo})`, label, acc[peak]!, acc[0]!);
  const above = difference(`accuracy(CFG ${cfg}) - accuracy(CFG ${hi})`, label, acc[peak]!, acc[last]!);
  const both = [below, above].map((e) => verdictOf(e.ci95, 0, 'above'));
  const verdict: Verdict = both.every((v) => v === 'supported') ? 'supported' : 'inconclusive';
  evidence.push({ ...below, verdict: both[0]! }, { ...above, verdict: both[1]! });
  const why = verdict === 'supported' ? 'above both ends beyond their intervals' : 'not above both ends beyond their intervals';
  return { evidence, verdict, why: `${label}: accuracy peaks at CFG ${cfg}, ${why}` };
}

/** Synthetic classifier curves on the clean eval set with a CFG scale, grouped by what else they share. */
function cfgGroups(input: FindingsInput, clean: string | null): Member[][] {
  const groups = new Map<string, Member[]>();
  for (const source of input.sources) {
    if (source.kind !== 'synthetic' || source.cfgScale === undefined) continue;
    const drawn = input.curves.find((c) => c.curve.source === source.name && c.curve.evalSet === clean);
    if (!drawn) continue;
    const key = cfgGroupKey(source);
    groups.set(key, [...(groups.get(key) ?? []), { source, cfg: source.cfgScale, drawn }]);
  }
  return [...groups.values()].map((g) => g.sort((p, q) => p.cfg - q.cfg)).filter((g) => new Set(g.map((m) => m.cfg)).size >= 3);
}

export function cfgFinding(input: FindingsInput, clean: string | null): Finding {
  const evidence: FindingEvidence[] = [];
  const verdicts: Verdict[] = [];
  const whys: string[] = [];
  for (const members of cfgGroups(input, clean)) {
    const shared = members.map((m) => new Set(m.drawn.curve.perN.map((p) => p.n)));
    const common = [...shared[0]!].filter((n) => shared.every((s) => s.has(n)));
    if (common.length === 0) continue;
    const label = members.map((m) => m.source.name).join(', ');
    const group = groupVerdict(members, Math.max(...common), label, input.recognizability);
    evidence.push(...group.evidence);
    verdicts.push(group.verdict);
    whys.push(group.why);
  }
  const untestable = 'needs at least 3 CFG values among synthetic sources that differ only in CFG, with a size they all have';
  const base = finding('cfg-optimum', 'cfg', [], '', untestable);
  return verdicts.length === 0 ? base : { ...base, verdict: combineVerdicts(verdicts), reason: whys.join('; '), evidence };
}
