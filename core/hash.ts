// Content addressing: artifact keys derive from a hash of everything that determines them.
import { createHash } from 'node:crypto';

/** JSON with sorted object keys, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Short, stable id of a stage's inputs: stage name + code version + config + upstream hashes. */
export function inputHash(stage: string, codeVersion: string, inputs: unknown): string {
  return sha256Hex(canonicalJson({ stage, codeVersion, inputs })).slice(0, 20);
}
