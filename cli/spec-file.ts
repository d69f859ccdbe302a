// Reading a spec file: the one place a spec comes from disk (contracts/ does no I/O). The file is
// checked before a byte is read: a regular file of at most MAX_SPEC_BYTES, so a device, a FIFO or a
// huge file is refused at once, and its bytes must be UTF-8.
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseSpecText, SpecError, type SweepSpec } from '../contracts/spec/sweep.js';
import type { ImportedDatasetSpec } from '../contracts/spec/datasets.js';
import { printable } from '../core/text/printable.js';

/** A sweep spec is a few KB (specs/paper.yaml, the largest here, is about 6 KB). */
export const MAX_SPEC_BYTES = 1024 * 1024;

export async function loadSpecFile(path: string): Promise<SweepSpec> {
  return withAbsolutePaths(parseSpecText(await readSpecFile(path), path));
}

/** The spec file's text: refused unless a regular file of at most MAX_SPEC_BYTES holding UTF-8. */
export async function readSpecFile(path: string): Promise<string> {
  const shown = printable(path, 200);
  refuseUnlessSpecSized(shown, await statOf(path, shown));
  // O_NONBLOCK: if the path became a FIFO since the stat, open returns at once instead of waiting for a writer.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    refuseUnlessSpecSized(shown, await handle.stat());
    const buffer = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SPEC_BYTES) throw new SpecError(`${shown} grew past ${formatBytes(MAX_SPEC_BYTES)} while being read; a spec may be at most ${formatBytes(MAX_SPEC_BYTES)}`, []);
    }
    return decodeUtf8(buffer.subarray(0, length), shown);
  } finally {
    await handle.close();
  }
}

async function statOf(path: string, shown: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : printable((err as Error).message, 200);
    throw new SpecError(`${shown}: ${why}; give the path of a sweep spec (.yaml or .json), e.g. specs/demo.yaml`, []);
  }
}

function refuseUnlessSpecSized(shown: string, info: Stats): void {
  if (!info.isFile()) {
    throw new SpecError(`${shown} is not a regular file (it is ${fileKind(info)}); give the path of a sweep spec (.yaml or .json), e.g. specs/demo.yaml`, []);
  }
  if (info.size > MAX_SPEC_BYTES) {
    throw new SpecError(`${shown} is ${formatBytes(info.size)} (${info.size} bytes); a spec may be at most ${formatBytes(MAX_SPEC_BYTES)} (a sweep spec is a few KB)`, []);
  }
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) [value, unit] = [value / 1024, unit + 1];
  return unit === 0 ? `${value} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** Strict UTF-8 (a leading BOM is dropped); the first bad byte is reported with its line and column. */
function decodeUtf8(bytes: Uint8Array, shown: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = Math.max(0, firstInvalidUtf8(bytes));
    const lineStart = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, '0');
    throw new SpecError(`${shown}:${line}:${offset - lineStart + 1}: not UTF-8 text (byte 0x${byte} at offset ${offset}); save the spec as UTF-8`, [
      { path: '(root)', message: 'not UTF-8 text', line, column: offset - lineStart + 1 },
    ]);
  }
}

/** Offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const [length, min, max] = utf8Sequence(bytes[i]!);
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? min : 0x80) || c > (k === 1 ? max : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}

/**
 * The length of the sequence a lead byte starts and the range of its second byte, narrowed so
 * that overlong forms, surrogates and code points past U+10FFFF are refused; [0] for a bad lead.
 */
function utf8Sequence(lead: number): [number, number, number] {
  if (lead < 0x80) return [1, 0, 0];
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf];
  if (lead === 0xed) return [3, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf];
  if (lead === 0xf0) return [4, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f];
  return [0, 0, 0];
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
