// The binary container of both model formats (classifier 'SSCM'/'SSCK', CLIP 'SSCL'/'SSCC'):
// 4-byte magic, uint32 LE header length, UTF-8 JSON header, zero padding to a multiple of 4, then
// float32 little-endian sections whose sizes the header determines exactly. Readers treat the bytes
// as untrusted: every size is bounded and checked before use.

export class CorruptModelError extends Error {
  readonly code = 'E_CORRUPT_MODEL';
}

const pad4 = (n: number) => (n + 3) & ~3;

export function writeContainer(magic: string, header: unknown, sections: Float32Array[], maxHeaderBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > maxHeaderBytes) throw new Error(`${magic}: header of ${json.length} bytes exceeds ${maxHeaderBytes}`);
  const payloadOffset = pad4(8 + json.length);
  const floats = sections.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(payloadOffset + 4 * floats);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = magic.charCodeAt(i);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  let offset = payloadOffset;
  for (const section of sections) {
    for (let i = 0; i < section.length; i++, offset += 4) view.setFloat32(offset, section[i]!, true);
  }
  return out;
}

export function readContainer(
  bytes: Uint8Array,
  magic: string,
  what: string,
  maxHeaderBytes: number,
): { header: Record<string, unknown>; view: DataView; payloadOffset: number } {
  if (!(bytes instanceof Uint8Array)) throw new CorruptModelError(`${what}: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) throw new CorruptModelError(`${what}: only ${bytes.length} bytes, too short for a header`);
  const found = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (found !== magic) throw new CorruptModelError(`${what}: bad magic ${JSON.stringify(found)}, expected ${JSON.stringify(magic)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (headerLength > maxHeaderBytes || 8 + headerLength > bytes.length) {
    throw new CorruptModelError(`${what}: header length ${headerLength} is invalid for ${bytes.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new CorruptModelError(`${what}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new CorruptModelError(`${what}: header is not a JSON object`);
  return { header: header as Record<string, unknown>, view, payloadOffset: pad4(8 + headerLength) };
}

export function readFloatSections(view: DataView, offset: number, sizes: number[]): Float32Array[] {
  return sizes.map((size) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++, offset += 4) out[i] = view.getFloat32(offset, true);
    return out;
  });
}
