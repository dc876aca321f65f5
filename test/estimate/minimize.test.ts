/**
 * L-BFGS with a stopping rule: converges on smooth problems ('tolerance' only when the rule
 * holds), reports the cap as not converged, and reports non-finite objectives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minimizeLbfgs, type SmoothObjective } from '../../src/estimate/minimize.js';

/** Rosenbrock in dim dimensions: sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, minimum 0 at 1. */
function rosenbrock(dim: number): SmoothObjective {
  return {
    dim,
    valueAndGradient(x, g) {
      g.fill(0);
      let f = 0;
      for (let i = 0; i + 1 < dim; i++) {
        const a = x[i] as number;
        const b = x[i + 1] as number;
        const u = b - a * a;
        f += 100 * u * u + (1 - a) * (1 - a);
        g[i] = (g[i] as number) - 400 * u * a - 2 * (1 - a);
        g[i + 1] = (g[i + 1] as number) + 200 * u;
      }
      return f;
    },
  };
}

test('L-BFGS reaches the Rosenbrock minimum to 1e-8 and says tolerance', () => {
  const x0 = Float64Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
  const r = minimizeLbfgs(rosenbrock(6), x0, { gtol: 1e-10, ftol: 1e-14 });
  assert.equal(r.stopReason, 'tolerance');
  assert.equal(r.converged, true);
  assert.ok(r.gradientNorm <= 1e-10, `gradient ${r.gradientNorm}`);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-8, `x = ${v}`);
  assert.deepEqual(Array.from(x0.slice(0, 2)), [-1.2, 1], 'x0 not modified');
});

test('a fit stopped by the cap is reported as cap, never as converged', () => {
  const x0 = Float64Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
  const r = minimizeLbfgs(rosenbrock(6), x0, { maxSteps: 5, gtol: 1e-10 });
  assert.equal(r.stopReason, 'cap');
  assert.equal(r.converged, false);
  assert.equal(r.steps, 5);
  assert.ok(r.gradientNorm > 1e-10);
});

test('the relative-change rule alone does not stop a fit whose gradient is still large', () => {
  // ftol huge: every step satisfies the change rule, so only the gradient can hold the stop back.
  const x0 = Float64Array.from({ length: 4 }, () => -1);
  const r = minimizeLbfgs(rosenbrock(4), x0, { ftol: 1e30, window: 1, gtol: 1e-6 });
  assert.equal(r.stopReason, 'tolerance');
  assert.ok(r.gradientNorm <= 1e-6);
});

test('a non-finite objective is reported as non-finite', () => {
  const nan: SmoothObjective = { dim: 2, valueAndGradient: (_x, g) => { g.fill(0); return NaN; } };
  const r = minimizeLbfgs(nan, new Float64Array(2));
  assert.equal(r.stopReason, 'non-finite');
  assert.equal(r.converged, false);
});

test('a quadratic with an exact minimum stops by fatol', () => {
  // F = 1/2 sum c_i (x_i - 1)^2, F* = 0.
  const c = [1, 10, 100];
  const q: SmoothObjective = {
    dim: 3,
    valueAndGradient(x, g) {
      let f = 0;
      for (let i = 0; i < 3; i++) {
        const e = (x[i] as number) - 1;
        f += 0.5 * (c[i] as number) * e * e;
        g[i] = (c[i] as number) * e;
      }
      return f;
    },
  };
  const r = minimizeLbfgs(q, new Float64Array(3), { fatol: 1e-24, gtol: 1e-10, ftol: 0 });
  assert.equal(r.stopReason, 'tolerance');
  assert.ok(r.value <= 1e-24 || r.gradientNorm <= 1e-10);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-9);
});
