// Zod's issues made into SpecIssues a person can act on: a union's failure is the failure of the
// branch the input meant, an unknown key or value gets "did you mean" when a known one is close,
// list entries are named by their `name`, and each issue is positioned when the spec came from text.
import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { printable, quoted } from '../../core/text/printable.js';
import { MAX_KEPT_ISSUES, type SpecIssue } from './errors.js';

export type IssuePath = (string | number)[];
/** Where a path's value (or, with 'key', its key) sits in the spec's text; undefined when not from text. */
export type Locate = (path: IssuePath, at: 'key' | 'value') => { line: number; column: number } | undefined;

interface ZodIssueLike {
  code?: string;
  expected?: string;
  origin?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  options?: unknown[];
  errors?: ZodIssueLike[][];
}

interface FlatIssue extends ZodIssueLike {
  path: IssuePath;
}

/** A zod schema seen through its definition (zod 4's `_zod.def`), for finding an object's known keys. */
interface SchemaLike {
  _zod: { def: { type: string } & Record<string, unknown> };
}

/**
 * The issues of a failed parse of `raw` against `schema`, each named, positioned and escaped: the
 * first MAX_KEPT_ISSUES of them (a list over its cap first), and how many there were in all.
 */
export function specIssuesOf(
  schema: z.ZodType,
  issues: readonly ZodIssueLike[],
  raw: unknown,
  locate: Locate = () => undefined,
): { issues: SpecIssue[]; total: number } {
  const all = flattenUnions(issues, [], raw);
  const overCap = (i: ZodIssueLike) => i.code === 'too_big' && i.origin === 'array';
  const flat = [...all.filter(overCap), ...all.filter((i) => !overCap(i))].slice(0, MAX_KEPT_ISSUES);
  const suggestedKeys = new Set<string>();
  const out: { path: IssuePath; at: 'key' | 'value'; message: string; suggestion?: string }[] = [];
  for (const issue of flat) {
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      const known = knownKeys(schema as unknown as SchemaLike, issue.path, raw);
      for (const key of issue.keys) {
        const suggestion = closestOf(key, known);
        if (suggestion !== undefined) suggestedKeys.add(JSON.stringify([...issue.path, suggestion]));
        const hint = suggestion !== undefined ? `; did you mean '${suggestion}'?` : known.length ? ` (known keys here: ${known.join(', ')})` : '';
        out.push({ path: [...issue.path, key], at: 'key', message: `unknown key ${quoted(key)}${hint}`, ...(suggestion !== undefined ? { suggestion } : {}) });
      }
      continue;
    }
    const value = valueAt(raw, issue.path);
    if (!value.found && isMissingKey(issue, raw)) {
      out.push({ path: issue.path, at: 'value', message: missingMessage(schema as unknown as SchemaLike, issue, raw) });
      continue;
    }
    const choices = issue.values ?? issue.options;
    const suggestion = choices && typeof value.value === 'string' ? closestOf(value.value, choices.map(String)) : undefined;
    const hint = suggestion !== undefined ? `; did you mean '${suggestion}'?` : '';
    out.push({ path: issue.path, at: 'value', message: printable(issue.message) + hint, ...(suggestion !== undefined ? { suggestion } : {}) });
  }
  // A misspelt required key also reports the correct key as missing: the suggestion says it all.
  const kept = out.filter((i) => !(i.at === 'value' && suggestedKeys.has(JSON.stringify(i.path)) && !valueAt(raw, i.path).found));
  const named = kept.map((i) => ({ path: displayPath(i.path, raw), message: i.message, ...positionOf(locate(i.path, i.at)), ...(i.suggestion !== undefined ? { suggestion: i.suggestion } : {}) }));
  return { issues: named, total: named.length + Math.max(0, all.length - flat.length) };
}

/** A required key absent from an object the input has (not a value of the wrong type). */
function isMissingKey(issue: FlatIssue, raw: unknown): boolean {
  if (issue.path.length === 0 || !['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code ?? '')) return false;
  const parent = valueAt(raw, issue.path.slice(0, -1));
  return parent.found && parent.value !== null && typeof parent.value === 'object';
}

/** "missing: <the field's description>" or "missing (expected a number)". */
function missingMessage(schema: SchemaLike, issue: FlatIssue & { expected?: string }, raw: unknown): string {
  const field = fieldSchemas(schema, issue.path, raw).find((s) => (s as { description?: string }).description);
  const description = (field as { description?: string } | undefined)?.description;
  if (description) return `missing: ${description}`;
  return issue.code === 'invalid_type' && issue.expected ? `missing (expected ${issue.expected})` : 'missing';
}

function positionOf(pos: { line: number; column: number } | undefined): Pick<SpecIssue, 'line' | 'column'> {
  return pos ? { line: pos.line, column: pos.column } : {};
}

/**
 * A union reports one list of issues per branch. The branches the input cannot be (a type
 * mismatch at the union itself: an object where a name was wanted) are dropped; of the rest, the
 * one whose issues lie deepest inside it (then the fewest) is what the input meant. When every
 * branch left fails at the union itself (1 | 3 given 4), the union is reported with all it accepts.
 */
function flattenUnions(issues: readonly ZodIssueLike[], prefix: IssuePath, raw: unknown): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    // A missing value fits no branch: it is reported as missing, with the field's description.
    const branches = issue.code === 'invalid_union' && valueAt(raw, path).found ? (issue.errors ?? []) : [];
    const plausible = branches.filter((b) => b.length > 0 && !b.some((i) => i.path.length === 0 && i.code === 'invalid_type'));
    // Failing at the union itself: the wrong type or value there (an unknown key there means the type fit).
    const atUnion = (b: ZodIssueLike[]) => b.some((i) => i.path.length === 0 && i.code !== 'unrecognized_keys');
    const meant = plausible.length === 1 ? plausible[0] : plausible.filter((b) => !atUnion(b)).sort((a, b) => a.length - b.length)[0];
    if (meant) out.push(...flattenUnions(meant, path, raw));
    else if (branches.length > 0) out.push(unionIssue(issue, branches, path));
    else out.push({ ...issue, path });
  }
  return out;
}

/** One issue for a union no branch of which the input fits: the values it accepts, or what each branch expected. */
function unionIssue(issue: ZodIssueLike, branches: ZodIssueLike[][], path: IssuePath): FlatIssue {
  const atUnion = branches.flatMap((b) => b.filter((i) => i.path.length === 0));
  const values = atUnion.every((i) => i.code === 'invalid_value' && i.values) ? [...new Set(atUnion.flatMap((i) => i.values!))] : [];
  if (values.length > 0) return { ...issue, path, code: 'invalid_value', values, message: `Invalid option: expected one of ${values.map((v) => JSON.stringify(v)).join('|')}` };
  const expected = [...new Set(atUnion.map((i) => i.message))];
  return { ...issue, path, message: expected.length ? `${issue.message}: ${expected.join('; or ')}` : issue.message };
}

/** The known value closest to `input`, when close enough to be a misspelling (case aside, at most one edit per three characters). */
export function closestOf(input: string, known: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate === input) continue;
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.ceil(Math.max(input.length, best.length) / 3) ? best : undefined;
}

/** The value at `path` in the raw input, and whether it is there at all. */
export function valueAt(raw: unknown, path: IssuePath): { found: boolean; value: unknown } {
  let node = raw;
  for (const seg of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, seg)) return { found: false, value: undefined };
    node = (node as Record<string | number, unknown>)[seg];
  }
  return { found: true, value: node };
}

const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A list entry's name, when it has one that no other entry of the list shares. */
function entryName(list: unknown, index: number): string | undefined {
  if (!Array.isArray(list)) return undefined;
  const name = (list[index] as { name?: unknown } | null | undefined)?.name;
  if (typeof name !== 'string' || !ENTRY_NAME.test(name)) return undefined;
  return list.filter((e) => (e as { name?: unknown } | null)?.name === name).length === 1 ? name : undefined;
}

/** "sources[syn-cfg2].cfgScale": named list entries by name, others by index ("sizes.0"); "(root)" for the spec itself. */
export function displayPath(path: IssuePath, raw: unknown): string {
  let out = '';
  let node = raw;
  for (const seg of path) {
    const name = typeof seg === 'number' ? entryName(node, seg) : undefined;
    if (name !== undefined) out += `[${name}]`;
    else out += `${out ? '.' : ''}${printable(String(seg), 60)}`;
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  }
  return out || '(root)';
}

// ---- the known keys of the object schema at a path (the input's own values pick union branches)

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** The schemas `schema` may stand for, given the input value: wrappers unwrapped, union branches picked by discriminator. */
function concrete(schema: SchemaLike, value: unknown, depth = 0): SchemaLike[] {
  const def = schema._zod.def;
  if (depth > 32) return [];
  if (WRAPPERS.has(def.type)) return concrete(def.innerType as SchemaLike, value, depth + 1);
  if (def.type === 'pipe') return [...concrete(def.in as SchemaLike, value, depth + 1), ...concrete(def.out as SchemaLike, value, depth + 1)];
  if (def.type === 'lazy') return concrete((def.getter as () => SchemaLike)(), value, depth + 1);
  if (def.type === 'union') {
    const options = def.options as SchemaLike[];
    const disc = def.discriminator as string | undefined;
    const tag = disc && value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[disc] : undefined;
    const picked = disc && tag !== undefined ? options.filter((o) => discriminatorValues(o, disc).includes(tag)) : options;
    return (picked.length ? picked : options).flatMap((o) => concrete(o, value, depth + 1));
  }
  return [schema];
}

function discriminatorValues(option: SchemaLike, disc: string): unknown[] {
  const def = option._zod.def;
  if (def.type !== 'object') return [];
  const field = (def.shape as Record<string, SchemaLike>)[disc];
  const fieldDef = field?._zod.def;
  return fieldDef?.type === 'literal' ? (fieldDef.values as unknown[]) : [];
}

function childSchemas(schema: SchemaLike, seg: string | number, value: unknown): SchemaLike[] {
  return concrete(schema, value).flatMap((s) => {
    const def = s._zod.def;
    if (def.type === 'object') {
      const child = (def.shape as Record<string, SchemaLike>)[String(seg)];
      return child ? [child] : [];
    }
    if (def.type === 'array') return [def.element as SchemaLike];
    if (def.type === 'record') return [def.valueType as SchemaLike];
    return [];
  });
}

/** The schemas of the field at `path` (several where a union's branch cannot be told). */
function fieldSchemas(schema: SchemaLike, path: IssuePath, raw: unknown): SchemaLike[] {
  let schemas = [schema];
  for (const [i, seg] of path.entries()) {
    const value = valueAt(raw, path.slice(0, i)).value;
    schemas = schemas.flatMap((s) => childSchemas(s, seg, value));
  }
  return schemas;
}

/** The keys the object schema at `path` knows, in declaration order. */
function knownKeys(schema: SchemaLike, path: IssuePath, raw: unknown): string[] {
  const value = valueAt(raw, path).value;
  const objects = fieldSchemas(schema, path, raw).flatMap((s) => concrete(s, value));
  return [...new Set(objects.flatMap((s) => (s._zod.def.type === 'object' ? Object.keys(s._zod.def.shape as object) : [])))];
}
