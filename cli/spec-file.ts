// Reading a spec file: the one place a spec comes from disk (contracts/ does no I/O).
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseSpecText, SpecError, type SweepSpec } from '../contracts/spec/sweep.js';
import type { ImportedDatasetSpec } from '../contracts/spec/datasets.js';

export async function loadSpecFile(path: string): Promise<SweepSpec> {
  const text = await readFile(path, 'utf8');
  if (text.length > 1024 * 1024) throw new SpecError(`${path} is larger than 1 MiB; a sweep spec is a few KB`, []);
  return withAbsolutePaths(parseSpecText(text, path));
}

/**
 * Local dataset paths in a spec (an image folder's root, a classes or wnids file) are made
 * absolute against the directory the command runs in, so workers started elsewhere find them
 * and a moved checkout cannot silently read other files. URIs (file://, gs://) stay as they are.
 */
export function withAbsolutePaths(spec: SweepSpec, cwd = process.cwd()): SweepSpec {
  const local = (p: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) || isAbsolute(p) ? p : resolve(cwd, p));
  const fix = (d: ImportedDatasetSpec): ImportedDatasetSpec => ({
    ...d,
    ...(d.kind === 'imagefolder' ? { root: local(d.root) } : {}),
    ...(typeof d.classes === 'string' ? { classes: local(d.classes) } : {}),
    ...(typeof d.wnids === 'string' ? { wnids: local(d.wnids) } : {}),
  });
  return {
    ...spec,
    dataset: typeof spec.dataset === 'string' ? spec.dataset : fix(spec.dataset),
    eval: spec.eval.map((e) => (e.dataset ? { ...e, dataset: fix(e.dataset) } : e)),
  };
}
