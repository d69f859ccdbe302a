// Generous sanity bounds for untrusted model headers (the spec allows <= 4 layers of <= 4096).
import { CorruptModelError } from '../container.js';

export { MAX_CLASSES } from '../../datasets/image-set.js';

export const MAX_LAYERS = 16;
export const MAX_WIDTH = 65536;
export const MAX_PARAMS = 1 << 28;

/** Throws `ErrorType` unless `hidden` is up to MAX_LAYERS widths in [1, MAX_WIDTH]. */
export function checkHidden(hidden: unknown, what: string, ErrorType: new (m: string) => Error = CorruptModelError): asserts hidden is number[] {
  if (!Array.isArray(hidden) || hidden.length > MAX_LAYERS || !hidden.every((u) => Number.isInteger(u) && (u as number) >= 1 && (u as number) <= MAX_WIDTH)) {
    throw new ErrorType(`${what}: hidden must be up to ${MAX_LAYERS} integers in [1, ${MAX_WIDTH}], got ${JSON.stringify(hidden)?.slice(0, 200)}`);
  }
}
