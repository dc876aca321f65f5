/**
 * Smooth unconstrained minimisation by L-BFGS with a strong-Wolfe line search, run to a
 * stopping rule rather than a step budget:
 *
 *   tolerance   ||grad F(x_k)||_2 <= gtol  and  ( (F_{k-w} - F_k) / max(|F_k|, 1e-300) <= ftol
 *               over the last w steps,  or  F_k <= fatol (an exact fit, e.g. noiseless targets) )
 *   cap         maxSteps accepted steps without the rule holding (the fit is not converged)
 *   non-finite  F or its gradient became NaN / infinite
 *   stalled     no step along the (restarted) search direction decreases F although the gradient
 *               is above gtol: the objective is flat to rounding; not converged
 *
 * Only 'tolerance' counts as converged. Direction: the two-loop recursion over the last `memory`
 * pairs (s, y) with the initial scaling s^T y / y^T y; a pair with s^T y <= 1e-12 ||s|| ||y|| is
 * skipped (curvature not positive). Line search: Nocedal & Wright, Algorithms 3.5 / 3.6
 * (bracketing, then zoom by safeguarded cubic interpolation), c1 = 1e-4, c2 = 0.9.
 */
import { InputError } from '../util/errors.js';

/** F and its gradient: writes grad F(x) into `grad` and returns F(x). */
export interface SmoothObjective {
  readonly dim: number;
  valueAndGradient(x: Float64Array, grad: Float64Array): number;
}

export interface MinimizeOptions {
  /** Cap on accepted steps (default 20000). */
  readonly maxSteps?: number;
  /** Relative change of F over `window` steps (default 1e-12). */
  readonly ftol?: number;
  /** Window of steps for the relative change (default 10). */
  readonly window?: number;
  /** Gradient norm tolerance (default 1e-9). */
  readonly gtol?: number;
  /** F at or below this is an exact fit (default 0: only F = 0). */
  readonly fatol?: number;
  /** Pairs kept by L-BFGS (default 10). */
  readonly memory?: number;
}

export type MinimizeStop = 'tolerance' | 'cap' | 'non-finite' | 'stalled';

export interface MinimizeResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly gradientNorm: number;
  /** Accepted steps. */
  readonly steps: number;
  /** Objective-and-gradient evaluations. */
  readonly evaluations: number;
  readonly stopReason: MinimizeStop;
  /** stopReason === 'tolerance'. */
  readonly converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

/** Minimiser of the cubic through (a, fa, ga), (b, fb, gb), clamped into the inner 80% of [a, b]; bisection when it does not exist. */
function cubicStep(a: number, fa: number, ga: number, b: number, fb: number, gb: number): number {
  const d1 = ga + gb - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - ga * gb;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  let t = NaN;
  if (disc >= 0) {
    const d2 = Math.sign(b - a) * Math.sqrt(disc);
    t = b - ((b - a) * (gb + d2 - d1)) / (gb - ga + 2 * d2);
  }
  const margin = 0.1 * (hi - lo);
  if (!Number.isFinite(t) || t < lo + margin || t > hi - margin) t = 0.5 * (lo + hi);
  return t;
}

/** Minimise `objective` from x0 (not modified). See the module header for the rule. */
export function minimizeLbfgs(objective: SmoothObjective, x0: Float64Array, options: MinimizeOptions = {}): MinimizeResult {
  const n = objective.dim;
  if (x0.length !== n) throw new InputError('x0', `an array of length ${n}`, String(x0.length));
  const maxSteps = options.maxSteps ?? 20000;
  const ftol = options.ftol ?? 1e-12;
  const window = options.window ?? 10;
  const gtol = options.gtol ?? 1e-9;
  const fatol = options.fatol ?? 0;
  const m = options.memory ?? 10;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new InputError('maxSteps', 'an integer >= 1', String(maxSteps));
  if (!Number.isInteger(window) || window < 1) throw new InputError('window', 'an integer >= 1', String(window));
  if (!Number.isInteger(m) || m < 1) throw new InputError('memory', 'an integer >= 1', String(m));
  for (const [k, v] of [['ftol', ftol], ['gtol', gtol], ['fatol', fatol]] as const) if (!(v >= 0) || !Number.isFinite(v)) throw new InputError(k, 'a finite number >= 0', String(v));

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let xt = new Float64Array(n);
  let gt = new Float64Array(n);
  const dir = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphaBuf = new Float64Array(m);
  let evaluations = 0;
  const evalAt = (p: Float64Array, gp: Float64Array): number => {
    evaluations++;
    return objective.valueAndGradient(p, gp);
  };
  let F = evalAt(x, g);
  const history: number[] = [F];
  let steps = 0;
  const finiteAll = (v: Float64Array): boolean => {
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
    return true;
  };
  const result = (stopReason: MinimizeStop): MinimizeResult => ({ x, value: F, gradientNorm: Math.sqrt(dot(g, g)), steps, evaluations, stopReason, converged: stopReason === 'tolerance' });
  if (!Number.isFinite(F) || !finiteAll(g)) return result('non-finite');
  const ruleHolds = (): boolean => {
    if (Math.sqrt(dot(g, g)) > gtol) return false;
    if (F <= fatol) return true;
    if (history.length <= window) return false;
    const old = history[history.length - 1 - window] as number;
    return (old - F) / Math.max(Math.abs(F), 1e-300) <= ftol;
  };
  if (F <= fatol && Math.sqrt(dot(g, g)) <= gtol) return result('tolerance');

  // Line search along dir from (x, F, g); on success xt, gt, Ft hold the accepted point.
  let Ft = F;
  const lineSearch = (a0: number): boolean => {
    const g0 = dot(g, dir);
    if (!(g0 < 0)) return false;
    const phi = (a: number): [number, number] => {
      for (let i = 0; i < n; i++) xt[i] = (x[i] as number) + a * (dir[i] as number);
      const f = evalAt(xt, gt);
      return [f, Number.isFinite(f) ? dot(gt, dir) : NaN];
    };
    const c1 = 1e-4;
    const c2 = 0.9;
    let aPrev = 0;
    let fPrev = F;
    let gPrev = g0;
    let a = a0;
    const zoom = (lo: number, flo: number, glo: number, hi: number, fhi: number, ghi: number): boolean => {
      for (let it = 0; it < 40; it++) {
        const aj = cubicStep(lo, flo, glo, hi, fhi, ghi);
        const [fj, gj] = phi(aj);
        if (!Number.isFinite(fj) || fj > F + c1 * aj * g0 || fj >= flo) {
          hi = aj;
          fhi = Number.isFinite(fj) ? fj : Infinity;
          ghi = Number.isFinite(gj) ? gj : 0;
        } else {
          if (Math.abs(gj) <= -c2 * g0) { Ft = fj; return true; }
          if (gj * (hi - lo) >= 0) { hi = lo; fhi = flo; ghi = glo; }
          lo = aj; flo = fj; glo = gj;
        }
        if (Math.abs(hi - lo) <= 1e-16 * Math.max(1, Math.abs(lo))) break;
      }
      // Accept the best sufficient-decrease point found, if any.
      if (lo > 0 && flo < F) {
        const [f] = phi(lo);
        Ft = f;
        return Number.isFinite(f) && f < F;
      }
      return false;
    };
    for (let it = 0; it < 40; it++) {
      const [fa, ga] = phi(a);
      if (!Number.isFinite(fa) || fa > F + c1 * a * g0 || (it > 0 && fa >= fPrev)) {
        if (!Number.isFinite(fa) && it === 0 && aPrev === 0) {
          // Overshoot into a non-finite region: shrink and retry.
          a *= 0.1;
          continue;
        }
        return zoom(aPrev, fPrev, gPrev, a, Number.isFinite(fa) ? fa : Infinity, Number.isFinite(ga) ? ga : 0);
      }
      if (Math.abs(ga) <= -c2 * g0) { Ft = fa; return true; }
      if (ga >= 0) return zoom(a, fa, ga, aPrev, fPrev, gPrev);
      aPrev = a; fPrev = fa; gPrev = ga;
      a *= 2;
    }
    return false;
  };

  while (steps < maxSteps) {
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -(g[i] as number);
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const aj = (rho[j] as number) * dot(S[j] as Float64Array, dir);
      alphaBuf[j] = aj;
      const yj = Y[j] as Float64Array;
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) - aj * (yj[i] as number);
    }
    let a0 = 1;
    if (k > 0) {
      const yl = Y[k - 1] as Float64Array;
      const gamma = dot(S[k - 1] as Float64Array, yl) / dot(yl, yl);
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) * gamma;
    } else {
      a0 = 1 / Math.max(Math.sqrt(dot(g, g)), 1e-300);
    }
    for (let j = 0; j < k; j++) {
      const bj = (rho[j] as number) * dot(Y[j] as Float64Array, dir);
      const sj = S[j] as Float64Array;
      const c = (alphaBuf[j] as number) - bj;
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) + c * (sj[i] as number);
    }
    let ok = lineSearch(a0);
    if (!ok && k > 0) {
      // Restart from steepest descent once before giving up.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -(g[i] as number);
      ok = lineSearch(1 / Math.max(Math.sqrt(dot(g, g)), 1e-300));
    }
    if (!ok) {
      if (!Number.isFinite(Ft) && !Number.isFinite(F)) return result('non-finite');
      return result(Math.sqrt(dot(g, g)) <= gtol ? 'tolerance' : 'stalled');
    }
    if (!Number.isFinite(Ft) || !finiteAll(gt)) {
      [x, xt] = [xt, x];
      [g, gt] = [gt, g];
      F = Ft;
      steps++;
      return result('non-finite');
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (xt[i] as number) - (x[i] as number);
      y[i] = (gt[i] as number) - (g[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    [x, xt] = [xt, x];
    [g, gt] = [gt, g];
    F = Ft;
    steps++;
    history.push(F);
    if (history.length > window + 1) history.shift();
    if (ruleHolds()) return result('tolerance');
  }
  return result('cap');
}
