/**
 * The merging regime for Gaussian-gated families: a floor on the canonical gate weights and a
 * bound on the gate means, by reparameterisation.
 *
 * Why the softmax floor (weight-floor.ts) does not carry over: Gaussian gates are
 * softmax_j(b_j - ||z - c_j||^2 / (2 s^2)) with no fixed token scores beside them, so the b_j
 * matter only up to a common shift, and a translation c_j -> c_j + t, b_j -> b_j + c_j . t / s^2
 * leaves every gate unchanged. A floor on exp(b_j) therefore binds nothing; and even a floor on
 * the canonical weights lets a surplus atom switch itself off by moving its gate mean c_j far
 * from the data (its gate is then negligible at every sample whatever its weight). So both are
 * constrained. With free parameters u (one per atom) and c_hat (d per atom), per atom [u_j, c_hat_j, rest]:
 *
 *   s = softmax(u),  pi_j = f + (1 - L f) s_j                       (pi_j >= f, sum_j pi_j = 1)
 *   ct_j = R tanh(c_hat_j / R)   (entrywise: |ct_ja| < R)
 *   c_j  = ct_j - sum_l pi_l ct_l                                   (sum_j pi_j c_j = 0)
 *   b_j  = log pi_j
 *
 * so (b, c) is already in the canonical form of gaussian-prompt.ts (weights pi summing to 1,
 * weighted gate means 0): the reported weights are the floored ones and |c_ja| < 2 R.
 * Jacobian (J_x: the inner family's column for x, S_a = sum_j J_{c_ja}, sbar = sum_l s_l ct_l):
 *
 *   J_{u_k}      = (1 - L f) s_k [ J_{b_k} / pi_k - sum_j s_j J_{b_j} / pi_j - sum_a S_a (ct_ka - sbar_a) ]
 *   J_{c_hat_ka} = sech^2(c_hat_ka / R) (J_{c_ka} - pi_k S_a)
 *
 * and the remaining columns (the experts') are the inner family's.
 */
import { InputError } from '../util/errors.js';
import type { PreparedFamily, RegressionFamily, Samples } from './family.js';
import type { MixingMeasure } from './measure.js';

/** A Gaussian-gated family whose theta holds atom by atom [b_j, c_j (gateDim entries), expert...]. */
export interface GaussianGateAtomFamily extends RegressionFamily {
  readonly atoms: number;
  readonly atomSize: number;
}

export interface GateFloor {
  /** f: every canonical gate weight pi_j stays >= f (needs f < 1 / L). */
  readonly weight: number;
  /** R: every entry of the (uncentred) gate means stays within (-R, R). */
  readonly bound: number;
  /** d: entries of each gate mean c_j (they follow b_j in each atom's block). */
  readonly gateDim: number;
}

export function withGateFloor(family: GaussianGateAtomFamily, floor: GateFloor): GaussianGateAtomFamily {
  const { atoms: L, atomSize, nParams } = family;
  const { weight: f, bound: R, gateDim: d } = floor;
  if (!(f > 0 && f < 1 / L)) throw new InputError('weightFloor', `a number in (0, 1/L) = (0, ${(1 / L).toPrecision(3)}) for L = ${L} gated atoms`, String(f));
  if (!(R > 0 && Number.isFinite(R))) throw new InputError('gateBound', 'a positive number', String(R));
  if (atomSize < 1 + d) throw new InputError('gateDim', `at most atomSize - 1 (${atomSize - 1})`, String(d));
  const g = 1 - L * f;
  /** What `map` leaves for `chain`: one per evaluation path, so a prepared fit and direct calls never share it. */
  interface State {
    readonly inner: Float64Array;
    readonly s: Float64Array;
    readonly pi: Float64Array;
    readonly ct: Float64Array;
    readonly sech2: Float64Array;
    readonly sbar: Float64Array;
    readonly m: Float64Array;
    readonly sumC: Float64Array;
    readonly jb: Float64Array;
    readonly jc: Float64Array;
  }
  const state = (): State => ({
    inner: new Float64Array(nParams),
    s: new Float64Array(L),
    pi: new Float64Array(L),
    ct: new Float64Array(L * d),
    sech2: new Float64Array(L * d),
    sbar: new Float64Array(d),
    m: new Float64Array(d),
    sumC: new Float64Array(d),
    jb: new Float64Array(L),
    jc: new Float64Array(L * d),
  });

  /** theta (u, c_hat) -> the inner family's theta (b, c) in st.inner; keeps what the Jacobian needs in st. */
  const map = (theta: Float64Array, st: State): Float64Array => {
    const { inner, s, pi, ct, sech2, sbar, m } = st;
    inner.set(theta);
    let mx = -Infinity;
    for (let j = 0; j < L; j++) mx = Math.max(mx, theta[j * atomSize] as number);
    let z = 0;
    for (let j = 0; j < L; j++) {
      const e = Math.exp((theta[j * atomSize] as number) - mx);
      s[j] = e;
      z += e;
    }
    sbar.fill(0);
    m.fill(0);
    for (let j = 0; j < L; j++) {
      s[j] = (s[j] as number) / z;
      pi[j] = f + g * (s[j] as number);
      for (let a = 0; a < d; a++) {
        const h = (theta[j * atomSize + 1 + a] as number) / R;
        const th = Math.tanh(h);
        ct[j * d + a] = R * th;
        sech2[j * d + a] = 1 - th * th;
        m[a] = (m[a] as number) + (pi[j] as number) * R * th;
        sbar[a] = (sbar[a] as number) + (s[j] as number) * R * th;
      }
    }
    for (let j = 0; j < L; j++) {
      inner[j * atomSize] = Math.log(pi[j] as number);
      for (let a = 0; a < d; a++) inner[j * atomSize + 1 + a] = (ct[j * d + a] as number) - (m[a] as number);
    }
    return inner;
  };

  /** An inner theta (b, c) -> (u, c_hat): weights below the floor are raised to 1.1 f, means clipped inside the bound. */
  const unmap = (theta: Float64Array): Float64Array => {
    const out = Float64Array.from(theta);
    const w = Array.from({ length: L }, (_, j) => theta[j * atomSize] as number);
    const mx = Math.max(...w);
    const e = w.map((b) => Math.exp(b - mx));
    const z = e.reduce((acc, v) => acc + v, 0);
    const raised = e.map((v) => Math.max(v / z, 1.1 * f));
    const zr = raised.reduce((acc, v) => acc + v, 0);
    for (let j = 0; j < L; j++) {
      const sj = Math.max((raised[j] as number) / zr - f, 0.1 * f) / g;
      out[j * atomSize] = Math.log(sj);
      for (let a = 0; a < d; a++) {
        const c = Math.max(-0.99, Math.min(0.99, (theta[j * atomSize + 1 + a] as number) / R));
        out[j * atomSize + 1 + a] = R * Math.atanh(c);
      }
    }
    return out;
  };

  /** Rewrite the gate columns of one output row: col(a) reads / writes the column of parameter a. */
  const chain = (st: State, get: (a: number) => number, set: (a: number, v: number) => void): void => {
    const { s, pi, ct, sech2, sbar, sumC, jb, jc } = st;
    sumC.fill(0);
    let sb = 0;
    for (let j = 0; j < L; j++) {
      jb[j] = get(j * atomSize) / (pi[j] as number);
      sb += (s[j] as number) * (jb[j] as number);
      for (let a = 0; a < d; a++) {
        const v = get(j * atomSize + 1 + a);
        jc[j * d + a] = v;
        sumC[a] = (sumC[a] as number) + v;
      }
    }
    for (let k = 0; k < L; k++) {
      let dot = 0;
      for (let a = 0; a < d; a++) dot += (sumC[a] as number) * ((ct[k * d + a] as number) - (sbar[a] as number));
      set(k * atomSize, g * (s[k] as number) * ((jb[k] as number) - sb - dot));
      for (let a = 0; a < d; a++) set(k * atomSize + 1 + a, (sech2[k * d + a] as number) * ((jc[k * d + a] as number) - (pi[k] as number) * (sumC[a] as number)));
    }
  };

  const direct = state();
  return {
    name: `${family.name} (gate weights >= ${f}, |gate means| < ${R})`,
    inputDim: family.inputDim,
    outputDim: family.outputDim,
    nParams,
    atoms: L,
    atomSize,
    predict(theta, x, out) {
      family.predict(map(theta, direct), x, out);
    },
    jacobian(theta, x, out, jac) {
      family.jacobian(map(theta, direct), x, out, jac);
      for (let r = 0; r < family.outputDim; r++) {
        const o = r * nParams;
        chain(direct, (a) => jac[o + a] as number, (a, v) => { jac[o + a] = v; });
      }
    },
    toMeasure(theta): MixingMeasure {
      return family.toMeasure(Float64Array.from(map(theta, state())));
    },
    fromMeasure(gm) {
      return unmap(family.fromMeasure(gm));
    },
    ...(family.prepare === undefined ? {} : { prepare: (samples: Samples) => prepareFloored((family.prepare as (x: Samples) => PreparedFamily)(samples)) }),
  };

  /** The inner prepared path bound at the mapped theta, the gate rows of J^T rewritten by `chain`. */
  function prepareFloored(p: PreparedFamily): PreparedFamily {
    const st = state();
    return {
      bind(theta) {
        p.bind(Float64Array.from(map(theta, st)));
      },
      predictRows: (i0, count, out) => p.predictRows(i0, count, out),
      jacobianRows(i0, count, out, jt, stride) {
        p.jacobianRows(i0, count, out, jt, stride);
        const m = count * family.outputDim;
        for (let t = 0; t < m; t++) chain(st, (a) => jt[a * stride + t] as number, (a, v) => { jt[a * stride + t] = v; });
      },
      // Identity blocks (expert columns) are left as they are.
      ...(p.identityBlocks === undefined ? {} : { identityBlocks: p.identityBlocks }),
      flopsPerJacobian: p.flopsPerJacobian,
    };
  }
}
