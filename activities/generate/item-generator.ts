// The per-item seam between the generation stage and a text-to-image backend (embedded or HTTP).
import type { Prompt } from '../../contracts/prompts.js';

/** One unit of work for a text-to-image backend. */
export interface GenerateItem {
  /** Prompt index in the source's prompt list (also the sample's index). */
  index: number;
  prompt: Prompt;
  seed: string;
  cfgScale: number;
  steps: number;
}

/**
 * The per-item backend seam: returns a PNG at the shard's geometry (28x28 grey by default). The embedded generator implements it;
 * a remote HTTP backend can plug in here (honouring `signal`, which aborts on timeout/cancellation).
 * Errors with `transient === false` are not retried.
 */
export type ItemGenerator = (item: GenerateItem, signal?: AbortSignal) => Promise<Uint8Array>;
