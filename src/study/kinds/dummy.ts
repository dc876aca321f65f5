/**
 * `mean`: the smallest model a study can run, for tests and for checking the machinery.
 *   Y = mu + sigma * eps,  eps ~ N(0, I_dim);  mu-hat = sample mean;  loss l2 = ||mu-hat - mu||.
 * Its rate is exactly n^(-1/2), so its fitted slope must come out near -0.5.
 */
import { z } from 'zod';
import { parseWith, finite } from '../../util/schema.js';
import type { CellModel, ModelKind } from '../registry.js';

const modelSchema = z
  .object({
    kind: z.literal('mean'),
    dim: z.number().int().min(1, { error: 'an integer >= 1' }).default(1),
    sigma: finite.refine((s) => s > 0, { error: 'a positive number' }).default(1),
  })
  .strict();
const estimatorSchema = z.object({ kind: z.literal('sample-mean').default('sample-mean') }).strict();

export const meanKind: ModelKind = {
  kind: 'mean',
  summary: 'Y = mu + sigma eps, mu-hat the sample mean (rate n^-1/2; for tests); losses l2, linf',
  lossNames: ['l2', 'linf'],
  estimators: ['sample-mean'],
  schemas: { model: modelSchema, estimator: estimatorSchema },
  build(model, estimator, path): CellModel {
    const m = parseWith(modelSchema, model, `${path}.model`);
    parseWith(estimatorSchema, estimator, `${path}.estimator`);
    return {
      simulate(n, rng) {
        const mu = new Float64Array(m.dim);
        for (let k = 0; k < m.dim; k++) mu[k] = rng.normal();
        const Y = new Float64Array(n * m.dim);
        for (let i = 0; i < n; i++) for (let k = 0; k < m.dim; k++) Y[i * m.dim + k] = (mu[k] ?? 0) + m.sigma * rng.normal();
        return { samples: { n, inputDim: 0, outputDim: m.dim, X: new Float64Array(0), Y }, truth: { atoms: [{ params: { mu } }] } };
      },
      fit(samples) {
        const t0 = performance.now();
        const mu = new Float64Array(samples.outputDim);
        for (let i = 0; i < samples.n; i++) for (let k = 0; k < samples.outputDim; k++) mu[k] = (mu[k] ?? 0) + (samples.Y[i * samples.outputDim + k] ?? 0) / samples.n;
        let ss = 0;
        for (let i = 0; i < samples.n; i++)
          for (let k = 0; k < samples.outputDim; k++) ss += ((samples.Y[i * samples.outputDim + k] ?? 0) - (mu[k] ?? 0)) ** 2;
        return {
          measure: { atoms: [{ params: { mu } }] },
          diagnostics: { iterations: 1, converged: true, objective: ss / samples.n, restarts: 1, seconds: (performance.now() - t0) / 1000 },
        };
      },
      losses(fit, truth) {
        const a = fit.measure.atoms[0]?.params.mu ?? new Float64Array(0);
        const b = truth.atoms[0]?.params.mu ?? new Float64Array(0);
        let s2 = 0;
        let inf = 0;
        for (let k = 0; k < b.length; k++) {
          const d = Math.abs((a[k] ?? 0) - (b[k] ?? 0));
          s2 += d * d;
          inf = Math.max(inf, d);
        }
        return { l2: Math.sqrt(s2), linf: inf };
      },
    };
  },
};
