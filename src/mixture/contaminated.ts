/**
 * Contaminated (frozen-expert) mixtures of experts: K0 >= 1 experts fixed at known parameters
 * (a pretrained model), L estimated experts (prompts) of one family, and the estimated experts'
 * gates; x in R^d, y in R^q:
 *
 *   logits   s_i(x) = b0_i + beta0_i^T x (frozen i, known),   s_j(x) = b_j + beta_j^T x (estimated j)
 *   softmax  f(x) = sum_i g_i f0_i(x) + sum_j g_j e(x; eta_j),   g = softmax(s) over all K0 + L experts
 *   sigmoid  f(x) = sum_i sigma(s_i) f0_i(x) + sum_j sigma(s_j) e(x; eta_j)   (each gate on its own)
 *
 * The frozen logits anchor the softmax, so (b_j, beta_j) are identified without a translation.
 * theta, atom by atom: [b_j, beta_j (d), eta_j]; as a mixing measure atom j has weight exp(b_j)
 * and blocks { beta, expert's blocks } (only the estimated part: a loss scores nothing else).
 * Jacobian in theta (e_j = e(x; eta_j)):
 *   softmax  d f / d eta_j = g_j d e_j / d eta_j,  d f / d b_j = g_j (e_j - f),  d f / d beta_j = g_j (e_j - f) x
 *   sigmoid  d f / d eta_j = g_j d e_j / d eta_j,  d f / d b_j = g_j (1 - g_j) e_j,  d f / d beta_j = g_j (1 - g_j) e_j x
 */
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { RegressionFamily } from './family.js';
import type { Atom, MixingMeasure } from './measure.js';
import type { ExpertFamily } from './experts/expert.js';
import { softmaxInPlace } from './gates/softmax.js';

export interface FrozenExpert {
  readonly expert: ExpertFamily;
  /** Its fixed parameters (expert.nParams). */
  readonly params: Float64Array;
  /** Its fixed gate: logit bias b0 and slope beta0 (length d). */
  readonly bias: number;
  readonly beta: Float64Array;
}

export interface ContaminatedConfig {
  readonly inputDim: number;
  readonly gate: 'softmax' | 'sigmoid';
  readonly frozen: ReadonlyArray<FrozenExpert>;
  /** Family of the estimated experts. */
  readonly expert: ExpertFamily;
  /** Number of estimated atoms L. */
  readonly atoms: number;
}

export interface ContaminatedFamily extends RegressionFamily {
  readonly atoms: number;
  readonly config: ContaminatedConfig;
  sampleTheta(rng: Rng): Float64Array;
}

export function contaminatedMoe(cfg: ContaminatedConfig): ContaminatedFamily {
  const d = cfg.inputDim;
  const L = cfg.atoms;
  const ex = cfg.expert;
  const q = ex.outputDim;
  const K0 = cfg.frozen.length;
  const softmax = cfg.gate === 'softmax';
  if (!Number.isInteger(L) || L < 1) throw new InputError('atoms', 'an integer >= 1', String(L));
  if (ex.inputDim !== d) throw new InputError('expert.inputDim', String(d), String(ex.inputDim));
  if (softmax && K0 < 1) throw new InputError('frozen', 'at least one frozen expert with a softmax gate (without one, use the softmax-moe family)', 'none');
  cfg.frozen.forEach((f, i) => {
    if (f.expert.inputDim !== d || f.expert.outputDim !== q) throw new InputError(`frozen[${i}].expert`, `an expert from R^${d} to R^${q}`, `R^${f.expert.inputDim} to R^${f.expert.outputDim}`);
    if (f.params.length !== f.expert.nParams) throw new InputError(`frozen[${i}].params`, `${f.expert.nParams} numbers`, String(f.params.length));
    if (f.beta.length !== d) throw new InputError(`frozen[${i}].beta`, `${d} numbers`, String(f.beta.length));
  });
  const pe = ex.nParams;
  const stride = 1 + d + pe;
  const P = L * stride;
  const K = K0 + L;
  // Scratch (one family per fit; worker threads build their own).
  const g = new Float64Array(K);
  const E = new Float64Array(K * q);
  const f = new Float64Array(q);

  const forward = (theta: Float64Array, x: Float64Array, jac: Float64Array | null): void => {
    for (let i = 0; i < K0; i++) {
      const fr = cfg.frozen[i] as FrozenExpert;
      let s = fr.bias;
      for (let k = 0; k < d; k++) s += (fr.beta[k] as number) * (x[k] as number);
      g[i] = s;
      fr.expert.value(fr.params, 0, x, E, i * q);
    }
    for (let j = 0; j < L; j++) {
      const o = j * stride;
      let s = theta[o] as number;
      for (let k = 0; k < d; k++) s += (theta[o + 1 + k] as number) * (x[k] as number);
      g[K0 + j] = s;
      if (jac === null) ex.value(theta, o + 1 + d, x, E, (K0 + j) * q);
      else ex.jacobian(theta, o + 1 + d, x, E, (K0 + j) * q, jac, P, o + 1 + d);
    }
    if (softmax) softmaxInPlace(g, K);
    else for (let i = 0; i < K; i++) g[i] = 1 / (1 + Math.exp(-(g[i] as number)));
    for (let r = 0; r < q; r++) {
      let s = 0;
      for (let i = 0; i < K; i++) s += (g[i] as number) * (E[i * q + r] as number);
      f[r] = s;
    }
  };

  const toMeasure = (theta: Float64Array): MixingMeasure => {
    const atoms: Atom[] = [];
    for (let j = 0; j < L; j++) {
      const o = j * stride;
      const params: Record<string, Float64Array> = { beta: theta.slice(o + 1, o + 1 + d) };
      let p = o + 1 + d;
      for (const b of ex.blocks) {
        params[b.name] = theta.slice(p, p + b.size);
        p += b.size;
      }
      atoms.push({ weight: Math.exp(theta[o] as number), params });
    }
    return { atoms };
  };

  const fromMeasure = (m: MixingMeasure): Float64Array => {
    if (m.atoms.length !== L) throw new InputError('measure.atoms', `${L} atoms`, String(m.atoms.length));
    const theta = new Float64Array(P);
    m.atoms.forEach((a, j) => {
      const o = j * stride;
      const w = a.weight ?? 1;
      if (!(w > 0) || !Number.isFinite(w)) throw new InputError(`measure.atoms[${j}].weight`, 'a finite positive number', String(w));
      theta[o] = Math.log(w);
      let p = o + 1;
      for (const b of [{ name: 'beta', size: d }, ...ex.blocks]) {
        const v = a.params[b.name];
        if (v === undefined || v.length !== b.size) throw new InputError(`measure.atoms[${j}].params.${b.name}`, `an array of length ${b.size}`, v === undefined ? 'nothing' : `length ${v.length}`);
        theta.set(v, p);
        p += b.size;
      }
    });
    return theta;
  };

  return {
    name: `contaminated-moe(${cfg.gate}, K0=${K0} frozen, L=${L} ${ex.kind}, d=${d})`,
    config: cfg,
    atoms: L,
    inputDim: d,
    outputDim: q,
    nParams: P,
    predict(theta, x, out) {
      forward(theta, x, null);
      for (let r = 0; r < q; r++) out[r] = f[r] as number;
    },
    jacobian(theta, x, out, jac) {
      forward(theta, x, jac);
      for (let r = 0; r < q; r++) out[r] = f[r] as number;
      for (let j = 0; j < L; j++) {
        const o = j * stride;
        const gj = g[K0 + j] as number;
        for (let r = 0; r < q; r++) {
          const row = r * P;
          const ej = E[(K0 + j) * q + r] as number;
          const c = softmax ? gj * (ej - (f[r] as number)) : gj * (1 - gj) * ej;
          jac[row + o] = c;
          for (let k = 0; k < d; k++) jac[row + o + 1 + k] = c * (x[k] as number);
          for (let k = 0; k < pe; k++) jac[row + o + 1 + d + k] = gj * (jac[row + o + 1 + d + k] as number);
        }
      }
    },
    toMeasure,
    fromMeasure,
    sampleTheta(rng) {
      const theta = new Float64Array(P);
      for (let j = 0; j < L; j++) for (let k = 1; k < stride; k++) theta[j * stride + k] = rng.normal();
      return theta;
    },
  };
}
