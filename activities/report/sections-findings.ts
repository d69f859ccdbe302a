// The report's first section: each of the paper's claims as this sweep tested it (the analysis's
// findings, activities/analyze/findings.ts), with its numbers, intervals, verdict and a link to its
// evidence further down; then which variance the intervals cover (the Method section says how).
import type { Finding, FindingEvidence, SweepAnalysis, Verdict } from '../../contracts/analysis.js';
import { heading, joinText, link, list, md, paragraph, table, type Block, type Text } from './document.js';
import { EVIDENCE_SECTIONS, METHOD_SECTION } from './figures.js';
import { interval, num } from './format.js';
import { sectionId } from './html.js';

const VERDICT: Record<Verdict, string> = {
  supported: 'supported',
  contradicted: 'contradicted',
  inconclusive: 'inconclusive at this precision',
  'not-testable': 'not testable with this sweep',
};

/** "label: measure 0.512 [0.43, 0.60] (supported)" */
function evidenceText(e: FindingEvidence): string {
  const value = e.value === null ? '—' : `${num(e.value)}${e.ci95 ? ` ${interval(e.ci95)}` : ''}`;
  const verdict = e.verdict ? ` (${VERDICT[e.verdict]})` : '';
  const note = e.note ? `; ${e.note}` : '';
  return `${e.label}: ${e.measure} ${value}${verdict}${note}`;
}

/** The evidence link, when the report has that section. */
function evidenceLink(f: Finding, present: ReadonlySet<string>): Text {
  const title = EVIDENCE_SECTIONS[f.section];
  return present.has(title) ? link(title, sectionId(title)) : '—';
}

/** A finding's tests shown in its table row; the rest are folded under the table (a large sweep runs hundreds). */
const EVIDENCE_SHOWN = 4;

function evidenceCell(f: Finding): string {
  if (f.evidence.length === 0) return '—';
  const shown = f.evidence.slice(0, EVIDENCE_SHOWN).map(evidenceText).join(' · ');
  const more = f.evidence.length - EVIDENCE_SHOWN;
  return more > 0 ? `${shown} · … and ${more} more tests (all under the table)` : shown;
}

/** Every test of the findings with more than EVIDENCE_SHOWN, folded, one list per finding. */
function allEvidence(findings: readonly Finding[]): Block[] {
  const long = findings.filter((f) => f.evidence.length > EVIDENCE_SHOWN);
  if (long.length === 0) return [];
  return long.map((f) => ({ kind: 'details', summary: `All ${f.evidence.length} tests: ${f.statement.split(/[:.]\s/)[0]}`, blocks: [list(f.evidence.map(evidenceText))] }));
}

/** The verdict in bold, its reason after it. */
function verdictCell(f: Finding): Text {
  return joinText([md`**${VERDICT[f.verdict]}**`, f.reason], ': ');
}

/** The Findings section; `present` holds the titles of the report's h2 sections, so links never dangle. */
export function findingsSection(a: SweepAnalysis, present: ReadonlySet<string>): Block[] {
  if (a.findings.length === 0) return [];
  return [
    heading(2, 'Findings'),
    paragraph(
      "Each of the paper's findings as this sweep tested it. A verdict is supported (or contradicted) when the 95% interval of its measure lies wholly " +
        "on the claim's side (or the other side) of no effect, inconclusive at this precision when it straddles it, and not testable with this sweep when the sweep lacks what the test needs.",
    ),
    table(
      ['paper finding', 'verdict', 'this sweep: numbers [95% interval]', 'evidence'],
      a.findings.map((f) => [f.statement, verdictCell(f), evidenceCell(f), evidenceLink(f, present)]),
    ),
    ...allEvidence(a.findings),
    paragraph(joinText([md`**Intervals.** ${a.settings.variance} How they are computed: `, present.has(METHOD_SECTION) ? link(METHOD_SECTION, sectionId(METHOD_SECTION)) : METHOD_SECTION, '.'], '')),
  ];
}
