// Which datasets a sweep uses, at which geometry: a built-in dataset gets its descriptor written
// here (at its own geometry it keeps its historic fingerprint, so keys of earlier sweeps stay);
// the lab's own images are imported by activities/datasets, and the plan asks for those imports
// until it has their outputs (the sweep's dataset first: eval sets' datasets are matched to its
// classes).
import type { DatasetImportInput, DatasetImportOutput } from '../../contracts/datasets.js';
import type { DatasetInfo } from '../../contracts/plan.js';
import { DEFAULT_IMPORTED_GEOMETRY } from '../../contracts/spec/datasets.js';
import type { SweepSpec } from '../../contracts/spec/sweep.js';
import { datasetDescriptor, datasetFingerprint, loadBuiltinSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { DATASET_DESCRIPTOR_FORMAT, writeDescriptor, type DatasetDescriptor } from '../../core/datasets/descriptor.js';
import { datasetProvider, type DatasetName } from '../../core/datasets/registry.js';
import { inputHash } from '../../core/hash.js';
import { geometryLabel, sameGeometry, type ImageGeometry } from '../../core/image/geometry.js';

export type Resolved = { info: DatasetInfo; legacy: boolean } | { imports: DatasetImportInput[] };

/** The sweep's own dataset: its descriptor, or the import it needs first. */
export async function resolveMainDataset(deps: ActivityDeps, spec: SweepSpec, imported: Record<string, DatasetImportOutput>): Promise<Resolved> {
  if (typeof spec.dataset === 'string') return builtinDataset(deps, spec.dataset, spec.image);
  const done = imported.dataset;
  if (!done) {
    const evalSplits = spec.eval.filter((e) => !e.dataset).map((e) => e.split);
    const geometry: ImageGeometry = spec.image ?? DEFAULT_IMPORTED_GEOMETRY;
    return { imports: [{ dataset: spec.dataset, splits: [...new Set(['train', ...evalSplits])], geometry, role: 'dataset' }] };
  }
  return { info: await importedInfo(deps, done, 'dataset'), legacy: false };
}

/** Eval sets with datasets of their own: their fingerprints by eval index, or the imports they need first. */
export async function resolveEvalDatasets(
  deps: ActivityDeps,
  spec: SweepSpec,
  main: DatasetInfo,
  imported: Record<string, DatasetImportOutput>,
): Promise<{ own: Record<number, string>; infos: Record<string, DatasetInfo> } | { imports: DatasetImportInput[] }> {
  const imports: DatasetImportInput[] = [];
  const own: Record<number, string> = {};
  const infos: Record<string, DatasetInfo> = {};
  for (const [i, entry] of spec.eval.entries()) {
    if (!entry.dataset) continue;
    const role = `eval.${i}.dataset`;
    const done = imported[role];
    if (!done) {
      imports.push({ dataset: entry.dataset, splits: [entry.split], geometry: main.geometry, classes: main.classes, role });
      continue;
    }
    const info = await importedInfo(deps, done, role);
    if (info.classes.join('\n') !== main.classes.join('\n')) throw new Error(`${role}: its classes are not in the sweep's class order (the import must map them)`);
    if (!(entry.split in info.splits)) throw new Error(`eval.${i}.split: '${entry.split}' is not a split of ${info.title} (it has: ${Object.keys(info.splits).join(', ')})`);
    own[i] = info.fingerprint;
    infos[info.fingerprint] = info;
  }
  return imports.length ? { imports } : { own, infos };
}

async function importedInfo(deps: ActivityDeps, done: DatasetImportOutput, role: string): Promise<DatasetInfo> {
  const descriptor = await datasetDescriptor(deps, done.fingerprint);
  if (!descriptor) throw new Error(`${role}: the import's descriptor for ${done.fingerprint} is missing from the store (${done.descriptorUri})`);
  return infoOf(descriptor);
}

export function infoOf(d: DatasetDescriptor): DatasetInfo {
  const splits = Object.fromEntries(Object.entries(d.splits).map(([name, s]) => [name, { count: s.count, classCounts: s.classCounts }]));
  return {
    fingerprint: d.fingerprint,
    title: d.title,
    origin: d.origin.kind === 'builtin' ? 'built-in' : `${d.origin.kind} ${d.origin.uri}`,
    geometry: d.geometry,
    ...(d.origin.kind === 'builtin' && !sameGeometry(d.origin.nativeGeometry, d.geometry) ? { nativeGeometry: d.origin.nativeGeometry } : {}),
    classes: d.classes,
    ...(d.wnids ? { wnids: d.wnids } : {}),
    splits,
    ...(d.import ? { imported: { inputs: d.import.inputs, skipped: d.import.skipped } } : {}),
  };
}

/**
 * A built-in dataset at `image` (default its own geometry). At its own geometry the fingerprint is
 * the historic one (the decoded content's hash); at another it is a hash of that and the geometry.
 */
async function builtinDataset(deps: ActivityDeps, name: DatasetName, image: ImageGeometry | undefined): Promise<Resolved> {
  const provider = datasetProvider(name);
  const nativeGeometry: ImageGeometry = { size: provider.imageSide, channels: provider.channels as 1 | 3 };
  const geometry = image ?? nativeGeometry;
  const nativeFingerprint = await datasetFingerprint(deps, name);
  const legacy = sameGeometry(geometry, nativeGeometry);
  const fingerprint = legacy ? nativeFingerprint : inputHash('builtin-dataset', 'geometry-1', { dataset: nativeFingerprint, geometry }).slice(0, 20);
  const existing = await datasetDescriptor(deps, fingerprint);
  if (existing) return { info: infoOf(existing), legacy };
  const splits: DatasetDescriptor['splits'] = {};
  for (const split of ['train', 'test']) {
    const set = await loadBuiltinSplit(deps, split, name);
    const classCounts = provider.classes.map(() => 0);
    for (const label of set.labels) classCounts[label]!++;
    splits[split] = { count: set.count, classCounts };
  }
  const descriptor: DatasetDescriptor = {
    format: DATASET_DESCRIPTOR_FORMAT,
    fingerprint,
    title: legacy ? provider.title : `${provider.title} at ${geometryLabel(geometry)}`,
    classes: [...provider.classes],
    geometry,
    origin: { kind: 'builtin', dataset: name, nativeFingerprint, nativeGeometry },
    splits,
  };
  await writeDescriptor(deps.store, descriptor);
  return { info: infoOf(descriptor), legacy };
}

/** The largest N must fit the real pool (half the training split; the other half is the generators'). */
export function checkSizesFit(spec: SweepSpec, info: DatasetInfo): void {
  const train = info.splits.train?.count ?? 0;
  const pool = train - Math.floor(train / 2);
  const largest = Math.max(...spec.sizes);
  const needsReal = spec.sources.some((s) => s.kind === 'real' || s.kind === 'control' || s.kind === 'mixed');
  if (needsReal && largest > pool) {
    throw new Error(
      `sizes: the largest N (${largest}) exceeds the real pool of ${info.title} (${pool} images: half of its ${train} training images; the other half is the generators'). ` +
        `Fix: use sizes up to ${pool}, or a dataset with at least ${2 * largest} training images`,
    );
  }
}
