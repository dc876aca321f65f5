/**
 * A floor on fitted atom weights, by reparameterisation: the bias b_j of each atom (weight
 * exp(b_j)) is written through a free parameter u_j,
 *
 *   exp(b_j) = w_min + exp(u_j),   b_j = log(w_min + e^{u_j}),   d b_j / d u_j = e^{u_j} / (w_min + e^{u_j}),
 *
 * so every fitted atom keeps a weight above w_min and least squares stays unconstrained. An
 * over-specified fit can then no longer switch a surplus atom off (weight -> 0); it must share
 * a true atom's weight: the merging regime the slow-rate theory of over-specified prompts is about.
 * The Jacobian is the inner family's with the bias columns scaled by d b_j / d u_j.
 */
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { PreparedFamily, RegressionFamily, Samples } from './family.js';
import type { MixingMeasure } from './measure.js';

/** A family whose theta holds atom by atom [b_j, parameters...] (atomSize entries each). */
export interface BiasedAtomFamily extends RegressionFamily {
  readonly atoms: number;
  readonly atomSize: number;
  sampleTheta?(rng: Rng): Float64Array;
}

export function checkWeightFloor(floor: number): void {
  if (!(floor > 0 && Number.isFinite(floor))) throw new InputError('weightFloor', 'a positive number', String(floor));
}

/**
 * theta in u coordinates (atom j's entry j * atomSize is u_j) -> theta in b coordinates, into
 * `inner`; `scale[j]` = d b_j / d u_j. Every other entry is copied.
 */
export function flooredBiases(theta: Float64Array, atoms: number, atomSize: number, floor: number, inner: Float64Array, scale: Float64Array): Float64Array {
  inner.set(theta);
  for (let j = 0; j < atoms; j++) {
    const u = theta[j * atomSize] as number;
    // log(w + e^u) computed without overflow for large u.
    inner[j * atomSize] = u > 0 ? u + Math.log1p(floor * Math.exp(-u)) : Math.log(floor + Math.exp(u));
    scale[j] = 1 / (1 + floor * Math.exp(-u));
  }
  return inner;
}

/** The inverse map, b -> u (a new array); a bias whose weight is below the floor is put just above it (a tenth of the floor in excess). */
export function unflooredBiases(theta: Float64Array, atoms: number, atomSize: number, floor: number): Float64Array {
  const out = Float64Array.from(theta);
  for (let j = 0; j < atoms; j++) {
    const excess = Math.exp(theta[j * atomSize] as number) - floor;
    out[j * atomSize] = Math.log(Math.max(excess, 0.1 * floor));
  }
  return out;
}

export function withWeightFloor(family: BiasedAtomFamily, floor: number): BiasedAtomFamily {
  checkWeightFloor(floor);
  const { atoms, atomSize, nParams } = family;
  const inner = new Float64Array(nParams);
  const scale = new Float64Array(atoms);
  /** theta (with u_j) -> the inner family's theta (with b_j); fills `scale` with d b_j / d u_j. */
  const map = (theta: Float64Array): Float64Array => flooredBiases(theta, atoms, atomSize, floor, inner, scale);
  const unmap = (theta: Float64Array): Float64Array => unflooredBiases(theta, atoms, atomSize, floor);
  return {
    name: `${family.name} (weights >= ${floor})`,
    inputDim: family.inputDim,
    outputDim: family.outputDim,
    nParams,
    atoms,
    atomSize,
    predict(theta, x, out) {
      family.predict(map(theta), x, out);
    },
    jacobian(theta, x, out, jac) {
      family.jacobian(map(theta), x, out, jac);
      const q = family.outputDim;
      for (let r = 0; r < q; r++)
        for (let j = 0; j < atoms; j++) {
          const c = r * nParams + j * atomSize;
          jac[c] = (jac[c] as number) * (scale[j] as number);
        }
    },
    toMeasure(theta): MixingMeasure {
      return family.toMeasure(Float64Array.from(map(theta)));
    },
    fromMeasure(g) {
      return unmap(family.fromMeasure(g));
    },
    ...(family.sampleTheta === undefined ? {} : { sampleTheta: (rng: Rng) => unmap((family.sampleTheta as (r: Rng) => Float64Array)(rng)) }),
    ...(family.prepare === undefined ? {} : { prepare: (samples: Samples) => prepareFloored((family.prepare as (s: Samples) => PreparedFamily)(samples)) }),
  };

  /** The inner family's prepared path, bound at the mapped theta, bias rows of J^T scaled. */
  function prepareFloored(p: PreparedFamily): PreparedFamily {
    return {
      bind(theta) {
        p.bind(Float64Array.from(map(theta))); // a copy: the inner family may keep it
      },
      predictRows: (i0, count, out) => p.predictRows(i0, count, out),
      jacobianRows(i0, count, out, jt, stride) {
        p.jacobianRows(i0, count, out, jt, stride);
        const m = count * family.outputDim;
        for (let j = 0; j < atoms; j++) {
          const o = j * atomSize * stride;
          const sj = scale[j] as number;
          for (let t = 0; t < m; t++) jt[o + t] = (jt[o + t] as number) * sj;
        }
      },
      // Identity blocks lie in the parameter columns (after each atom's bias), which the floor leaves alone.
      ...(p.identityBlocks === undefined ? {} : { identityBlocks: p.identityBlocks }),
      flopsPerJacobian: p.flopsPerJacobian,
    };
  }
}
