// The container both embedded generator formats share (gmm/model-format.ts, denoiser/model-
// format.ts): 4 magic bytes, a uint32 format version, a uint32 header length, a JSON header, then
// 4-byte-aligned float32 arrays. Reading it is reading untrusted input: every length is checked
// against the data before it is used, and each format reports problems as its own error.

/** What a format names itself with, and how it fails. */
export interface ContainerFormat {
  magic: readonly number[];
  version: number;
  /** e.g. 'GMM', for "not a synthscale GMM model". */
  what: string;
  maxHeaderBytes: number;
  fail(message: string): never;
}

/** The header object and where the arrays after it start; throws through `format.fail`. */
export function readContainerHeader(bytes: Uint8Array, format: ContainerFormat): { header: Record<string, unknown>; view: DataView; dataStart: number } {
  const { fail } = format;
  if (!(bytes instanceof Uint8Array)) fail('input is not a Uint8Array');
  if (bytes.length < 12) fail(`${bytes.length} bytes is too short for a model`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== format.magic[i]) fail(`bad magic bytes (not a synthscale ${format.what} model)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== format.version) fail(`unsupported format version ${version} (this code reads ${format.version})`);
  const headerLength = view.getUint32(8, true);
  if (headerLength > format.maxHeaderBytes || 12 + headerLength > bytes.length) fail(`header length ${headerLength} exceeds the data`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('header is not an object');
  return { header: raw as Record<string, unknown>, view, dataStart: (12 + headerLength + 3) & ~3 };
}
