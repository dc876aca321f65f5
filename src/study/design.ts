/**
 * Designs: where the inputs x_1..x_n of a cell come from, as a study's "design" block.
 *
 *   random (fresh draw per cell, from the cell's seed):
 *     { "kind": "gaussian", "mean"?: number | number[] (0), "sd"?: number (1) }   x ~ N(mean, sd^2 I)
 *     { "kind": "uniform", "low"?: number (-1), "high"?: number (1) }             x ~ U[low, high]^d
 *   fixed (the same inputs in every replication of a given n):
 *     { "kind": "linspace", "low"?: (-1), "high"?: (1) }       d = 1: x_i = low + (high - low) i / (n - 1)
 *     { "kind": "fixed-draw", "seed": uint32, "from"?: "gaussian" | "uniform", mean/sd/low/high }
 *        the first n rows of one stream drawn from `seed` (nested in n, identical across reps)
 *     { "kind": "points", "points": number[][] }               row i = points[i mod m] (replicated design)
 *
 * The Gaussian-gated kind has a generative design instead ("gate-mixture": X from the truth's
 * gate mixture), see kinds/gaussian-gated.ts.
 */
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { finite } from '../util/schema.js';
import { makeRng, type Rng } from '../util/rng.js';
import { sampleInputs, type InputSpec } from '../mixture/sample.js';

const sd = finite.refine((x) => x > 0, { error: 'a positive number' });
const meanSchema = z.union([finite, z.array(finite)], { error: 'a number or an array of numbers (one per input coordinate)' });

export const designSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('gaussian'), mean: meanSchema.default(0), sd: sd.default(1) }).strict(),
    z.object({ kind: z.literal('uniform'), low: finite.default(-1), high: finite.default(1) }).strict(),
    z.object({ kind: z.literal('linspace'), low: finite.default(-1), high: finite.default(1) }).strict(),
    z
      .object({
        kind: z.literal('fixed-draw'),
        seed: z.number({ error: 'an integer in [0, 2^32)' }).int({ error: 'an integer in [0, 2^32)' }).min(0).max(4294967295, { error: 'an integer in [0, 2^32)' }),
        from: z.enum(['gaussian', 'uniform'], { error: '"gaussian" or "uniform"' }).default('gaussian'),
        mean: meanSchema.default(0),
        sd: sd.default(1),
        low: finite.default(-1),
        high: finite.default(1),
      })
      .strict(),
    z.object({ kind: z.literal('points'), points: z.array(z.array(finite), { error: 'an array of input points (arrays of numbers)' }).min(1, { error: 'at least one point' }) }).strict(),
  ],
  { error: '{ "kind": "gaussian" | "uniform" | "linspace" | "fixed-draw" | "points", ... }' },
);

export type DesignConfig = z.infer<typeof designSchema>;

/** Draws the n x dim inputs of a cell (row-major). Fixed designs ignore `rng`. */
export type DesignSampler = (n: number, rng: Rng) => Float64Array;

/** Whether the design gives the same inputs in every replication. */
export function isFixedDesign(d: DesignConfig): boolean {
  return d.kind === 'linspace' || d.kind === 'fixed-draw' || d.kind === 'points';
}

/** A sampler for a validated design in dimension `dim`; errors name `${field}.<key>`. */
export function designSampler(design: DesignConfig, dim: number, field: string): DesignSampler {
  const randomSpec = (from: 'gaussian' | 'uniform', mean: number | number[], s: number, low: number, high: number): InputSpec => {
    if (from === 'uniform') {
      if (!(high > low)) throw new InputError(`${field}.high`, `a number > low (${low})`, String(high));
      return { kind: 'uniform', dim, low, high };
    }
    if (Array.isArray(mean) && mean.length !== dim) throw new InputError(`${field}.mean`, `a number or an array of length ${dim} (the input dimension)`, `an array of length ${mean.length}`);
    return { kind: 'gaussian', dim, mean, sd: s };
  };
  switch (design.kind) {
    case 'gaussian': {
      const spec = randomSpec('gaussian', design.mean, design.sd, -1, 1);
      return (n, rng) => sampleInputs(spec, n, rng);
    }
    case 'uniform': {
      const spec = randomSpec('uniform', 0, 1, design.low, design.high);
      return (n, rng) => sampleInputs(spec, n, rng);
    }
    case 'linspace': {
      if (dim !== 1) throw new InputError(`${field}.kind`, `a design for inputs of dimension ${dim} ("linspace" is for d = 1)`, '"linspace"');
      if (!(design.high > design.low)) throw new InputError(`${field}.high`, `a number > low (${design.low})`, String(design.high));
      const { low, high } = design;
      return (n) => Float64Array.from({ length: n }, (_, i) => (n === 1 ? low : low + ((high - low) * i) / (n - 1)));
    }
    case 'fixed-draw': {
      const spec = randomSpec(design.from, design.mean, design.sd, design.low, design.high);
      const seed = design.seed;
      return (n) => sampleInputs(spec, n, makeRng(seed));
    }
    case 'points': {
      design.points.forEach((p, i) => {
        if (p.length !== dim) throw new InputError(`${field}.points[${i}]`, `a point of dimension ${dim}`, `an array of length ${p.length}`);
      });
      const spec: InputSpec = { kind: 'fixed', points: design.points };
      return (n, rng) => sampleInputs(spec, n, rng);
    }
  }
}
