// Accuracy against CFG: the evidence of the CFG finding. Synthetic sources with a CFG scale and
// their accuracy at the largest N on the clean eval set, then the finding's tests (which compare
// only sources that differ in nothing but CFG, at the largest N they share).
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, list, paragraph, table, type Block } from './document.js';
import { EVIDENCE_SECTIONS } from './figures.js';
import { ci, interval, num } from './format.js';
import { viewByName, type ReportView } from './dataset-view.js';

export function cfgSection(a: SweepAnalysis, view: ReportView = viewByName(a)): Block[] {
  const clean = view.clean;
  const sources = a.sources.filter((s) => s.kind === 'synthetic' && s.cfgScale !== undefined).sort((p, q) => p.cfgScale! - q.cfgScale!);
  if (!clean || sources.length < 2) return [];
  const rows = sources.map((s) => {
    const curve = a.curves.find((c) => c.source === s.name && c.evalSet === clean);
    const last = curve?.perN[curve.perN.length - 1];
    const recognizability = a.recognizability.find((r) => r.source === s.name);
    return [s.name, String(s.cfgScale), s.description, last ? `${ci(last.accuracy)} (N=${last.n})` : '—', recognizability ? num(recognizability.overall) : '—'];
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
    table(['source', 'CFG', 'description', 'accuracy at largest N', 'recognizability'], rows),
    ...(finding ? [paragraph(`Verdict: ${finding.verdict}. ${finding.reason}.`)] : []),
    ...(tests.length > 0 ? [list(tests.map((e) => `${e.label}: ${e.measure} = ${num(e.value)} ${interval(e.ci95)}`))] : []),
  ];
}
