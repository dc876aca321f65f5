/**
 * `gaussian-gated`: the Gaussian-gated MoE of arXiv 2305.07572 (docs/theory.md), any d.
 *   truth: "published-type-I" (d = 1, k* = 3, the published simulation);
 *          { pi: [k], c: [k][d], Gamma: [k][d][d], A: [k][d], b: [k], nu: [k] } (parameter by parameter);
 *          { components: [ { pi, c: [d], Gamma: [d][d], A: [d], b, nu } ] } (component by component;
 *          a scalar stands for a vector / 1x1 matrix when d = 1);
 *          { seed, k, d, scale? }: pi = 1/k, c ~ N(0, scale^2 I), Gamma = (scale/2)^2 I,
 *          A ~ N(0, I), b ~ N(0, 1), nu = 0.05;
 *   design: "gate-mixture" (the only one: the EM fits the joint likelihood of (x, y));
 *   data:  X from the gate mixture, Y from the chosen expert (the full generative model);
 *   fit:   EM with k components (src/estimate/em-gaussian-gated.ts), protocol "as-published"
 *          (one E and one M step, what the official code ran) or "converged" (tolerance 1e-5,
 *          at most 2,000 iterations), from the official start (truth perturbed, scales shrinking with n);
 *   losses: typeI (the paper's Voronoi loss), typeII (r/2 instead of 2 on A in cells whose true
 *          gate mean is 0, ||c*_j|| <= zeroTolerance), and the weight part alone (weights).
 */
import { z } from 'zod';
import { parseWith, finite } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { PUBLISHED_TYPE_I, gaussianGated, gaussianGatedToMeasure, sampleGaussianGated, type GaussianGatedParams, type GaussianGatedSpec } from '../../mixture/gaussian-gated.js';
import { makeRng } from '../../util/rng.js';
import { fitEmGaussianGated } from '../../estimate/em-gaussian-gated.js';
import { presetBreakdown } from '../../loss/presets.js';
import type { CellModel, ModelKind } from '../registry.js';

const vec = z.union([finite, z.array(finite)]);
const specSchema = z
  .object({
    pi: z.array(finite),
    c: z.array(vec),
    Gamma: z.array(z.union([finite, z.array(z.array(finite))])),
    A: z.array(vec),
    b: z.array(finite),
    nu: z.array(finite),
  })
  .strict();

const componentSchema = z
  .object({ pi: finite, c: vec, Gamma: z.union([finite, z.array(z.array(finite))]), A: vec, b: finite, nu: finite })
  .strict();
const int1 = z.number({ error: 'an integer >= 1' }).int({ error: 'an integer >= 1' }).min(1, { error: 'an integer >= 1' });
const seededSchema = z
  .object({ seed: z.number().int().min(0).max(4294967295, { error: 'an integer in [0, 2^32)' }), k: int1, d: int1.default(1), scale: finite.refine((x) => x > 0, { error: 'a positive number' }).default(1) })
  .strict();

const modelSchema = z
  .object({
    kind: z.literal('gaussian-gated'),
    truth: z.union([z.literal('published-type-I'), specSchema, z.object({ components: z.array(componentSchema).min(1, { error: 'at least one component' }) }).strict(), seededSchema], {
      error: '"published-type-I", { pi, c, Gamma, A, b, nu }, { components: [ { pi, c, Gamma, A, b, nu } ] } or { seed, k, d, scale }',
    }),
    /** Fitted number of components. */
    k: int1,
    design: z.object({ kind: z.literal('gate-mixture') }).strict().default({ kind: 'gate-mixture' }),
    /** typeII: a true gate mean with norm at most this counts as 0. */
    zeroTolerance: finite.refine((x) => x >= 0, { error: 'a number >= 0' }).default(0),
  })
  .strict();

type TruthConfig = z.infer<typeof modelSchema>['truth'];

/** The truth block as parameters (errors name `${field}...`). */
function truthParams(t: TruthConfig, field: string): GaussianGatedParams {
  if (t === 'published-type-I') return PUBLISHED_TYPE_I;
  if ('components' in t) {
    const cs = t.components;
    const spec: GaussianGatedSpec = { pi: cs.map((c) => c.pi), c: cs.map((c) => c.c), Gamma: cs.map((c) => c.Gamma), A: cs.map((c) => c.A), b: cs.map((c) => c.b), nu: cs.map((c) => c.nu) };
    return gaussianGated(spec, field);
  }
  if ('seed' in t) {
    const rng = makeRng(t.seed);
    const { k, d, scale } = t;
    const eye = (v: number): number[][] => Array.from({ length: d }, (_, r) => Array.from({ length: d }, (_, c) => (r === c ? v : 0)));
    const vecOf = (sd: number): number[] => Array.from({ length: d }, () => sd * rng.normal());
    const spec: GaussianGatedSpec = {
      pi: Array.from({ length: k }, () => 1 / k),
      c: Array.from({ length: k }, () => vecOf(scale)),
      Gamma: Array.from({ length: k }, () => eye((scale / 2) ** 2)),
      A: Array.from({ length: k }, () => vecOf(1)),
      b: Array.from({ length: k }, () => rng.normal()),
      nu: Array.from({ length: k }, () => 0.05),
    };
    return gaussianGated(spec, field);
  }
  return gaussianGated(t, field);
}

const estimatorSchema = z
  .object({
    kind: z.literal('em').default('em'),
    protocol: z.enum(['as-published', 'converged'], { error: '"as-published" or "converged"' }),
    tolerance: finite.refine((t) => t >= 0, { error: 'a number >= 0' }).default(1e-5),
    maxIterations: z.number().int().min(1, { error: 'an integer >= 1' }).default(2000),
    init: z.literal('published').default('published'),
  })
  .strict();

export const LOSS_NAMES = ['typeI', 'typeII', 'weights'] as const;

export const gaussianGatedKind: ModelKind = {
  kind: 'gaussian-gated',
  summary: 'Gaussian-gated MoE (any d) fitted by EM, as published or to convergence; losses typeI, typeII, weights',
  lossNames: LOSS_NAMES,
  estimators: ['em'],
  schemas: { model: modelSchema, estimator: estimatorSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    const e = parseWith(estimatorSchema, estimator, `${path}.estimator`);
    const truth: GaussianGatedParams = truthParams(m.truth, `${path}.model.truth`);
    if (m.k < truth.k) throw new InputError(`${path}.model.k`, `at least the true number of components (${truth.k})`, String(m.k));
    const truthMeasure = gaussianGatedToMeasure(truth);
    return {
      regime: m.k > truth.k ? 'over' : 'exact',
      truth: truthMeasure,
      lossNames: LOSS_NAMES,
      protocol: e.protocol,
      simulate(n, rng) {
        return { samples: sampleGaussianGated(truth, n, rng), truth: truthMeasure };
      },
      fit(samples, _truth, rng) {
        const r = fitEmGaussianGated({ kind: 'gaussian-gated', d: truth.d, k: m.k }, samples, {
          rng,
          init: { kind: 'published', truth },
          protocol: e.protocol,
          tolerance: e.tolerance,
          maxIterations: e.maxIterations,
        });
        // One EM step is the protocol, not a cap: say so, so rates does not flag it as stopped early.
        const stopReason = e.protocol === 'as-published' ? 'fixed-steps' : r.diagnostics.converged ? 'tolerance' : 'maxIterations';
        return { ...r, diagnostics: { ...r.diagnostics, stopReason } };
      },
      losses(fit, truthG) {
        const b = presetBreakdown('typeI', fit.measure, truthG);
        const two = presetBreakdown('typeII', fit.measure, truthG, { zeroTolerance: m.zeroTolerance });
        return { typeI: b.total, typeII: two.total, weights: b.weightTerm };
      },
    };
  },
};
