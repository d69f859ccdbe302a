// The report's one-screen summary, first on the page: the sweep in a line, per eval set the
// source with the lowest error at the largest N and the best slope ratio to real data with its
// interval, the paper's findings as one verdict line each, and which sources share their images.
// It must fit one 1280x800 screen whatever the sweep's size: every line is bounded.
import type { Finding, SweepAnalysis, Verdict } from '../../contracts/analysis.js';
import { joinText, link, list, md, paragraph, table, type Block, type Text } from './document.js';
import { SLOPE_RATIO_SECTION } from './heatmap.js';
import { ci, withInterval } from './format.js';
import { sectionId } from './html.js';
import type { ReportLayout } from './layout.js';
import { evalSetLabel, type ReportView } from './dataset-view.js';

export const SUMMARY_TITLE = 'Summary';

const VERDICT: Record<Verdict, string> = {
  supported: 'supported',
  contradicted: 'contradicted',
  inconclusive: 'inconclusive',
  'not-testable': 'not testable',
};

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A finding's claim in a few words: its statement up to the first colon or full stop. */
function claimText(f: Finding): string {
  return clip(f.statement.split(/[:.]\s/)[0]!.replace(/\.$/, ''), 90);
}

/** The per-eval-set row: lowest error at the largest N among synthetic sources, the real error there, the best and the median slope ratio. */
function evalSetRow(a: SweepAnalysis, layout: ReportLayout, evalSet: string, view?: ReportView): Text[] {
  const curves = a.curves.filter((c) => c.evalSet === evalSet && layout.shown(c.source));
  const maxN = Math.max(...a.sizes);
  const atMax = (source: string) => curves.find((c) => c.source === source)?.perN.find((p) => p.n === maxN);
  const synthetic = curves.filter((c) => c.kind === 'synthetic' && atMax(c.source));
  const best = synthetic.sort((p, q) => atMax(p.source)!.error.mean - atMax(q.source)!.error.mean)[0];
  const real = a.realSource ? atMax(a.realSource) : undefined;
  const isSynthetic = (source: string) => a.sources.find((s) => s.name === source)?.kind === 'synthetic';
  const comps = a.comparisons.filter((c) => c.evalSet === evalSet && layout.shown(c.source) && isSynthetic(c.source) && c.errorSlopeRatio !== null);
  const bestRatio = [...comps].sort((p, q) => q.errorSlopeRatio! - p.errorSlopeRatio!)[0];
  const below = comps.filter((c) => c.errorSlopeRatioCI95?.hi !== null && c.errorSlopeRatioCI95?.hi !== undefined && c.errorSlopeRatioCI95.hi < 1).length;
  return [
    clip(evalSetLabel(view, evalSet), 34),
    best ? clip(best.source, 30) : '—',
    best ? ci(atMax(best.source)!.error) : '—',
    real ? ci(real.error) : '—',
    bestRatio ? `${clip(bestRatio.source, 26)}: ${withInterval(bestRatio.errorSlopeRatio, bestRatio.errorSlopeRatioCI95, (x) => x.toFixed(2))}` : '—',
    comps.length > 0 ? `${below} of ${comps.length}` : '—',
  ];
}

/** The summary block: bounded to about a screen (eval sets beyond 12 are left to the tables below). */
export function summarySection(a: SweepAnalysis, layout: ReportLayout, view?: ReportView, present: ReadonlySet<string> = new Set()): Block[] {
  const shownSources = a.sources.filter((s) => layout.shown(s.name)).length;
  const sizes = a.sizes.length > 0 ? `N = ${Math.min(...a.sizes)}…${Math.max(...a.sizes)} (${a.sizes.length} sizes)` : 'no N';
  const same = layout.groups.length > 0 ? `, ${shownSources} distinct (${layout.groups.length} groups of sources with the same images, shown once)` : '';
  const blocks: Block[] = [
    paragraph(md`**${a.sources.length} sources**${same} · **${a.evalSets.length} eval sets** · ${sizes} · ${a.seeds.length} seeds · ${a.cellCount} evaluations.`),
  ];
  const evalSets = a.evalSets.slice(0, 12);
  if (evalSets.length > 0) {
    const maxN = a.sizes.length > 0 ? Math.max(...a.sizes) : 0;
    const ratioHead = a.realSource ? `best synthetic error slope ratio to ${clip(a.realSource, 12)} [95% CI]` : 'best slope ratio';
    blocks.push(
      table(
        ['eval set', `lowest error at N=${maxN}`, 'its error', `${clip(a.realSource ?? 'real', 12)} error`, ratioHead, 'synthetic: ratio CI below 1'],
        evalSets.map((e) => evalSetRow(a, layout, e, view)),
      ),
    );
    if (a.evalSets.length > evalSets.length) blocks.push(paragraph(`and ${a.evalSets.length - evalSets.length} more eval sets in the tables below.`));
  }
  if (a.findings.length > 0) {
    blocks.push(
      list(
        a.findings.map((f) => md`**${VERDICT[f.verdict]}** · ${claimText(f)} (${clip(f.reason, 80)})`),
      ),
    );
  }
  if (layout.groups.length > 0) {
    // At most three groups here (the Sources section lists them all), each line bounded.
    const named = layout.groups.slice(0, 3).map((g) => `${clip(g.label, 110)} (${g.note})`);
    const more = layout.groups.length > 3 ? ` and ${layout.groups.length - 3} more groups (see Sources)` : '';
    blocks.push(paragraph(md`**Same images, shown once:** ${named.join('; ')}${more}.`));
  }
  const links = ['Findings', SLOPE_RATIO_SECTION, 'Figure', 'Fits'].filter((s) => present.has(s)).map((s) => link(s, sectionId(s)));
  blocks.push(paragraph(md`Slope ratio: b(synthetic) / b(real); below 1: scales worse than real data.${links.length > 0 ? md` More: ${joinText(links, ' · ')}.` : ''}`));
  return [{ kind: 'summary', title: SUMMARY_TITLE, blocks }];
}
