/**
 * Softmax-gated mixture of experts as a regression family (docs/theory.md §4, softmax-moe):
 *   f_G(x) = sum_j g_j(x) e(x; eta_j),   g_j(x) = exp(b_j + s(x; theta_j)) / sum_l exp(b_l + s(x; theta_l)),
 * G = sum_j exp(b_j) delta_{(theta_j, eta_j)}. Each atom of the measure carries weight exp(b_j)
 * and named parameter blocks: the score's (`beta`, `Q`) and the expert's (`eta`; `A`, `a`;
 * `W`, `c`, `V`, `v0`).
 *
 * theta layout, atom by atom: [b_j, score params, expert params]. Softmax is unchanged when the
 * same (b, score params) is added to every atom, so G is identifiable only up to that
 * translation; `anchor: 'last'` removes it by fixing the last atom's b and score parameters at 0
 * (the multinomial-logit reference class); they are then not part of theta, and `fromMeasure`
 * maps any measure to its anchored equivalent by subtracting the last atom's gate parameters
 * (valid for score families linear in their parameters, as affine and quadratic are).
 * `prepare` (softmax-moe-prepared.ts, equal to predict / jacobian to rounding) exists for affine
 * gates with constant, affine or mlp experts; custom and quadratic families have none.
 * Jacobian:
 *   d f / d eta_j   = g_j d e_j / d eta_j
 *   d f / d b_j     = g_j (e_j - f)
 *   d f / d theta_j = g_j (e_j - f) d s_j / d theta_j
 */
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { RegressionFamily, Samples } from './family.js';
import type { Atom, MixingMeasure } from './measure.js';
import { affineScore } from './gates/affine.js';
import { quadraticScore } from './gates/quadratic.js';
import type { ScoreFamily } from './gates/score.js';
import { softmaxInPlace } from './gates/softmax.js';
import { affineExpert } from './experts/affine.js';
import { constantExpert } from './experts/constant.js';
import type { ExpertFamily } from './experts/expert.js';
import { mlpExpert, type MlpExpertOptions } from './experts/mlp.js';
import { hasPreparedSoftmaxMoe, prepareSoftmaxMoe } from './softmax-moe-prepared.js';

export type GateSpec = { readonly kind: 'affine' } | { readonly kind: 'quadratic' } | { readonly kind: 'custom'; readonly score: ScoreFamily };
export type ExpertSpec =
  | { readonly kind: 'constant' }
  | { readonly kind: 'affine' }
  | ({ readonly kind: 'mlp' } & MlpExpertOptions)
  | { readonly kind: 'custom'; readonly expert: ExpertFamily };

export interface SoftmaxMoeConfig {
  /** Number of atoms (experts) L. */
  readonly atoms: number;
  /** Dimension d of x. */
  readonly inputDim: number;
  /** Dimension q of y (default 1). */
  readonly outputDim?: number;
  readonly gate: GateSpec;
  readonly expert: ExpertSpec;
  /** 'last': fix the last atom's bias and score parameters at 0 (default 'none'). */
  readonly anchor?: 'none' | 'last';
}

export interface SoftmaxMoeFamily extends RegressionFamily {
  readonly config: SoftmaxMoeConfig;
  readonly atoms: number;
  readonly score: ScoreFamily;
  readonly expert: ExpertFamily;
  /** Offset of atom j's bias b_j in theta, or -1 for an anchored atom. */
  readonly gateOffsets: ReadonlyArray<number>;
  /** Offset of atom j's expert parameters in theta. */
  readonly expertOffsets: ReadonlyArray<number>;
  /** A random theta: biases 0, score and expert parameters N(0, 1). */
  sampleTheta(rng: Rng): Float64Array;
  /** Approximate floating-point operations of one `jacobian` call (for benchmarks). */
  readonly flopsPerJacobian: number;
}

function positiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InputError(field, 'an integer >= 1', String(v));
  return v;
}

export function softmaxMoe(config: SoftmaxMoeConfig): SoftmaxMoeFamily {
  const L = positiveInt('atoms', config.atoms);
  const d = positiveInt('inputDim', config.inputDim);
  const q = positiveInt('outputDim', config.outputDim ?? 1);
  const anchored = (config.anchor ?? 'none') === 'last';
  if (config.anchor !== undefined && config.anchor !== 'none' && config.anchor !== 'last') throw new InputError('anchor', "'none' or 'last'", String(config.anchor));
  let score: ScoreFamily;
  switch (config.gate.kind) {
    case 'affine':
      score = affineScore(d);
      break;
    case 'quadratic':
      score = quadraticScore(d);
      break;
    case 'custom':
      score = config.gate.score;
      break;
    default:
      throw new InputError('gate.kind', "'affine', 'quadratic' or 'custom'", String((config.gate as { kind: unknown }).kind));
  }
  let expert: ExpertFamily;
  switch (config.expert.kind) {
    case 'constant':
      expert = constantExpert(d, q);
      break;
    case 'affine':
      expert = affineExpert(d, q);
      break;
    case 'mlp':
      expert = mlpExpert(d, q, config.expert);
      break;
    case 'custom':
      expert = config.expert.expert;
      break;
    default:
      throw new InputError('expert.kind', "'constant', 'affine', 'mlp' or 'custom'", String((config.expert as { kind: unknown }).kind));
  }
  if (score.inputDim !== d) throw new InputError('gate.score.inputDim', `${d}`, String(score.inputDim));
  if (expert.inputDim !== d) throw new InputError('expert.expert.inputDim', `${d}`, String(expert.inputDim));
  if (expert.outputDim !== q) throw new InputError('expert.expert.outputDim', `${q}`, String(expert.outputDim));
  const names = [...score.blocks, ...expert.blocks].map((b) => b.name);
  if (new Set(names).size !== names.length) throw new InputError('expert.blocks', 'names distinct from the score blocks', names.join(','));

  const ps = score.nParams;
  const pe = expert.nParams;
  const gateOffsets: number[] = [];
  const expertOffsets: number[] = [];
  let P = 0;
  for (let j = 0; j < L; j++) {
    if (anchored && j === L - 1) gateOffsets.push(-1);
    else {
      gateOffsets.push(P);
      P += 1 + ps;
    }
    expertOffsets.push(P);
    P += pe;
  }
  const gOff = Int32Array.from(gateOffsets);
  const eOff = Int32Array.from(expertOffsets);
  // Scratch (one family is used by one fit at a time; worker threads each build their own).
  const gates = new Float64Array(L);
  const E = new Float64Array(L * q);
  const sg = new Float64Array(L * Math.max(ps, 1));
  const f = new Float64Array(q);

  const predict = (theta: Float64Array, x: Float64Array, out: Float64Array): void => {
    for (let j = 0; j < L; j++) {
      const go = gOff[j] as number;
      gates[j] = go < 0 ? 0 : (theta[go] as number) + score.value(theta, go + 1, x);
      expert.value(theta, eOff[j] as number, x, E, j * q);
    }
    softmaxInPlace(gates, L);
    for (let r = 0; r < q; r++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += (gates[j] as number) * (E[j * q + r] as number);
      out[r] = s;
    }
  };

  const jacobian = (theta: Float64Array, x: Float64Array, out: Float64Array, jac: Float64Array): void => {
    for (let j = 0; j < L; j++) {
      const go = gOff[j] as number;
      gates[j] = go < 0 ? 0 : (theta[go] as number) + score.gradParams(theta, go + 1, x, sg, j * ps);
      const eo = eOff[j] as number;
      expert.jacobian(theta, eo, x, E, j * q, jac, P, eo);
    }
    softmaxInPlace(gates, L);
    for (let r = 0; r < q; r++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += (gates[j] as number) * (E[j * q + r] as number);
      f[r] = s;
      out[r] = s;
    }
    for (let j = 0; j < L; j++) {
      const gj = gates[j] as number;
      const eo = eOff[j] as number;
      const go = gOff[j] as number;
      for (let r = 0; r < q; r++) {
        const row = r * P;
        for (let k = 0; k < pe; k++) jac[row + eo + k] = gj * (jac[row + eo + k] as number);
        if (go >= 0) {
          const c = gj * ((E[j * q + r] as number) - (f[r] as number));
          jac[row + go] = c;
          for (let k = 0; k < ps; k++) jac[row + go + 1 + k] = c * (sg[j * ps + k] as number);
        }
      }
    }
  };

  const toMeasure = (theta: Float64Array): MixingMeasure => {
    const atoms: Atom[] = [];
    for (let j = 0; j < L; j++) {
      const params: Record<string, Float64Array> = {};
      const go = gOff[j] as number;
      let o = go + 1;
      for (const b of score.blocks) {
        params[b.name] = go < 0 ? new Float64Array(b.size) : theta.slice(o, o + b.size);
        o += b.size;
      }
      o = eOff[j] as number;
      for (const b of expert.blocks) {
        params[b.name] = theta.slice(o, o + b.size);
        o += b.size;
      }
      atoms.push({ weight: go < 0 ? 1 : Math.exp(theta[go] as number), params });
    }
    return { atoms };
  };

  const fromMeasure = (g: MixingMeasure): Float64Array => {
    if (g.atoms.length !== L) throw new InputError('measure.atoms', `${L} atoms`, `${g.atoms.length}`);
    const theta = new Float64Array(P);
    const gateOf = (a: Atom, j: number): Float64Array => {
      const v = new Float64Array(1 + ps);
      const w = a.weight ?? 1;
      if (!(w > 0) || !Number.isFinite(w)) throw new InputError(`measure.atoms[${j}].weight`, 'a finite positive number', String(w));
      v[0] = Math.log(w);
      let o = 1;
      for (const b of score.blocks) {
        const src = a.params[b.name];
        if (src === undefined || src.length !== b.size) throw new InputError(`measure.atoms[${j}].params.${b.name}`, `an array of length ${b.size}`, src === undefined ? 'nothing' : `length ${src.length}`);
        v.set(src, o);
        o += b.size;
      }
      return v;
    };
    const last = g.atoms[L - 1] as Atom;
    const ref = anchored ? gateOf(last, L - 1) : new Float64Array(1 + ps);
    g.atoms.forEach((a, j) => {
      const go = gOff[j] as number;
      if (go >= 0) {
        const v = gateOf(a, j);
        for (let k = 0; k <= ps; k++) theta[go + k] = (v[k] as number) - (ref[k] as number);
      }
      let o = eOff[j] as number;
      for (const b of expert.blocks) {
        const src = a.params[b.name];
        if (src === undefined || src.length !== b.size) throw new InputError(`measure.atoms[${j}].params.${b.name}`, `an array of length ${b.size}`, src === undefined ? 'nothing' : `length ${src.length}`);
        theta.set(src, o);
        o += b.size;
      }
    });
    return theta;
  };

  const preparable = hasPreparedSoftmaxMoe(config.gate, config.expert, q);
  const layout = { atoms: L, inputDim: d, outputDim: q, nParams: P, gate: config.gate, expert: config.expert, gateOffsets: gOff, expertOffsets: eOff };

  return {
    ...(preparable ? { prepare: (samples: Samples) => prepareSoftmaxMoe(layout, samples) } : {}),
    name: `softmax-moe(L=${L}, d=${d}, q=${q}, gate=${score.kind}, expert=${expert.kind}${anchored ? ', anchored' : ''})`,
    config,
    atoms: L,
    score,
    expert,
    inputDim: d,
    outputDim: q,
    nParams: P,
    gateOffsets,
    expertOffsets,
    predict,
    jacobian,
    toMeasure,
    fromMeasure,
    sampleTheta(rng: Rng): Float64Array {
      const theta = new Float64Array(P);
      for (let j = 0; j < L; j++) {
        const go = gOff[j] as number;
        if (go >= 0) for (let k = 1; k <= ps; k++) theta[go + k] = rng.normal();
        const eo = eOff[j] as number;
        for (let k = 0; k < pe; k++) theta[eo + k] = rng.normal();
      }
      return theta;
    },
    flopsPerJacobian: L * (2 * ps + 2 * q * pe + 4 * d * (expert.kind.startsWith('mlp') ? pe / Math.max(1, d) : q) + 3 * q) + 20 * L,
  };
}
