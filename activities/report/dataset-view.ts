// What the report knows of the sweep's dataset and of each eval set: from the plan (its
// DatasetInfo of the sweep's dataset and of each eval set's own dataset, and its eval sets), else
// from the spec (plans from before datasets had descriptors: a built-in dataset from the registry,
// Fashion-MNIST at 28x28 grey when the spec names none). Every text here comes from users (titles,
// class names, paths): the sections put it in as data, never as markup.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import type { DatasetInfo } from '../../contracts/plan.js';
import type { EvalSetSpec } from '../../contracts/types.js';
import { DATASETS, type DatasetName } from '../../core/datasets/registry.js';
import type { ImageGeometry } from '../../core/image/geometry.js';

/** What the report activity passes from the plan (each absent in plans from before datasets). */
export interface ReportDatasets {
  /** plan.dataset: the sweep's dataset. */
  dataset?: DatasetInfo;
  /** plan.evalDatasets: each eval set's own dataset, by fingerprint. */
  evalDatasets?: Record<string, DatasetInfo>;
  /** plan.evalSets: every eval set a cell is evaluated on. */
  evalSets?: EvalSetSpec[];
}

/** A dataset as the report describes it: a DatasetInfo, or what the spec and registry tell of one. */
export type DatasetFacts = Pick<DatasetInfo, 'title' | 'origin'> & Partial<Omit<DatasetInfo, 'title' | 'origin'>>;

/** How an eval set relates to the training data: the sweep's own split, a corrupted copy of it, or another dataset. */
export type EvalSetKind = 'clean' | 'ood' | 'dataset';

export interface EvalSetView {
  name: string;
  kind: EvalSetKind;
  split: string | null;
  /** kind 'dataset': the eval set's own dataset. */
  dataset: DatasetFacts | null;
  /** One line: "eval set 'sketch': split test of 'Fashion shifted' (imagefolder, file:///...)". */
  description: string;
  /** Short, for headings and chart subtitles: the name, and the dataset's title for another dataset's eval set. */
  label: string;
}

export interface ReportView {
  /** The sweep's dataset; null when neither the plan nor the spec tells. */
  dataset: DatasetFacts | null;
  /** Every eval set of the analysis, in its order. */
  evalSets: EvalSetView[];
  /** The first eval set of the sweep's own data as it is (where accuracy, CFG and recognizability are read). */
  clean: string | null;
  /** OOD suites and other datasets' eval sets: where the paper's out-of-distribution claim is tested. */
  shifted: string[];
}

interface SpecEvalEntry {
  name: string;
  split?: string;
  dataset?: { kind?: string; title?: string; root?: string; splits?: Record<string, string[]> };
}

const record = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** The spec's `eval` entries, read defensively (the report takes the spec as recorded). */
function specEvalEntries(spec: unknown): SpecEvalEntry[] {
  const entries = record(spec)?.eval;
  return Array.isArray(entries) ? entries.filter((e): e is SpecEvalEntry => typeof record(e)?.name === 'string') : [];
}

/** An imported dataset as the spec gives it: its title (or the last part of its path) and where it is. */
function importedFacts(d: NonNullable<SpecEvalEntry['dataset']>): DatasetFacts {
  const where = typeof d.root === 'string' ? d.root : Object.values(d.splits ?? {})[0]?.[0] ?? 'unknown location';
  const title = typeof d.title === 'string' ? d.title : where.replace(/\/+$/, '').split('/').pop() || where;
  return { title, origin: `${typeof d.kind === 'string' ? d.kind : 'dataset'} ${where}` };
}

/** The sweep's dataset from the spec alone: a built-in one from the registry (absent: Fashion-MNIST, as old plans were), or an imported one's title and location. */
function specDataset(spec: unknown): DatasetFacts | null {
  const d = record(spec)?.dataset ?? 'fashion-mnist';
  if (typeof d === 'string') {
    if (!(d in DATASETS)) return { title: d, origin: 'built-in' };
    const provider = DATASETS[d as DatasetName];
    const channels: number = provider.channels;
    const geometry: ImageGeometry = { size: provider.imageSide, channels: channels === 3 ? 3 : 1 };
    return { title: provider.title, origin: 'built-in', geometry, classes: [...provider.classes] };
  }
  return record(d) ? importedFacts(d as NonNullable<SpecEvalEntry['dataset']>) : null;
}

/** "imagefolder, file:///data/x" from the plan's "imagefolder file:///data/x"; "built-in" as it is. */
export function originText(origin: string): string {
  const space = origin.indexOf(' ');
  return space > 0 && /^[a-z-]+$/.test(origin.slice(0, space)) ? `${origin.slice(0, space)}, ${origin.slice(space + 1)}` : origin;
}

/** "32x32 RGB", "28x28 grey". */
export function geometryText(g: ImageGeometry): string {
  return `${g.size}x${g.size} ${g.channels === 3 ? 'RGB' : 'grey'}`;
}

function evalSetView(name: string, plan: EvalSetSpec | undefined, entry: SpecEvalEntry | undefined, datasets: ReportDatasets): EvalSetView {
  const split = plan?.split ?? entry?.split ?? (name.startsWith('ood-') ? null : 'test');
  const otherDataset = entry?.dataset !== undefined || (plan?.dataset !== undefined && datasets.evalDatasets?.[plan.dataset] !== undefined && plan.dataset !== datasets.dataset?.fingerprint);
  if (plan?.shift || (!otherDataset && name.startsWith('ood-'))) {
    const shift = plan?.shift ? ` under the OOD suite ${plan.shift.suite}, severity ${plan.shift.severity}` : ' under an OOD corruption';
    return { name, kind: 'ood', split, dataset: null, description: `eval set '${name}': split ${split ?? 'test'} of the sweep's dataset${shift}`, label: name };
  }
  if (!otherDataset) return { name, kind: 'clean', split, dataset: null, description: `eval set '${name}': split ${split ?? 'test'} of the sweep's dataset`, label: name };
  const info: DatasetFacts | null = (plan?.dataset ? datasets.evalDatasets?.[plan.dataset] : undefined) ?? (entry?.dataset ? importedFacts(entry.dataset) : null);
  const title = info?.title ?? 'another dataset';
  const count = split !== null ? info?.splits?.[split]?.count : undefined;
  const where = info ? ` (${originText(info.origin)}${count !== undefined ? `, ${count.toLocaleString('en-US')} images` : ''})` : '';
  return { name, kind: 'dataset', split, dataset: info, description: `eval set '${name}': split ${split ?? '?'} of '${title}'${where}`, label: `${name} · ${title}` };
}

/** The report's view of the datasets: the plan's when given, else the spec's. */
export function reportView(a: SweepAnalysis, spec: unknown, datasets: ReportDatasets = {}): ReportView {
  const entries = specEvalEntries(spec);
  const evalSets = a.evalSets.map((name) =>
    evalSetView(
      name,
      datasets.evalSets?.find((e) => e.name === name),
      entries.find((e) => e.name === name),
      datasets,
    ),
  );
  return {
    dataset: datasets.dataset ?? specDataset(spec),
    evalSets,
    clean: evalSets.find((e) => e.kind === 'clean')?.name ?? null,
    shifted: evalSets.filter((e) => e.kind !== 'clean').map((e) => e.name),
  };
}

/** The view without a plan or spec (callers that have neither): eval sets by name alone (`ood-*` shifted), the dataset as old plans had it. */
export function viewByName(a: SweepAnalysis): ReportView {
  return reportView(a, undefined);
}

/** An eval set's short label (its name when the view does not know it). */
export function evalSetLabel(view: ReportView | undefined, evalSet: string): string {
  return view?.evalSets.find((e) => e.name === evalSet)?.label ?? evalSet;
}
