/**
 * Test helpers shared by the prepared fast paths' tests: a prepared family's rows against the
 * family's own predict / jacobian, and two LM runs compared step for step.
 */
import assert from 'node:assert/strict';
import type { PreparedFamily, RegressionFamily } from '../../src/mixture/family.js';
import type { LmRun } from '../../src/estimate/least-squares.js';
import { relErr } from './finite-diff.js';

/**
 * `prep` bound to theta: jacobianRows over all n samples at once (a stride with slack) and sample
 * by sample, and predictRows, equal predict / jacobian to 1e-10 relative; every identity block
 * holds s(x) delta_rc. Returns the all-samples J^T block (stride n q + 3).
 */
export function checkPreparedRows(fam: RegressionFamily, prep: PreparedFamily, theta: Float64Array, X: Float64Array, n: number): void {
  const q = fam.outputDim;
  const P = fam.nParams;
  prep.bind(theta);
  const stride = n * q + 3;
  const out = new Float64Array(n * q);
  const outP = new Float64Array(n * q);
  const jt = new Float64Array(P * stride).fill(NaN);
  prep.jacobianRows(0, n, out, jt, stride);
  prep.predictRows(0, n, outP);
  const x = new Float64Array(fam.inputDim);
  const y = new Float64Array(q);
  const jac = new Float64Array(q * P);
  const jtRow = new Float64Array(P * q);
  const one = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    x.set(X.subarray(i * fam.inputDim, (i + 1) * fam.inputDim));
    fam.jacobian(theta, x, y, jac);
    assert.ok(relErr(out.subarray(i * q, (i + 1) * q), y) <= 1e-10, `${fam.name}: jacobianRows output, sample ${i}`);
    assert.ok(relErr(outP.subarray(i * q, (i + 1) * q), y) <= 1e-10, `${fam.name}: predictRows, sample ${i}`);
    const mine = new Float64Array(q * P);
    for (let a = 0; a < P; a++) for (let r = 0; r < q; r++) mine[r * P + a] = jt[a * stride + i * q + r] as number;
    assert.ok(relErr(mine, jac) <= 1e-10, `${fam.name}: Jacobian, sample ${i}: ${relErr(mine, jac)}`);
    // One sample at a time (a different block shape) gives the same numbers.
    prep.jacobianRows(i, 1, one, jtRow, q);
    for (let a = 0; a < P; a++) for (let r = 0; r < q; r++) assert.equal(jtRow[a * q + r], mine[r * P + a]);
  }
  for (const o of prep.identityBlocks ?? []) {
    for (let i = 0; i < n; i++) {
      const s = jt[o * stride + i * q] as number;
      for (let c = 0; c < q; c++) for (let r = 0; r < q; r++) assert.equal(jt[(o + c) * stride + i * q + r], r === c ? s : 0, `identity block ${o}`);
    }
  }
}

/** Two fits took the same path: iterations, stop reason and passes equal; objective and theta to 1e-10 relative. */
export function assertSameIterates(a: LmRun, b: LmRun, tag: string): void {
  assert.equal(a.iterations, b.iterations, tag);
  assert.equal(a.stopReason, b.stopReason, tag);
  assert.equal(a.jacobianEvaluations, b.jacobianEvaluations, tag);
  assert.ok(Math.abs(a.objective - b.objective) <= 1e-10 * b.objective, `${tag}: objective ${a.objective} vs ${b.objective}`);
  const scale = Math.max(...Array.from(b.theta, Math.abs));
  a.theta.forEach((v, k) => assert.ok(Math.abs(v - (b.theta[k] as number)) <= 1e-10 * scale, `${tag}: theta[${k}] ${v} vs ${b.theta[k]}`));
}
