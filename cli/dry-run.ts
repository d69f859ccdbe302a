// `synthscale sweep start --dry-run`: what a spec would run, without a Temporal connection: the
// cell grid (sources x tasks x sizes x seeds), the images each synthetic source generates (from the
// largest N, the seeds' windows and the generation settings, as contracts/grid.ts and the data
// phase count them), and a time estimate from this machine's measured rates (bench/results.json,
// `npm run bench`). A rate that was not measured for the spec's configuration is said to be
// missing; none is made up, and the estimate says what it leaves out.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cellCountOf, imagesNeeded, largestSize, mixCount, seedsRedrawData, sortedSizes, tasksOf } from '../contracts/grid.js';
import { SOURCE_KINDS } from '../contracts/sources.js';
import type { SweepSpec, SyntheticSourceSpec } from '../contracts/spec/sweep.js';
import { PROJECT_ROOT } from './code-fingerprint.js';

/** A measured rate, with what was measured (printed beside every use). */
interface Rate {
  perSecond: number;
  measured: string;
}

interface BenchRow {
  section: string;
  measurement: string;
  value: number;
  unit: string;
}

interface Bench {
  date?: string;
  machine?: { cores?: number; cpuModel?: string };
  backends?: Record<string, string>;
  rows: BenchRow[];
}

export interface DryRunOptions {
  /** Default bench/results.json of the project. */
  benchPath?: string;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))}s`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${String(m % 60).padStart(2, '0')}m` : `${(h / 24).toFixed(1)} days`;
}

async function loadBench(path: string): Promise<Bench | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return `no measured rates: ${path} is missing (run \`npm run bench\` on this machine)`;
  }
  try {
    const bench = JSON.parse(text) as Bench;
    if (!Array.isArray(bench.rows)) throw new Error('no rows');
    return bench;
  } catch (err) {
    return `no measured rates: ${path} is not a bench report (${(err as Error).message}); rerun \`npm run bench\``;
  }
}

/** The backend `training.backend: auto` takes here: the first the bench found available. */
function trainBackend(spec: SweepSpec, bench: Bench): string {
  if (spec.training.backend !== 'auto') return spec.training.backend;
  return ['tensorflow', 'wasm', 'cpu'].find((b) => bench.backends?.[b] === 'available') ?? 'cpu';
}

/** Classifier training img/s for the spec's model, if the bench measured that model on that backend. */
function trainRate(spec: SweepSpec, bench: Bench): Rate | string {
  const { model, hidden } = spec.training;
  const backend = trainBackend(spec, bench);
  const inputs = spec.image ? spec.image.size * spec.image.size * spec.image.channels : 784;
  const what = `${model}${model === 'resnet' ? '' : ` hidden [${hidden.join(', ')}]`} at ${inputs} inputs on ${backend}`;
  const benchModel = model === 'mlp' ? 'MLP 784-256-10' : model === 'cnn' ? 'CNN conv3x3(16)-pool-conv3x3(32)-pool-256-10' : undefined;
  const row = bench.rows.find((r) => r.section === 'train' && r.unit === 'img/s' && benchModel && r.measurement.startsWith(`${benchModel} training`) && r.measurement.endsWith(`, ${backend} backend`));
  const sameShape = hidden.length === 1 && hidden[0] === 256 && inputs === 784 && spec.dataset === 'fashion-mnist';
  if (!row || !sameShape) return `classifier training of ${what}: no bench rate for this model (measured: ${measuredTrainModels(bench)})`;
  return { perSecond: row.value, measured: row.measurement };
}

function measuredTrainModels(bench: Bench): string {
  const rows = bench.rows.filter((r) => r.section === 'train' && r.unit === 'img/s');
  return rows.length ? rows.map((r) => r.measurement.replace(/ training \(trainClassifier.*\), /, ' on ').replace(/ backend$/, '')).join('; ') : 'none';
}

/** Embedded-generator img/s, if measured at this source's pcaDims, components per class and steps. */
function generateRate(source: SyntheticSourceSpec, bench: Bench): Rate | string {
  const g = source.generator;
  if (g.name !== 'embedded-gmm') return `${g.name}: its rate is the server's (not measured by the bench)`;
  const rows = bench.rows.filter((r) => r.section === 'generator' && r.unit === 'img/s');
  for (const row of rows) {
    const m = /pcaDims (\d+), (\d+) comp\/class.*steps (\d+)/.exec(row.measurement);
    if (m && Number(m[1]) === g.pcaDims && Number(m[2]) === g.componentsPerClass && Number(m[3]) === g.steps) return { perSecond: row.value, measured: row.measurement };
  }
  const measured = rows.map((r) => r.measurement).join('; ') || 'none';
  return `embedded-gmm with pcaDims ${g.pcaDims}, ${g.componentsPerClass} components per class, ${g.steps} steps: no bench rate (measured: ${measured})`;
}

function shardWriteRate(bench: Bench): Rate | undefined {
  const row = bench.rows.find((r) => r.section === 'shards' && r.unit === 'img/s' && r.measurement.startsWith('shard write'));
  return row ? { perSecond: row.value, measured: row.measurement } : undefined;
}

/** Images one classifier cell of N passes through training: epochs over its training part (an upper bound: early stopping may end sooner). */
function imagesTrained(spec: SweepSpec, size: number): number {
  const t = spec.training;
  const train = Math.max(1, size - Math.round(size * t.validationFraction));
  const steps = Math.max(t.minSteps, t.epochs * Math.ceil(train / t.batchSize));
  return steps * t.batchSize;
}

/** Print the dry run of `spec`, line by line. */
export async function printDryRun(spec: SweepSpec, print: (line: string) => void, opts: DryRunOptions = {}): Promise<void> {
  const sizes = sortedSizes(spec);
  print(`Dry run of sweep '${spec.sweepId}': nothing is started, no Temporal connection.`);
  print(`Sizes (N): ${sizes.map(n).join(', ')}; seeds: ${spec.seeds.join(', ')}${seedsRedrawData(spec) ? ' (each seed redraws the data)' : ''}`);
  print('');
  print('Cells (source x tasks x sizes x seeds):');
  const width = Math.max(...spec.sources.map((s) => s.name.length));
  let total = 0;
  for (const source of spec.sources) {
    const tasks = tasksOf(spec, source.name);
    const cells = cellCountOf(spec, source.name);
    total += cells;
    print(`  ${source.name.padEnd(width)}  ${source.kind.padEnd(10)}  ${tasks.length} task${tasks.length === 1 ? '' : 's'} (${tasks.join(', ') || 'none'}) x ${sizes.length} sizes x ${spec.seeds.length} seeds = ${n(cells)} cells`);
  }
  print(`  total: ${n(total)} cells`);
  print('');
  const synthetic = spec.sources.filter((s): s is SyntheticSourceSpec => s.kind === 'synthetic');
  const images = new Map<string, number>();
  if (synthetic.length > 0) {
    const { shardSize, failureBudget } = spec.generation;
    print(`Images to generate (largest N ${n(largestSize(spec))}${seedsRedrawData(spec) ? `, seed windows half a window apart` : ''}, failure budget ${failureBudget * 100}%, shards of ${n(shardSize)}):`);
    for (const source of synthetic) {
      const needed = imagesNeeded(spec, source.name);
      const made = SOURCE_KINDS.synthetic.imagesToProduce(needed, failureBudget);
      images.set(source.name, made);
      print(`  ${source.name.padEnd(width)}  ${n(needed)} needed -> ${n(made)} generated in ${n(Math.ceil(made / shardSize))} shards (${source.generator.name}, CFG ${source.cfgScale})`);
    }
    print(`  total: ${n([...images.values()].reduce((a, b) => a + b, 0))} images`);
    print('');
  }
  await printEstimate(spec, images, print, opts);
}

async function printEstimate(spec: SweepSpec, images: Map<string, number>, print: (line: string) => void, opts: DryRunOptions): Promise<void> {
  const path = opts.benchPath ?? join(PROJECT_ROOT, 'bench', 'results.json');
  const bench = await loadBench(path);
  if (typeof bench === 'string') {
    print(`Time estimate: none; ${bench}.`);
    return;
  }
  const machine = [bench.machine?.cores ? `${bench.machine.cores} cores` : '', bench.machine?.cpuModel ?? ''].filter(Boolean).join(', ');
  print(`Time estimate from this machine's bench (${path}${bench.date ? `, ${bench.date.slice(0, 10)}` : ''}${machine ? `, ${machine}` : ''}), one worker per queue, one thing at a time:`);
  const missing: string[] = [];
  let seconds = 0;
  const write = shardWriteRate(bench);
  for (const source of spec.sources) {
    if (source.kind !== 'synthetic') continue;
    const count = images.get(source.name)!;
    const rate = generateRate(source, bench);
    if (typeof rate === 'string') {
      missing.push(`generating ${source.name}: ${rate}`);
      continue;
    }
    const t = count / rate.perSecond + (write ? count / write.perSecond : 0);
    seconds += t;
    print(`  generate ${source.name}: ${n(count)} images at ${n(rate.perSecond)} img/s${write ? ` + shard writing at ${n(write.perSecond)} img/s` : ''} = ${formatDuration(t)}`);
  }
  const generators = [...new Set(spec.sources.flatMap((s) => (s.kind === 'synthetic' ? [generateRate(s, bench)] : [])).flatMap((r) => (typeof r === 'string' ? [] : [r.measured])))];
  for (const measured of generators) print(`    (rate: ${measured})`);
  if (!write && images.size > 0) missing.push('shard writing: no bench rate');
  const trainSeconds = estimateTraining(spec, bench, print, missing);
  seconds += trainSeconds;
  if (seconds === 0) print('  total: nothing could be estimated');
  else print(`  total: about ${formatDuration(seconds)} of worker time for what is estimated (more workers and maxConcurrentCells ${spec.maxConcurrentCells} shorten the wall time)`);
  missing.push('fitting generators, prompts, real-pairs imports, evaluation, analysis and the report (not measured as rates)');
  print('Not estimated:');
  for (const m of missing) print(`  ${m}`);
}

/** Classifier cells' training time (upper bound: every epoch run), printed per source; CLIP cells have no rate. */
function estimateTraining(spec: SweepSpec, bench: Bench, print: (line: string) => void, missing: string[]): number {
  const rate = trainRate(spec, bench);
  let seconds = 0;
  let clipCells = 0;
  for (const source of spec.sources) {
    const tasks = tasksOf(spec, source.name);
    if (tasks.includes('clip')) clipCells += spec.sizes.length * spec.seeds.length;
    if (!tasks.includes('classifier') || typeof rate === 'string') continue;
    let trained = 0;
    for (const size of spec.sizes) {
      const extra = source.kind === 'mixed' ? mixCount(source, size) : 0;
      trained += imagesTrained(spec, size + extra) * spec.seeds.length;
    }
    const t = trained / rate.perSecond;
    seconds += t;
    print(`  train ${source.name}: ${n(spec.sizes.length * spec.seeds.length)} classifier cells, ${n(trained)} images over ${spec.training.epochs} epochs at ${n(rate.perSecond)} img/s = ${formatDuration(t)}`);
  }
  if (typeof rate === 'string') missing.push(rate);
  else print(`    (rate: ${rate.measured}; early stopping may end cells sooner)`);
  if (clipCells > 0) missing.push(`${n(clipCells)} CLIP cells: no bench rate for CLIP training`);
  return seconds;
}
