/**
 * The tuning methods: parameter counts equal src/prompts/config.ts's paramCount for the same
 * config (counted from the variables themselves), tiny forward/backward runs reduce the loss,
 * nothing leaks, the shared backbone is never modified, E2VPT masks and pruning behave.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { paramCount, withDefaults, type PromptConfig } from '../../src/prompts/config.js';
import {
  createMethod,
  countParameters,
  crossEntropy,
  disposeVit,
  initVit,
  namedVitVariables,
  selectBackend,
  vitShape,
  vitForward,
  vitWeightsFromNamed,
  cloneVit,
  createE2vpt,
  fullMasks,
  prune,
  pruneTokens,
  pruneSegments,
  addImportances,
  type MethodSpec,
  type VitConfig,
  type VitWeights,
} from '../../src/vit/index.js';

const CFG: VitConfig = { imageSize: 16, channels: 1, patch: 4, width: 32, depth: 2, heads: 2, mlpRatio: 2, classes: 4 };
let backbone: VitWeights;
let x: tf.Tensor4D;
let y: tf.Tensor1D;

test.before(async () => {
  await selectBackend('cpu', { log: () => {} });
  backbone = initVit(CFG, 3, false);
  x = tf.randomUniform([8, 16, 16, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  y = tf.tensor1d(Array.from({ length: 8 }, (_, i) => i % 4));
});
test.after(() => {
  disposeVit(backbone);
  tf.dispose([x, y]);
});

const PROMPT_CONFIGS: Array<{ name: MethodSpec['name']; config: PromptConfig }> = [
  { name: 'vpt-deep', config: withDefaults({ kind: 'vpt', prompts: 5 }) },
  { name: 'vpt-shallow', config: withDefaults({ kind: 'vpt', prompts: 5, mode: 'shallow' }) },
  { name: 'e2vpt', config: withDefaults({ kind: 'e2vpt', visualPrompts: 4, kvPrompts: 3, sharedKV: true }) },
  { name: 'e2vpt', config: withDefaults({ kind: 'e2vpt', visualPrompts: 4, kvPrompts: 3, sharedKV: false }) },
  { name: 'vapt', config: withDefaults({ kind: 'vapt', prompts: 4, rank: 3 }) },
  { name: 'vapt', config: withDefaults({ kind: 'vapt', prompts: 4, kernel: 3, padding: 1, layerNorm: false, projectorBias: false, staticFirstLayer: false }) },
];

for (const { name, config } of PROMPT_CONFIGS) {
  test(`${name} ${JSON.stringify(config)}: parameters = paramCount, and a few steps lower the loss`, () => {
    const m = createMethod(backbone, { name, config } as MethodSpec, { classes: 4, seed: 1 });
    const expected = paramCount(vitShape(CFG), config);
    assert.equal(m.promptParameters, expected);
    const headSize = CFG.width * 4 + 4;
    assert.equal(countParameters(m.trainableVariables()), expected + headSize, 'trainable variables hold exactly the counted parameters + head');
    assert.equal(m.tunableParameters, expected + headSize);
    const before = tf.tidy(() => Array.from(namedVitVariables(backbone)['blocks.0.wq']!.dataSync()));
    const opt = tf.train.adam(0.005);
    const losses: number[] = [];
    let afterFirst = 0;
    for (let i = 0; i < 5; i++) {
      const c = opt.minimize(() => crossEntropy(m.forward(x), y), true, m.trainableVariables()) as tf.Scalar;
      losses.push(c.dataSync()[0] as number);
      c.dispose();
      if (i === 0) afterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, afterFirst, 'no tensors leak per step (after the optimizer made its slots)');
    assert.ok((losses.at(-1) as number) < (losses[0] as number), `loss went down: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    assert.deepEqual(Array.from(namedVitVariables(backbone)['blocks.0.wq']!.dataSync()), before, 'the frozen backbone is unchanged');
    opt.dispose();
    const nVars = tf.memory().numTensors;
    m.dispose();
    assert.ok(tf.memory().numTensors < nVars);
  });
}

test('linear probe and full fine-tuning: counts, training, and the shared backbone stays untouched', () => {
  for (const name of ['linear-probe', 'full-finetune'] as const) {
    const m = createMethod(backbone, { name }, { classes: 4, seed: 2 });
    assert.equal(m.promptParameters, 0);
    const backboneSize = countParameters(Object.entries(namedVitVariables(backbone)).filter(([k]) => !k.startsWith('head.')).map(([, v]) => v));
    assert.equal(m.tunableParameters, (name === 'full-finetune' ? backboneSize : 0) + CFG.width * 4 + 4);
    const before = Array.from(backbone.blocks[0]!.wq.dataSync());
    const opt = tf.train.adam(0.005);
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = opt.minimize(() => crossEntropy(m.forward(x), y), true, m.trainableVariables()) as tf.Scalar;
      losses.push(c.dataSync()[0] as number);
      c.dispose();
    }
    assert.ok((losses.at(-1) as number) < (losses[0] as number), `${name}: ${losses.join(' ')}`);
    assert.deepEqual(Array.from(backbone.blocks[0]!.wq.dataSync()), before);
    if (name === 'full-finetune') assert.notDeepEqual(Array.from(m.backbone.blocks[0]!.wq.dataSync()), before, 'the private copy trained');
    opt.dispose();
    m.dispose();
  }
});

test('weights: same seed same weights; named round trip reproduces the forward pass', () => {
  const a = initVit(CFG, 9);
  const b = initVit(CFG, 9);
  const c = vitWeightsFromNamed(CFG, namedVitVariables(a));
  const d = cloneVit(a);
  const [la, lb, lc, ld] = [a, b, c, d].map((w) => tf.tidy(() => Array.from(vitForward(w, x).dataSync())));
  assert.deepEqual(lb, la);
  assert.deepEqual(lc, la);
  assert.deepEqual(ld, la);
  assert.throws(() => vitWeightsFromNamed(CFG, { ...namedVitVariables(a), patchW: tf.zeros([2, 2]) }), /patchW/);
  [a, b, c, d].forEach(disposeVit);
});

test('prune: lowest importance first among active entries, ties by index, already-pruned stay pruned', () => {
  assert.deepEqual(prune([1, 1, 1, 1], [0.4, 0.1, 0.3, 0.2], 0.5), [1, 0, 1, 0]);
  assert.deepEqual(prune([1, 0, 1, 1], [0.4, 0.0, 0.3, 0.2], 1 / 3), [1, 0, 1, 0]);
  assert.deepEqual(prune([1, 1, 1], [0, 0, 0], 0.34), [0, 1, 1]);
  assert.deepEqual(prune([1, 1], [1, 2], 0), [1, 1]);
  assert.throws(() => prune([1], [1, 2], 0.5), /importance/);
  assert.throws(() => prune([1], [1], 1.5), /fraction/);
});

test('E2VPT: masked entries are exactly zero in the prompts the layer sees; importances are |dL/dmask|; pruning across layers', async () => {
  const cfg = withDefaults({ kind: 'e2vpt', visualPrompts: 3, kvPrompts: 2, sharedKV: false });
  const m = createE2vpt(backbone, cfg, { classes: 4, seed: 3 });
  const masks = fullMasks(CFG.depth, cfg);
  masks[0] = { ...masks[0]!, visualToken: [1, 0, 1], visualSegment: masks[0]!.visualSegment.map((r, j) => (j === 2 ? r.map((_, s) => (s === 5 ? 0 : 1)) : r)) };
  m.setMasks(masks);
  assert.deepEqual(m.masks(), masks);
  tf.tidy(() => {
    const T = tf.zeros([1, 17, CFG.width]) as tf.Tensor3D;
    const p = (m.hooks.layerPrompts?.({ layer: 0, tokens: T, prompts: null, grid: [4, 4] }) as tf.Tensor3D).arraySync()[0]!;
    const raw = (m.visual[0]!.arraySync() as number[][]);
    for (let j = 0; j < 3; j++) {
      for (let c = 0; c < CFG.width; c++) {
        const masked = j === 1 || (j === 2 && c % 16 === 5);
        assert.ok(masked ? p[j]![c] === 0 : p[j]![c] === raw[j]![c], `prompt ${j} dim ${c}`);
      }
    }
  });
  const imp = m.maskImportance(x, y);
  assert.deepEqual(await m.maskImportanceAsync(x, y), imp);
  assert.equal(imp.length, CFG.depth);
  assert.equal(imp[0]!.visualSegment[0]!.length, 16);
  assert.ok(imp.every((l) => l.visualToken.every((v) => v >= 0 && Number.isFinite(v))));
  assert.ok(imp.some((l) => l.kvToken.some((v) => v > 0)), 'key-value masks get a gradient');
  // Finite-difference check of one token importance: d loss / d mask at mask = 1.
  const lossAt = (mk: typeof masks) => {
    m.setMasks(mk);
    return tf.tidy(() => (crossEntropy(m.forward(x), y).dataSync()[0] as number) * 8);
  };
  const base = fullMasks(CFG.depth, cfg);
  m.setMasks(base);
  const g = m.maskImportance(x, y)[1]!.kvToken[0]!;
  const eps = 1e-2;
  const up = base.map((l, i) => (i === 1 ? { ...l, kvToken: [1 + eps, 1] } : l));
  const dn = base.map((l, i) => (i === 1 ? { ...l, kvToken: [1 - eps, 1] } : l));
  const fd = Math.abs((lossAt(up) - lossAt(dn)) / (2 * eps));
  assert.ok(Math.abs(fd - g) <= 0.05 * Math.max(g, 1e-6) + 1e-5, `|dL/dm| ${g} against finite difference ${fd}`);
  const sum = addImportances(imp, imp);
  assert.equal(sum[0]!.kvToken[0], 2 * imp[0]!.kvToken[0]!);
  const pt = pruneTokens(base, imp, 0.5, 'visual');
  assert.equal(pt.flatMap((l) => l.visualToken).filter((v) => v === 0).length, 3);
  const ps = pruneSegments(base, imp, 0.25, 'kv');
  assert.equal(ps.flatMap((l) => l.kvSegment.flat()).filter((v) => v === 0).length, Math.round(0.25 * CFG.depth * 2 * 16));
  m.dispose();
});

test('E2VPT with no visual or no key-value prompts: forward, importances and a step work', () => {
  for (const c of [{ visualPrompts: 0, kvPrompts: 2 }, { visualPrompts: 2, kvPrompts: 0 }]) {
    const m = createE2vpt(backbone, { kind: 'e2vpt', sharedKV: true, ...c }, { classes: 4, seed: 1 });
    const imp = m.maskImportance(x, y);
    assert.equal(imp[0]!.visualToken.length, c.visualPrompts);
    assert.equal(imp[0]!.kvToken.length, c.kvPrompts);
    const opt = tf.train.sgd(0.1);
    opt.minimize(() => crossEntropy(m.forward(x), y), true, m.trainableVariables())?.dispose();
    opt.dispose();
    m.dispose();
  }
});
