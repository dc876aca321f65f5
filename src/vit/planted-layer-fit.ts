/**
 * Planting, fitting and scoring on one prompted layer (src/vit/planted-layer.ts), in float64:
 *
 *   truth     L* atoms, drawn from a seed: b*_j = plantBias, and
 *               vpt-deep  p*_j = plantScale z_j                       (z_j ~ N(0, I_d): the scale of LN1 outputs)
 *               kv        k*_j = plantScale z_j W_K + b_K,  v*_j = plantScale z'_j W_V + b_V   (a token's key / value scale)
 *               vapt      alpha*_j = plantScale z_j / sqrt(H'W')
 *   targets   y = f_{theta*}(X) + sigma eps,  eps ~ N(0, I) per coordinate (seeded)
 *   start     the 'fixed' protocol of the simulation: the truth expanded to L atoms
 *             (src/estimate/init.ts expandMeasure: each true atom at least once, weights split
 *             evenly among copies), then every entry + startScale * s_block * N(0, 1), s_block the
 *             block's planted scale (1 for b, plantScale for p, |z W| entries' RMS for k / v,
 *             plantScale / sqrt(H'W') for alpha); the same law for every n
 *   fit       L-BFGS to the stopping rule of src/estimate/minimize.ts
 *   losses    from src/loss, as the simulation scores prompt mixtures: D1 (presets 'D1', atoms
 *             weighted by exp(b_j), plus the weight term) and the per-atom losses of atoms.ts
 *             (atoms-single, atoms-multi, atoms-multi-min), cells by summed block distance.
 */
import { InputError } from '../util/errors.js';
import { makeRng, type Rng } from '../util/rng.js';
import { expandMeasure } from '../estimate/init.js';
import { minimizeLbfgs, type MinimizeOptions, type MinimizeStop } from '../estimate/minimize.js';
import { presetBreakdown } from '../loss/presets.js';
import { atomReport, type AtomLossName } from '../loss/atoms.js';
import type { MixingMeasure } from '../mixture/measure.js';
import { convGrid } from '../prompts/config.js';
import type { LayerWeights, PlantedForm, PlantedLayer, VaptPart } from './planted-layer.js';

export interface PlantOptions {
  readonly plantScale: number;
  readonly plantBias: number;
}

/** VAPT's known part drawn from a seed, as the simulation draws it: kernel N(0, 1/K^2), W1 N(0, 1/d), W2 N(0, 1/r). */
export function drawVaptPart(d: number, options: { K: number; padding: number; rank: number; residual: boolean }, seed: number): VaptPart {
  const rng = makeRng(seed);
  const gauss = (len: number, sd: number): Float64Array => Float64Array.from({ length: len }, () => sd * rng.normal());
  const { K, rank: r } = options;
  return { K, padding: options.padding, rank: r, residual: options.residual, kernel: gauss(K * K, 1 / K), W1: gauss(r * d, 1 / Math.sqrt(d)), W2: gauss(d * r, 1 / Math.sqrt(r)) };
}

/** H'W' of VAPT's convolution on a grid. */
export function vaptGridSize(grid: readonly [number, number], v: { K: number; padding: number }): number {
  const [h, w] = convGrid(grid, v.K, v.padding);
  return h * w;
}

function rowTimes(z: Float64Array, W: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = Float64Array.from(b);
  for (let m = 0; m < d; m++) for (let c = 0; c < d; c++) out[c] = (out[c] as number) + (z[m] as number) * (W[m * d + c] as number);
  return out;
}

/** The planted measure of L* atoms (see the header) and each block's scale. */
export function plantTruth(form: PlantedForm, Lstar: number, weights: LayerWeights, hw: number, options: PlantOptions, seed: number): { truth: MixingMeasure; blockScale: Record<string, number> } {
  const d = weights.d;
  const rng = makeRng(seed);
  const z = (len: number): Float64Array => Float64Array.from({ length: len }, () => options.plantScale * rng.normal());
  const w = Math.exp(options.plantBias);
  const atoms: Array<{ weight: number; params: Record<string, Float64Array> }> = [];
  for (let j = 0; j < Lstar; j++) {
    if (form === 'vpt-deep') atoms.push({ weight: w, params: { p: z(d) } });
    else if (form === 'kv') atoms.push({ weight: w, params: { k: rowTimes(z(d), weights.WK, weights.bK, d), v: rowTimes(z(d), weights.WV, weights.bV, d) } });
    else atoms.push({ weight: w, params: { alpha: z(hw).map((v) => v / Math.sqrt(hw)) } });
  }
  const rms = (name: string): number => {
    let s = 0;
    let c = 0;
    for (const a of atoms) for (const v of (a.params as Record<string, Float64Array>)[name] as Float64Array) { s += v * v; c++; }
    return Math.sqrt(s / c);
  };
  const blockScale: Record<string, number> = form === 'vpt-deep' ? { p: options.plantScale } : form === 'kv' ? { k: rms('k'), v: rms('v') } : { alpha: options.plantScale / Math.sqrt(hw) };
  return { truth: { atoms }, blockScale };
}

/** The 'fixed' start (header): truth expanded to the layer's L atoms, perturbed per block. */
export function fixedStart(layer: PlantedLayer, truth: MixingMeasure, blockScale: Record<string, number>, startScale: number, rng: Rng): Float64Array {
  if (!(startScale >= 0) || !Number.isFinite(startScale)) throw new InputError('startScale', 'a finite number >= 0', String(startScale));
  const theta = layer.fromMeasure(expandMeasure(truth, layer.atoms, rng));
  for (let j = 0; j < layer.atoms; j++) {
    const o = j * layer.atomSize;
    theta[o] = (theta[o] as number) + startScale * rng.normal();
    let off = o + 1;
    for (const b of layer.blocks) {
      const sd = startScale * (blockScale[b.name] ?? 1);
      for (let k = 0; k < b.length; k++) theta[off + k] = (theta[off + k] as number) + sd * rng.normal();
      off += b.length;
    }
  }
  return theta;
}

/** y = f(theta*) + sigma eps (seeded), n T d numbers. */
export function plantedTargets(layer: PlantedLayer, thetaStar: Float64Array, sigma: number, rng: Rng): Float64Array {
  const y = new Float64Array(layer.n * layer.outputDim);
  layer.predict(thetaStar, y);
  if (sigma > 0) for (let k = 0; k < y.length; k++) y[k] = (y[k] as number) + sigma * rng.normal();
  return y;
}

export interface LayerFitResult {
  readonly theta: Float64Array;
  readonly stopReason: MinimizeStop;
  readonly converged: boolean;
  readonly steps: number;
  readonly evaluations: number;
  /** Mean squared residual per coordinate, to set against sigma^2. */
  readonly trainObjective: number;
  readonly gradientNorm: number;
  readonly seconds: number;
}

/**
 * Gauss-Newton preconditioner at theta0: G = J^T J / m on a subsample layer (m = its n T d
 * outputs; J by forward differences, step 1e-6 max(1, |theta_k|)), plus a ridge 1e-10 tr(G) / P;
 * returns the upper Cholesky factor R (G + ridge = R^T R, row-major P x P). The trained
 * backbone's W_K, W_V have singular values down to ~1e-3, so the prompt parameters are badly
 * scaled; in u = R (theta - theta0) the objective's Hessian is near I and L-BFGS converges fast.
 */
export function gaussNewtonFactor(sub: PlantedLayer, theta0: Float64Array): Float64Array {
  const P = sub.nParams;
  const m = sub.n * sub.outputDim;
  const f0 = new Float64Array(m);
  sub.predict(theta0, f0);
  const J = new Float64Array(P * m); // column k at k m
  const fk = new Float64Array(m);
  const t = Float64Array.from(theta0);
  for (let k = 0; k < P; k++) {
    const h = 1e-6 * Math.max(1, Math.abs(theta0[k] as number));
    t[k] = (theta0[k] as number) + h;
    sub.predict(t, fk);
    t[k] = theta0[k] as number;
    const o = k * m;
    for (let r = 0; r < m; r++) J[o + r] = ((fk[r] as number) - (f0[r] as number)) / h;
  }
  const G = gramOfHeadSparse(J, P, m, sub.width, sub.heads);
  let tr = 0;
  for (let a = 0; a < P; a++) tr += G[a * P + a] as number;
  const ridge = Math.max(1e-10 * (tr / P), 1e-300);
  // Cholesky G + ridge I = R^T R (R upper).
  const R = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    for (let j = i; j < P; j++) {
      let s = (G[i * P + j] as number) + (i === j ? ridge : 0);
      for (let k = 0; k < i; k++) s -= (R[k * P + i] as number) * (R[k * P + j] as number);
      if (i === j) {
        if (!(s > 0)) throw new InputError('preconditioner', 'a positive definite Gauss-Newton matrix', String(s));
        R[i * P + i] = Math.sqrt(s);
      } else {
        R[i * P + j] = s / (R[i * P + i] as number);
      }
    }
  }
  return R;
}

/** G = J^T J / m summed row by row over every product (column k of J at k m): the plain reference `gramOfHeadSparse` equals to the bit. */
export function gramRowByRow(J: Float64Array, P: number, m: number): Float64Array {
  const G = new Float64Array(P * P);
  for (let a = 0; a < P; a++) {
    for (let b = a; b < P; b++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += (J[a * m + r] as number) * (J[b * m + r] as number);
      G[a * P + b] = s / m;
      G[b * P + a] = s / m;
    }
  }
  return G;
}

/**
 * G = J^T J / m for J stored column by column (column k at k m), whose rows are token-major
 * blocks of width d with head h in columns h dh .. (h+1) dh - 1. A column is exactly zero on the
 * heads its parameter cannot move (a key-value prompt's head-h entries move head h's outputs
 * alone), so each product runs over the heads both columns touch, rows in increasing order: the
 * skipped terms are exact zeros, and G is the plain row-by-row sum to the bit. Pairs that share
 * one head read that head's rows gathered contiguously, four columns b at a time (four
 * accumulators, each summing in row order).
 */
export function gramOfHeadSparse(J: Float64Array, P: number, m: number, d: number, heads: number): Float64Array {
  const dh = d / heads;
  const rowsOfD = m / d;
  if (!Number.isInteger(dh) || !Number.isInteger(rowsOfD) || heads > 30) throw new InputError('layer', 'outputs in rows of width d split into at most 30 heads', `m = ${m}, d = ${d}, heads = ${heads}`);
  const all = (1 << heads) - 1;
  const mask = new Int32Array(P);
  for (let k = 0; k < P; k++) {
    const o = k * m;
    let bits = 0;
    for (let r = 0; r < m && bits !== all; r++) if ((J[o + r] as number) !== 0) bits |= 1 << Math.floor((r % d) / dh);
    mask[k] = bits;
  }
  const single = (bits: number): number => (bits !== 0 && (bits & (bits - 1)) === 0 ? 31 - Math.clz32(bits) : -1);
  // Head h's rows of column k, contiguous (only where some column touches fewer than all heads).
  const seg = rowsOfD * dh;
  const sparse = mask.some((b) => b !== all);
  const segs: Array<Array<Float64Array | undefined>> = [];
  for (let k = 0; k < P; k++) {
    const row: Array<Float64Array | undefined> = [];
    for (let h = 0; h < heads; h++) {
      if (!sparse || ((mask[k] as number) & (1 << h)) === 0) {
        row.push(undefined);
        continue;
      }
      const out = new Float64Array(seg);
      for (let i = 0; i < rowsOfD; i++) out.set(J.subarray(k * m + i * d + h * dh, k * m + i * d + (h + 1) * dh), i * dh);
      row.push(out);
    }
    segs.push(row);
  }
  const G = new Float64Array(P * P);
  const put = (a: number, b: number, s: number): void => {
    G[a * P + b] = s / m;
    G[b * P + a] = s / m;
  };
  const hs: number[] = [];
  for (let a = 0; a < P; a++) {
    const oa = a * m;
    let b = a;
    while (b < P) {
      const common = (mask[a] as number) & (mask[b] as number);
      const h = common === all ? -1 : single(common);
      if (h >= 0) {
        // A run of up to four columns sharing exactly head h with column a.
        let len = 1;
        while (len < 4 && b + len < P && ((mask[a] as number) & (mask[b + len] as number)) === common) len++;
        const x = (segs[a] as Array<Float64Array | undefined>)[h] as Float64Array;
        const y0 = (segs[b] as Array<Float64Array | undefined>)[h] as Float64Array;
        if (len === 4) {
          const y1 = (segs[b + 1] as Array<Float64Array | undefined>)[h] as Float64Array;
          const y2 = (segs[b + 2] as Array<Float64Array | undefined>)[h] as Float64Array;
          const y3 = (segs[b + 3] as Array<Float64Array | undefined>)[h] as Float64Array;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let r = 0; r < seg; r++) {
            const v = x[r] as number;
            s0 += v * (y0[r] as number);
            s1 += v * (y1[r] as number);
            s2 += v * (y2[r] as number);
            s3 += v * (y3[r] as number);
          }
          put(a, b, s0);
          put(a, b + 1, s1);
          put(a, b + 2, s2);
          put(a, b + 3, s3);
        } else {
          for (let q = 0; q < len; q++) {
            const y = (segs[b + q] as Array<Float64Array | undefined>)[h] as Float64Array;
            let s = 0;
            for (let r = 0; r < seg; r++) s += (x[r] as number) * (y[r] as number);
            put(a, b + q, s);
          }
        }
        b += len;
        continue;
      }
      if (common !== 0) {
        const ob = b * m;
        let s = 0;
        if (common === all) {
          for (let r = 0; r < m; r++) s += (J[oa + r] as number) * (J[ob + r] as number);
        } else {
          hs.length = 0;
          for (let hh = 0; hh < heads; hh++) if (common & (1 << hh)) hs.push(hh * dh);
          for (let row = 0; row < rowsOfD; row++) {
            const ro = row * d;
            for (const ho of hs) {
              const o = ro + ho;
              for (let c = 0; c < dh; c++) s += (J[oa + o + c] as number) * (J[ob + o + c] as number);
            }
          }
        }
        put(a, b, s);
      }
      b++;
    }
  }
  return G;
}

/** theta = theta0 + R^{-1} u (back substitution). */
function fromU(R: Float64Array, P: number, theta0: Float64Array, u: Float64Array, out: Float64Array): void {
  for (let i = P - 1; i >= 0; i--) {
    let s = u[i] as number;
    for (let k = i + 1; k < P; k++) s -= (R[i * P + k] as number) * (out[k] as number);
    out[i] = s / (R[i * P + i] as number);
  }
  for (let i = 0; i < P; i++) out[i] = (out[i] as number) + (theta0[i] as number);
}

/** grad_u = R^{-T} grad_theta (forward substitution), in place into out. */
function gradToU(R: Float64Array, P: number, g: Float64Array, out: Float64Array): void {
  for (let i = 0; i < P; i++) {
    let s = g[i] as number;
    for (let k = 0; k < i; k++) s -= (R[k * P + i] as number) * (out[k] as number);
    out[i] = s / (R[i * P + i] as number);
  }
}

/**
 * Fit the layer's prompts to Y from theta0 by L-BFGS (stopping rule of minimize.ts). With
 * `precondition` (a subsample layer), L-BFGS runs in u = R (theta - theta_r) (gaussNewtonFactor
 * at theta_r), refreshed every `refresh` steps at the current point (the Gauss-Newton metric
 * moves with the gates); the gradient tolerance then applies to ||grad_u F|| =
 * (grad^T (G + ridge)^{-1} grad)^{1/2}, and maxSteps counts the steps of all rounds.
 */
export function fitLayer(layer: PlantedLayer, Y: Float64Array, theta0: Float64Array, options: MinimizeOptions = {}, precondition?: PlantedLayer, refresh = 100): LayerFitResult {
  const t0 = performance.now();
  const P = layer.nParams;
  const base = layer.objective(Y);
  if (precondition === undefined) {
    const r = minimizeLbfgs(base, theta0, options);
    return { theta: r.x, stopReason: r.stopReason, converged: r.converged, steps: r.steps, evaluations: r.evaluations, trainObjective: 2 * r.value, gradientNorm: r.gradientNorm, seconds: (performance.now() - t0) / 1000 };
  }
  const cap = options.maxSteps ?? 20000;
  let theta = Float64Array.from(theta0);
  let steps = 0;
  let evaluations = 0;
  const th = new Float64Array(P);
  const gt = new Float64Array(P);
  for (;;) {
    const R = gaussNewtonFactor(precondition, theta);
    const origin = theta;
    const objective = {
      dim: P,
      valueAndGradient(u: Float64Array, grad: Float64Array): number {
        fromU(R, P, origin, u, th);
        const f = base.valueAndGradient(th, gt);
        gradToU(R, P, gt, grad);
        return f;
      },
    };
    const budget = Math.min(refresh, cap - steps);
    const r = minimizeLbfgs(objective, new Float64Array(P), { ...options, maxSteps: budget });
    steps += r.steps;
    evaluations += r.evaluations;
    const next = new Float64Array(P);
    fromU(R, P, origin, r.x, next);
    theta = next;
    const last = r.stopReason !== 'cap' || steps >= cap || (r.stopReason === 'cap' && r.steps === 0);
    if (last) {
      return { theta, stopReason: r.stopReason, converged: r.converged, steps, evaluations, trainObjective: 2 * r.value, gradientNorm: r.gradientNorm, seconds: (performance.now() - t0) / 1000 };
    }
  }
}

export interface LayerLosses {
  readonly D1: number;
  readonly 'atoms-single'?: number;
  readonly 'atoms-multi'?: number;
  readonly 'atoms-multi-min'?: number;
  /** Cell sizes, one per true atom. */
  readonly cells: number[];
  readonly switchedOff: boolean;
  readonly escaped: boolean;
}

/** The simulation's losses of a fitted measure against the truth (src/loss). */
export function layerLosses(fitted: MixingMeasure, truth: MixingMeasure, health: { switchedOff?: number; escaped?: number } = {}): LayerLosses {
  const D1 = presetBreakdown('D1', fitted, truth).total;
  const rep = atomReport(fitted, truth, { ...(health.switchedOff !== undefined ? { switchedOffShare: health.switchedOff } : {}), ...(health.escaped !== undefined ? { escapeDistance: health.escaped } : {}) });
  const out: Record<string, unknown> = { D1 };
  for (const k of Object.keys(rep.losses) as AtomLossName[]) out[k] = rep.losses[k];
  out['cells'] = rep.cells.map((c) => c.size);
  out['switchedOff'] = rep.switchedOff;
  out['escaped'] = rep.escaped;
  return out as unknown as LayerLosses;
}
