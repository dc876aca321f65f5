import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { promptMixture, UNROLL_ENV, type PromptMixtureConfig } from '../../src/mixture/prompt-mixture.js';
import type { PreparedFamily } from '../../src/mixture/family.js';
import type { MixingMeasure } from '../../src/mixture/measure.js';
import { promptMixtureKind } from '../../src/study/kinds/prompt-mixture.js';
import { makeRng } from '../../src/util/rng.js';

/** Run f with the unrolled VAPT kernels switched on (true) or off (false) at `prepare`. */
function withUnroll<T>(on: boolean, f: () => T): T {
  const old = process.env[UNROLL_ENV];
  if (on) delete process.env[UNROLL_ENV];
  else process.env[UNROLL_ENV] = '0';
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env[UNROLL_ENV];
    else process.env[UNROLL_ENV] = old;
  }
}

const vaptArb: fc.Arbitrary<PromptMixtureConfig> = fc
  .record({
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
      kind: 'vapt' as const,
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

/** A measure's weights and parameters, atom by atom, blocks in key order. */
function flat(g: MixingMeasure): number[] {
  const v: number[] = [];
  for (const a of g.atoms) {
    v.push(a.weight ?? 1);
    for (const key of Object.keys(a.params).sort()) v.push(...(a.params[key] as Float64Array));
  }
  return v;
}

function rows(prep: PreparedFamily, theta: Float64Array, n: number, q: number, P: number): Float64Array[] {
  prep.bind(theta);
  const out = new Float64Array(n * q);
  const outP = new Float64Array(n * q);
  const jt = new Float64Array(P * (n * q + 1)).fill(NaN);
  prep.jacobianRows(0, n, out, jt, n * q + 1);
  prep.predictRows(0, n, outP);
  // and sample by sample (i0 > 0)
  const one = new Float64Array(q);
  const jt1 = new Float64Array(P * q);
  const per: number[] = [];
  for (let i = 0; i < n; i++) {
    prep.jacobianRows(i, 1, one, jt1, q);
    per.push(...one, ...jt1);
  }
  return [out, outP, jt, Float64Array.from(per)];
}

test('VAPT: the unrolled kernels give the same bits as the prepared loops (random small problems)', () => {
  fc.assert(
    fc.property(vaptArb, fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 5 }), (cfg, seed, n) => {
      const fam = promptMixture(cfg);
      const rng = makeRng(seed);
      const theta = fam.sampleTheta(rng);
      for (let j = 0; j < fam.atoms; j++) theta[j * fam.atomSize] = rng.normal();
      const X = fam.sampleInputs(n, rng);
      const samples = { n, inputDim: fam.inputDim, outputDim: fam.outputDim, X, Y: new Float64Array(n * fam.outputDim) };
      const a = withUnroll(true, () => fam.prepare?.(samples)) as PreparedFamily & { unrolled: boolean };
      const b = withUnroll(false, () => fam.prepare?.(samples)) as PreparedFamily & { unrolled: boolean };
      assert.equal(a.unrolled, true, fam.name);
      assert.equal(b.unrolled, false, fam.name);
      assert.deepEqual(rows(a, theta, n, fam.outputDim, fam.nParams), rows(b, theta, n, fam.outputDim, fam.nParams), fam.name);
    }),
    { numRuns: 150, seed: 4012 },
  );
});

test('VAPT: the vpt-vs-vapt study cells fit to the same numbers with the unrolled kernels (1e-10)', () => {
  const base = { kind: 'prompt-mixture', prompt: 'vapt', gate: 'softmax', N: 4, d: 4, Lstar: 2, sigma: 0.1, r: 4, gateSd: 0.5, truthSeed: 7 };
  const models = [
    { ...base, L: 3 },
    { ...base, L: 2 },
    { ...base, L: 3, weightFloor: 0.25 },
  ];
  for (const model of models) {
    const cell = promptMixtureKind.build(model, { kind: 'least-squares', maxIterations: 3000 }, 'variant');
    for (const n of [200, 800]) {
      const { samples, truth } = cell.simulate(n, makeRng(n));
      const a = withUnroll(true, () => cell.fit(samples, truth, makeRng(n + 1)));
      const b = withUnroll(false, () => cell.fit(samples, truth, makeRng(n + 1)));
      const tag = `${JSON.stringify(model)} n=${n}`;
      assert.equal(a.diagnostics.iterations, b.diagnostics.iterations, tag);
      assert.ok(Math.abs(a.diagnostics.objective - b.diagnostics.objective) <= 1e-10 * b.diagnostics.objective, tag);
      const fa = flat(a.measure);
      const fb = flat(b.measure);
      assert.equal(fa.length, fb.length, tag);
      const scale = Math.max(...fb.map(Math.abs));
      fa.forEach((v, k) => assert.ok(Math.abs(v - (fb[k] as number)) <= 1e-10 * scale, `${tag}: entry ${k} of the fitted measure`));
      const la = cell.losses(a, truth);
      const lb = cell.losses(b, truth);
      for (const key of Object.keys(lb)) assert.ok(Math.abs((la[key] as number) - (lb[key] as number)) <= 1e-10 * Math.abs(lb[key] as number), `${tag}: loss ${key}`);
    }
  }
});
