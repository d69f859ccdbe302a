// `sweep status --watch`: one bar per stage (data sources, images, cells) from the sweep's
// progress query, with the ETA, drawn by cli-progress; plain lines when stdout is not a TTY.
import cliProgress from 'cli-progress';
import type { SweepProgress } from '../contracts/sweep.js';

function clock(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One line, for logs and non-interactive use. */
export function formatProgress(p: SweepProgress): string {
  const eta = p.etaSeconds === null ? '' : `, ETA ${clock(p.etaSeconds)}`;
  const images = p.images.total ? ` images ${p.images.done}/${p.images.total}` : '';
  const line = `[${p.sweepId}] stage=${p.stage}${p.paused ? ' (paused)' : ''} sources ${p.sources.done}/${p.sources.total}${images} cells ${p.cells.done}/${p.cells.total} (running ${p.cells.running}, cached ${p.cells.cached}), ${clock(p.elapsedSeconds)} elapsed${eta}`;
  return p.adaptive ? [line, ...adaptiveLines(p.adaptive)].join('\n') : line;
}

/** An adaptive sweep: its round, and each target's interval against the half-width wanted. */
export function adaptiveLines(a: NonNullable<SweepProgress['adaptive']>): string[] {
  const head = `  adaptive: round ${a.round}, ${a.cellsAdded} cells added${a.stop ? `, stopped (${a.stop.reason}: ${a.stop.detail})` : ''}`;
  return [
    head,
    ...a.intervals.map((t) => {
      const width = t.halfWidth === null ? `no interval yet${t.reason ? ` (${t.reason})` : ''}` : `±${t.halfWidth.toPrecision(2)} of ±${t.wanted} wanted`;
      const estimate = t.estimate === null ? '' : `${t.estimate.toPrecision(3)} `;
      return `  ${t.met ? '[met] ' : '[open]'} ${t.label}: ${estimate}${width}`;
    }),
  ];
}

export interface ProgressView {
  update(p: SweepProgress): void;
  stop(): void;
}

export function createProgressView(stream: NodeJS.WriteStream = process.stdout): ProgressView {
  // Logs (CI, pipes): one line when the progress changes, at most every 10 s, instead of redrawn bars.
  if (!stream.isTTY) {
    let last = '';
    let lastAt = 0;
    let pending: SweepProgress | undefined;
    const flush = (p: SweepProgress) => {
      const line = formatProgress(p).replace(/, [^,]* elapsed.*$/, '');
      if (line === last) return;
      stream.write(`${formatProgress(p)}\n`);
      last = line;
      lastAt = Date.now();
      pending = undefined;
    };
    return {
      update(p) {
        if (Date.now() - lastAt >= 10_000 || last === '') flush(p);
        else pending = p;
      },
      stop() {
        if (pending) flush(pending);
      },
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: ' {label} |{bar}| {value}/{total} {detail}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const make = (label: string) => bars.create(1, 0, { label, detail: '' });
  const sources = make('data sources');
  const images = make('images      ');
  const cells = make('cells       ');
  return {
    update(p) {
      const tag = `stage=${p.stage}${p.paused ? ' (paused)' : ''}`;
      sources.setTotal(Math.max(1, p.sources.total));
      sources.update(p.sources.done, { label: 'data sources', detail: tag });
      images.setTotal(Math.max(1, p.images.total));
      images.update(p.images.done, { label: 'images      ', detail: p.images.total ? '' : '(none to generate yet)' });
      cells.setTotal(Math.max(1, p.cells.total));
      cells.update(p.cells.done, {
        label: 'cells       ',
        detail: `running ${p.cells.running}, cached ${p.cells.cached}, ${clock(p.elapsedSeconds)} elapsed, ETA ${clock(p.etaSeconds)}`,
      });
    },
    stop() {
      bars.stop();
    },
  };
}
