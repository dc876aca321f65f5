import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sampleSoftmaxGaussian, softmaxGaussian, softmaxGaussianToMeasure, anchorLast } from '../../src/mixture/softmax-gaussian.js';
import { fitEmSoftmaxGaussian, gatingGradient, gatingNegHessian, gatingObjective, newtonGatingSteps, softmaxGaussianStart } from '../../src/estimate/em-softmax-gaussian.js';
import { matchedErrors } from '../../src/loss/matching.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';

function problem(seed: number, n: number, d: number, k: number) {
  const rng = makeRng(seed);
  const X = Float64Array.from({ length: n * d }, () => rng.normal());
  const R = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) { const v = rng.uniform() + 1e-3; R[i * k + j] = v; s += v; }
    for (let j = 0; j < k; j++) R[i * k + j] = (R[i * k + j] as number) / s;
  }
  const theta = Float64Array.from({ length: (k - 1) * (d + 1) }, () => rng.normal());
  return { X, R, theta };
}

test('IRLS gating objective: the analytic gradient and Hessian match central differences', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), (seed, d, k) => {
    const n = 30;
    const { X, R, theta } = problem(seed, n, d, k);
    const m = theta.length;
    const g = new Float64Array(m);
    gatingGradient(theta, X, R, n, d, k, g);
    const H = new Float64Array(m * m);
    gatingNegHessian(theta, X, n, d, k, H);
    const w = Float64Array.from(theta);
    const gp = new Float64Array(m), gm = new Float64Array(m);
    for (let p = 0; p < m; p++) {
      const h = 1e-5;
      w[p] = (theta[p] as number) + h;
      const fp = gatingObjective(w, X, R, n, d, k);
      gatingGradient(w, X, R, n, d, k, gp);
      w[p] = (theta[p] as number) - h;
      const fm = gatingObjective(w, X, R, n, d, k);
      gatingGradient(w, X, R, n, d, k, gm);
      w[p] = theta[p] as number;
      const fd = (fp - fm) / (2 * h);
      assert.ok(Math.abs(fd - (g[p] as number)) < 1e-7, `grad[${p}]: ${fd} vs ${g[p]}`);
      for (let q = 0; q < m; q++) {
        const fdH = -((gp[q] as number) - (gm[q] as number)) / (2 * h);
        assert.ok(Math.abs(fdH - (H[q * m + p] as number)) < 1e-7, `H[${q},${p}]`);
      }
    }
  }), { numRuns: 25 });
});

test('Newton steps increase the gating objective', () => {
  const { X, R, theta } = problem(3, 200, 2, 3);
  const q0 = gatingObjective(theta, X, R, 200, 2, 3);
  newtonGatingSteps(theta, X, R, 200, 2, 3, 5);
  assert.ok(gatingObjective(theta, X, R, 200, 2, 3) > q0);
  const g = new Float64Array(theta.length);
  gatingGradient(theta, X, R, 200, 2, 3, g);
  assert.ok(Math.max(...g.map(Math.abs)) < 1e-6);
});

const truth = softmaxGaussian({ beta0: [0.5, 0], beta: [[2], [0]], a: [[1], [-1]], b: [0, 0.5], nu: [0.05, 0.1] });

test('EM for softmax-gated Gaussian MoE never decreases the log-likelihood and recovers the truth', () => {
  const rng = makeRng(8);
  const s = sampleSoftmaxGaussian(truth, { kind: 'gaussian', dim: 1 }, 20000, rng);
  for (const init of [{ kind: 'near' as const, truth: softmaxGaussianToMeasure(truth), scale: 0.2 }, { kind: 'random' as const }]) {
    const r = fitEmSoftmaxGaussian({ kind: 'softmax-gaussian', d: 1, k: 2 }, s, { rng, init, trace: true, maxIterations: 500 });
    const tr = r.diagnostics.trace as number[];
    for (let i = 1; i < tr.length; i++) assert.ok((tr[i] as number) >= (tr[i - 1] as number) - 1e-10, `iteration ${i}`);
    if (init.kind === 'near') {
      assert.ok(r.diagnostics.converged);
      const m = matchedErrors(softmaxGaussianToMeasure(r.params), softmaxGaussianToMeasure(anchorLast(truth)), { params: ['a', 'b', 'nu'] });
      assert.ok((m.perParam.a?.max as number) < 0.05 && (m.perParam.b?.max as number) < 0.05, JSON.stringify(m.perParam));
    }
  }
});

test('bad input to softmax EM names the field', () => {
  const s = sampleSoftmaxGaussian(truth, { kind: 'gaussian', dim: 1 }, 100, makeRng(1));
  const is = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => fitEmSoftmaxGaussian({ kind: 'softmax-gaussian', d: 1, k: 1 }, s, { rng: makeRng(1), init: { kind: 'near', truth: softmaxGaussianToMeasure(truth), scale: 0.1 } }), is('family.k'));
  assert.throws(() => fitEmSoftmaxGaussian({ kind: 'softmax-gaussian', d: 2, k: 2 }, s, { rng: makeRng(1), init: { kind: 'random' } }), is('samples.inputDim'));
  const Y = Float64Array.from(s.Y); Y[0] = Number.NaN;
  assert.throws(() => fitEmSoftmaxGaussian({ kind: 'softmax-gaussian', d: 1, k: 2 }, { ...s, Y }, { rng: makeRng(1), init: { kind: 'random' } }), is('samples.Y[0]'));
});

test('near-experts start: experts at the truth, variances at nuStart, gates fitted to random labels (near 0, not the true gates); EM from it recovers the truth', () => {
  const s = sampleSoftmaxGaussian(truth, { kind: 'gaussian', dim: 1 }, 20000, makeRng(3));
  const t = softmaxGaussianToMeasure(truth);
  const fam = { kind: 'softmax-gaussian' as const, d: 1, k: 3 };
  const p = softmaxGaussianStart({ kind: 'near-experts', truth: t, expertScale: 0, nuStart: [0.3, 0.4], nuScale: 0 }, s, fam, makeRng(4));
  // every expert is a copy of a true one, every true one at least once
  const owners = Array.from(p.b, (b) => truth.b.indexOf(b));
  assert.ok(owners.every((o) => o >= 0) && owners.includes(0) && owners.includes(1), JSON.stringify(Array.from(p.b)));
  owners.forEach((o, i) => assert.equal(p.nu[i], [0.3, 0.4][o]));
  // the label fit stops at its gradient tolerance (above the rounding floor) within a few steps, not at the 300-step cap
  const X = s.X;
  const R = new Float64Array(s.n * 3);
  const lr = makeRng(9);
  for (let i = 0; i < s.n; i++) R[i * 3 + lr.int(3)] = 1;
  assert.ok(newtonGatingSteps(new Float64Array(4), X, R, s.n, 1, 3, 300, 1e-9) <= 10);
  // random labels: class shares 1/3 each and no dependence on x, so the gate parameters are O(n^-1/2)
  for (const v of [...p.beta0, ...p.beta]) assert.ok(Math.abs(v) < 0.1, `gate parameter ${v}`);
  const r = fitEmSoftmaxGaussian({ ...fam, k: 2 }, s, { rng: makeRng(5), init: { kind: 'near-experts', truth: t, expertScale: 0.05, nuScale: 0.01 }, maxIterations: 2000 });
  const m = matchedErrors(softmaxGaussianToMeasure(r.params), softmaxGaussianToMeasure(anchorLast(truth)), { params: ['a', 'b', 'nu'] });
  assert.ok((m.perParam.a?.max as number) < 0.05 && (m.perParam.b?.max as number) < 0.05, JSON.stringify(m.perParam));
  const is = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => softmaxGaussianStart({ kind: 'near-experts', truth: t, expertScale: 0, nuStart: [0.3], nuScale: 0 }, s, fam, makeRng(4)), is('init.nuStart'));
  assert.throws(() => softmaxGaussianStart({ kind: 'near-experts', truth: t, expertScale: -1, nuScale: 0 }, s, fam, makeRng(4)), is('init.expertScale'));
});

test("stopRule 'loglik' stops on the relative log-likelihood change: earlier than the parameter rule in an over-specified fit, never with tolerance 0", () => {
  const s = sampleSoftmaxGaussian(truth, { kind: 'gaussian', dim: 1 }, 3000, makeRng(6));
  const init = { kind: 'near' as const, truth: softmaxGaussianToMeasure(truth), scale: 0.1 };
  const fam = { kind: 'softmax-gaussian' as const, d: 1, k: 3 };
  const byLl = fitEmSoftmaxGaussian(fam, s, { rng: makeRng(7), init, tolerance: 1e-6, stopRule: 'loglik', maxIterations: 3000, trace: true });
  const byTheta = fitEmSoftmaxGaussian(fam, s, { rng: makeRng(7), init, tolerance: 1e-6, maxIterations: 3000 });
  assert.ok(byLl.diagnostics.converged);
  assert.ok(byLl.diagnostics.iterations < byTheta.diagnostics.iterations, `${byLl.diagnostics.iterations} vs ${byTheta.diagnostics.iterations}`);
  const tr = byLl.diagnostics.trace as number[];
  const [a, b] = [tr[tr.length - 3] as number, tr[tr.length - 2] as number];
  assert.ok(Math.abs(b - a) <= 1e-6 * Math.abs(a), 'the last step met the rule');
  const never = fitEmSoftmaxGaussian(fam, s, { rng: makeRng(7), init, tolerance: 0, stopRule: 'loglik', maxIterations: 30 });
  assert.ok(!never.diagnostics.converged && never.diagnostics.iterations === 30);
});

test('newtonTolerance ends the gate M step on a small relative change of its objective, at the optimum the full Newton run reaches', () => {
  const { X, R } = problem(12, 4000, 1, 3);
  const full = new Float64Array(4);
  const early = new Float64Array(4);
  const all = newtonGatingSteps(full, X, R, 4000, 1, 3, 300);
  const few = newtonGatingSteps(early, X, R, 4000, 1, 3, 300, undefined, 1e-7);
  assert.ok(few < all && few <= 10, `${few} vs ${all} steps`);
  for (let p = 0; p < 4; p++) assert.ok(Math.abs((early[p] as number) - (full[p] as number)) < 1e-3, `theta[${p}]`);
});
