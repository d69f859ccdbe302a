// The order training visits its examples in each epoch, as a pure function of (seed, epoch, data
// layout), so a resumed run replays the same batches from the step counter alone.
//
// Data that fits the shuffle window (count <= windowImages) gets a full permutation, exactly
// permutation(count, createRng(`${seed}|epoch|${epoch}`)). Larger data is shuffled the way
// WebDataset pipelines do it, so that only one window of decoded images need be in memory: the
// segments (shards) are permuted, consecutive segments in that order are grouped into windows of
// at most `windowImages` examples (a window holds at least one segment), and each window is
// permuted on its own.
import { createRng, permutation } from '../rng.js';

export function epochOrder(
  seed: number | string,
  epoch: number,
  count: number,
  segments: readonly number[] | undefined,
  windowImages: number,
): Uint32Array {
  if (!segments || count <= windowImages) return permutation(count, createRng(`${seed}|epoch|${epoch}`));
  const total = segments.reduce((a, b) => a + b, 0);
  if (total !== count || segments.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`data segments ${JSON.stringify(segments.slice(0, 10))}... must be positive integers summing to ${count} (they sum to ${total})`);
  }
  const starts = new Uint32Array(segments.length);
  for (let i = 1; i < segments.length; i++) starts[i] = starts[i - 1]! + segments[i - 1]!;
  const segmentOrder = permutation(segments.length, createRng(`${seed}|epoch|${epoch}|segments`));
  const order = new Uint32Array(count);
  let filled = 0;
  let window = 0;
  for (let s = 0; s < segmentOrder.length; window++) {
    // Gather consecutive segments (in the permuted order) up to windowImages examples.
    const windowStart = filled;
    do {
      const seg = segmentOrder[s++]!;
      for (let i = 0; i < segments[seg]!; i++) order[filled++] = starts[seg]! + i;
    } while (s < segmentOrder.length && filled - windowStart + segments[segmentOrder[s]!]! <= windowImages);
    const inWindow = order.slice(windowStart, filled);
    const shuffle = permutation(inWindow.length, createRng(`${seed}|epoch|${epoch}|window|${window}`));
    for (let i = 0; i < shuffle.length; i++) order[windowStart + i] = inWindow[shuffle[i]!]!;
  }
  return order;
}
