// The two shard layouts `shards check` knows, as the readers that import them see them: the rules
// mirror pairs.ts (img2dataset: image + caption + optional metadata; what a real-pairs source
// imports) and webdataset.ts (synthscale's own: `{key}.png` + `{key}.json` with a label), and so do
// the messages, so a check names a problem in the words the import would fail with.
import { DEFAULT_PAIR_SHARD_LIMITS, normalizeCaption, pairMetaOf } from './pairs.js';
import { unsafeName } from './tar.js';

export type ShardLayoutName = 'img2dataset' | 'webdataset';
export type PartKind = 'image' | 'caption' | 'meta';

/** One file of a sample, by its name. */
export interface EntryPlan {
  key: string;
  /** The slot it fills in its sample (image, txt, json, png). */
  part: string;
  kind: PartKind;
  ext: string;
  maxBytes: number;
}

export interface CheckLayout {
  label(name: string): string;
  classify(name: string): EntryPlan | { skip: string } | { refuse: string };
  skipDirectories: boolean;
  notAFile(label: string, type: string): string;
  tooBig(plan: EntryPlan, label: string, size: number): string;
  duplicate(plan: EntryPlan, label: string, firstExt: string): string;
  /** Parts a sample must have: the message for the first one missing, given the parts present. */
  missing(parts: ReadonlySet<string>, key: string): string | undefined;
  /** Why a caption's bytes are refused, 'empty' (sample skipped, counted), or undefined. */
  caption(bytes: Uint8Array): string | 'empty' | undefined;
  /** Why a metadata file is refused, or undefined. */
  meta(bytes: Uint8Array): string | undefined;
  /** Image formats the layout reads. */
  imageFormats: ReadonlySet<string>;
}

const PAIR_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const PAIR_IMAGE_EXTS: ReadonlySet<string> = new Set(['jpg', 'jpeg', 'png', 'webp']);
const OUR_ENTRY = /^([a-z0-9][a-z0-9_-]{0,127})\.(png|json)$/;
const utf8 = () => new TextDecoder('utf-8', { fatal: true });

/** `{key}.json` of a pair: a JSON object, read as pairs.ts reads it. */
function pairMetaProblem(bytes: Uint8Array): string | undefined {
  const parsed = pairMetaOf(bytes);
  return 'problem' in parsed ? parsed.problem : undefined;
}

const img2dataset: CheckLayout = {
  label: (name) => name,
  skipDirectories: true,
  imageFormats: new Set(['png', 'jpeg', 'webp']),
  classify(raw) {
    const unsafe = unsafeName(raw);
    if (unsafe) return { refuse: `entry "${raw}" refused: ${unsafe}` };
    const name = raw.replace(/^\.\//, '');
    if (name.includes('/')) return { refuse: `entry "${raw}" refused: name in a subdirectory; img2dataset writes flat names such as "000000000.jpg"` };
    const dot = name.indexOf('.');
    const key = dot < 0 ? name : name.slice(0, dot);
    if (!PAIR_KEY.test(key)) return { refuse: `entry "${raw}" refused: key must be 1-128 of [A-Za-z0-9_-], starting with a letter or digit` };
    const ext = dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
    const lim = DEFAULT_PAIR_SHARD_LIMITS;
    if (PAIR_IMAGE_EXTS.has(ext)) return { key, part: 'image', kind: 'image', ext, maxBytes: lim.maxImageBytes };
    if (ext === 'txt') return { key, part: 'txt', kind: 'caption', ext, maxBytes: lim.maxCaptionBytes };
    if (ext === 'json') return { key, part: 'json', kind: 'meta', ext, maxBytes: lim.maxJsonBytes };
    return { skip: ext || '(none)' };
  },
  notAFile: (_label, type) => `entry is a ${type}, expected a regular file`,
  tooBig: (plan, name, size) => `${name} is ${size} bytes, over the ${{ image: 'image', caption: 'caption', meta: 'metadata' }[plan.kind]} cap of ${plan.maxBytes}`,
  duplicate: (plan, _name, firstExt) => (plan.part === 'image' ? `two images (.${firstExt} and .${plan.ext})` : `duplicate .${plan.part}`),
  missing(parts, key) {
    if (!parts.has('image')) return `${parts.has('txt') ? 'caption' : 'metadata'} without an image (.jpg, .jpeg, .png or .webp)`;
    if (!parts.has('txt')) return `image without a caption (${key}.txt)`;
    return undefined;
  },
  caption(bytes) {
    try {
      return normalizeCaption(utf8().decode(bytes)).length === 0 ? 'empty' : undefined;
    } catch {
      return 'caption is not valid UTF-8';
    }
  },
  meta: pairMetaProblem,
};

/** Our own shards' metadata: what webdataset.ts validateMeta requires. */
function ourMetaProblem(bytes: Uint8Array): string | undefined {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return 'metadata is not valid JSON';
  }
  if (!m || typeof m !== 'object') return 'metadata is not an object';
  if (!Number.isInteger(m.label) || (m.label as number) < 0 || (m.label as number) > 9999) return 'metadata.label must be a non-negative integer';
  if (!Number.isInteger(m.index) || (m.index as number) < 0) return 'metadata.index must be a non-negative integer';
  if (typeof m.source !== 'string' || typeof m.className !== 'string') return 'metadata.source and metadata.className must be strings';
  return undefined;
}

const webdataset: CheckLayout = {
  label: (name) => JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}...` : name),
  skipDirectories: false,
  imageFormats: new Set(['png']),
  classify(name) {
    const match = OUR_ENTRY.exec(name);
    if (!match) return { refuse: `unexpected entry name ${JSON.stringify(name)}: expected {key}.png or {key}.json, key 1-128 of [a-z0-9_-]` };
    const ext = match[2]!;
    return { key: match[1]!, part: ext, kind: ext === 'png' ? 'image' : 'meta', ext, maxBytes: 1024 * 1024 };
  },
  notAFile: (label, type) => `entry ${label} is a ${type}, expected a regular file`,
  tooBig: (plan, label, size) => `entry ${label} declares ${size} bytes, limit ${plan.maxBytes}`,
  duplicate: (plan, label) => `duplicate entry ${label} (a second .${plan.part} for the key)`,
  missing: (parts) => (parts.has('png') && parts.has('json') ? undefined : `sample lacks its ${parts.has('png') ? '.json' : '.png'}`),
  caption: () => undefined,
  meta: ourMetaProblem,
};

export const CHECK_LAYOUTS: Readonly<Record<ShardLayoutName, CheckLayout>> = { img2dataset, webdataset };

/**
 * Which layout a shard's first entry names suggest: any caption file means img2dataset; only
 * `{key}.png` / `{key}.json` over at least two keys (a whole first sample without a caption) means
 * synthscale's own; anything else is read as img2dataset, the layout real-pairs sources import.
 */
export function guessLayout(names: readonly string[]): ShardLayoutName {
  if (names.some((n) => n.toLowerCase().endsWith('.txt'))) return 'img2dataset';
  const ours = names.map((n) => OUR_ENTRY.exec(n));
  const keys = new Set(ours.map((m) => m?.[1]));
  return ours.every((m) => m !== null) && keys.size >= 2 ? 'webdataset' : 'img2dataset';
}
