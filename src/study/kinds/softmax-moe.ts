/**
 * `softmax-moe`: the softmax-gated MoE regression of arXiv 2402.02952, fitted by least squares
 * (Levenberg-Marquardt), src/mixture/softmax-moe.ts:
 *
 *   Y = sum_j softmax_j(b + beta^T x) h(x; eta_j) + sigma eps,   eps ~ N(0, 1),  x in R^d
 *
 * Gate logits b_j + beta_j^T x at temperature 1; atom j has weight exp(b_j) and blocks { beta,
 * expert's blocks }. The gate is identified up to a common (t0, t1) added to every (b_j, beta_j):
 * losses compare the canonical forms (gates/canonical.ts: weights summing to 1, weighted mean
 * slope 0; the truth a cell reports and every fit are in that form, so the generic per-atom losses
 * compare like with like). Experts: config-parts.ts. Design: study/design.ts (default Gaussian N(0, I)).
 * Losses: D1 (singleton cells ||delta||, multi-atom cells ||delta||^2, weighted, plus the weight
 * term), weights and params (its two parts).
 */
import { z } from 'zod';
import { parseWith } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { softmaxMoe } from '../../mixture/softmax-moe.js';
import { sampleResponses } from '../../mixture/sample.js';
import { canonicalSoftmax } from '../../mixture/gates/canonical.js';
import { leastSquares } from '../../estimate/least-squares.js';
import { nearInit } from '../../estimate/init.js';
import { presetBreakdown } from '../../loss/presets.js';
import { designSchema, designSampler } from '../design.js';
import type { CellModel, ModelKind } from '../registry.js';
import { expertFamily, expertSchema, int1, leastSquaresSchema, positive, truthMeasure, truthSchema } from './config-parts.js';

const modelSchema = z
  .object({
    kind: z.literal('softmax-moe'),
    d: int1.default(1),
    expert: expertSchema.default('tanh'),
    truth: truthSchema,
    /** Fitted atoms (>= the true number). */
    k: int1,
    sigma: positive.default(0.1),
    design: designSchema.default({ kind: 'gaussian', mean: 0, sd: 1 }),
  })
  .strict();

export const LOSS_NAMES = ['D1', 'weights', 'params'] as const;

export const softmaxMoeKind: ModelKind = {
  kind: 'softmax-moe',
  summary: 'softmax-gated MoE regression (linear / tanh / ReLU / GELU / MLP experts), least squares; losses D1, weights, params',
  lossNames: LOSS_NAMES,
  estimators: ['least-squares'],
  schemas: { model: modelSchema, estimator: leastSquaresSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    const e = parseWith(leastSquaresSchema, estimator, `${path}.estimator`);
    const family = (k: number): ReturnType<typeof softmaxMoe> => softmaxMoe({ atoms: k, inputDim: m.d, gate: { kind: 'affine' }, expert: { kind: 'custom', expert: expertFamily(m.expert, m.d) } });
    const f0 = family(1);
    const truth = truthMeasure(m.truth, [...f0.score.blocks, ...f0.expert.blocks], `${path}.model.truth`);
    const kTrue = truth.atoms.length;
    if (m.k < kTrue) throw new InputError(`${path}.model.k`, `at least the true number of components (${kTrue})`, String(m.k));
    const trueFamily = family(kTrue);
    const theta = trueFamily.fromMeasure(truth);
    const fitted = family(m.k);
    const design = designSampler(m.design, m.d, `${path}.model.design`);
    const lm = leastSquares({ maxIterations: e.maxIterations });
    // The canonical truth is a valid parameterisation of the same gates: near-truth starts use it too.
    const truthCanonical = canonicalSoftmax(truth);
    return {
      regime: m.k > kTrue ? 'over' : 'exact',
      truth: truthCanonical,
      lossNames: LOSS_NAMES,
      protocol: e.init === 'random' ? 'random' : e.initRate === 0 ? 'fixed' : 'shrinking',
      simulate(n, rng) {
        return { samples: sampleResponses(trueFamily, theta, design(n, rng), m.sigma, rng), truth: truthCanonical };
      },
      fit(samples, t, rng) {
        const res = lm.fit(fitted, samples, { rng, init: e.init === 'random' ? { kind: 'random' } : nearInit(t, samples.n, e.initScale, e.initRate), starts: e.starts });
        return { ...res, measure: canonicalSoftmax(res.measure) };
      },
      losses(fit, t) {
        const b = presetBreakdown('D1', fit.measure, t);
        return { D1: b.total, weights: b.weightTerm, params: b.paramTerm };
      },
    };
  },
};
