// The training split in two disjoint pools, fixed per dataset: the generator pool (generators fit
// on its first `fitImages` images) and the real pool (real, control and mixed sources draw from
// it), so no generator ever sees an image a real source can train on.
import { createRng, permutation } from '../rng.js';

export interface TrainPools {
  /** Training-split rows generators may fit on, in the fixed shuffled order. */
  generatorPool: Uint32Array;
  /** Training-split rows real sources draw from, in the fixed shuffled order. */
  realPool: Uint32Array;
}

const pools = new Map<string, TrainPools>();

/** The first half of a permutation seeded by the dataset fingerprint, and the second half (memoized). */
export function trainPools(fingerprint: string, trainCount: number): TrainPools {
  const key = `${fingerprint}|${trainCount}`;
  let split = pools.get(key);
  if (!split) {
    const order = permutation(trainCount, createRng(`train-pools|${fingerprint}`));
    const half = Math.floor(trainCount / 2);
    split = { generatorPool: order.subarray(0, half), realPool: order.subarray(half) };
    pools.set(key, split);
  }
  return split;
}
