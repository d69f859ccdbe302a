// One item through the backend: a timeout per try, retries with backoff (at least as long as an
// HTTP 429/503 asked), and the PNG checked at the shard's geometry, since backends are untrusted;
// an in-process generator (the embedded one: ShardGenerator.inProcess) is called directly.
import type { ImageGeometry } from '../../core/image/geometry.js';
import { decodePng } from '../../core/png.js';
import { backoffDelay, callWithTimeout } from '../../core/resilience.js';
import { abortableSleep, cancelReason, errorMessage } from './cancellation.js';
import type { GenerateItem, ItemGenerator } from './item-generator.js';

const ITEM_BACKOFF_BASE_MS = 100;
const ITEM_BACKOFF_MAX_MS = 2000;

export interface ItemSampling {
  generate: ItemGenerator;
  /** Tries per item before it fails for good. */
  itemAttempts: number;
  itemTimeoutMs: number;
  /** The activity's cancellation. */
  signal: AbortSignal;
  /** Called before each retry (to count them). */
  onRetry(): void;
  /** The geometry every PNG must decode at; null: trusted PNGs, not decoded. */
  checkGeometry: ImageGeometry | null;
  /** Call `generate` as it is, without a per-try deadline (an in-process generator with no injected faults). */
  direct: boolean;
}

/** One item with retries: its PNG, or the reason it failed for good. Throws only on cancellation. */
export async function sampleItem(s: ItemSampling, item: GenerateItem): Promise<{ png: Uint8Array } | { reason: string }> {
  const { signal } = s;
  let lastError: unknown;
  for (let tries = 1; tries <= s.itemAttempts; tries++) {
    if (signal.aborted) throw cancelReason(signal);
    try {
      const png = s.direct ? await s.generate(item, signal) : await callWithTimeout((sig) => s.generate(item, sig), s.itemTimeoutMs, `generating prompt ${item.index}`, { parent: signal });
      if (s.checkGeometry) decodePng(png, s.checkGeometry, `prompt ${item.index}`); // backends are untrusted
      return { png };
    } catch (err) {
      if (signal.aborted) throw cancelReason(signal);
      lastError = err;
      if ((err as { transient?: unknown }).transient === false || tries === s.itemAttempts) break;
      s.onRetry();
      // An HTTP 429/503 may say when to come back (Retry-After, already capped).
      const retryAfterMs = Number((err as { retryAfterMs?: unknown }).retryAfterMs ?? 0);
      await abortableSleep(Math.max(backoffDelay(tries, ITEM_BACKOFF_BASE_MS, ITEM_BACKOFF_MAX_MS), Number.isFinite(retryAfterMs) ? retryAfterMs : 0), signal);
    }
  }
  return { reason: errorMessage(lastError).slice(0, 200) };
}
