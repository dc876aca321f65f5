/**
 * Config pieces shared by the regression kinds (softmax-moe, contaminated): expert specs, explicit
 * truths component by component, truths drawn from a seed, and the least-squares estimator block.
 *
 *   expert:  "linear" (A^T x + a) | "tanh" | "relu" | "gelu"  (one ridge unit sigma(W^T x + c))
 *            | { "kind": "mlp", "activation", "hidden" }       (V^T sigma(W x + c) + v0)
 *   truth:   { "components": [ { "bias": b_j, "<block>": number | number[] | number[][], ... } ] }
 *              blocks by name (gate slope "beta", then the expert's: A, a | W, c | W, c, V, v0),
 *              matrices row-major; weight exp(bias), bias 0 when absent
 *          | { "seed": uint32, "k": atoms, "scale"?: 1, "nu"?: 0.05 }  biases 0, every block
 *              N(0, scale^2) except a variance block nu (set to "nu")
 */
import { z } from 'zod';
import { finite } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { makeRng } from '../../util/rng.js';
import type { Atom, MixingMeasure } from '../../mixture/measure.js';
import type { ParamBlock } from '../../mixture/gates/score.js';
import { affineExpert } from '../../mixture/experts/affine.js';
import { mlpExpert } from '../../mixture/experts/mlp.js';
import type { ExpertFamily } from '../../mixture/experts/expert.js';

export const int1 = z.number({ error: 'an integer >= 1' }).int({ error: 'an integer >= 1' }).min(1, { error: 'an integer >= 1' });
export const positive = finite.refine((x) => x > 0, { error: 'a positive number' });
export const uint32 = z.number({ error: 'an integer in [0, 2^32)' }).int({ error: 'an integer in [0, 2^32)' }).min(0).max(4294967295, { error: 'an integer in [0, 2^32)' });

const activation = z.enum(['tanh', 'relu', 'gelu'], { error: '"tanh", "relu" or "gelu"' });
export const expertSchema = z.union(
  [z.enum(['linear', 'tanh', 'relu', 'gelu']), z.object({ kind: z.literal('mlp'), activation, hidden: int1.default(2) }).strict()],
  { error: '"linear", "tanh", "relu", "gelu" or { "kind": "mlp", "activation", "hidden" }' },
);
export type ExpertConfig = z.infer<typeof expertSchema>;

/** The expert family of a spec for inputs of dimension d and a scalar output. */
export function expertFamily(spec: ExpertConfig, d: number): ExpertFamily {
  if (spec === 'linear') return affineExpert(d, 1);
  if (typeof spec === 'string') return mlpExpert(d, 1, { activation: spec, hidden: 1, outputLayer: false });
  return mlpExpert(d, 1, { activation: spec.activation, hidden: spec.hidden });
}

const value = z.union([finite, z.array(z.union([finite, z.array(finite)]))], { error: 'a number, an array or a matrix of numbers' });
const component = z.record(z.string(), value, { error: 'an object { "bias"?, "<block>": values }' });
export const truthSchema = z.union(
  [
    z.object({ components: z.array(component).min(1, { error: 'at least one component' }) }).strict(),
    z.object({ seed: uint32, k: int1, scale: positive.default(1), nu: positive.optional() }).strict(),
  ],
  { error: '{ "components": [ { "bias", "<block>": ... } ] } or { "seed", "k", "scale"? }' },
);
export type TruthConfig = z.infer<typeof truthSchema>;

function flat(v: z.infer<typeof value>): number[] {
  if (typeof v === 'number') return [v];
  return v.flatMap((r) => (typeof r === 'number' ? [r] : r));
}

/** The true measure of a truth block, with atoms carrying exactly `blocks` (weights exp(bias)). */
export function truthMeasure(truth: TruthConfig, blocks: ReadonlyArray<ParamBlock>, field: string): MixingMeasure {
  if ('seed' in truth) {
    const rng = makeRng(truth.seed);
    const atoms: Atom[] = Array.from({ length: truth.k }, () => ({
      weight: 1,
      params: Object.fromEntries(blocks.map((b) => [b.name, Float64Array.from({ length: b.size }, () => (b.name === 'nu' ? (truth.nu ?? 0.05) : truth.scale * rng.normal()))])),
    }));
    return { atoms };
  }
  const names = new Set(blocks.map((b) => b.name));
  const atoms = truth.components.map((c, j): Atom => {
    for (const key of Object.keys(c)) {
      if (key !== 'bias' && !names.has(key)) throw new InputError(`${field}.components[${j}].${key}`, `one of bias, ${[...names].join(', ')}`, 'an unknown block');
    }
    const bias = c.bias;
    if (bias !== undefined && typeof bias !== 'number') throw new InputError(`${field}.components[${j}].bias`, 'a number (the gate bias b_j; weight exp(b_j))', 'an array');
    const params: Record<string, Float64Array> = {};
    for (const b of blocks) {
      const v = c[b.name];
      if (v === undefined) throw new InputError(`${field}.components[${j}].${b.name}`, `${b.size} number${b.size === 1 ? '' : 's'}`, 'nothing');
      const arr = flat(v);
      if (arr.length !== b.size) throw new InputError(`${field}.components[${j}].${b.name}`, `${b.size} number${b.size === 1 ? '' : 's'} (row-major)`, String(arr.length));
      params[b.name] = Float64Array.from(arr);
    }
    return { weight: Math.exp(bias ?? 0), params };
  });
  return { atoms };
}

export const leastSquaresSchema = z
  .object({
    kind: z.literal('least-squares').default('least-squares'),
    init: z.enum(['near', 'random'], { error: '"near" or "random"' }).default('near'),
    initScale: finite.refine((x) => x >= 0, { error: 'a number >= 0' }).default(0.5),
    initRate: finite.default(0.25),
    starts: int1.default(1),
    maxIterations: int1.default(200),
  })
  .strict();
