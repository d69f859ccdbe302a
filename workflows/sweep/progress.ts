// The sweep's current details in the Temporal UI (setCurrentDetails): stage, "12 of 45 cells",
// images, ETA and the scaling slopes so far, as markdown. Pure functions of the run's progress.
import type { LiveLosses, SweepProgress } from '../../contracts/sweep.js';

/** A curve's power-law slope b of loss = a·N^(-b): live from finished cells, or the analysis's fit. */
export interface SlopeLine {
  curve: string;
  b: number | null;
  /** "live" (least squares on the per-N means of finished cells) or "fitted" (the analysis, with its quality gates). */
  from: 'live' | 'fitted';
  sizes?: number;
}

export function progressMarkdown(progress: SweepProgress, slopes: SlopeLine[]): string {
  const { cells, images, sources } = progress;
  const lines = [
    `**${progress.stage}**${progress.paused ? ' (paused)' : ''} · ${cells.done} of ${cells.total} cells · ${cells.running} running · ${cells.cached} cached`,
    `sources ${sources.done} of ${sources.total} ready · images ${images.done} of ${images.total}`,
    `elapsed ${duration(progress.elapsedSeconds)}${progress.etaSeconds !== null ? ` · ETA ${duration(progress.etaSeconds)}` : ''}`,
  ];
  if (slopes.length > 0) {
    const shown = slopes.map((s) => `${s.curve} ${s.b === null ? 'withheld' : s.b.toFixed(3)}${s.sizes !== undefined ? ` (${s.sizes} N)` : ''}`);
    lines.push(`loss slopes b (${slopes[0]!.from === 'fitted' ? 'fitted' : 'live, from finished cells'}): ${shown.join(' · ')}`);
  }
  if (progress.adaptive) lines.push(...adaptiveLines(progress.adaptive));
  // Two spaces before the newline: a markdown line break, so the UI shows one fact per line.
  return lines.join('  \n');
}

/** Per curve with at least two distinct N: b from least squares of log(mean loss) on log N. */
export function liveSlopes(losses: LiveLosses): SlopeLine[] {
  const out: SlopeLine[] = [];
  for (const [curve, bySize] of Object.entries(losses)) {
    const points = Object.entries(bySize)
      .map(([size, { sum, cells }]) => ({ x: Math.log(Number(size)), y: Math.log(sum / cells) }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (points.length < 2) continue;
    const mx = points.reduce((a, p) => a + p.x, 0) / points.length;
    const my = points.reduce((a, p) => a + p.y, 0) / points.length;
    const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
    const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
    if (sxx > 0) out.push({ curve, b: -sxy / sxx, from: 'live', sizes: points.length });
  }
  return out;
}

/** The adaptive loop: its round, each target's interval against the half-width wanted, and why it stopped. */
function adaptiveLines(adaptive: NonNullable<SweepProgress['adaptive']>): string[] {
  const head = `adaptive round ${adaptive.round} · ${adaptive.cellsAdded} cells added${adaptive.stop ? ` · stopped: ${adaptive.stop.reason}` : ''}`;
  const targets = adaptive.intervals.map(
    (t) => `${t.met ? 'met' : 'open'} ${t.label}: ${t.halfWidth === null ? `no interval yet${t.reason ? ` (${t.reason})` : ''}` : `±${fmt(t.halfWidth)} of ±${fmt(t.wanted)} wanted`}`,
  );
  return [head, ...targets];
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
