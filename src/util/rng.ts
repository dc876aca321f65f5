/**
 * Seeded randomness. Every random draw in the toolkit goes through an `Rng` made from a seed,
 * so runs are reproducible; the generators are stdlib's Mersenne twister (MT19937) with its
 * uniform and normal samplers, seeded together.
 */
import { stdlib } from './stdlib.js';

const randuFactory = stdlib<typeof import('@stdlib/random/base/randu')>('@stdlib/random/base/randu');
const normalFactory = stdlib<typeof import('@stdlib/random/base/normal')>('@stdlib/random/base/normal');

export interface Rng {
  /** The seed this generator was made from. */
  readonly seed: number;
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Uniform integer in {0, ..., n - 1}. */
  int(n: number): number;
  /** A new independent generator derived from this one (for sub-streams, e.g. one per replication). */
  fork(): Rng;
}

const MAX_SEED = 4294967295; // MT19937 takes a uint32 seed.

export function makeRng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`seed: expected an integer in [0, ${MAX_SEED}], got ${seed}`);
  }
  const s = seed === 0 ? 1 : seed; // stdlib rejects 0 as a seed; map it to 1 deterministically.
  const base = randuFactory.factory({ name: 'mt19937', seed: s });
  // `^` yields a signed int32; stdlib wants a positive uint32.
  const gauss = normalFactory.factory(0, 1, { seed: ((s ^ 0x5bd1e995) >>> 0) || 1 });
  const rng: Rng = {
    seed,
    uniform: () => base(),
    normal: () => gauss(),
    int: (n: number) => Math.floor(base() * n),
    fork: () => makeRng(1 + Math.floor(base() * (MAX_SEED - 1))),
  };
  return rng;
}

/** Deterministic seed for cell (variant, n, rep) of a study, from the study's base seed. */
export function deriveSeed(base: number, ...parts: ReadonlyArray<string | number>): number {
  // FNV-1a over the parts' text: stable across runs and machines.
  let h = 0x811c9dc5 ^ (base >>> 0);
  for (const part of parts) {
    const text = `${String(part)}\u0000`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0 || 1;
}
