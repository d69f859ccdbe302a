// The cell grid: which (source, task, N, seed) cells a sweep trains, in which order, how many
// images each source must hold, and what a mixed source adds. The sweep workflow, the analysis
// and the CLI all enumerate cells through this module. Zod-free, so workflow code can import it.
import { initialGrid } from './adaptive.js';
import { SOURCE_KINDS } from './sources.js';
import type { MixedSourceSpec, SourceSpec, SweepSpec } from './spec/sweep.js';
import { TASKS } from './tasks.js';

export type Task = SweepSpec['tasks'][number];

/** What the grid needs of a spec (the validated spec, or the plan's copy of it). */
export type GridSpec = Pick<SweepSpec, 'sources' | 'sizes' | 'seeds' | 'tasks'> & Partial<Pick<SweepSpec, 'recognizability'>>;

export interface Cell {
  source: string;
  task: Task;
  /** N: the number of training images (a mixed source's real images). */
  size: number;
  seed: number;
  /** Position among its source's cells: tasks, then N ascending, then seeds in spec order. */
  index: number;
}

/**
 * Classifiers need labels, which external image-caption pairs lack, so a real-pairs source (and a
 * mix over one) trains CLIP only; every other source trains all of the spec's tasks.
 */
export function tasksForSource(spec: Pick<SweepSpec, 'tasks' | 'sources'>, source: SourceSpec): SweepSpec['tasks'] {
  const tasks = spec.tasks ?? ['classifier'];
  const realPart = source.kind === 'mixed' ? spec.sources.find((s) => s.name === source.real) : source;
  const labelled = realPart ? SOURCE_KINDS[realPart.kind].labelled : true;
  return labelled ? tasks : tasks.filter((t) => !TASKS[t].needsLabels);
}

export function sourceNamed(spec: Pick<SweepSpec, 'sources'>, name: string): SourceSpec {
  const source = spec.sources.find((s) => s.name === name);
  if (!source) throw new Error(`no source named '${name}' in the spec (sources: ${spec.sources.map((s) => s.name).join(', ')})`);
  return source;
}

/** The tasks the named source's cells train. */
export function tasksOf(spec: Pick<SweepSpec, 'tasks' | 'sources'>, name: string): SweepSpec['tasks'] {
  return tasksForSource(spec, sourceNamed(spec, name));
}

/** The spec's sizes, ascending: cells run and curves are read in this order. */
export function sortedSizes(spec: Pick<SweepSpec, 'sizes'>): number[] {
  return [...spec.sizes].sort((a, b) => a - b);
}

export function largestSize(spec: Pick<SweepSpec, 'sizes'>): number {
  return Math.max(...spec.sizes);
}

/** Synthetic images a mixed source adds to N real ones: a fixed N_s, or round(ratio x N). */
export function mixCount(source: Pick<MixedSourceSpec, 'syntheticImages' | 'syntheticPerReal'>, realCount: number): number {
  return source.syntheticImages ?? Math.round((source.syntheticPerReal ?? 0) * realCount);
}

/** How many cells one task of a source has: sizes x seeds. */
export function cellsPerTask(spec: Pick<SweepSpec, 'sizes' | 'seeds'>): number {
  return spec.sizes.length * spec.seeds.length;
}

export function cellCountOf(spec: GridSpec, name: string): number {
  return tasksOf(spec, name).length * cellsPerTask(spec);
}

export function totalCells(spec: GridSpec): number {
  return spec.sources.reduce((n, s) => n + cellCountOf(spec, s.name), 0);
}

/** The source's cell at `index` (tasks in spec order, so a classifier-only sweep indexes as before). */
export function cellAt(spec: GridSpec, name: string, index: number, sizes = sortedSizes(spec)): Cell {
  const perTask = cellsPerTask(spec);
  const task = tasksOf(spec, name)[Math.floor(index / perTask)];
  if (task === undefined || index < 0) throw new Error(`source '${name}' has no cell ${index} (it has ${cellCountOf(spec, name)})`);
  const within = index % perTask;
  return { source: name, task, size: sizes[Math.floor(within / spec.seeds.length)]!, seed: spec.seeds[within % spec.seeds.length]!, index };
}

/**
 * The grid a sweep runs first: the whole grid, or for an adaptive sweep (spec.adaptive) its first
 * round (contracts/adaptive.ts initialGrid: `adaptive.initial`, by default 3 log-spread sizes and
 * the first 2 seeds). Later rounds add cells one by one (workflows/sweep/adaptive.ts). Cells keep
 * the full spec's data (seed windows, the largest N): only which run first changes.
 */
export function firstRoundGrid<S extends GridSpec & Partial<Pick<SweepSpec, 'adaptive'>>>(spec: S): S {
  return spec.adaptive ? { ...spec, ...initialGrid(spec, spec.adaptive) } : spec;
}

/** Every cell of a source, in run order. */
export function cellsOf(spec: GridSpec, name: string): Cell[] {
  const sizes = sortedSizes(spec);
  return Array.from({ length: cellCountOf(spec, name) }, (_, i) => cellAt(spec, name, i, sizes));
}

/** The real source a recognizability judge trains on (the first real source), when the spec asks for one. */
export function judgeSourceOf(spec: GridSpec): SourceSpec | undefined {
  return spec.recognizability ? spec.sources.find((s) => s.kind === 'real') : undefined;
}

/** The most images one seed reads from a source: the largest N, more if a mix or the recognizability judge reads more. */
export function imagesPerSeed(spec: GridSpec, name: string): number {
  let count = largestSize(spec);
  for (const mix of spec.sources) {
    if (mix.kind === 'mixed' && mix.synthetic === name) count = Math.max(count, mixCount(mix, largestSize(spec)));
  }
  if (spec.recognizability && judgeSourceOf(spec)?.name === name) count = Math.max(count, spec.recognizability.judgeImages);
  return count;
}

/** Whether seeds redraw data (their own real subset and synthetic images) or only the initialisation. */
export function seedsRedrawData(spec: Pick<SweepSpec, 'seedDraws'>): boolean {
  return (spec.seedDraws ?? 'init') === 'data';
}

/**
 * A generated pool's window for the seed at `seedIndex`: windows of W images start ceil(W/2)
 * apart, so two seeds share at most half their images and each seed's N are nested (a prefix of
 * its window). Without data draws every seed reads the pool's start.
 */
export function seedWindowOffset(spec: GridSpec & Pick<SweepSpec, 'seedDraws'>, name: string, seedIndex: number): number {
  return isWindowed(spec, name) ? seedIndex * Math.ceil(imagesPerSeed(spec, name) / 2) : 0;
}

/** Generated sources hold one pool that seeds read windows of; real and control sources write a manifest per seed. */
function isWindowed(spec: GridSpec & Partial<Pick<SweepSpec, 'seedDraws'>>, name: string): boolean {
  return sourceNamed(spec, name).kind === 'synthetic' && seedsRedrawData({ seedDraws: spec.seedDraws ?? 'init' });
}

/**
 * Images a source must hold: one seed's worth, and with data draws for a generated source, the
 * windows of every seed (real and control sources write one manifest per seed instead).
 */
export function imagesNeeded(spec: GridSpec & Partial<Pick<SweepSpec, 'seedDraws'>>, name: string): number {
  const perSeed = imagesPerSeed(spec, name);
  return isWindowed(spec, name) ? perSeed + (spec.seeds.length - 1) * Math.ceil(perSeed / 2) : perSeed;
}

/** Where a cell's images come from: its source's manifest for its seed, from its seed's window on. */
export interface CellData {
  manifestUri: string;
  offset?: number;
  mix?: { manifestUri: string; count: number; offset?: number }[];
}

/** The data a cell trains on, given the summaries of the sources whose data is ready. */
export function cellData(
  spec: GridSpec & Pick<SweepSpec, 'seedDraws'>,
  summaryOf: (name: string) => { manifestUri: string; seedManifests?: Record<string, string> } | undefined,
  cell: Pick<Cell, 'source' | 'size' | 'seed'>,
): CellData {
  const seedIndex = spec.seeds.indexOf(cell.seed);
  const source = sourceNamed(spec, cell.source);
  const own = source.kind === 'mixed' ? source.real : cell.source;
  const ownSummary = summaryOf(own);
  if (!ownSummary) throw new Error(`cell ${cell.source} N=${cell.size} seed=${cell.seed}: source '${own}' has no data yet`);
  const part = (name: string, summary: { manifestUri: string; seedManifests?: Record<string, string> }) => {
    const offset = seedWindowOffset(spec, name, seedIndex);
    return { manifestUri: summary.seedManifests?.[String(cell.seed)] ?? summary.manifestUri, ...(offset ? { offset } : {}) };
  };
  const data: CellData = part(own, ownSummary);
  if (source.kind === 'mixed') {
    const synthetic = summaryOf(source.synthetic);
    if (!synthetic) throw new Error(`mixed source ${source.name}: its synthetic source '${source.synthetic}' has no data yet`);
    data.mix = [{ ...part(source.synthetic, synthetic), count: mixCount(source, cell.size) }];
  }
  return data;
}
