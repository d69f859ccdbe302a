// Heartbeats of generateShard: durable progress (items committed in parts) for the next attempt,
// and a keep-alive while an item takes longer than the heartbeat timeout.
import { heartbeat } from '@temporalio/activity';
import type { GenerateHeartbeat, GenerateShardInput } from './io.js';

/** Heartbeat details come from an earlier attempt: untrusted, accepted only if they describe this shard. */
export function parseGenerateHeartbeat(details: unknown, input: Pick<GenerateShardInput, 'shardKey' | 'count'>): GenerateHeartbeat | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as Record<string, unknown>;
  if (d.shard !== input.shardKey || d.of !== input.count) return null;
  if (!Number.isInteger(d.imagesDone) || (d.imagesDone as number) < 0 || (d.imagesDone as number) > input.count) return null;
  return { imagesDone: d.imagesDone as number, of: input.count, shard: input.shardKey };
}

/**
 * Heartbeat `progress()` now, then every third of the heartbeat timeout (1-10 s): an item may
 * legitimately take longer than the timeout (a remote backend); hangs are bounded by the item and
 * storage timeouts instead. Returns the function that stops it.
 */
export function keepAlive(progress: () => GenerateHeartbeat, heartbeatTimeoutMs: number | undefined): () => void {
  heartbeat(progress());
  const keepAliveMs = Math.min(10_000, Math.max(1000, Math.floor((heartbeatTimeoutMs ?? 30_000) / 3)));
  const timer = setInterval(() => heartbeat(progress()), keepAliveMs);
  timer.unref();
  return () => clearInterval(timer);
}
