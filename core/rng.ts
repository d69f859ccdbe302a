// Seeded, serializable randomness. Every stochastic stage derives its generator from a
// string (e.g. `${prompt}|${seed}|${index}`) so results are reproducible per input and the
// state can be saved in a checkpoint and restored exactly.
import { createHash } from 'node:crypto';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Opaque state, restorable with `rngFromState`. */
  state(): number[];
}

/** 32-bit seed from any string, via sha256 (stable across platforms and versions). */
export function seedFromString(text: string): number {
  return createHash('sha256').update(text).digest().readInt32LE(0);
}

export function createRng(seed: number | string): Rng {
  const numeric = typeof seed === 'number' ? seed | 0 : seedFromString(seed);
  return wrap(xoroshiro128plus(numeric));
}

export function rngFromState(state: readonly number[]): Rng {
  return wrap(xoroshiro128plusFromState(state));
}

function wrap(gen: ReturnType<typeof xoroshiro128plus>): Rng {
  let spare: number | undefined;
  const uniform = () => uniformFloat64(gen);
  return {
    uniform,
    normal() {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const radius = Math.sqrt(-2 * Math.log(u));
      spare = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(uniform() * n);
    },
    state() {
      // The cached Box-Muller spare is dropped on purpose: callers checkpoint between
      // whole draws, and restoring must not depend on hidden parity.
      spare = undefined;
      return [...gen.getState()];
    },
  };
}

/** Fisher-Yates shuffle of [0, n) with the given generator. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}
