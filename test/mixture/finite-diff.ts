// Central finite differences for the gradient checks (helper, not a test file).
import fc from 'fast-check';

/** d out / d v by central differences: f writes its output for v into out; returns outLen x v.length. */
export function centralJacobian(f: (v: Float64Array, out: Float64Array) => void, v: Float64Array, outLen: number): Float64Array {
  const J = new Float64Array(outLen * v.length);
  const plus = new Float64Array(outLen);
  const minus = new Float64Array(outLen);
  const w = Float64Array.from(v);
  for (let k = 0; k < v.length; k++) {
    const h = 1e-6 * Math.max(1, Math.abs(v[k] as number));
    w[k] = (v[k] as number) + h;
    f(w, plus);
    w[k] = (v[k] as number) - h;
    f(w, minus);
    w[k] = v[k] as number;
    for (let r = 0; r < outLen; r++) J[r * v.length + k] = ((plus[r] as number) - (minus[r] as number)) / (2 * h);
  }
  return J;
}

/** max_i |a_i - b_i| / max(1, |a_i|, |b_i|). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    m = Math.max(m, Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y)));
  }
  return m;
}

export const TOL = 1e-6;

/** A Float64Array of length n with entries in [-lim, lim]. */
export function vec(n: number, lim = 2): fc.Arbitrary<Float64Array> {
  return fc.array(fc.double({ min: -lim, max: lim, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));
}

/** max |a - b| over entries, relative to max(1e-300, max |b|) (one scale for the whole array). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 1e-300;
  for (let k = 0; k < b.length; k++) {
    worst = Math.max(worst, Math.abs((a[k] as number) - (b[k] as number)));
    scale = Math.max(scale, Math.abs(b[k] as number));
  }
  return worst / scale;
}
