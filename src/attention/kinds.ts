/**
 * How each expert and each score depends on the tokens X, established numerically, never
 * declared: along random lines X(t) = X + t U (U Gaussian, scaled to ||X||_F), a function F
 * sampled at four equally spaced points t = -1.5, -0.5, 0.5, 1.5 has finite differences
 *
 *   D1 = F(t+1) - F(t),  D2 = F(t+2) - 2F(t+1) + F(t),  D3 = F(t+3) - 3F(t+2) + 3F(t+1) - F(t),
 *
 * and for a polynomial of degree k, D_{k+1} vanishes exactly (up to rounding) whatever the step.
 * So: all D1 zero -> constant; all D2 zero -> linear; D3 zero -> quadratic; else nonlinear.
 * "Zero" means below relTol times the largest |F| seen for that function over all lines.
 * The step is large (the lines sweep across the origin's neighbourhood) so that piecewise-linear
 * maps (ReLU) change pieces along the line and read as nonlinear.
 *
 * An expert's function is its output row f_e(X) in R^dv; a score's is the column s_.e(X)
 * (expert e's score for every query row).
 */
import type { Mat } from '../linalg/mat.js';
import { makeRng } from '../util/rng.js';
import type { ExpertKind, MoeView, ScoreKind } from './types.js';

export interface KindOptions {
  /** Seed of the random directions (default 1). */
  readonly seed?: number;
  /** Number of random lines (default 4). */
  readonly lines?: number;
  /** Relative tolerance on the differences (default 1e-7). */
  readonly relTol?: number;
}

export interface Kinds {
  readonly expertKinds: ExpertKind[];
  readonly scoreKinds: ScoreKind[];
}

/** Degree of a polynomial reading of each function: 0, 1, 2, or 3 meaning "not a polynomial of degree <= 2". */
function degrees(samples: Float64Array[][][], relTol: number): number[] {
  // samples[line][point][function] = flat values of that function.
  const nf = samples[0]?.[0]?.length ?? 0;
  const out: number[] = [];
  for (let f = 0; f < nf; f++) {
    let scale = 0;
    for (const line of samples) for (const pt of line) for (const v of pt[f] as Float64Array) scale = Math.max(scale, Math.abs(v));
    const tol = relTol * scale;
    let m1 = 0;
    let m2 = 0;
    let m3 = 0;
    for (const line of samples) {
      const [a, b, c, d] = line.map((pt) => pt[f] as Float64Array) as [Float64Array, Float64Array, Float64Array, Float64Array];
      for (let k = 0; k < a.length; k++) {
        const fa = a[k] as number;
        const fb = b[k] as number;
        const fc = c[k] as number;
        const fd = d[k] as number;
        m1 = Math.max(m1, Math.abs(fb - fa), Math.abs(fc - fb), Math.abs(fd - fc));
        m2 = Math.max(m2, Math.abs(fc - 2 * fb + fa), Math.abs(fd - 2 * fc + fb));
        m3 = Math.max(m3, Math.abs(fd - 3 * fc + 3 * fb - fa));
      }
    }
    out.push(m1 <= tol ? 0 : m2 <= tol ? 1 : m3 <= tol ? 2 : 3);
  }
  return out;
}

/**
 * Sample vector-valued functions of X along random lines and return their numerical degrees
 * (0 constant, 1 linear, 2 quadratic, 3 neither).
 */
export function numericalDegrees(fn: (X: Mat) => Float64Array[], X: Mat, opts: KindOptions = {}): number[] {
  const rng = makeRng(opts.seed ?? 1);
  const nLines = opts.lines ?? 4;
  let norm = 0;
  for (const v of X.data) norm += v * v;
  norm = Math.sqrt(norm);
  const target = norm > 0 ? norm : 1;
  const samples: Float64Array[][][] = [];
  for (let l = 0; l < nLines; l++) {
    const U = new Float64Array(X.data.length);
    let un = 0;
    for (let k = 0; k < U.length; k++) {
      const u = rng.normal();
      U[k] = u;
      un += u * u;
    }
    const s = target / Math.sqrt(un || 1);
    const line: Float64Array[][] = [];
    for (const t of [-1.5, -0.5, 0.5, 1.5]) {
      const data = new Float64Array(X.data.length);
      for (let k = 0; k < data.length; k++) data[k] = (X.data[k] as number) + t * s * (U[k] as number);
      line.push(fn({ rows: X.rows, cols: X.cols, data }));
    }
    samples.push(line);
  }
  return degrees(samples, opts.relTol ?? 1e-7);
}

const EXPERT: ExpertKind[] = ['constant', 'linear', 'nonlinear', 'nonlinear'];
const SCORE: ScoreKind[] = ['constant', 'linear', 'quadratic', 'nonlinear'];

/**
 * Kinds of every expert and every score of the view that `build` makes for tokens X. `build`
 * must rebuild everything that depends on X (the prompt experts of VAPT, for instance).
 */
export function classifyView(build: (X: Mat) => MoeView, X: Mat, opts: KindOptions = {}): Kinds {
  const fn = (Y: Mat): Float64Array[] => {
    const v = build(Y);
    const E = v.expertOutputs.rows;
    const dv = v.expertOutputs.cols;
    const Q = v.scores.rows;
    const fs: Float64Array[] = [];
    for (let e = 0; e < E; e++) fs.push(v.expertOutputs.data.slice(e * dv, (e + 1) * dv));
    for (let e = 0; e < E; e++) {
      const col = new Float64Array(Q);
      for (let i = 0; i < Q; i++) col[i] = v.scores.data[i * E + e] as number;
      fs.push(col);
    }
    return fs;
  };
  const deg = numericalDegrees(fn, X, opts);
  const E = deg.length / 2;
  return {
    expertKinds: deg.slice(0, E).map((k) => EXPERT[k] as ExpertKind),
    scoreKinds: deg.slice(E).map((k) => SCORE[k] as ScoreKind),
  };
}
