/**
 * Least squares by Levenberg-Marquardt on any `RegressionFamily`, with its analytic Jacobian:
 *   minimise F(theta) = 1/2 sum_i ||f(theta; x_i) - y_i||^2
 *   step:  (J^T J + lambda D) delta = -J^T r,   D = diag(J^T J) (running max, floored: Marquardt's scaling)
 * The normal equations are accumulated in one pass over the samples into Float64Arrays (J^T J
 * upper triangle and J^T r; Jacobian rows are gathered into a transposed block of `blockRows`
 * rows and folded in with register-blocked dot products, no allocation per sample) and solved through
 * ml-matrix (Cholesky, LU fallback; src/linalg/solve.ts). A family with `prepare` is evaluated
 * through its prepared form (theta-free products computed once per run, `bind` once per pass),
 * which writes each sample's q Jacobian rows straight into the block (blocks of whole samples).
 * Damping (Nielsen): accept when the gain ratio rho = actual / predicted reduction > 0, then
 * lambda *= max(1/3, 1 - (2 rho - 1)^3); otherwise lambda *= nu, nu *= 2.
 * Stops (converged) when the relative objective change and the predicted relative change are
 * both <= ftol, or every column's cosine with the residual |g_k| / (||r|| ||J_k||) <= gtol, or the
 * step is <= xtol (||theta|| + xtol); stops (not converged) at maxIterations or when lambda blows up.
 * The reported objective is the mean squared residual sum ||r||^2 / (n q).
 */
import { InputError } from '../util/errors.js';
import type { PreparedFamily, RegressionFamily, Samples } from '../mixture/family.js';
import { solveSymmetric } from '../linalg/solve.js';
import { foldGramJs, resolveFold, WasmGramFold, type FoldKind } from '../linalg/gram-fold.js';
import type { Estimator, FitDiagnostics, FitOptions, FitResult, StartRecord } from './estimator.js';
import { initialTheta, type InitCapable } from './init.js';

export interface LevenbergMarquardtOptions {
  /** Maximum number of LM iterations (linear solves) per start (default 200). */
  readonly maxIterations?: number;
  /** Relative objective-change tolerance (default 1e-10). `FitOptions.tolerance` overrides it. */
  readonly ftol?: number;
  /** Gradient tolerance on max_k |g_k| / (||r|| ||J_k||) (default 1e-10). */
  readonly gtol?: number;
  /** Relative step tolerance (default 1e-12). */
  readonly xtol?: number;
  /** Initial damping lambda, relative to the scaling D (default 1e-3). */
  readonly initialDamping?: number;
  /** Rows of J gathered per block of the J^T J accumulation (default 64). */
  readonly blockRows?: number;
  /**
   * The J^T J fold: 'wasm' (the f64x2 SIMD kernel, src/linalg/gram-fold.wat) or 'js' (the
   * JavaScript reference). Default: $PROMPT_EXPERTS_FOLD, else 'wasm' where built.
   */
  readonly fold?: FoldKind;
}

export type StopReason = 'ftol' | 'gtol' | 'xtol' | 'maxIterations' | 'damping' | 'exact';

export interface LeastSquaresDiagnostics extends FitDiagnostics {
  /** Why the best start stopped. */
  readonly stopReason: StopReason;
  readonly starts: ReadonlyArray<StartRecord>;
  readonly bestStart: number;
  /** Passes computing J (accepted steps + 1) and passes computing only f, for the best start. */
  readonly jacobianEvaluations: number;
  readonly functionEvaluations: number;
  /** Final objective of every start, in order. */
  readonly startObjectives: ReadonlyArray<number>;
  /** Iterations summed over all starts. */
  readonly totalIterations: number;
  /** Which J^T J fold ran. */
  readonly fold: FoldKind;
}

export interface LeastSquaresFitResult extends FitResult {
  readonly theta: Float64Array;
  readonly diagnostics: LeastSquaresDiagnostics;
}

/** One LM run from a given start. */
export interface LmRun {
  readonly theta: Float64Array;
  /** Mean squared residual ||r||^2 / (n q). */
  readonly objective: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly stopReason: StopReason;
  readonly jacobianEvaluations: number;
  readonly functionEvaluations: number;
  /** Floating-point operations of the J^T J / J^T r accumulation and the solves (the LM's own arithmetic; the family's Jacobian evaluations are not counted). */
  readonly flops: number;
  readonly seconds: number;
  /** Which J^T J fold ran. */
  readonly fold: FoldKind;
}

/** Check samples against a family: dimensions, sizes, n >= nParams, finite values. Throws InputError. */
export function validateSamples(family: RegressionFamily, samples: Samples): void {
  const { n, inputDim, outputDim, X, Y } = samples;
  if (!Number.isInteger(n) || n < 1) throw new InputError('samples.n', 'an integer >= 1', String(n));
  if (inputDim !== family.inputDim) throw new InputError('samples.inputDim', `${family.inputDim} (the family's inputDim)`, String(inputDim));
  if (outputDim !== family.outputDim) throw new InputError('samples.outputDim', `${family.outputDim} (the family's outputDim)`, String(outputDim));
  if (X.length !== n * inputDim) throw new InputError('samples.X', `n * inputDim = ${n * inputDim} values`, String(X.length));
  if (Y.length !== n * outputDim) throw new InputError('samples.Y', `n * outputDim = ${n * outputDim} values`, String(Y.length));
  if (n < family.nParams) throw new InputError('samples.n', `at least the number of parameters (${family.nParams})`, String(n));
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i] as number)) throw new InputError(`samples.X[${Math.floor(i / inputDim)}][${i % inputDim}]`, 'a finite number', String(X[i]));
  }
  for (let i = 0; i < Y.length; i++) {
    if (!Number.isFinite(Y[i] as number)) throw new InputError(`samples.Y[${Math.floor(i / outputDim)}][${i % outputDim}]`, 'a finite number', String(Y[i]));
  }
}

/** Mean squared residual ||f(theta; X) - Y||^2 / (n q). */
export function meanSquaredResidual(family: RegressionFamily, samples: Samples, theta: Float64Array): number {
  const D = family.inputDim;
  const q = family.outputDim;
  const x = new Float64Array(D);
  const out = new Float64Array(q);
  let s = 0;
  for (let i = 0; i < samples.n; i++) {
    for (let k = 0; k < D; k++) x[k] = samples.X[i * D + k] as number;
    family.predict(theta, x, out);
    for (let r = 0; r < q; r++) {
      const e = (out[r] as number) - (samples.Y[i * q + r] as number);
      s += e * e;
    }
  }
  return s / (samples.n * q);
}

/** Workspace for the normal-equation passes of one (family, samples) pair. */
class NormalEquations {
  readonly P: number;
  /** P x P, J^T J at the last accepted point (full after `pass`). */
  A: Float64Array;
  /** J^T r at the last accepted point. */
  g: Float64Array;
  /** The same at the last trial point (filled by `pass(theta, true)`); `swap` makes it current. */
  private At: Float64Array;
  private gt: Float64Array;
  /** Where `flush` accumulates. */
  private Acc: Float64Array;
  private gAcc: Float64Array;
  private readonly JT: Float64Array; // P x B block, transposed rows of J (in the kernel's memory on the wasm fold)
  private readonly rb: Float64Array; // B residuals (likewise)
  /** The WebAssembly fold, when it runs; undefined on the JavaScript fold. */
  private readonly wasm: WasmGramFold | undefined;
  readonly fold: FoldKind;
  private readonly jac: Float64Array; // q x P
  private readonly out: Float64Array;
  private readonly x: Float64Array;
  /** Rows per block (the JT stride): blockRows, or for the prepared path whole samples of q rows. */
  private readonly B: number;
  private readonly prepared: PreparedFamily | undefined;
  private readonly q: number;
  /** Dense columns (ascending) and the first columns of the identity blocks (prepared path). */
  private readonly cols: Int32Array;
  private readonly ids: Int32Array;
  /** Identity blocks: per-sample scalars of a block, and the pass accumulators (nb x nb, dense x nb x q, nb x q). */
  private readonly idS: Float64Array;
  private readonly idVV: Float64Array;
  private readonly idDV: Float64Array;
  private readonly idG: Float64Array;
  private fill = 0;
  flops = 0;

  constructor(
    private readonly family: RegressionFamily,
    private readonly samples: Samples,
    blockRows: number,
    fold: FoldKind,
  ) {
    const P = family.nParams;
    const q = family.outputDim;
    this.P = P;
    this.prepared = family.prepare?.(samples);
    this.q = q;
    this.B = this.prepared === undefined ? blockRows : q * Math.max(1, Math.floor(blockRows / q));
    const ids = Int32Array.from(this.prepared?.identityBlocks ?? []);
    const isId = new Uint8Array(P);
    for (const o of ids) {
      if (!Number.isInteger(o) || o < 0 || o + q > P) throw new InputError('identityBlocks', `column offsets in [0, ${P - q}]`, String(o));
      for (let r = 0; r < q; r++) {
        if (isId[o + r] === 1) throw new InputError('identityBlocks', 'disjoint blocks of q columns', String(o));
        isId[o + r] = 1;
      }
    }
    this.ids = ids;
    this.cols = Int32Array.from({ length: P }, (_, k) => k).filter((k) => isId[k] === 0);
    const nb = ids.length;
    this.idS = new Float64Array(nb * Math.ceil(this.B / q));
    this.idVV = new Float64Array(nb * nb);
    this.idDV = new Float64Array(this.cols.length * nb * q);
    this.idG = new Float64Array(nb * q);
    this.A = new Float64Array(P * P);
    this.g = new Float64Array(P);
    this.At = new Float64Array(P * P);
    this.gt = new Float64Array(P);
    this.Acc = this.A;
    this.gAcc = this.g;
    this.fold = fold;
    this.wasm = fold === 'wasm' ? new WasmGramFold(P, this.B, this.cols) : undefined;
    this.JT = this.wasm?.JT ?? new Float64Array(P * this.B);
    this.rb = this.wasm?.r ?? new Float64Array(this.B);
    this.jac = new Float64Array(family.outputDim * P);
    this.out = new Float64Array(family.outputDim);
    this.x = new Float64Array(family.inputDim);
  }

  /** 1/2 ||r||^2 at theta (f only). */
  value(theta: Float64Array): number {
    if (this.prepared !== undefined) return this.preparedValue(this.prepared, theta);
    const { family, samples, x, out } = this;
    const D = family.inputDim;
    const q = family.outputDim;
    const X = samples.X;
    const Y = samples.Y;
    let s = 0;
    for (let i = 0; i < samples.n; i++) {
      const xi = i * D;
      for (let k = 0; k < D; k++) x[k] = X[xi + k] as number;
      family.predict(theta, x, out);
      for (let r = 0; r < q; r++) {
        const e = (out[r] as number) - (Y[i * q + r] as number);
        s += e * e;
      }
    }
    return 0.5 * s;
  }

  /** Make the trial point's J^T J and J^T r (from `pass(theta, true)`) the current ones. */
  swap(): void {
    [this.A, this.At] = [this.At, this.A];
    [this.g, this.gt] = [this.gt, this.g];
  }

  /** J^T J and J^T r at theta, into A and g (or the trial buffers); returns 1/2 ||r||^2. */
  pass(theta: Float64Array, trial = false): number {
    const A = trial ? this.At : this.A;
    const g = trial ? this.gt : this.g;
    this.Acc = A;
    this.gAcc = g;
    A.fill(0);
    g.fill(0);
    this.fill = 0;
    this.wasm?.reset();
    const s = this.prepared === undefined ? this.plainRows(theta) : this.preparedRows(this.prepared, theta);
    if (this.fill > 0) this.flush();
    this.wasm?.scatter(A, g);
    if (this.ids.length > 0) this.finishIdentity(A, g);
    const P = this.P;
    for (let a = 0; a < P; a++) for (let b = a + 1; b < P; b++) A[b * P + a] = A[a * P + b] as number;
    return 0.5 * s;
  }

  /** 1/2 ||r||^2 through the prepared family, a block of samples at a time. */
  private preparedValue(pf: PreparedFamily, theta: Float64Array): number {
    const { samples, rb, B } = this;
    const q = this.q;
    const Y = samples.Y;
    const T = B / q;
    pf.bind(theta);
    let s = 0;
    for (let i0 = 0; i0 < samples.n; i0 += T) {
      const m = Math.min(T, samples.n - i0) * q;
      pf.predictRows(i0, m / q, rb);
      const yo = i0 * q;
      for (let k = 0; k < m; k++) {
        const e = (rb[k] as number) - (Y[yo + k] as number);
        s += e * e;
      }
    }
    return 0.5 * s;
  }

  /** Fold every sample's rows into the accumulators, the prepared family writing each block of J^T in place; returns ||r||^2. */
  private preparedRows(pf: PreparedFamily, theta: Float64Array): number {
    const { samples, JT, rb, B } = this;
    const q = this.q;
    const Y = samples.Y;
    const T = B / q;
    pf.bind(theta);
    let s = 0;
    for (let i0 = 0; i0 < samples.n; i0 += T) {
      const m = Math.min(T, samples.n - i0) * q;
      pf.jacobianRows(i0, m / q, rb, JT, B);
      const yo = i0 * q;
      for (let k = 0; k < m; k++) {
        const e = (rb[k] as number) - (Y[yo + k] as number);
        s += e * e;
        rb[k] = e;
      }
      this.fill = m;
      this.flush();
    }
    return s;
  }

  /** Fold every sample's rows into the accumulators through `family.jacobian`, gathered row by row; returns ||r||^2. */
  private plainRows(theta: Float64Array): number {
    const { family, samples, x, out, jac, JT, rb, B, P } = this;
    const D = family.inputDim;
    const q = family.outputDim;
    const X = samples.X;
    const Y = samples.Y;
    let s = 0;
    for (let i = 0; i < samples.n; i++) {
      const xi = i * D;
      for (let k = 0; k < D; k++) x[k] = X[xi + k] as number;
      family.jacobian(theta, x, out, jac);
      for (let r = 0; r < q; r++) {
        const e = (out[r] as number) - (Y[i * q + r] as number);
        s += e * e;
        const c = this.fill;
        rb[c] = e;
        const jr = r * P;
        for (let a = 0; a < P; a++) JT[a * B + c] = jac[jr + a] as number;
        this.fill = c + 1;
        if (this.fill === B) this.flush();
      }
    }
    return s;
  }

  /**
   * Fold the gathered block into A (upper triangle) and g over the dense columns `cols`
   * (ascending; all columns on the plain path): the WebAssembly SIMD kernel (accumulating in its
   * own memory until `pass` scatters it) or the JavaScript reference (`foldGramJs`, straight into
   * A and g). Identity blocks (columns o + r with J[r', o + r] = s_l delta_{r r'}, one scalar s_l
   * per sample) are folded in by `flushIdentity`.
   */
  private flush(): void {
    const m = this.fill;
    const Pd = this.cols.length;
    if (this.wasm !== undefined) this.wasm.fold(m);
    else foldGramJs(this.JT, this.rb, this.B, m, this.cols, this.P, this.Acc, this.gAcc);
    this.flops += 2 * m * (Pd + (Pd * (Pd + 1)) / 2);
    if (this.ids.length > 0) this.flushIdentity();
    this.fill = 0;
  }

  /**
   * Identity blocks of the block's samples (whole samples of q rows, prepared path):
   *   A[o_l + r, o_l' + r] += sum_t s_l s_l',  A[c, o_l + r] += sum_t J[t q + r, c] s_l,
   *   g[o_l + r] += sum_t s_l res[t q + r],    s_l(t) = J[t q, o_l],
   * into the compact accumulators that `finishIdentity` scatters into A and g.
   */
  private flushIdentity(): void {
    const { JT, rb, B, cols, ids, q, idS, idVV, idDV, idG } = this;
    const m = this.fill;
    const T = m / q;
    const nb = ids.length;
    const Pd = cols.length;
    for (let l = 0; l < nb; l++) {
      const lo = (ids[l] as number) * B;
      for (let t = 0; t < T; t++) idS[l * T + t] = JT[lo + t * q] as number;
    }
    for (let l = 0; l < nb; l++) {
      for (let l2 = l; l2 < nb; l2++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += (idS[l * T + t] as number) * (idS[l2 * T + t] as number);
        idVV[l * nb + l2] = (idVV[l * nb + l2] as number) + s;
      }
      for (let r = 0; r < q; r++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += (idS[l * T + t] as number) * (rb[t * q + r] as number);
        idG[l * q + r] = (idG[l * q + r] as number) + s;
      }
    }
    for (let a = 0; a < Pd; a++) {
      const ao = (cols[a] as number) * B;
      for (let l = 0; l < nb; l++) {
        const o = (a * nb + l) * q;
        const so = l * T;
        let r = 0;
        for (; r + 3 < q; r += 4) {
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let t = 0; t < T; t++) {
            const sv = idS[so + t] as number;
            const jo = ao + t * q + r;
            s0 += (JT[jo] as number) * sv;
            s1 += (JT[jo + 1] as number) * sv;
            s2 += (JT[jo + 2] as number) * sv;
            s3 += (JT[jo + 3] as number) * sv;
          }
          idDV[o + r] = (idDV[o + r] as number) + s0;
          idDV[o + r + 1] = (idDV[o + r + 1] as number) + s1;
          idDV[o + r + 2] = (idDV[o + r + 2] as number) + s2;
          idDV[o + r + 3] = (idDV[o + r + 3] as number) + s3;
        }
        for (; r < q; r++) {
          let s0 = 0;
          for (let t = 0; t < T; t++) s0 += (JT[ao + t * q + r] as number) * (idS[so + t] as number);
          idDV[o + r] = (idDV[o + r] as number) + s0;
        }
      }
    }
    this.flops += 2 * T * ((nb * (nb + 1)) / 2 + nb * q + Pd * nb * q);
  }

  /** Scatter the identity blocks' accumulators into A (upper triangle) and g, and clear them. */
  private finishIdentity(A: Float64Array, g: Float64Array): void {
    const { P, cols, ids, q, idVV, idDV, idG } = this;
    const nb = ids.length;
    for (let l = 0; l < nb; l++) {
      const ol = ids[l] as number;
      for (let r = 0; r < q; r++) g[ol + r] = idG[l * q + r] as number;
      for (let l2 = l; l2 < nb; l2++) {
        const ol2 = ids[l2] as number;
        for (let r = 0; r < q; r++) A[(ol + r) * P + ol2 + r] = idVV[l * nb + l2] as number;
      }
      for (let a = 0; a < cols.length; a++) {
        const c = cols[a] as number;
        for (let r = 0; r < q; r++) {
          const v = idDV[(a * nb + l) * q + r] as number;
          const col = ol + r;
          if (c < col) A[c * P + col] = v;
          else A[col * P + c] = v;
        }
      }
    }
    idVV.fill(0);
    idDV.fill(0);
    idG.fill(0);
  }
}

/**
 * J^T J (P x P, full), J^T r (r = f - y) and 1/2 ||r||^2 at theta, streamed over blocks of
 * `blockRows` rows exactly as the LM accumulates them (the prepared path when the family has
 * one); memory O(P^2 + P blockRows) whatever n. For checks and diagnostics.
 */
export function normalEquations(
  family: RegressionFamily,
  samples: Samples,
  theta: Float64Array,
  blockRows = 64,
  fold?: FoldKind,
): { readonly JtJ: Float64Array; readonly Jtr: Float64Array; readonly halfSquaredResidual: number } {
  validateSamples(family, samples);
  if (theta.length !== family.nParams) throw new InputError('theta', `an array of length ${family.nParams}`, String(theta.length));
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new InputError('blockRows', 'an integer >= 1', String(blockRows));
  const ne = new NormalEquations(family, samples, blockRows, resolveFold(fold));
  const halfSquaredResidual = ne.pass(theta);
  return { JtJ: ne.A.slice(), Jtr: ne.g.slice(), halfSquaredResidual };
}

export class LevenbergMarquardt implements Estimator<RegressionFamily> {
  readonly name = 'least-squares (Levenberg-Marquardt)';
  readonly options: Required<Omit<LevenbergMarquardtOptions, 'fold'>> & { readonly fold: FoldKind | undefined };

  constructor(options: LevenbergMarquardtOptions = {}) {
    const o = {
      maxIterations: options.maxIterations ?? 200,
      ftol: options.ftol ?? 1e-10,
      gtol: options.gtol ?? 1e-10,
      xtol: options.xtol ?? 1e-12,
      initialDamping: options.initialDamping ?? 1e-3,
      blockRows: options.blockRows ?? 64,
      fold: options.fold,
    };
    if (!Number.isInteger(o.maxIterations) || o.maxIterations < 1) throw new InputError('maxIterations', 'an integer >= 1', String(o.maxIterations));
    for (const key of ['ftol', 'gtol', 'xtol', 'initialDamping'] as const) {
      if (!(o[key] >= 0) || !Number.isFinite(o[key])) throw new InputError(key, 'a finite number >= 0', String(o[key]));
    }
    if (!Number.isInteger(o.blockRows) || o.blockRows < 1) throw new InputError('blockRows', 'an integer >= 1', String(o.blockRows));
    if (o.fold !== undefined && o.fold !== 'wasm' && o.fold !== 'js') throw new InputError('fold', "'wasm' or 'js'", String(o.fold));
    this.options = o;
  }

  /**
   * Fit with multi-start: `options.starts` starting points from `options.init` (drawn from
   * `options.rng`), each run to convergence; the start with the least objective wins.
   */
  fit(family: RegressionFamily & InitCapable, samples: Samples, options: FitOptions): LeastSquaresFitResult {
    validateSamples(family, samples);
    const starts = options.starts ?? 1;
    if (!Number.isInteger(starts) || starts < 1) throw new InputError('starts', 'an integer >= 1', String(starts));
    const t0 = performance.now();
    let best: LmRun | undefined;
    let bestStart = 0;
    const records: StartRecord[] = [];
    let total = 0;
    for (let s = 0; s < starts; s++) {
      const theta0 = initialTheta(family, options.init, options.rng);
      const run = this.run(family, samples, theta0, options);
      records.push({ objective: run.objective, iterations: run.iterations, converged: run.converged, stopReason: run.stopReason });
      total += run.iterations;
      if (best === undefined || !(run.objective >= best.objective)) {
        best = run;
        bestStart = s;
      }
    }
    const b = best as LmRun;
    return {
      theta: b.theta,
      measure: family.toMeasure(b.theta),
      diagnostics: {
        iterations: b.iterations,
        converged: b.converged,
        objective: b.objective,
        restarts: starts,
        seconds: (performance.now() - t0) / 1000,
        stopReason: b.stopReason,
        jacobianEvaluations: b.jacobianEvaluations,
        functionEvaluations: b.functionEvaluations,
        startObjectives: records.map((r) => r.objective),
        starts: records,
        bestStart,
        totalIterations: total,
        fold: b.fold,
      },
    };
  }

  /** One LM run from theta0 (validated samples; theta0 is not modified). */
  fitFrom(family: RegressionFamily, samples: Samples, theta0: Float64Array, options: { maxIterations?: number; tolerance?: number } = {}): LmRun {
    validateSamples(family, samples);
    if (theta0.length !== family.nParams) throw new InputError('theta0', `an array of length ${family.nParams}`, String(theta0.length));
    return this.run(family, samples, theta0, options);
  }

  private run(family: RegressionFamily, samples: Samples, theta0: Float64Array, options: { maxIterations?: number; tolerance?: number }): LmRun {
    const t0 = performance.now();
    const o = this.options;
    const maxIt = options.maxIterations ?? o.maxIterations;
    const ftol = options.tolerance ?? o.ftol;
    const { gtol, xtol } = o;
    const P = family.nParams;
    const nq = samples.n * family.outputDim;
    const ne = new NormalEquations(family, samples, o.blockRows, resolveFold(o.fold));
    let theta = Float64Array.from(theta0);
    let trial = new Float64Array(P);
    const M = new Float64Array(P * P);
    const Dg = new Float64Array(P);
    const rhs = new Float64Array(P);
    let F = ne.pass(theta);
    let jEvals = 1;
    let fEvals = 0;
    let solveFlops = 0;
    let lambda = o.initialDamping;
    let nu = 2;
    let iterations = 0;
    let stopReason: StopReason = 'maxIterations';
    let converged = false;
    let A = ne.A;
    let g = ne.g;
    // Evaluate a trial with its Jacobian (saving a pass when it is accepted) unless the last trial was rejected.
    let fuse = true;
    if (!Number.isFinite(F)) throw new InputError('theta0', 'a start where the model and its residuals are finite', String(F));

    const gradientSmall = (): boolean => {
      if (F === 0) return true;
      const rn = Math.sqrt(2 * F);
      let mx = 0;
      for (let k = 0; k < P; k++) {
        const jn = Math.sqrt(A[k * P + k] as number);
        if (jn > 0) mx = Math.max(mx, Math.abs(g[k] as number) / (rn * jn));
      }
      return mx <= gtol;
    };
    const updateScaling = (): void => {
      let mx = 0;
      for (let k = 0; k < P; k++) mx = Math.max(mx, A[k * P + k] as number);
      const floor = Math.max(mx * 1e-12, 1e-300);
      for (let k = 0; k < P; k++) Dg[k] = Math.max(Dg[k] as number, A[k * P + k] as number, floor);
    };
    updateScaling();

    if (F === 0) {
      stopReason = 'exact';
      converged = true;
    } else if (gradientSmall()) {
      stopReason = 'gtol';
      converged = true;
    } else {
      while (iterations < maxIt) {
        iterations++;
        M.set(A);
        for (let k = 0; k < P; k++) {
          M[k * P + k] = (A[k * P + k] as number) + lambda * (Dg[k] as number);
          rhs[k] = -(g[k] as number);
        }
        const delta = solveSymmetric({ rows: P, cols: P, data: M }, rhs);
        solveFlops += (P * P * P) / 3 + 2 * P * P;
        let dn = 0;
        let tn = 0;
        let finite = true;
        for (let k = 0; k < P; k++) {
          const dk = delta[k] as number;
          if (!Number.isFinite(dk)) finite = false;
          dn += dk * dk;
          tn += (theta[k] as number) * (theta[k] as number);
          trial[k] = (theta[k] as number) + dk;
        }
        if (finite && Math.sqrt(dn) <= xtol * (Math.sqrt(tn) + xtol)) {
          stopReason = 'xtol';
          converged = true;
          break;
        }
        // Predicted reduction of the quadratic model: 1/2 delta^T (lambda D delta - g).
        let pred = 0;
        for (let k = 0; k < P; k++) {
          const dk = delta[k] as number;
          pred += dk * (lambda * (Dg[k] as number) * dk - (g[k] as number));
        }
        pred *= 0.5;
        const fused = fuse && finite;
        const Ft = !finite ? Infinity : fused ? ne.pass(trial, true) : ne.value(trial);
        if (fused) jEvals++;
        if (!fused && finite) fEvals++;
        const rho = (F - Ft) / pred;
        if (Number.isFinite(Ft) && pred > 0 && rho > 0) {
          const actualRel = (F - Ft) / F;
          const predRel = pred / F;
          [theta, trial] = [trial, theta];
          if (fused) {
            ne.swap();
            F = Ft;
          } else {
            F = ne.pass(theta);
            jEvals++;
          }
          A = ne.A;
          g = ne.g;
          fuse = true;
          updateScaling();
          lambda *= Math.max(1 / 3, 1 - Math.pow(2 * rho - 1, 3));
          nu = 2;
          if (F === 0) {
            stopReason = 'exact';
            converged = true;
            break;
          }
          if (actualRel <= ftol && predRel <= ftol) {
            stopReason = 'ftol';
            converged = true;
            break;
          }
          if (gradientSmall()) {
            stopReason = 'gtol';
            converged = true;
            break;
          }
        } else {
          // A model that predicts no decrease at the current damping: converged to rounding when the prediction is negligible.
          if (finite && Math.abs(pred) <= ftol * F * 1e-3 && Number.isFinite(Ft) && Math.abs(F - Ft) <= ftol * F) {
            stopReason = 'ftol';
            converged = true;
            break;
          }
          fuse = false;
          lambda *= nu;
          nu *= 2;
          if (lambda > 1e16) {
            stopReason = 'damping';
            converged = gradientSmall();
            break;
          }
        }
      }
    }
    return {
      theta,
      objective: (2 * F) / nq,
      iterations,
      converged,
      stopReason,
      jacobianEvaluations: jEvals,
      functionEvaluations: fEvals,
      flops: ne.flops + solveFlops,
      seconds: (performance.now() - t0) / 1000,
      fold: ne.fold,
    };
  }
}

/** A Levenberg-Marquardt estimator (see `LevenbergMarquardtOptions`). */
export function leastSquares(options: LevenbergMarquardtOptions = {}): LevenbergMarquardt {
  return new LevenbergMarquardt(options);
}
