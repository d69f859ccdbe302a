// Which classes an imported dataset has, in which label order, and which class each folder or label
// names. Rules:
//   1. `classes` given (a list, or a file: one name per line, or LOC_synset_mapping.txt lines
//      'n01440764 tench, Tinca tinca' -> wnid n01440764, name 'tench', the first comma part; names
//      that repeat, as ImageNet's two 'crane's, get ' (wnid)' appended) -> that label order. wnids come
//      from the LOC file, else from `wnids` (same length, aligned).
//   2. no `classes` -> the sorted class folders (or, for shards, the sorted label names). Folders
//      named by wnid get names from a LOC-style `wnids` file when one is given; wnids are the folder
//      names when all are wnids, else `wnids` aligned with the sorted folders.
// A folder or label matches class i by its name, by classFolderName(name) (the filesystem-safe form
// `synthscale dataset export` writes, 'T-shirt/top' -> 'T-shirt_top'), or by its wnid. With
// `wanted` (an eval set's dataset: the sweep's classes) the names must be the same set; the label
// order becomes the wanted one.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { MAX_CLASSES } from '../../core/datasets/image-set.js';
import { shownName } from '../../core/datasets/imagefolder.js';
import { readExternalObject } from '../../core/external-object.js';
import { sha256Hex } from '../../core/hash.js';

export function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.invalidInput);
}

const WNID = /^n\d{8}$/;
const LOC_LINE = /^(n\d{8})\s+(\S.*)$/;
const MAX_LIST_FILE_BYTES = 4 * 1024 * 1024;

export interface ClassEntry {
  name: string;
  wnid?: string;
}

/** A `classes` or `wnids` value read: its entries, and a digest of what was given (for the listing key). */
export interface LoadedList {
  entries: ClassEntry[];
  digest: string;
}

export interface ResolvedClasses {
  classes: string[];
  wnids?: (string | null)[];
  /** Folder name / label name / wnid -> class index. */
  lookup: Map<string, number>;
}

/** A class name as a folder name: path separators, control and Windows-reserved characters become '_'; no leading dot. */
export function classFolderName(name: string): string {
  const safe = name.replace(/[/\\:*?"<>|\p{Cc}]/gu, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length)).trim();
  return safe === '' ? '_' : safe;
}

function checkName(name: string, where: string): string {
  if (name.length === 0 || name.length > 200 || /\p{Cc}/u.test(name)) throw badInput(`${where}: class name "${shownName(name, 60)}" must be 1-200 characters without control characters`);
  return name;
}

/** Entries of a classes text: LOC_synset_mapping lines, or one name per line ('#' comments and blank lines skipped). */
export function parseClassesText(text: string, where: string): ClassEntry[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length > 0 && lines.every((l) => LOC_LINE.test(l))) {
    const entries = lines.map((l) => {
      const [, wnid, rest] = LOC_LINE.exec(l)!;
      return { wnid: wnid!, name: checkName(rest!.split(',')[0]!.trim(), where) };
    });
    const counts = new Map<string, number>();
    for (const e of entries) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
    return entries.map((e) => (counts.get(e.name)! > 1 ? { ...e, name: `${e.name} (${e.wnid})` } : e));
  }
  return lines.map((l) => ({ name: checkName(l, where) }));
}

async function readListFile(location: string, where: string): Promise<string> {
  const uri = /^(file|gs):\/\//.test(location) ? location : pathToFileURL(resolve(location)).href;
  let bytes: Uint8Array;
  try {
    bytes = await readExternalObject(uri, { maxBytes: MAX_LIST_FILE_BYTES });
  } catch (err) {
    throw badInput(`${where}: cannot read ${shownName(location)} (${(err as Error).message}); give a list, or a file one entry per line`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badInput(`${where}: ${shownName(location)} is not UTF-8 text`);
  }
}

function checkCount(entries: ClassEntry[], where: string): void {
  if (entries.length < 2 || entries.length > MAX_CLASSES - 1) throw badInput(`${where}: ${entries.length} classes; 2 to ${MAX_CLASSES - 1} are supported`);
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw badInput(`${where}: class "${shownName(e.name)}" is listed twice`);
    names.add(e.name);
  }
}

/** The spec's `classes`: a list or a classes file. */
export async function loadClasses(value: string[] | string | undefined, where: string): Promise<LoadedList | undefined> {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? undefined : await readListFile(value, where);
  const entries = text === undefined ? (value as string[]).map((n) => ({ name: checkName(n.trim(), where) })) : parseClassesText(text, where);
  checkCount(entries, where);
  return { entries, digest: sha256Hex(JSON.stringify(text ?? value)) };
}

/** The spec's `wnids`: a list, or a file of wnids (bare, or LOC_synset_mapping lines, which also name them). */
export async function loadWnids(value: string[] | string | undefined, where: string): Promise<LoadedList | undefined> {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? undefined : await readListFile(value, where);
  const lines = text === undefined ? (value as string[]) : text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const entries = lines.map((line, i) => {
    const loc = LOC_LINE.exec(line);
    if (loc) return { wnid: loc[1]!, name: loc[2]!.split(',')[0]!.trim() };
    if (!WNID.test(line)) throw badInput(`${where}: entry ${i + 1} "${shownName(line, 60)}" is not a WordNet id like n01440764`);
    return { wnid: line, name: line };
  });
  return { entries, digest: sha256Hex(JSON.stringify(text ?? value)) };
}

function buildLookup(classes: string[], wnids: (string | null)[] | undefined, where: string): Map<string, number> {
  const lookup = new Map<string, number>();
  const add = (key: string, i: number) => {
    const j = lookup.get(key);
    if (j !== undefined && j !== i) throw badInput(`${where}: classes "${shownName(classes[j]!)}" and "${shownName(classes[i]!)}" both match the name "${shownName(key)}"`);
    lookup.set(key, i);
  };
  classes.forEach((name, i) => {
    add(name, i);
    add(classFolderName(name), i);
    const wnid = wnids?.[i];
    if (wnid) add(wnid, i);
  });
  return lookup;
}

/**
 * Classes by the rules in the header. `found`: the sorted class folders or label names (absent when
 * labels are integers and no `classes` is given: an error asking for `classes`).
 */
export function resolveClasses(found: string[] | undefined, classes: LoadedList | undefined, wnids: LoadedList | undefined, where: string): ResolvedClasses {
  let names: string[];
  let ids: (string | null)[] | undefined;
  if (classes) {
    names = classes.entries.map((e) => e.name);
    ids = classes.entries.some((e) => e.wnid) ? classes.entries.map((e) => e.wnid ?? null) : wnids?.entries.map((e) => e.wnid ?? null);
  } else {
    if (!found) throw badInput(`${where}.classes: the labels are class indices, so give the class names in label order (a list, or a classes file)`);
    const byWnid = new Map((wnids?.entries ?? []).map((e) => [e.wnid!, e.name]));
    const allWnids = found.length > 0 && found.every((f) => WNID.test(f));
    if (allWnids && wnids && wnids.entries.some((e) => e.name !== e.wnid)) {
      const unknown = found.filter((f) => !byWnid.has(f));
      if (unknown.length) throw badInput(`${where}.wnids: no name for ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} in the wnids file`);
      names = found.map((f) => byWnid.get(f)!);
      const counts = new Map<string, number>();
      for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
      names = names.map((n, i) => (counts.get(n)! > 1 ? `${n} (${found[i]})` : n));
    } else {
      names = [...found];
    }
    ids = allWnids ? [...found] : wnids?.entries.map((e) => e.wnid ?? null);
    checkCount(names.map((name) => ({ name })), `${where} (classes found)`);
  }
  if (ids && ids.length !== names.length) throw badInput(`${where}.wnids: ${ids.length} wnids for ${names.length} classes; give one per class, in class order`);
  return { classes: names, wnids: ids, lookup: buildLookup(names, ids, `${where}.classes`) };
}

/** Re-order to `wanted` (same names as a set, else fail naming the missing and extra classes). */
export function orderClasses(resolved: ResolvedClasses, wanted: string[] | undefined, role: string): ResolvedClasses {
  if (!wanted) return resolved;
  const have = new Set(resolved.classes);
  const want = new Set(wanted);
  const missing = wanted.filter((c) => !have.has(c));
  const extra = resolved.classes.filter((c) => !want.has(c));
  if (missing.length || extra.length || want.size !== wanted.length) {
    const list = (xs: string[]) => `[${xs.slice(0, 10).map((x) => shownName(x, 60)).join(', ')}${xs.length > 10 ? `, ... ${xs.length - 10} more` : ''}]`;
    throw badInput(`${role}: classes differ from the sweep's: missing ${list(missing)}, extra ${list(extra)}; the dataset must have exactly the sweep's classes (set its classes, or rename folders/labels)`);
  }
  const newIndex = resolved.classes.map((c) => wanted.indexOf(c));
  const wnids = resolved.wnids ? wanted.map((c) => resolved.wnids![resolved.classes.indexOf(c)]!) : undefined;
  const lookup = new Map([...resolved.lookup].map(([k, i]) => [k, newIndex[i]!]));
  return { classes: [...wanted], wnids, lookup };
}
