import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSlope, fitLogRate, judgeRate, judgeAgainstSlope, claimedSlope, describeClaim, type LossPoint } from '../../src/rates/index.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';

const grid = Array.from({ length: 10 }, (_, i) => Math.round(100 * 1000 ** (i / 9))); // 100 .. 100,000

function synthetic(rate: (n: number) => number, seed: number, reps = 20, sd = 0.3): LossPoint[] {
  const rng = makeRng(seed);
  const pts: LossPoint[] = [];
  for (const n of grid) for (let r = 0; r < reps; r++) pts.push({ n, loss: 2.5 * rate(n) * Math.exp(sd * rng.normal()) });
  return pts;
}

test('the slope of C n^-1/2 x lognormal noise is recovered within its bootstrap CI', () => {
  const fit = fitSlope(synthetic((n) => n ** -0.5, 42), { seed: 7 });
  assert.ok(fit.ci[0] <= -0.5 && -0.5 <= fit.ci[1], `${fit.slope} [${fit.ci}]`);
  assert.ok(fit.tInterval[0] <= -0.5 && -0.5 <= fit.tInterval[1]);
  assert.ok(fit.ci[1] - fit.ci[0] < 0.1);
  assert.equal(fit.groups.length, 10);
  assert.equal(fit.nPoints, 200);
  assert.ok(Math.abs(fit.intercept - Math.log(2.5)) < 0.3);
  // Seeded: the same seed gives the same interval.
  assert.deepEqual(fitSlope(synthetic((n) => n ** -0.5, 42), { seed: 7 }).ci, fit.ci);
});

test('bootstrap intervals cover the true slope at about their level', () => {
  let covered = 0;
  const runs = 40;
  for (let s = 1; s <= runs; s++) {
    const fit = fitSlope(synthetic((n) => n ** -0.5, 1000 + s, 10), { bootstrap: 400, seed: s });
    if (fit.ci[0] <= -0.5 && -0.5 <= fit.ci[1]) covered++;
  }
  assert.ok(covered >= 33, `covered ${covered} / ${runs}`);
});

test('the (log n / n)^gamma fit recovers gamma', () => {
  const r = fitLogRate(synthetic((n) => Math.sqrt(Math.log(n) / n), 5), { seed: 3 });
  assert.ok(r.ci[0] <= 0.5 && 0.5 <= r.ci[1], `${r.gamma} [${r.ci}]`);
  assert.ok(Math.abs(r.C / 2.5 - 1) < 0.3);
});

test('verdicts on constructed cases', () => {
  const fit = fitSlope(synthetic((n) => n ** -0.5, 11), { seed: 1 });
  assert.equal(judgeRate(fit, { kind: 'power', exponent: -0.5 }).verdict, 'consistent');
  assert.equal(judgeRate(fit, { kind: 'power', exponent: -0.25 }).verdict, 'faster');
  assert.equal(judgeRate(fit, { kind: 'power', exponent: -1 }).verdict, 'slower');
  // 1/log n decays far more slowly than n^-1/2 over 100 .. 1e5: data at n^-1/2 are faster.
  const inv = judgeRate(fit, { kind: 'inverse-log', tau: 1 });
  assert.equal(inv.verdict, 'faster');
  assert.ok(inv.claimedSlope > -0.2 && inv.claimedSlope < 0);
  assert.match(inv.note, /1 \/ log\^1 n/);
  // Data made at (log n / n)^(1/2) are consistent with that claim over the same range.
  const lp = fitSlope(synthetic((n) => Math.sqrt(Math.log(n) / n), 12), { seed: 1 });
  const v = judgeRate(lp, { kind: 'logpower', gamma: 0.5 });
  assert.equal(v.verdict, 'consistent', v.note);
  assert.ok(v.claimedSlope > -0.5 && v.claimedSlope < -0.4);
  // Claimed slopes: exact for a power; for 1/log^tau n it is the OLS slope of -tau log log n on log n.
  assert.equal(claimedSlope({ kind: 'power', exponent: -0.5 }, [{ n: 10 }, { n: 100 }]), -0.5);
  const two = claimedSlope({ kind: 'inverse-log', tau: 2 }, [{ n: 10 }, { n: 100 }]);
  assert.ok(Math.abs(two - (-2 * (Math.log(Math.log(100)) - Math.log(Math.log(10)))) / Math.log(10)) < 1e-12);
  assert.equal(describeClaim({ kind: 'logpower', gamma: 0.25 }), '(log n / n)^0.25');
});

test('bad input to rate fits names the field', () => {
  const is = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => fitSlope([{ n: 10, loss: 1 }, { n: 100, loss: 0 }]), is('points[1].loss'));
  assert.throws(() => fitSlope([{ n: 10, loss: 1 }, { n: 10, loss: 2 }]), is('points'));
  assert.throws(() => fitSlope([{ n: Number.NaN, loss: 1 }]), is('points[0].n'));
  assert.throws(() => fitLogRate([{ n: 1, loss: 1 }, { n: 10, loss: 1 }]), is('points[0].n'));
  assert.throws(() => fitSlope([{ n: 10, loss: 1 }, { n: 100, loss: 2 }], { level: 1.5 }), is('level'));
});

test('verdicts against a bare slope, and against "slower than any power" (null)', () => {
  const fit = { slope: -0.5, ci: [-0.55, -0.45] as const, level: 0.95 };
  assert.equal(judgeAgainstSlope(fit, -0.5).verdict, 'consistent');
  assert.equal(judgeAgainstSlope(fit, -0.3).verdict, 'faster');
  assert.equal(judgeAgainstSlope(fit, null).verdict, 'faster');
  assert.equal(judgeAgainstSlope({ slope: -0.01, ci: [-0.05, 0.02] }, null).verdict, 'consistent');
  assert.match(judgeAgainstSlope(fit, null).note, /slower than any power/);
});

test('aggregate "mean": the slope of log(mean loss at n) on log n, one point per n, with its bootstrap', () => {
  // Losses whose spread grows with n: the mean of logs and the log of means fall at different slopes.
  const ns = [100, 1000, 10000];
  const pts = ns.flatMap((n, i) => [1, 1, 1, 1 + 10 * i].map((c) => ({ n, loss: c * n ** -0.5 })));
  const mean = fitSlope(pts, { aggregate: 'mean', bootstrap: 200 });
  const x = ns.map(Math.log);
  const y = ns.map((n) => Math.log(pts.filter((p) => p.n === n).reduce((s, p) => s + p.loss, 0) / 4));
  const xbar = x.reduce((a, b) => a + b, 0) / 3;
  const ybar = y.reduce((a, b) => a + b, 0) / 3;
  const direct = x.reduce((s, xi, i) => s + (xi - xbar) * ((y[i] as number) - ybar), 0) / x.reduce((s, xi) => s + (xi - xbar) ** 2, 0);
  assert.ok(Math.abs(mean.slope - direct) < 1e-12, `${mean.slope} vs ${direct}`);
  assert.equal(mean.nPoints, 3);
  const logs = fitSlope(pts, { bootstrap: 200 });
  assert.ok(mean.slope > logs.slope + 0.05, `${mean.slope} vs ${logs.slope}`);
  assert.ok(mean.ci[0] <= mean.slope && mean.slope <= mean.ci[1]);
});
