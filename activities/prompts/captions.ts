// Captions of real images, from a file: JSON lines or plain text, one caption per line. A JSON
// line is a string (a caption for any class) or an object {"caption": "...", "class": name or
// index} (extra keys such as an image id are ignored). A class draws from its own captions when
// it has any, else from the class-less ones. The file is external input: its size is checked
// before it is read, it must be UTF-8, and each caption is cleaned and length-capped.
// The `captions` strategy combines them with the class name as "{class}, {caption}"; without a
// file, a built-in captioner (grammar.ts) describes an imagined catalogue photo of the class.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fashionMnistClassInfo } from '../../core/datasets/fashion-mnist-classes.js';
import { PromptConfigError, type PromptConfigOf } from '../../contracts/spec/prompts.js';
import { builtInCaption } from '../../core/text/grammar.js';
import type { PromptStrategy } from './types.js';

export const MAX_CAPTION_CHARS = 300;

export class CaptionsError extends Error {
  readonly code = 'E_CAPTIONS';
}

export interface CaptionPools {
  /** Captions with no class, used by classes that have none of their own. */
  global: string[];
  /** Per class index. */
  perClass: string[][];
  /** Lines dropped: empty after cleaning, too long, or for a class not in the list. */
  skipped: number;
}

/** A path (relative to the worker's working directory) or a file:// URI. */
export function captionsPath(fileOrUri: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(fileOrUri)) {
    if (!fileOrUri.startsWith('file://')) throw new CaptionsError(`captions file "${fileOrUri}": only local paths and file:// URIs are supported`);
    return fileURLToPath(fileOrUri);
  }
  return resolve(fileOrUri);
}

/** The file's bytes and sha256, refusing files over `maxBytes` before reading them. */
export async function readCaptionsFile(path: string, maxBytes: number): Promise<{ bytes: Buffer; sha256: string }> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (err) {
    throw new CaptionsError(`captions file ${path} is unreadable: ${(err as Error).message}`);
  }
  if (size > maxBytes) throw new CaptionsError(`captions file ${path} is ${size} bytes, over maxFileBytes (${maxBytes})`);
  const bytes = await readFile(path);
  if (bytes.byteLength > maxBytes) throw new CaptionsError(`captions file ${path} grew past maxFileBytes (${maxBytes}) while being read`);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function cleanCaption(raw: string): string {
  return raw.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

function classIndexOf(value: unknown, classes: readonly string[]): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value < classes.length ? value : -1;
  if (typeof value !== 'string') return -1;
  const exact = classes.indexOf(value);
  if (exact >= 0) return exact;
  const lower = value.toLowerCase();
  return classes.findIndex((c) => c.toLowerCase() === lower);
}

/** Parse captions; `format` 'auto' reads JSON lines when the first non-empty line starts with '{' or '"'. */
export function parseCaptions(bytes: Uint8Array, format: 'auto' | 'jsonl' | 'text', classes: readonly string[], origin: string): CaptionPools {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CaptionsError(`${origin} is not UTF-8 text`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const firstLine = lines.find((l) => l.trim().length > 0)?.trim() ?? '';
  const jsonl = format === 'jsonl' || (format === 'auto' && /^[{"]/.test(firstLine));
  const pools: CaptionPools = { global: [], perClass: classes.map(() => []), skipped: 0 };
  lines.forEach((line, i) => {
    if (line.trim().length === 0) return;
    let caption: unknown = line;
    let cls = -2; // -2: no class given
    if (jsonl) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        throw new CaptionsError(`${origin} line ${i + 1} is not JSON (use format: text for plain captions)`);
      }
      if (record && typeof record === 'object' && !Array.isArray(record)) {
        const r = record as { caption?: unknown; class?: unknown };
        caption = r.caption;
        if (r.class !== undefined) cls = classIndexOf(r.class, classes);
      } else caption = record;
      if (typeof caption !== 'string') throw new CaptionsError(`${origin} line ${i + 1}: want a string or {"caption": string, "class"?: name or index}`);
    }
    const cleaned = cleanCaption(caption as string);
    if (cleaned.length === 0 || cleaned.length > MAX_CAPTION_CHARS || cls === -1) {
      pools.skipped++;
      return;
    }
    (cls >= 0 ? pools.perClass[cls]! : pools.global).push(cleaned);
  });
  const missing = classes.filter((_, c) => pools.perClass[c]!.length === 0);
  if (pools.global.length === 0 && missing.length > 0) {
    throw new CaptionsError(`${origin} has no captions for ${missing.map((c) => `"${c}"`).join(', ')} and no class-less captions to fall back on`);
  }
  return pools;
}

type CaptionsConfig = PromptConfigOf<'captions'>;

async function loadFile(config: CaptionsConfig & { file: string }, field: string) {
  try {
    const path = captionsPath(config.file);
    return { path, ...(await readCaptionsFile(path, config.maxFileBytes)) };
  } catch (err) {
    throw new PromptConfigError(`${field}.file`, (err as Error).message);
  }
}

export const captions: PromptStrategy<'captions'> = {
  description: '"{class}, {caption}": captions of real images from a file, else from a built-in captioner',
  async fingerprint(config, ctx) {
    if (!config.file) return undefined;
    return { captionsSha256: (await loadFile({ ...config, file: config.file }, ctx.field ?? 'prompts')).sha256 };
  },
  async prepare(config, classes, _plan, ctx) {
    const field = ctx.field ?? 'prompts';
    if (!config.file) {
      return {
        provenance: {
          strategy: 'captions',
          source: 'built-in-captioner',
          summary: 'captions from the built-in captioner (colour, pattern, material, view; no captions file configured)',
        },
        textFor(classIndex, _index, rng) {
          const name = classes[classIndex]!;
          const info = fashionMnistClassInfo(name);
          return `${name}, ${builtInCaption(info?.noun ?? name.toLowerCase(), info?.category, rng)}`;
        },
      };
    }
    const file = await loadFile({ ...config, file: config.file }, field);
    let pools: CaptionPools;
    try {
      pools = parseCaptions(file.bytes, config.format, classes, file.path);
    } catch (err) {
      throw new PromptConfigError(`${field}.file`, (err as Error).message);
    }
    const total = pools.global.length + pools.perClass.reduce((n, p) => n + p.length, 0);
    return {
      provenance: {
        strategy: 'captions',
        source: 'captions-file',
        captionsFile: config.file,
        captionsSha256: file.sha256,
        captions: total,
        captionLinesSkipped: pools.skipped,
        summary: `captions from ${config.file} (${total} captions, sha256 ${file.sha256.slice(0, 12)})`,
      },
      textFor(classIndex, _index, rng) {
        const own = pools.perClass[classIndex]!;
        const from = own.length > 0 ? own : pools.global;
        return `${classes[classIndex]!}, ${from[rng.int(from.length)]!}`;
      },
    };
  },
};
