/**
 * `softmax-gaussian`: the softmax-gated Gaussian MoE of arXiv 2305.03288, fitted by EM on the
 * conditional likelihood (src/estimate/em-softmax-gaussian.ts):
 *
 *   p(y | x) = sum_k softmax_k(beta0 + beta^T x) N(y | a_k^T x + b_k, nu_k),   x in R^d
 *
 * Temperature 1; atom k has weight exp(beta0_k) and blocks { beta, a, b, nu } (nu a variance).
 * The gate is identified up to a common translation of (beta0_k, beta_k): truths and fits are
 * reported in the canonical form (weights summing to 1, weighted mean beta 0; gates/canonical.ts).
 *   truth:  { "components": [ { "bias": beta0_k, "beta": [d], "a": [d], "b", "nu" } ] }
 *           | { "seed", "k", "scale"?, "nu"? } (config-parts.ts)
 *   design: study/design.ts (default N(0, I)); X is drawn first, then Z | X from the gates, Y | X, Z.
 *   fit:    EM from the truth expanded to k atoms (weights split) + initScale n^-initRate N(0, 1)
 *           ("near"; variances perturbed by |N|), from "near-experts" (the published codes'
 *           start: experts as "near", variances at nuStart (default the true ones) + |nuScale
 *           n^-nuRate N(0, 1)|, gates fitted to random labels), or a random start; to a largest
 *           parameter change below `tolerance` (or, with stopRule "loglik", a relative
 *           log-likelihood change) or `maxIterations`; `newtonSteps` IRLS steps on the gate per M step.
 *   losses: D2 (the paper's over-specified loss, presets.ts softmaxGaussianD2; in exact fits every
 *           cell is a singleton and D2 is the paper's D1), D1 (the softmax shape: ||delta|| in
 *           singletons, ||delta||^2 in multi-atom cells), weights (the weight term), and on the
 *           fit merged by its dendrogram down to the true number of atoms (loss/dendrogram.ts,
 *           arXiv 2510.12744): merged-D2 (D2) and merged-D1 (exponent 1 in every cell);
 *           D2-code, merged-D2-code, merged-D1-code: the same as arXiv 2510.12744's code computes
 *           them (joint norms of block groups, loss/nmoe-code.ts); with model.scoring.referenceNu
 *           also D2-ref, merged-D2-ref, merged-D1-ref: the code's losses against the truth with
 *           those variances (the code's reference values; scoring stays out of the config hash).
 */
import { z } from 'zod';
import { parseWith, finite } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { softmaxGaussianFromMeasure, sampleSoftmaxGaussianAt } from '../../mixture/softmax-gaussian.js';
import { canonicalSoftmax } from '../../mixture/gates/canonical.js';
import { fitEmSoftmaxGaussian, type SoftmaxGaussianInit } from '../../estimate/em-softmax-gaussian.js';
import { nearInit, shrinkingScale } from '../../estimate/init.js';
import { presetBreakdown, softmaxGaussianD1, softmaxGaussianD2 } from '../../loss/presets.js';
import { mergeToAtoms, SOFTMAX_GAUSSIAN_DISSIMILARITY } from '../../loss/dendrogram.js';
import { nmoeCodeLoss } from '../../loss/nmoe-code.js';
import type { MixingMeasure } from '../../mixture/measure.js';
import { voronoiBreakdown } from '../../loss/voronoi.js';
import { designSchema, designSampler } from '../design.js';
import type { CellModel, ModelKind } from '../registry.js';
import { int1, truthMeasure, truthSchema } from './config-parts.js';

const modelSchema = z
  .object({
    kind: z.literal('softmax-gaussian'),
    d: int1.default(1),
    truth: truthSchema,
    /** Fitted components (>= the true number). */
    k: int1,
    design: designSchema.default({ kind: 'gaussian', mean: 0, sd: 1 }),
    /**
     * Scoring only (outside the config hash, see schema.ts): `referenceNu`, one variance per true
     * component, adds the losses D2-ref, merged-D2-ref and merged-D1-ref: the published code's
     * losses (D2-code ...) against the truth with these variances, as that code scores.
     */
    scoring: z.object({ referenceNu: z.array(finite.refine((x) => x > 0, { error: 'a variance > 0' })).min(1) }).strict().optional(),
  })
  .strict();

const estimatorSchema = z
  .object({
    kind: z.literal('em').default('em'),
    init: z.enum(['near', 'near-experts', 'random'], { error: '"near", "near-experts" or "random"' }).default('near'),
    initScale: finite.refine((x) => x >= 0, { error: 'a number >= 0' }).default(0.1),
    initRate: finite.default(0),
    /** near-experts: starting variance per true component (default the true variances). */
    nuStart: z.array(finite.refine((x) => x > 0, { error: 'a variance > 0' })).min(1).optional(),
    /** near-experts: scale c and rate a of the |c n^-a N(0, 1)| added to each starting variance. */
    nuScale: finite.refine((x) => x >= 0, { error: 'a number >= 0' }).default(0),
    nuRate: finite.default(0),
    tolerance: finite.refine((t) => t >= 0, { error: 'a number >= 0' }).default(1e-5),
    /** "parameters": largest parameter change < tolerance; "loglik": relative log-likelihood change <= tolerance (the published codes'). */
    stopRule: z.enum(['parameters', 'loglik'], { error: '"parameters" or "loglik"' }).default('parameters'),
    maxIterations: int1.default(2000),
    starts: int1.default(1),
    newtonSteps: int1.default(3),
    /** End an M step's Newton steps once the gate objective's relative change is at most this (0: run all newtonSteps; the published codes' IRLS: 300 steps to 1e-7). */
    newtonTolerance: finite.refine((x) => x >= 0, { error: 'a number >= 0' }).default(0),
  })
  .strict();

export const LOSS_NAMES = ['D2', 'D1', 'weights', 'merged-D2', 'merged-D1', 'D2-code', 'merged-D2-code', 'merged-D1-code'] as const;
const REFERENCE_LOSS_NAMES = ['D2-ref', 'merged-D2-ref', 'merged-D1-ref'] as const;

export const softmaxGaussianKind: ModelKind = {
  kind: 'softmax-gaussian',
  summary: 'softmax-gated Gaussian MoE (conditional likelihood) fitted by EM; losses D2, D1, weights, the dendrogram-merged measure\'s merged-D2, merged-D1, the published code\'s -code (and with scoring.referenceNu -ref) losses',
  lossNames: LOSS_NAMES,
  estimators: ['em'],
  schemas: { model: modelSchema, estimator: estimatorSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    const e = parseWith(estimatorSchema, estimator, `${path}.estimator`);
    const blocks = [{ name: 'beta', size: m.d }, { name: 'a', size: m.d }, { name: 'b', size: 1 }, { name: 'nu', size: 1 }];
    const raw = truthMeasure(m.truth, blocks, `${path}.model.truth`);
    const truth = canonicalSoftmax(raw);
    const params = softmaxGaussianFromMeasure(truth, `${path}.model.truth`);
    if (m.k < params.k) throw new InputError(`${path}.model.k`, `at least the true number of components (${params.k})`, String(m.k));
    const design = designSampler(m.design, m.d, `${path}.model.design`);
    if (e.nuStart !== undefined && e.init !== 'near-experts') throw new InputError(`${path}.estimator.nuStart`, 'only with "init": "near-experts" (remove it, or set init)', JSON.stringify(e.nuStart));
    if (e.nuStart !== undefined && e.nuStart.length !== params.k) throw new InputError(`${path}.estimator.nuStart`, `${params.k} starting variances (one per true component, in the truth's order)`, `${e.nuStart.length}`);
    const ref = m.scoring?.referenceNu;
    if (ref !== undefined && ref.length !== params.k) throw new InputError(`${path}.model.scoring.referenceNu`, `${params.k} variances (one per true component, in the truth's order)`, String(ref.length));
    const d2 = softmaxGaussianD2();
    const d1All = softmaxGaussianD1();
    const withNu = (t: MixingMeasure, nu: ReadonlyArray<number>): MixingMeasure => ({ atoms: t.atoms.map((a, j) => ({ ...a, params: { ...a.params, nu: Float64Array.of(nu[j] as number) } })) });
    const startOf = (t: MixingMeasure, n: number): SoftmaxGaussianInit => {
      if (e.init === 'random') return { kind: 'random' };
      if (e.init === 'near') return nearInit(t, n, e.initScale, e.initRate);
      return { kind: 'near-experts', truth: t, expertScale: shrinkingScale(e.initScale, n, e.initRate), nuScale: shrinkingScale(e.nuScale, n, e.nuRate), ...(e.nuStart === undefined ? {} : { nuStart: e.nuStart }) };
    };
    return {
      regime: m.k > params.k ? 'over' : 'exact',
      truth: truth,
      lossNames: ref === undefined ? LOSS_NAMES : [...LOSS_NAMES, ...REFERENCE_LOSS_NAMES],
      protocol: e.init === 'random' ? 'random' : e.initRate === 0 && (e.init === 'near' || e.nuRate === 0 || e.nuScale === 0) ? 'fixed' : 'shrinking',
      simulate(n, rng) {
        const X = design(n, rng);
        return { samples: sampleSoftmaxGaussianAt(params, X, rng), truth };
      },
      fit(samples, t, rng) {
        const res = fitEmSoftmaxGaussian({ kind: 'softmax-gaussian', d: m.d, k: m.k }, samples, {
          rng,
          init: startOf(t, samples.n),
          tolerance: e.tolerance,
          stopRule: e.stopRule,
          maxIterations: e.maxIterations,
          starts: e.starts,
          newtonSteps: e.newtonSteps,
          newtonTolerance: e.newtonTolerance,
        });
        return { measure: canonicalSoftmax(res.measure), diagnostics: res.diagnostics };
      },
      losses(fit, t) {
        const b = voronoiBreakdown(fit.measure, t, d2);
        const merged = mergeToAtoms(fit.measure, t.atoms.length, SOFTMAX_GAUSSIAN_DISSIMILARITY);
        const out: Record<string, number> = {
          D2: b.total,
          D1: presetBreakdown('D1', fit.measure, t).total,
          weights: b.weightTerm,
          'merged-D2': voronoiBreakdown(merged, t, d2).total,
          'merged-D1': voronoiBreakdown(merged, t, d1All).total,
          'D2-code': nmoeCodeLoss('D2', fit.measure, t),
          'merged-D2-code': nmoeCodeLoss('D2', merged, t),
          'merged-D1-code': nmoeCodeLoss('D1', merged, t),
        };
        if (ref !== undefined) {
          const tr = withNu(t, ref);
          out['D2-ref'] = nmoeCodeLoss('D2', fit.measure, tr);
          out['merged-D2-ref'] = nmoeCodeLoss('D2', merged, tr);
          out['merged-D1-ref'] = nmoeCodeLoss('D1', merged, tr);
        }
        return out;
      },
    };
  },
};
