// How a large sweep's sources are laid out in the report: the spec's factors they vary along
// (prompt strategy, CFG scale, generator), read from each source's spec entry, and groups of
// sources whose images are identical (the same image digest, image-digest.ts), shown once.
import { GENERATOR_PRESETS } from '../../contracts/spec/generator-presets.js';
import type { SourceSummary } from '../../contracts/types.js';

export type FactorName = 'generator' | 'strategy' | 'cfg';

export const FACTOR_LABEL: Record<FactorName, string> = { generator: 'generator', strategy: 'prompts', cfg: 'CFG' };

/** A group of sources with identical images: the first is shown, the others are named with it. */
export interface SameImagesGroup {
  members: string[];
  /** "a = b = c" */
  label: string;
  /** Why they can be identical, from the factors they differ in. */
  note: string;
}

export interface ReportLayout {
  /** Per synthetic source, its value of each factor (the generator as a short label). */
  factors: Map<string, Record<FactorName, string>>;
  /** The factors along which the synthetic sources vary (the others split nothing). */
  varying: FactorName[];
  groups: SameImagesGroup[];
  /** A source name -> its row label: "a = b = c" for a group's first member. */
  label(source: string): string;
  /** False for a group's other members: their rows and curves are the first member's. */
  shown(source: string): boolean;
}

type SpecSourceEntry = { name?: unknown; kind?: unknown; cfgScale?: unknown; prompts?: { strategy?: unknown }; generator?: Record<string, unknown> };

function specSources(spec: unknown): SpecSourceEntry[] {
  const sources = (spec as { sources?: unknown } | null)?.sources;
  return Array.isArray(sources) ? (sources.filter((s) => s !== null && typeof s === 'object') as SpecSourceEntry[]) : [];
}

/** The value as a short string (objects as compact key=value lists). */
function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value).slice(0, 40);
  return String(value);
}

/**
 * Generators as short labels: the fields in which a source's generator differs from the most common
 * one among the synthetic sources ("default" for that one, or the name when the names differ).
 */
function generatorLabels(entries: SpecSourceEntry[]): Map<SpecSourceEntry, string> {
  const key = (e: SpecSourceEntry) => JSON.stringify(e.generator ?? {});
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  const common = [...counts.entries()].sort((p, q) => q[1] - p[1])[0]?.[0] ?? '{}';
  const base = JSON.parse(common) as Record<string, unknown>;
  return new Map(
    entries.map((e) => {
      if (key(e) === common) return [e, 'default'];
      const g = e.generator ?? {};
      // A preset is its name, and what is given beside it; another family is its name.
      const preset = typeof g.preset === 'string' ? (GENERATOR_PRESETS as Record<string, { spec: Record<string, unknown> }>)[g.preset] : undefined;
      if (preset) return [e, [g.preset as string, ...Object.keys(g).filter((k) => k !== 'preset' && show(g[k]) !== show(preset.spec[k])).map((k) => `${k} ${show(g[k])}`)].join(', ')];
      if (base.name !== undefined && g.name !== undefined && g.name !== base.name) return [e, show(g.name)];
      const fields = [...new Set([...Object.keys(base), ...Object.keys(g)])].filter((k) => show(g[k]) !== show(base[k]));
      return [e, fields.map((k) => (k === 'name' ? show(g[k]) || 'default' : `${k} ${show(g[k]) || '—'}`)).join(', ')];
    }),
  );
}

/** Why sources that differ in `factors` may make the same images. */
function sameImagesNote(differ: FactorName[]): string {
  if (differ.length === 1 && differ[0] === 'strategy') return 'same images: the generator ignores the prompt';
  if (differ.length === 1 && differ[0] === 'cfg') return 'same images: the generator ignores the CFG scale';
  return 'same images';
}

/**
 * The layout of `sources`: factors from the spec's source entries (`spec` as the report meta holds
 * it), groups from `imageDigests` (source name -> digest of its images; sources without one are never grouped).
 */
export function reportLayout(sources: readonly SourceSummary[], spec: unknown, imageDigests: Readonly<Record<string, string>> = {}): ReportLayout {
  const entries = specSources(spec).filter((e) => e.kind === 'synthetic' && typeof e.name === 'string');
  const generators = generatorLabels(entries);
  const factors = new Map<string, Record<FactorName, string>>();
  for (const e of entries) {
    const summary = sources.find((s) => s.name === e.name);
    if (!summary) continue;
    factors.set(summary.name, {
      generator: generators.get(e)!,
      strategy: show(e.prompts?.strategy ?? summary.promptStrategy) || '—',
      cfg: show(e.cfgScale ?? summary.cfgScale) || '—',
    });
  }
  const values = (f: FactorName) => new Set([...factors.values()].map((v) => v[f]));
  const varying = (['generator', 'strategy', 'cfg'] as const).filter((f) => values(f).size > 1);

  const byDigest = new Map<string, string[]>();
  for (const s of sources) {
    const digest = imageDigests[s.name];
    if (digest === undefined || s.kind === 'mixed') continue;
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), s.name]);
  }
  const groups: SameImagesGroup[] = [...byDigest.values()]
    .filter((members) => members.length > 1)
    .map((members) => {
      const first = factors.get(members[0]!);
      const differ = first ? varying.filter((f) => members.some((m) => factors.get(m)?.[f] !== first[f])) : [];
      return { members, label: members.join(' = '), note: sameImagesNote(differ) };
    });
  const groupOf = new Map(groups.flatMap((g) => g.members.map((m) => [m, g] as const)));
  return {
    factors,
    varying,
    groups,
    label: (source) => (groupOf.get(source)?.members[0] === source ? groupOf.get(source)!.label : source),
    shown: (source) => {
      const g = groupOf.get(source);
      return !g || g.members[0] === source;
    },
  };
}

/** The layout without factors or groups (a caller without the spec): every source on its own. */
export function flatLayout(): ReportLayout {
  return { factors: new Map(), varying: [], groups: [], label: (s) => s, shown: () => true };
}
