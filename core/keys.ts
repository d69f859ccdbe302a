// Storage keys from user-given names. A sweep id, a source or eval set name becomes part of an
// object key; keySegment is the one place such a name is checked, and it throws naming the field.
// Spec validation (core/spec.ts) already rejects these names, so a failure here means a caller
// skipped validation: refusing is right, encoding would hide that. storage.ts's assertSafeKey
// stays the last line of defence on every BlobStore path. Pure (no Node builtins): usable anywhere.

/** The alphabet of a key segment; storage.ts's key rule is these segments joined by '/'. */
export const KEY_SEGMENT_PATTERN = /^[A-Za-z0-9._=-]+$/;
/** Longest user-given segment. Keys are at most MAX_KEY_LENGTH. */
export const MAX_SEGMENT_LENGTH = 128;
export const MAX_KEY_LENGTH = 512;
/**
 * Longest segment of any key: a FileStore writes `<segment>.tmp-<pid>-<random>.sha256`, and file
 * names are at most 255 bytes.
 */
export const MAX_KEY_SEGMENT_LENGTH = 200;
/** FileStore writes `<key>.sha256` beside each object and `<key>.tmp-*` while writing. */
const RESERVED_SUFFIX = /\.sha256$|\.tmp-/;

export class UnsafeKeyError extends Error {
  readonly code = 'E_UNSAFE_KEY';
  constructor(
    /** The field the value came from (e.g. "sweepId", "sources.mixed.real"), or "key". */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Show a hostile value safely in a message: JSON-quoted, control characters escaped, bounded. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const clipped = text.length > 80 ? `${text.slice(0, 80)}...(${text.length} chars)` : text;
  return JSON.stringify(clipped).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Why `segment` (no '/') cannot be a key segment, or undefined when it can. */
function segmentProblem(segment: string, maxLength: number): string | undefined {
  if (segment === '') return 'it is empty';
  if (segment === '.' || segment === '..') return `"${segment}" is a relative path`;
  if (segment.length > maxLength) return `it is ${segment.length} characters, at most ${maxLength}`;
  if (segment.includes('/') || segment.includes('\\')) return 'it contains a path separator';
  if (/[\u0000-\u001f\u007f]/.test(segment)) return 'it contains a control character';
  if (!KEY_SEGMENT_PATTERN.test(segment)) return "use only letters, digits, '.', '_', '=' and '-'";
  if (RESERVED_SUFFIX.test(segment)) return "'.sha256' endings and '.tmp-' are reserved for the store's own files";
  return undefined;
}

/**
 * A user-given name as one storage key segment, unchanged, or an UnsafeKeyError naming `field`:
 * rejects '', '.', '..', separators ('/', '\'), NUL and control characters, absolute paths,
 * more than 128 characters and anything outside [A-Za-z0-9._=-].
 */
export function keySegment(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new UnsafeKeyError(field, `${field} must be a string to be part of a storage key, got ${typeof value}`);
  const problem = segmentProblem(value, MAX_SEGMENT_LENGTH);
  if (problem) throw new UnsafeKeyError(field, `${field} ${shown(value)} cannot be part of a storage key: ${problem}`);
  return value;
}

/** Why `key` is not a safe storage key, or undefined when it is. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `a key must be a string, got ${typeof key}`;
  if (key.length > MAX_KEY_LENGTH) return `it is ${key.length} characters, at most ${MAX_KEY_LENGTH}`;
  if (key.startsWith('/')) return 'it is absolute';
  for (const segment of key.split('/')) {
    const problem = segmentProblem(segment, MAX_KEY_SEGMENT_LENGTH);
    if (problem) return segment === '' ? 'it has an empty segment' : problem;
  }
  return undefined;
}

/** Throws UnsafeKeyError unless `key` is letters, digits, '.', '_', '=', '-' segments joined by '/'. */
export function assertKey(key: string, field = 'key'): void {
  const problem = keyProblem(key);
  if (problem) {
    throw new UnsafeKeyError(field, `unsafe storage key ${shown(key)}: ${problem} (use letters, digits, '.', '_', '=', '-' separated by '/')`);
  }
}

/**
 * Join key parts with '/'. A part may itself be a key ("sources/real-abc") or a segment from
 * keySegment; the result is checked as a whole, so no part can climb out or add empty segments.
 */
export function joinKey(...parts: string[]): string {
  if (parts.length === 0) throw new UnsafeKeyError('key', 'joinKey needs at least one part');
  const key = parts.join('/');
  assertKey(key);
  return key;
}
