// A class-balanced order of a labelled set's rows, seeded: the real source's shards and the CLIP
// probe's fixed subset both draw from it.
import { createRng, permutation } from '../rng.js';

/** Class-interleaved order over the training split: every prefix is (nearly) class-balanced. */
export function balancedOrder(labels: Uint8Array, classCount: number, seed: number): number[] {
  const byClass: number[][] = Array.from({ length: classCount }, () => []);
  labels.forEach((label, i) => byClass[label]!.push(i));
  const shuffled = byClass.map((members, c) => {
    const perm = permutation(members.length, createRng(`real-order|${seed}|${c}`));
    return Array.from(perm, (j) => members[j]!);
  });
  const order: number[] = [];
  for (let round = 0; order.length < labels.length; round++) {
    for (const members of shuffled) if (round < members.length) order.push(members[round]!);
  }
  return order;
}
