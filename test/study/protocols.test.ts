import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults, gridCells } from '../../src/study/runner.js';
import { planStudy } from '../../src/study/schema.js';
import { initialTheta, startPlan, type StartProtocol } from '../../src/estimate/init.js';
import { promptMixture, randomTruth } from '../../src/mixture/prompt-mixture.js';
import { withWeightFloor } from '../../src/mixture/weight-floor.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';
import { centralJacobian, maxRelErr, TOL } from '../mixture/finite-diff.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-protocols-'));
const family = promptMixture({ kind: 'vpt', tokens: 4, width: 3, dk: 3, dv: 3, atoms: 3, seed: 4 });
const truth = randomTruth(promptMixture({ kind: 'vpt', tokens: 4, width: 3, dk: 3, dv: 3, atoms: 2, seed: 4 }), makeRng(5));

test('fixed, multistart and random starts do not depend on n; shrinking ones do (property)', () => {
  const protocols: StartProtocol[] = [{ protocol: 'fixed', scale: 0.5 }, { protocol: 'multistart', starts: 3, scale: 0.5, from: 'fixed' }, { protocol: 'multistart', starts: 2, scale: 0, from: 'random' }, { protocol: 'random' }];
  fc.assert(
    fc.property(fc.integer({ min: 10, max: 1e7 }), fc.integer({ min: 10, max: 1e7 }), fc.nat(1000), fc.constantFrom(...protocols), (n1, n2, seed, p) => {
      const a = startPlan(p, truth, n1);
      const b = startPlan(p, truth, n2);
      assert.equal(a.starts, b.starts);
      assert.deepEqual(initialTheta(family, a.init, makeRng(seed)), initialTheta(family, b.init, makeRng(seed)));
    }),
    { seed: 3, numRuns: 60 },
  );
  const s = (n: number): Float64Array => initialTheta(family, startPlan({ protocol: 'shrinking', scale: 0.5, rate: 0.25 }, truth, n).init, makeRng(1));
  assert.notDeepEqual(s(100), s(10000));
});

const base = {
  name: 'protocols',
  seed: 8,
  n: [200, 400],
  replications: 2,
  loss: 'D1',
  model: { kind: 'prompt-mixture', prompt: 'vpt', N: 3, d: 3, Lstar: 2 },
  estimator: { kind: 'least-squares', maxIterations: 400 },
  protocols: [
    { name: 'fixed', estimator: { start: { protocol: 'fixed', scale: 0.3 } } },
    { name: 'multistart', estimator: { start: { protocol: 'multistart', starts: 2, scale: 0.3 } } },
  ],
  variants: [{ name: 'vpt over', model: { L: 3 } }, { name: 'vpt exact', model: { L: 2 } }],
};

test('protocols cross every variant, share the data of a variant, and every line carries its diagnostics', async () => {
  const study = parseStudy(base);
  const plan = planStudy(study, false);
  assert.deepEqual(plan.variants.map((v) => v.name), ['vpt over [fixed]', 'vpt over [multistart]', 'vpt exact [fixed]', 'vpt exact [multistart]']);
  const cells = gridCells(plan);
  const seedOf = (variant: string): number[] => cells.filter((c) => c.variant === variant).map((c) => c.seed);
  assert.deepEqual(seedOf('vpt over [fixed]'), seedOf('vpt over [multistart]'));
  assert.notDeepEqual(seedOf('vpt over [fixed]'), seedOf('vpt exact [fixed]'));
  const d = dir();
  const s = await runStudy(study, d, { workers: 0, quiet: true, variants: ['vpt over [fixed]', 'vpt over [multistart]'] });
  const lines = readResults(s.resultsPath);
  assert.equal(lines.length, 8);
  for (const l of lines) {
    assert.equal(l.protocol, l.variant.endsWith('[fixed]') ? 'fixed' : 'multistart');
    assert.equal(l.starts?.length, l.protocol === 'fixed' ? 1 : 2);
    assert.equal(l.atoms?.length, 3);
    assert.equal(l.cells?.reduce((a, c) => a + c.size, 0), 3);
    assert.ok(typeof l.stopReason === 'string' && l.atCap === (l.stopReason === 'maxIterations') && (!l.atCap || !l.converged), `${l.stopReason} ${l.iterations}`);
    assert.ok(Number.isFinite(l.losses['atoms-single'] ?? l.losses['atoms-multi']));
  }
  const truths = JSON.parse(readFileSync(join(d, 'truth.json'), 'utf8')) as Record<string, { configHash: string; truth: { weight: number }[] }>;
  assert.equal(truths['vpt over [fixed]']?.truth.length, 2);
  assert.equal(truths['vpt over [fixed]']?.configHash, plan.variants[0]?.configHash);
});

test('a fit stopped by the iteration cap is never reported as converged', async () => {
  const study = parseStudy({ ...base, n: [200], replications: 1, estimator: { kind: 'least-squares', maxIterations: 1 }, protocols: undefined, variants: [{ name: 'vpt over', model: { L: 3 } }] });
  const s = await runStudy(study, dir(), { workers: 0, quiet: true });
  const [l] = readResults(s.resultsPath);
  assert.equal(l?.stopReason, 'maxIterations');
  assert.equal(l?.atCap, true);
  assert.equal(l?.converged, false);
});

test('a claim restricted to a regime refuses variants of the other regime; unknown protocol names are caught', async () => {
  const study = parseStudy({ ...base, claims: [{ variants: ['vpt exact'], loss: 'atoms-multi', rate: '1/log(n)', regime: 'over' }] });
  await assert.rejects(runStudy(study, dir(), { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && e.field === 'claims[0].variants[0]' && /exact-specified/.test(e.message));
  assert.throws(() => parseStudy({ ...base, protocols: [base.protocols[0], base.protocols[0]] }), (e: unknown) => e instanceof InputError && e.field === 'protocols[1].name');
  const d = dir();
  // Gaussian gates: canonical weights sum to 1, so a floor of 1/L or more is refused; gateBound needs a floor.
  await assert.rejects(runStudy(parseStudy({ ...base, variants: [{ name: 'v', model: { L: 3, gate: 'gaussian', weightFloor: 0.34 } }] }), d, { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && /weightFloor/.test(e.field) && /1\/L/.test(e.message));
  await assert.rejects(runStudy(parseStudy({ ...base, variants: [{ name: 'v', model: { L: 3, gate: 'gaussian', gateBound: 1 } }] }), d, { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && /gateBound/.test(e.field));
  assert.equal(existsSync(join(d, 'truth.json')), false);
});

test('weight floor: fitted weights stay above it, the round trip is exact above it, and the Jacobian matches finite differences', () => {
  const floor = 0.3;
  const f = withWeightFloor(family, floor);
  const rng = makeRng(2);
  const theta = Float64Array.from({ length: f.nParams }, () => rng.normal());
  for (const a of f.toMeasure(theta).atoms) assert.ok((a.weight as number) > floor);
  const g = family.toMeasure(family.fromMeasure({ atoms: [...truth.atoms, truth.atoms[0] as (typeof truth.atoms)[number]] }));
  const back = f.toMeasure(f.fromMeasure(g));
  back.atoms.forEach((a, j) => assert.ok(Math.abs((a.weight as number) - (g.atoms[j]?.weight as number)) < 1e-12));
  const x = Float64Array.from({ length: f.inputDim }, () => rng.normal());
  const out = new Float64Array(f.outputDim);
  const jac = new Float64Array(f.outputDim * f.nParams);
  f.jacobian(theta, x, out, jac);
  const fd = centralJacobian((t, y) => f.predict(t, x, y), theta, f.outputDim);
  assert.ok(maxRelErr(jac, fd) < TOL, `max rel. |fd - analytic| = ${maxRelErr(jac, fd)}`);
  assert.throws(() => withWeightFloor(family, 0), (e: unknown) => e instanceof InputError && e.field === 'weightFloor');
});

test('weight floor: the prepared fast path equals predict / jacobian of the floored family', () => {
  const f = withWeightFloor(family, 0.2);
  const rng = makeRng(9);
  const n = 5;
  const X = Float64Array.from({ length: n * f.inputDim }, () => rng.normal());
  const samples = { n, inputDim: f.inputDim, outputDim: f.outputDim, X, Y: new Float64Array(n * f.outputDim) };
  const prep = f.prepare?.(samples);
  assert.ok(prep !== undefined);
  const theta = Float64Array.from({ length: f.nParams }, () => rng.normal());
  prep.bind(theta);
  const q = f.outputDim;
  const stride = n * q;
  const out = new Float64Array(n * q);
  const jt = new Float64Array(f.nParams * stride);
  prep.jacobianRows(0, n, out, jt, stride);
  const o1 = new Float64Array(q);
  const j1 = new Float64Array(q * f.nParams);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    f.jacobian(theta, X.subarray(i * f.inputDim, (i + 1) * f.inputDim), o1, j1);
    for (let r = 0; r < q; r++) {
      worst = Math.max(worst, Math.abs((o1[r] as number) - (out[i * q + r] as number)));
      for (let a = 0; a < f.nParams; a++) worst = Math.max(worst, Math.abs((j1[r * f.nParams + a] as number) - (jt[a * stride + i * q + r] as number)));
    }
  }
  assert.ok(worst < 1e-12, `max difference ${worst}`);
});
