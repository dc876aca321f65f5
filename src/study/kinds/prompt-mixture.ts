/**
 * `prompt-mixture`: the prompt mixtures of docs/theory.md §4 fitted by least squares
 * (Levenberg-Marquardt, src/estimate/least-squares.ts) from a start near the truth.
 *
 *   model: { kind: "prompt-mixture", prompt: "vpt" | "vapt" | "kv", gate: "softmax" | "gaussian",
 *            N (tokens), d (width), Lstar (true prompts), L (fitted prompts, >= Lstar),
 *            sigma (noise sd), r (VAPT MLP width), gateSd (Gaussian gate sd), truthSeed,
 *            weightFloor (the merging regime: softmax, fitted weights exp(b_j) kept above it;
 *            Gaussian, canonical gate weights pi_j kept above it and gate means within gateBound,
 *            src/mixture/gate-floor.ts), gateBound (Gaussian with weightFloor; default 1 / sqrt(N),
 *            one standard deviation of the gate summary z: every gate mean stays inside the data) }
 *   estimator: { kind: "least-squares", maxIterations,
 *            start: { protocol: "shrinking", scale (c), rate (a) }   truth expanded to L atoms + c n^(-a) N(0, I)
 *                 | { protocol: "fixed", scale }                     truth expanded to L atoms + c N(0, I), for every n
 *                 | { protocol: "multistart", starts, scale, from: "fixed" | "random" }   best of m starts
 *                 | { protocol: "random" }                           the family's prior draw (sampleTheta)
 *            Without "start", the older fields initScale, initRate, starts mean a shrinking start. }
 *
 * The truth (pretrained weights and true prompts) is drawn once from `truthSeed`, so every cell
 * of a variant estimates the same G*; the cell's seed draws the data and the start. Inputs:
 * N tokens with i.i.d. N(0, 1) entries. Losses (src/loss presets): D1 (the softmax Voronoi loss),
 * weights (its weight term), params (its parameter term).
 */
import { z } from 'zod';
import { parseWith, finite } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { makeRng, type Rng } from '../../util/rng.js';
import type { RegressionFamily } from '../../mixture/family.js';
import type { MixingMeasure } from '../../mixture/measure.js';
import { sampleResponses } from '../../mixture/sample.js';
import { leastSquares } from '../../estimate/least-squares.js';
import { startPlan, type StartProtocol } from '../../estimate/init.js';
import { promptMixture, randomTruth } from '../../mixture/prompt-mixture.js';
import { presetBreakdown } from '../../loss/presets.js';
import { gaussianPromptFamily } from './gaussian-prompt.js';
import { withWeightFloor, type BiasedAtomFamily } from '../../mixture/weight-floor.js';
import { withGateFloor, type GaussianGateAtomFamily } from '../../mixture/gate-floor.js';
import type { CellModel, ModelKind } from '../registry.js';

const int1 = z.number().int({ error: 'an integer >= 1' }).min(1, { error: 'an integer >= 1' });
const pos = finite.refine((x) => x > 0, { error: 'a positive number' });

const modelSchema = z
  .object({
    kind: z.literal('prompt-mixture'),
    prompt: z.enum(['vpt', 'vapt', 'kv'], { error: '"vpt", "vapt" or "kv"' }),
    gate: z.enum(['softmax', 'gaussian'], { error: '"softmax" or "gaussian"' }).default('softmax'),
    N: int1.default(4),
    d: int1.default(4),
    Lstar: int1.default(2),
    L: int1,
    sigma: pos.default(0.1),
    r: int1.default(4),
    gateSd: pos.default(0.5),
    truthSeed: z.number().int().min(0).default(1),
    /**
     * Softmax gates: every fitted atom keeps a weight exp(b_j) >= weightFloor (src/mixture/weight-floor.ts).
     * Gaussian gates: every canonical gate weight pi_j >= weightFloor (< 1/L) and every gate-mean
     * entry within gateBound (src/mixture/gate-floor.ts).
     */
    weightFloor: pos.optional(),
    gateBound: pos.optional(),
  })
  .strict();

const scale = finite.refine((x) => x >= 0, { error: 'a number >= 0' });

/** Start protocols (src/estimate/init.ts `StartProtocol`). */
export const startSchema = z.discriminatedUnion(
  'protocol',
  [
    z.object({ protocol: z.literal('shrinking'), scale: scale.default(0.5), rate: finite.default(0.25) }).strict(),
    z.object({ protocol: z.literal('fixed'), scale: scale.default(0.5) }).strict(),
    z.object({ protocol: z.literal('multistart'), starts: int1.default(4), scale: scale.default(0.5), from: z.enum(['fixed', 'random'], { error: '"fixed" or "random"' }).default('fixed') }).strict(),
    z.object({ protocol: z.literal('random') }).strict(),
  ],
  { error: '{ "protocol": "shrinking" | "fixed" | "multistart" | "random", ... }' },
);

const estimatorSchema = z
  .object({
    kind: z.literal('least-squares').default('least-squares'),
    start: startSchema.optional(),
    initScale: scale.default(0.5),
    initRate: finite.default(0.25),
    starts: int1.default(1),
    maxIterations: int1.default(200),
  })
  .strict();

/** The start protocol of an estimator block: its "start", or the older shrinking fields. */
export function startProtocolOf(e: z.infer<typeof estimatorSchema>): StartProtocol {
  if (e.start !== undefined) return e.start;
  return e.starts > 1 ? { protocol: 'multistart', starts: e.starts, scale: e.initScale, from: 'fixed' } : { protocol: 'shrinking', scale: e.initScale, rate: e.initRate };
}

type Model = z.infer<typeof modelSchema>;

interface Built {
  family(L: number): RegressionFamily & { readonly atoms?: number };
  truth: MixingMeasure;
}

function randn(rng: Rng, k: number, sd = 1): Float64Array {
  return Float64Array.from({ length: k }, () => sd * rng.normal());
}

/**
 * Gaussian-gated truth: weights proportional to (1.5, 1, ...), gate means N(0, 0.5^2 I), prompts
 * N(0, 1), then put in canonical form (gaussian-prompt.ts).
 */
function buildGaussian(m: Model): Built {
  if (m.prompt === 'kv') throw new InputError('model.prompt', '"vpt" or "vapt" with gate "gaussian"', '"kv"');
  const rng = makeRng(m.truthSeed);
  const WV = randn(rng, m.d * m.d, 1 / Math.sqrt(m.d));
  const W1 = randn(rng, m.r * m.d, 1 / Math.sqrt(m.d));
  const W2 = randn(rng, m.d * m.r, 1 / Math.sqrt(m.r));
  const raw = Array.from({ length: m.Lstar }, (_, j) => 1 + 0.5 * ((m.Lstar - j) / m.Lstar));
  const tot = raw.reduce((s, x) => s + x, 0);
  const atoms = raw.map((w) => ({
    weight: w / tot,
    params: { c: randn(rng, m.d, 0.5), ...(m.prompt === 'vpt' ? { p: randn(rng, m.d) } : { alpha: randn(rng, m.N) }) },
  }));
  const family = (L: number): ReturnType<typeof gaussianPromptFamily> => gaussianPromptFamily({ prompt: m.prompt as 'vpt' | 'vapt', N: m.N, d: m.d, L, gateSd: m.gateSd, WV, W1, W2, r: m.r });
  // The truth in canonical form (weights sum to 1, sum_j pi_j c_j = 0): see gaussian-prompt.ts.
  const f = family(m.Lstar);
  return { family, truth: f.toMeasure(f.fromMeasure({ atoms })) };
}

export const promptMixtureKind: ModelKind = {
  kind: 'prompt-mixture',
  summary: 'VPT / prefix (kv) / VAPT prompt mixtures, softmax or Gaussian gates, least squares; losses D1, weights, params',
  lossNames: ['D1', 'weights', 'params'],
  estimators: ['least-squares'],
  schemas: { model: modelSchema, estimator: estimatorSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    const e = parseWith(estimatorSchema, estimator, `${path}.estimator`);
    const { trueFamily, theta, family, truth: trueMeasure } = familiesOf(m, path);
    const lm = leastSquares({ maxIterations: e.maxIterations });
    const start = startProtocolOf(e);
    if (e.start === undefined && e.starts > 1 && e.initRate !== 0) throw new InputError(`${path}.estimator.starts`, 'a "start" block: several starts with a shrinking scale mix two protocols; say { "protocol": "multistart", ... }', String(e.starts));
    return {
      regime: m.L > m.Lstar ? 'over' : 'exact',
      truth: trueMeasure,
      lossNames: ['D1', 'weights', 'params'],
      protocol: start.protocol,
      simulate(n, rng) {
        const X = randn(rng, n * trueFamily.inputDim); // N(0, 1) token entries, as the family's own sampler
        return { samples: sampleResponses(trueFamily, theta, X, m.sigma, rng), truth: trueMeasure };
      },
      fit(samples, truth, rng) {
        return lm.fit(family, samples, { rng, ...startPlan(start, truth, samples.n) });
      },
      losses(fit, truth) {
        const b = presetBreakdown('D1', fit.measure, truth);
        return { D1: b.total, weights: b.weightTerm, params: b.paramTerm };
      },
    };
  },
};

/** The families of a model block (the fitted one with its weight floor, if any), the truth and its theta. */
export interface PromptMixtureFamilies {
  /** The family the cells fit (L atoms). */
  readonly family: RegressionFamily;
  /** The true family (Lstar atoms), theta its truth. */
  readonly trueFamily: RegressionFamily;
  readonly theta: Float64Array;
  readonly truth: MixingMeasure;
}

function familiesOf(m: Model, path: string): PromptMixtureFamilies {
  if (m.L < m.Lstar) throw new InputError(`${path}.model.L`, `at least Lstar (${m.Lstar})`, String(m.L));
  const built = m.gate === 'gaussian' ? buildGaussian(m) : buildSoftmax(m, path);
  const trueFamily = built.family(m.Lstar);
  const theta = trueFamily.fromMeasure(built.truth);
  if (m.gateBound !== undefined && (m.gate !== 'gaussian' || m.weightFloor === undefined)) throw new InputError(`${path}.model.gateBound`, 'gateBound only with gate "gaussian" and a weightFloor (it bounds the gate means of the merging regime)', String(m.gateBound));
  if (m.weightFloor !== undefined && m.gate === 'gaussian' && !(m.weightFloor < 1 / m.L)) throw new InputError(`${path}.model.weightFloor`, `below 1/L = ${(1 / m.L).toPrecision(3)} with gate "gaussian" (the canonical weights sum to 1)`, String(m.weightFloor));
  const family =
    m.weightFloor === undefined
      ? built.family(m.L)
      : m.gate === 'gaussian'
        ? withGateFloor(built.family(m.L) as GaussianGateAtomFamily, { weight: m.weightFloor, bound: m.gateBound ?? 1 / Math.sqrt(m.N), gateDim: m.d })
        : withWeightFloor(built.family(m.L) as BiasedAtomFamily, m.weightFloor);
  return { family, trueFamily, theta, truth: built.truth };
}

/** The families a `prompt-mixture` model block builds (validated as `build` does), for benchmarks and checks. */
export function promptMixtureFamilies(model: unknown, path = 'variant'): PromptMixtureFamilies {
  return familiesOf(parseWith(modelSchema, model, `${path}.model`), path);
}

/**
 * Softmax prompt mixtures: src/mixture/prompt-mixture.ts (one head, one query row, the N token
 * experts known), dk = dv = d; VAPT with a 1 x 1 shared kernel (so alpha_j has one entry per
 * token), hidden width r, residual. Truth: `randomTruth` (well-separated atoms, biases near
 * log(N / L*)) drawn from truthSeed + 1.
 */
function buildSoftmax(m: Model, path: string): Built {
  const family = (L: number): ReturnType<typeof promptMixture> => {
    try {
      return promptMixture({ kind: m.prompt, tokens: m.N, width: m.d, dk: m.d, dv: m.d, atoms: L, seed: m.truthSeed, ...(m.prompt === 'vapt' ? { kernel: 1, rank: m.r } : {}) });
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${path}.model (${e.field})`, e.expected);
      throw e;
    }
  };
  const truth = randomTruth(family(m.Lstar), makeRng(m.truthSeed + 1));
  return { family, truth };
}
