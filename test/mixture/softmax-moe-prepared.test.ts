import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { softmaxMoe, type ExpertSpec, type GateSpec, type SoftmaxMoeConfig } from '../../src/mixture/softmax-moe.js';
import { sampleInputs, sampleResponses } from '../../src/mixture/sample.js';
import type { RegressionFamily } from '../../src/mixture/family.js';
import { leastSquares } from '../../src/estimate/least-squares.js';
import { affineExpert } from '../../src/mixture/experts/affine.js';
import { prepareSoftmaxMoe, tanhExpm1, type SoftmaxMoeLayout } from '../../src/mixture/softmax-moe-prepared.js';
import type { PreparedFamily } from '../../src/mixture/family.js';
import { makeRng } from '../../src/util/rng.js';
import { assertSameIterates, checkPreparedRows } from './prepared-check.js';

/** The repository root (this file runs from dist/test/mixture). */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const expertArb: fc.Arbitrary<ExpertSpec> = fc.oneof(
  fc.constant<ExpertSpec>({ kind: 'constant' }),
  fc.constant<ExpertSpec>({ kind: 'affine' }),
  fc.record({
    activation: fc.constantFrom('tanh' as const, 'relu' as const, 'gelu' as const),
    hidden: fc.integer({ min: 1, max: 3 }),
    outputBias: fc.boolean(),
  }).map((o): ExpertSpec => ({ kind: 'mlp', ...o })),
);

const configArb: fc.Arbitrary<SoftmaxMoeConfig> = fc
  .record({
    atoms: fc.integer({ min: 1, max: 4 }),
    inputDim: fc.integer({ min: 1, max: 4 }),
    outputDim: fc.integer({ min: 1, max: 3 }),
    expert: expertArb,
    anchored: fc.boolean(),
    noOutputLayer: fc.boolean(),
  })
  .map((c) => {
    let expert = c.expert;
    // An mlp without an output layer needs hidden = q.
    if (expert.kind === 'mlp' && c.noOutputLayer) expert = { kind: 'mlp', activation: expert.activation, hidden: c.outputDim, outputLayer: false };
    return { atoms: c.atoms, inputDim: c.inputDim, outputDim: c.outputDim, gate: { kind: 'affine' } as GateSpec, expert, anchor: c.anchored ? ('last' as const) : ('none' as const) };
  });

const layoutOf = (fam: ReturnType<typeof softmaxMoe>): SoftmaxMoeLayout => ({
  atoms: fam.atoms,
  inputDim: fam.inputDim,
  outputDim: fam.outputDim,
  nParams: fam.nParams,
  gate: fam.config.gate,
  expert: fam.config.expert,
  gateOffsets: Int32Array.from(fam.gateOffsets),
  expertOffsets: Int32Array.from(fam.expertOffsets),
});

/**
 * Prepared predictRows / jacobianRows against predict / jacobian on n random samples: the
 * family's own prepared form (unrolled where q = 1) and the loop form (unroll: false), which
 * must also give the same bits as each other.
 */
function checkPrepared(cfg: SoftmaxMoeConfig, seed: number, n: number): void {
  const fam = softmaxMoe(cfg);
  const rng = makeRng(seed);
  const theta = fam.sampleTheta(rng);
  for (const go of fam.gateOffsets) if (go >= 0) theta[go] = rng.normal();
  const X = sampleInputs({ kind: 'gaussian', dim: fam.inputDim }, n, rng);
  const q = fam.outputDim;
  const P = fam.nParams;
  const samples = { n, inputDim: fam.inputDim, outputDim: q, X, Y: new Float64Array(n * q) };
  const prep = fam.prepare?.(samples);
  assert.ok(prep !== undefined, fam.name);
  const loops = prepareSoftmaxMoe(layoutOf(fam), samples, { unroll: false });
  assert.equal(loops.unrolled, false);
  assert.equal((prep as { unrolled?: boolean }).unrolled, q === 1, `${fam.name}: unrolled iff q = 1`);
  const a = rowsOf(prep, theta, n, q, P);
  const b = rowsOf(loops, theta, n, q, P);
  assert.deepEqual(a, b, `${fam.name}: unrolled and loop forms`);
  checkPreparedRows(fam, prep, theta, X, n);
}

function rowsOf(prep: PreparedFamily, theta: Float64Array, n: number, q: number, P: number): Float64Array[] {
  prep.bind(theta);
  const out = new Float64Array(n * q);
  const outP = new Float64Array(n * q);
  const jt = new Float64Array(P * n * q);
  prep.jacobianRows(0, n, out, jt, n * q);
  prep.predictRows(0, n, outP);
  return [out, outP, jt];
}


test('softmax MoE: prepared predictRows / jacobianRows equal predict / jacobian (random small problems)', () => {
  fc.assert(
    fc.property(configArb, fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 6 }), (cfg, seed, n) => checkPrepared(cfg, seed, n)),
    { numRuns: 300, seed: 1212 },
  );
});

test('softmax MoE: prepared form at the bench shape (L = 4, d = 4, tanh expert, anchored; 300 samples in one call, more than one chunk)', () => {
  checkPrepared({ atoms: 4, inputDim: 4, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden: 1 }, anchor: 'last' }, 11, 300);
});

test('softmax MoE: custom and quadratic families have no prepared form', () => {
  assert.equal(softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'quadratic' }, expert: { kind: 'affine' } }).prepare, undefined);
  assert.equal(softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'custom', expert: affineExpert(2) } }).prepare, undefined);
});

test('softmax MoE: the prepared form stays bound to its samples at a new theta (bind recomputes nothing stale)', () => {
  const fam = softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden: 2 }, anchor: 'last' });
  const rng = makeRng(5);
  const X = sampleInputs({ kind: 'gaussian', dim: 2 }, 20, rng);
  const prep = fam.prepare?.({ n: 20, inputDim: 2, outputDim: 1, X, Y: new Float64Array(20) });
  assert.ok(prep !== undefined);
  for (let k = 0; k < 3; k++) checkPreparedRows(fam, prep, fam.sampleTheta(rng), X, 20);
});


test('softmax MoE: LM through the prepared family (unrolled and loop forms) takes the same iterates as through predict / jacobian', () => {
  const configs: SoftmaxMoeConfig[] = [
    { atoms: 4, inputDim: 4, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden: 1 }, anchor: 'last' },
    { atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'affine' } },
    { atoms: 2, inputDim: 3, outputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'gelu', hidden: 2 }, anchor: 'last' },
  ];
  configs.forEach((cfg, c) => {
    const fam = softmaxMoe(cfg);
    assert.ok(fam.prepare !== undefined);
    const plain: RegressionFamily = { ...fam, prepare: undefined };
    const loops: RegressionFamily = { ...fam, prepare: (smp) => prepareSoftmaxMoe(layoutOf(fam), smp, { unroll: false }) };
    const rng = makeRng(100 + c);
    const truth = fam.sampleTheta(rng);
    const n = 300;
    const s = sampleResponses(fam, truth, sampleInputs({ kind: 'gaussian', dim: fam.inputDim }, n, rng), 0.1, rng);
    const theta0 = Float64Array.from(truth, (v) => v + 0.3 * rng.normal());
    // blockRows 31 is not a multiple of q = 2: the prepared path's blocks then differ from the plain path's.
    for (const [blockRows, maxIterations] of [[64, 1], [64, 2], [31, 2], [64, 40], [31, 40]] as const) {
      const lm = leastSquares({ maxIterations, blockRows });
      const a = lm.fitFrom(fam, s, theta0);
      const b = lm.fitFrom(plain, s, theta0);
      const c2 = lm.fitFrom(loops, s, theta0);
      const tag = `${fam.name} blockRows=${blockRows} maxIterations=${maxIterations}`;
      assert.ok(a.iterations >= Math.min(3, maxIterations), tag);
      assertSameIterates(a, b, tag);
      assertSameIterates(c2, b, `${tag} (loops)`);
    }
  });
});

test('tanhExpm1 is within 4 ulp of Math.tanh (and exact at 0, +-1 in the tails, NaN for NaN)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.double({ min: -1e-6, max: 1e-6, noNaN: true })), (z) => {
      const a = tanhExpm1(z);
      const b = Math.tanh(z);
      assert.ok(Math.abs(a - b) <= 4 * Number.EPSILON * Math.abs(b) + Number.MIN_VALUE, `z = ${z}: ${a} vs ${b}`);
    }),
    { numRuns: 2000, seed: 77 },
  );
  assert.equal(tanhExpm1(0), 0);
  assert.equal(tanhExpm1(1e300), 1);
  assert.equal(tanhExpm1(-1e300), -1);
  assert.ok(Number.isNaN(tanhExpm1(NaN)));
});

test('softmax MoE: without code generation from strings the prepared form falls back to the loops', () => {
  const script = [
    "import { softmaxMoe } from './dist/src/mixture/softmax-moe.js';",
    "const fam = softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'affine' } });",
    'const p = fam.prepare({ n: 3, inputDim: 2, outputDim: 1, X: new Float64Array(6).fill(0.5), Y: new Float64Array(3) });',
    'p.bind(new Float64Array(fam.nParams).fill(0.1)); const out = new Float64Array(3); p.predictRows(0, 3, out);',
    'console.log(JSON.stringify({ unrolled: p.unrolled, f: out[0] }));',
  ].join('\n');
  const res = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const got = JSON.parse(res.stdout) as { unrolled: boolean; f: number };
  assert.equal(got.unrolled, false);
  // f = sum_j g_j (a + A x) with equal gates: 0.1 + 0.1 * 0.5 + 0.1 * 0.5
  assert.ok(Math.abs(got.f - 0.2) < 1e-15, String(got.f));
});
