import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type PromptMixtureConfig, promptMixture, randomTruth } from '../../src/mixture/prompt-mixture.js';
import { moeView } from '../../src/attention/head.js';
import { promptedView } from '../../src/prompts/head-prompt.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';
import { checkPreparedRows } from './prepared-check.js';

const configArb: fc.Arbitrary<PromptMixtureConfig> = fc
  .record({
    kind: fc.constantFrom('vpt' as const, 'kv' as const, 'vapt' as const),
    H: fc.integer({ min: 1, max: 4 }),
    W: fc.integer({ min: 1, max: 4 }),
    width: fc.integer({ min: 1, max: 6 }),
    dk: fc.integer({ min: 1, max: 5 }),
    dv: fc.integer({ min: 1, max: 4 }),
    atoms: fc.integer({ min: 1, max: 4 }),
    padding: fc.integer({ min: 0, max: 1 }),
    rank: fc.integer({ min: 1, max: 5 }),
    residual: fc.boolean(),
    layerNorm: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .chain((c) =>
    fc.integer({ min: 1, max: Math.min(c.H, c.W) + 2 * c.padding }).map((kernel) => ({
      kind: c.kind,
      tokens: c.H * c.W,
      width: c.width,
      dk: c.dk,
      dv: c.dv,
      atoms: c.atoms,
      grid: [c.H, c.W] as const,
      kernel,
      padding: c.padding,
      rank: c.rank,
      residual: c.residual,
      layerNorm: c.layerNorm && c.width > 1,
      seed: c.seed,
    })),
  );

const caseArb = fc.tuple(configArb, fc.integer({ min: 0, max: 1e6 }));

function setup(cfg: PromptMixtureConfig, seed: number) {
  const fam = promptMixture(cfg);
  const rng = makeRng(seed);
  const theta = fam.sampleTheta(rng);
  for (let j = 0; j < fam.atoms; j++) theta[j * fam.atomSize] = rng.normal();
  const x = fam.sampleInputs(1, rng);
  return { fam, theta, x, rng };
}

test('f_G(X) is row 0 of the MoE view of src/attention (every kind)', () => {
  fc.assert(
    fc.property(caseArb, ([cfg, seed]) => {
      const { fam, theta, x } = setup(cfg, seed);
      const y = new Float64Array(fam.outputDim);
      fam.predict(theta, x, y);
      const X = { rows: cfg.tokens, cols: cfg.width, data: x };
      const view = moeView(fam.pretrained.head, X, fam.promptExperts(theta, X));
      const scale = Math.max(1e-300, ...Array.from(view.expertOutputs.data, Math.abs));
      for (let c = 0; c < fam.outputDim; c++) assert.ok(Math.abs((y[c] as number) - (view.output.data[c] as number)) <= 1e-12 * scale, `c=${c}`);
      // With zero biases, the same through the prompt method modules of src/prompts.
      const t0 = Float64Array.from(theta);
      for (let j = 0; j < fam.atoms; j++) t0[j * fam.atomSize] = 0;
      fam.predict(t0, x, y);
      const pv = promptedView(fam.pretrained.head, X, fam.headPrompt(t0));
      for (let c = 0; c < fam.outputDim; c++) assert.ok(Math.abs((y[c] as number) - (pv.output.data[c] as number)) <= 1e-12 * scale);
    }),
    { numRuns: 200, seed: 42 },
  );
});

test('analytic Jacobian matches central finite differences (every kind)', () => {
  fc.assert(
    fc.property(caseArb, ([cfg, seed]) => {
      const { fam, theta, x } = setup(cfg, seed);
      const q = fam.outputDim;
      const P = fam.nParams;
      const out = new Float64Array(q);
      const jac = new Float64Array(q * P);
      fam.jacobian(theta, x, out, jac);
      const y = new Float64Array(q);
      fam.predict(theta, x, y);
      assert.deepEqual(Array.from(out), Array.from(y));
      const yp = new Float64Array(q);
      const ym = new Float64Array(q);
      const h = 1e-6;
      let worst = 0;
      let scale = 1e-8;
      for (let k = 0; k < P; k++) {
        const tp = Float64Array.from(theta);
        const tm = Float64Array.from(theta);
        tp[k] = (tp[k] as number) + h;
        tm[k] = (tm[k] as number) - h;
        fam.predict(tp, x, yp);
        fam.predict(tm, x, ym);
        for (let c = 0; c < q; c++) {
          const fd = ((yp[c] as number) - (ym[c] as number)) / (2 * h);
          const an = jac[c * P + k] as number;
          worst = Math.max(worst, Math.abs(fd - an));
          scale = Math.max(scale, Math.abs(an));
        }
      }
      // ReLU kinks within h of theta are measure-zero events; allow FD noise only.
      assert.ok(worst <= 1e-6 * scale + 1e-7, `${fam.name}: max |fd - analytic| = ${worst} (scale ${scale})`);
    }),
    { numRuns: 200, seed: 43 },
  );
});

test('toMeasure and fromMeasure are inverse; atoms carry weight exp(b) and named blocks', () => {
  fc.assert(
    fc.property(caseArb, ([cfg, seed]) => {
      const { fam, theta } = setup(cfg, seed);
      const g = fam.toMeasure(theta);
      assert.equal(g.atoms.length, cfg.atoms);
      const names = fam.blocks.map((b) => b.name).sort();
      for (const a of g.atoms) assert.deepEqual(Object.keys(a.params).sort(), names);
      const back = fam.fromMeasure(g);
      for (let k = 0; k < theta.length; k++) assert.ok(Math.abs((back[k] as number) - (theta[k] as number)) <= 1e-15 * Math.max(1, Math.abs(theta[k] as number)));
    }),
    { numRuns: 100, seed: 44 },
  );
});

test('families with the same seed share the pretrained part whatever L; randomTruth is seeded and separated', () => {
  const a = promptMixture({ kind: 'vapt', tokens: 16, width: 6, dk: 4, dv: 3, atoms: 2, seed: 9 });
  const b = promptMixture({ kind: 'vapt', tokens: 16, width: 6, dk: 4, dv: 3, atoms: 4, seed: 9 });
  assert.deepEqual(a.pretrained.head.WQ.data, b.pretrained.head.WQ.data);
  assert.deepEqual(a.pretrained.W2?.data, b.pretrained.W2?.data);
  assert.deepEqual(a.config.grid, [4, 4]);
  assert.equal(a.atomSize, 1 + 9);
  const t1 = randomTruth(a, makeRng(5));
  const t2 = randomTruth(a, makeRng(5));
  assert.deepEqual(a.fromMeasure(t1), a.fromMeasure(t2));
  const [p, r] = t1.atoms.map((x) => x.params.alpha as Float64Array) as [Float64Array, Float64Array];
  const dist = Math.sqrt(p.reduce((s, v, k) => s + (v - (r[k] as number)) ** 2, 0));
  assert.ok(dist >= 0.5 * a.paramScale * 3);
  assert.equal(a.sampleInputs(7, makeRng(1)).length, 7 * 16 * 6);
});

test('invalid configs throw InputError naming the field', () => {
  const base: PromptMixtureConfig = { kind: 'vapt', tokens: 12, width: 4, dk: 2, dv: 2, atoms: 2, seed: 1 };
  const cases: Array<[Partial<PromptMixtureConfig> & Record<string, unknown>, string]> = [
    [{ atoms: 0 }, 'atoms'],
    [{ grid: [2, 5] }, 'grid'],
    [{ grid: [3, 4], kernel: 4 }, 'kernel'],
    [{ kind: 'lora' as 'vpt' }, 'kind'],
    [{ width: 1.5 }, 'width'],
    [{ seed: -1 }, 'seed'],
  ];
  for (const [patch, field] of cases) {
    assert.throws(
      () => promptMixture({ ...base, ...patch } as PromptMixtureConfig),
      (e: unknown) => e instanceof InputError && e.field === field,
      JSON.stringify(patch),
    );
  }
  const fam = promptMixture({ ...base, kind: 'kv' });
  assert.throws(() => fam.predict(new Float64Array(3), new Float64Array(48), new Float64Array(2)), (e: unknown) => e instanceof InputError && e.field === 'theta');
  assert.throws(() => fam.predict(new Float64Array(fam.nParams), new Float64Array(47), new Float64Array(2)), (e: unknown) => e instanceof InputError && e.field === 'x');
});

/** Prepared predictRows / jacobianRows against predict / jacobian on every sample of X (n samples). */
function checkPrepared(cfg: PromptMixtureConfig, seed: number, n: number): void {
  const fam = promptMixture(cfg);
  const rng = makeRng(seed);
  const theta = fam.sampleTheta(rng);
  for (let j = 0; j < fam.atoms; j++) theta[j * fam.atomSize] = rng.normal();
  const X = fam.sampleInputs(n, rng);
  const prep = fam.prepare?.({ n, inputDim: fam.inputDim, outputDim: fam.outputDim, X, Y: new Float64Array(n * fam.outputDim) });
  assert.ok(prep !== undefined);
  checkPreparedRows(fam, prep, theta, X, n);
}

test('prepared fast path equals predict / jacobian (every kind, random small problems)', () => {
  fc.assert(
    fc.property(caseArb, fc.integer({ min: 1, max: 5 }), ([cfg, seed], n) => checkPrepared(cfg, seed, n)),
    { numRuns: 200, seed: 45 },
  );
});

test('prepared fast path equals predict / jacobian at the study shape, exact and over-specified L', () => {
  for (const kind of ['vpt', 'kv', 'vapt'] as const) {
    for (const atoms of [2, 3]) {
      checkPrepared({ kind, tokens: 4, width: 4, dk: 4, dv: 4, atoms, seed: 7, ...(kind === 'vapt' ? { kernel: 1, rank: 4 } : {}) }, 11 + atoms, 40);
    }
  }
});
