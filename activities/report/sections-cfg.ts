// Accuracy against CFG: the evidence of the CFG finding. Synthetic sources with a CFG scale and
// their accuracy at the largest N on the clean eval set, then the finding's tests (which compare
// only sources that differ in nothing but CFG, at the largest N they share).
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, list, paragraph, table, type Block } from './document.js';
import { EVIDENCE_SECTIONS } from './figures.js';
import { ci, interval, num } from './format.js';
import { viewByName, type ReportView } from './dataset-view.js';
import { flatLayout, type ReportLayout } from './layout.js';

const CFG_HEADER = ['source', 'CFG', 'description', 'accuracy at largest N', 'recognizability'];

export function cfgSection(a: SweepAnalysis, view: ReportView = viewByName(a), layout: ReportLayout = flatLayout()): Block[] {
  const clean = view.clean;
  const sources = a.sources.filter((s) => s.kind === 'synthetic' && s.cfgScale !== undefined && layout.shown(s.name)).sort((p, q) => p.cfgScale! - q.cfgScale!);
  if (!clean || sources.length < 2) return [];
  const rows = sources.map((s) => {
    const curve = a.curves.find((c) => c.source === s.name && c.evalSet === clean);
    const last = curve?.perN[curve.perN.length - 1];
    const recognizability = a.recognizability.find((r) => r.source === s.name);
    return [layout.label(s.name), String(s.cfgScale), s.description, last ? `${ci(last.accuracy)} (N=${last.n})` : '—', recognizability ? num(recognizability.overall) : '—'];
  });
  const finding = a.findings.find((f) => f.claim === 'cfg-optimum');
  const tests = (finding?.evidence ?? []).filter((e) => e.verdict !== undefined);
  return [
    heading(2, EVIDENCE_SECTIONS.cfg),
    paragraph(
      `Accuracy of each synthetic source at its largest N on ${clean} (mean ± 95% t-interval over seeds), with its recognizability where measured. ` +
        'The CFG finding compares sources that differ only in CFG at the largest N they all have, with seed-bootstrap intervals of the accuracy differences: ' +
        'an optimum inside the CFG range must beat both ends beyond their intervals.',
    ),
    // Many sources: folded (the figure's colours and the summary carry the CFG comparison).
    ...(rows.length > 10
      ? [{ kind: 'details', summary: `Accuracy at the largest N of the ${rows.length} sources with a CFG scale`, blocks: [table(CFG_HEADER, rows)] } as Block]
      : [table(CFG_HEADER, rows)]),
    ...(finding ? [paragraph(`Verdict: ${finding.verdict}. ${finding.reason}.`)] : []),
    ...testsList(tests.map((e) => `${e.label}: ${e.measure} = ${num(e.value)} ${interval(e.ci95)}`)),
  ];
}

/** The finding's tests as a list, folded when there are many. */
function testsList(items: string[]): Block[] {
  if (items.length === 0) return [];
  return items.length > 8 ? [{ kind: 'details', summary: `The ${items.length} tests`, blocks: [list(items)] }] : [list(items)];
}
