// What `sweep status` and `sweep start --wait` print about a finished sweep: what it did (cells,
// cache hits, images, training steps, wall time, time per stage), its headline slopes read from
// report.json in the store, and where the report is. report.json is untrusted input here: its
// size is capped, and only numbers and short names are printed.
import { fileURLToPath } from 'node:url';
import type { SweepResult } from '../contracts/sweep.js';
import type { CurveAnalysis, SourceComparison } from '../contracts/analysis.js';
import { openStore } from '../core/storage.js';

const MAX_REPORT_JSON_BYTES = 64 * 1024 * 1024;

export function localPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Names from report.json printed as they are only when they look like names. */
function name(value: unknown): string {
  return typeof value === 'string' && /^[\w.:+\-/ ]{1,80}$/.test(value) ? value : '?';
}

function num(value: unknown, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function summaryLines(result: SweepResult, wallSeconds?: number): string[] {
  const lines = [
    `sweep ${result.sweepId} finished: ${result.cells} cells (${result.cachedCells} from cache), ${result.stats.imagesSampled} images generated, ` +
      `${result.stats.trainStepsRun} training steps${wallSeconds === undefined ? '' : `, wall time ${clock(wallSeconds)}`}`,
  ];
  const stages = Object.entries(result.stageSeconds);
  const stageTime = (s: number) => (s < 60 ? `${s.toFixed(1)}s` : clock(s));
  if (stages.length > 0) lines.push(`  time per stage: ${stages.map(([stage, s]) => `${stage} ${stageTime(s)}`).join(', ')}`);
  return lines;
}

export function reportLocationLines(result: SweepResult): string[] {
  const lines: string[] = [];
  if (result.reportHtmlUri) lines.push(`report: ${localPath(result.reportHtmlUri)}`);
  lines.push(`report (markdown): ${localPath(result.reportMarkdownUri)}`);
  lines.push(`plot: ${localPath(result.plotPngUri ?? result.plotUri)}`);
  return lines;
}

interface ReportAnalysis {
  realSource?: unknown;
  evalSets?: unknown;
  curves?: Partial<CurveAnalysis>[];
  comparisons?: Partial<SourceComparison>[];
}

/** Headline error slopes per source and synthetic/real slope ratios on the first eval set. */
export function slopeLines(analysis: ReportAnalysis): string[] {
  const evalSet = Array.isArray(analysis.evalSets) ? analysis.evalSets[0] : undefined;
  const curves = (Array.isArray(analysis.curves) ? analysis.curves : []).filter((c) => c?.evalSet === evalSet);
  const comparisons = (Array.isArray(analysis.comparisons) ? analysis.comparisons : []).filter((c) => c?.evalSet === evalSet);
  if (curves.length === 0) return ['headline slopes: none in report.json'];
  const lines = [`headline error slopes b (error = a·N^-b, 95% CI) on ${name(evalSet)}:`];
  const width = Math.min(32, Math.max(...curves.map((c) => name(c.source).length)));
  for (const curve of curves) {
    const m = curve.error;
    const ratio = comparisons.find((c) => c.source === curve.source);
    const slope =
      m && typeof m.scalingSlope === 'number'
        ? `b = ${num(m.scalingSlope)} [${num(m.scalingSlopeCI95?.[0])}, ${num(m.scalingSlopeCI95?.[1])}]`
        : `withheld (${Array.isArray(m?.withheldBy) && m.withheldBy.length ? m.withheldBy.map(name).join(', ') : 'no fit'})`;
    const vsReal =
      ratio && typeof ratio.errorSlopeRatio === 'number'
        ? `   vs ${name(ratio.realSource)}: ratio ${num(ratio.errorSlopeRatio, 2)} [${num(ratio.errorSlopeRatioCI95?.lo, 2)}, ${num(ratio.errorSlopeRatioCI95?.hi, 2)}]`
        : '';
    lines.push(`  ${name(curve.source).padEnd(width)}  ${slope}${vsReal}`);
  }
  return lines;
}

/** Read report.json's analysis from the store; on failure, a line saying where it is and why not. */
export async function headlineLines(result: SweepResult): Promise<string[]> {
  const uri = result.reportUri;
  try {
    const root = uri.slice(0, uri.indexOf('/reports/'));
    if (!root) throw new Error('its URI has no /reports/ part');
    const store = openStore(root);
    const bytes = await store.get(store.keyOf(uri), { maxBytes: MAX_REPORT_JSON_BYTES });
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { analysis?: ReportAnalysis; cost?: unknown };
    return [...slopeLines(doc.analysis ?? {}), ...(await costLines(doc.cost))];
  } catch (err) {
    return [`headline slopes: in ${localPath(uri)} (analysis.curves[].error.scalingSlope), not readable here: ${(err as Error).message.split('\n')[0]}`];
  }
}

/** report.json's cost section (untrusted: a malformed one is a line saying so, not a crash). */
async function costLines(cost: unknown): Promise<string[]> {
  if (!cost || typeof cost !== 'object') return ['cost: not in report.json (a report from before cost tracking)'];
  const { formatCost } = await import('./cost-view.js');
  try {
    return formatCost(cost as Parameters<typeof formatCost>[0]);
  } catch {
    return ['cost: report.json has a cost section this CLI cannot read'];
  }
}
