/**
 * `contaminated`: frozen-expert (softmax-contaminated) MoE regression, src/mixture/contaminated.ts.
 * One or more experts are fixed at known parameters (a pretrained model); L prompt experts and
 * their gates are estimated by least squares (Gaussian noise, so least squares is also maximum
 * likelihood for the regression function):
 *
 *   Y = sum_i g_i(x) f0_i(x) + sum_j g_j(x) e(x; eta_j) + sigma eps
 *
 *   model: { kind: "contaminated", d, gate: "softmax" | "sigmoid",
 *            frozen: [ { expert, params: { "<block>": values }, bias?: 0, beta?: zeros } ],
 *            expert (the prompt experts' form), truth (of the estimated part), L (fitted atoms),
 *            sigma, design }
 *   Experts and truths: config-parts.ts (truth blocks: bias, beta, then the expert's blocks).
 *   Losses score only the estimated part: D1 (||delta|| in singleton cells, ||delta||^2 in
 *   multi-atom cells, weighted by exp(b_j), plus the weight term), weights, params, and the
 *   unweighted errors of the two parts apart, each fitted atom against its Voronoi cell's true
 *   atom, averaged over fitted atoms:
 *     gate    |b_i - b*_j| + ||beta_i - beta*_j||      (the gate's bias and slope)
 *     expert  sum over the expert's blocks ||eta_ip - eta*_jp||
 *   They separate when the prompt can mimic the pretrained expert (arXiv 2505.18455's
 *   non-distinguishable regime): there the gate is the part that is hard to estimate.
 */
import { z } from 'zod';
import { parseWith, finite } from '../../util/schema.js';
import { InputError } from '../../util/errors.js';
import { contaminatedMoe, type FrozenExpert } from '../../mixture/contaminated.js';
import { sampleResponses } from '../../mixture/sample.js';
import { leastSquares } from '../../estimate/least-squares.js';
import { nearInit } from '../../estimate/init.js';
import { presetBreakdown } from '../../loss/presets.js';
import { atomReport } from '../../loss/atoms.js';
import { designSchema, designSampler } from '../design.js';
import type { CellModel, ModelKind } from '../registry.js';
import { expertFamily, expertSchema, int1, leastSquaresSchema, positive, truthMeasure, truthSchema } from './config-parts.js';

const values = z.union([finite, z.array(z.union([finite, z.array(finite)]))], { error: 'a number, an array or a matrix of numbers' });
const frozenSchema = z
  .object({
    expert: expertSchema,
    params: z.record(z.string(), values, { error: 'an object { "<block>": values } with the expert\'s parameters' }),
    bias: finite.default(0),
    beta: z.union([finite, z.array(finite)]).optional(),
  })
  .strict();

const modelSchema = z
  .object({
    kind: z.literal('contaminated'),
    d: int1.default(1),
    gate: z.enum(['softmax', 'sigmoid'], { error: '"softmax" or "sigmoid"' }).default('softmax'),
    frozen: z.array(frozenSchema).min(1, { error: 'at least one frozen expert' }),
    expert: expertSchema.default('tanh'),
    truth: truthSchema,
    /** Fitted prompt atoms (>= the true number). */
    L: int1,
    sigma: positive.default(0.1),
    design: designSchema.default({ kind: 'gaussian', mean: 0, sd: 1 }),
  })
  .strict();

export const LOSS_NAMES = ['D1', 'weights', 'params', 'gate', 'expert'] as const;

const flat = (v: z.infer<typeof values>): number[] => (typeof v === 'number' ? [v] : v.flatMap((r) => (typeof r === 'number' ? [r] : r)));

export const contaminatedKind: ModelKind = {
  kind: 'contaminated',
  summary: 'frozen (pretrained) experts + estimated prompt experts and gates, softmax or sigmoid gate, least squares; losses D1, weights, params, gate, expert',
  lossNames: LOSS_NAMES,
  estimators: ['least-squares'],
  schemas: { model: modelSchema, estimator: leastSquaresSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    const e = parseWith(leastSquaresSchema, estimator, `${path}.estimator`);
    const frozen: FrozenExpert[] = m.frozen.map((fz, i) => {
      const field = `${path}.model.frozen[${i}]`;
      const ex = expertFamily(fz.expert, m.d);
      const params = new Float64Array(ex.nParams);
      let o = 0;
      for (const b of ex.blocks) {
        const v = fz.params[b.name];
        if (v === undefined) throw new InputError(`${field}.params.${b.name}`, `${b.size} number${b.size === 1 ? '' : 's'} (the ${ex.kind} expert has blocks ${ex.blocks.map((x) => x.name).join(', ')})`, 'nothing');
        const arr = flat(v);
        if (arr.length !== b.size) throw new InputError(`${field}.params.${b.name}`, `${b.size} number${b.size === 1 ? '' : 's'}`, String(arr.length));
        params.set(arr, o);
        o += b.size;
      }
      for (const key of Object.keys(fz.params)) if (!ex.blocks.some((b) => b.name === key)) throw new InputError(`${field}.params.${key}`, `one of ${ex.blocks.map((b) => b.name).join(', ')}`, 'an unknown block');
      const beta = fz.beta === undefined ? new Float64Array(m.d) : Float64Array.from(typeof fz.beta === 'number' ? [fz.beta] : fz.beta);
      if (beta.length !== m.d) throw new InputError(`${field}.beta`, `${m.d} numbers (d)`, String(beta.length));
      return { expert: ex, params, bias: fz.bias, beta };
    });
    const family = (L: number): ReturnType<typeof contaminatedMoe> => contaminatedMoe({ inputDim: m.d, gate: m.gate, frozen, expert: expertFamily(m.expert, m.d), atoms: L });
    const ex = expertFamily(m.expert, m.d);
    const truth = truthMeasure(m.truth, [{ name: 'beta', size: m.d }, ...ex.blocks], `${path}.model.truth`);
    const Lstar = truth.atoms.length;
    if (m.L < Lstar) throw new InputError(`${path}.model.L`, `at least the true number of prompt experts (${Lstar})`, String(m.L));
    const trueFamily = family(Lstar);
    const theta = trueFamily.fromMeasure(truth);
    const fitted = family(m.L);
    const design = designSampler(m.design, m.d, `${path}.model.design`);
    const lm = leastSquares({ maxIterations: e.maxIterations });
    return {
      regime: m.L > Lstar ? 'over' : 'exact',
      truth: truth,
      lossNames: LOSS_NAMES,
      protocol: e.init === 'random' ? 'random' : e.initRate === 0 ? 'fixed' : 'shrinking',
      simulate(n, rng) {
        return { samples: sampleResponses(trueFamily, theta, design(n, rng), m.sigma, rng), truth };
      },
      fit(samples, t, rng) {
        return lm.fit(fitted, samples, { rng, init: e.init === 'random' ? { kind: 'random' } : nearInit(t, samples.n, e.initScale, e.initRate), starts: e.starts });
      },
      losses(fit, t) {
        const b = presetBreakdown('D1', fit.measure, t);
        const r = atomReport(fit.measure, t);
        let gate = 0;
        let expertErr = 0;
        r.atoms.forEach((a, i) => {
          const w = fit.measure.atoms[i]?.weight ?? NaN;
          const w0 = t.atoms[a.cell]?.weight ?? NaN;
          gate += Math.abs(Math.log(w) - Math.log(w0)) + (a.blocks.beta ?? 0);
          expertErr += a.distance - (a.blocks.beta ?? 0);
        });
        return { D1: b.total, weights: b.weightTerm, params: b.paramTerm, gate: gate / r.atoms.length, expert: expertErr / r.atoms.length };
      },
    };
  },
};
