/**
 * Agreement of the tfjs ViT's attention layer, with each prompt method's own hooks and
 * variables, against the float64 MoE view of src/attention (moeView) fed with the prompt experts
 * of src/prompts for the same weights. Float32 tolerance: 1e-4 relative to the output's scale.
 *
 * The layer input is T = [cls; patches] (1 + H*W rows), prompts come from the method's hooks
 * exactly as in the forward pass, and every head h is compared with moeView on its column block
 * of W_Q, W_K, W_V. Head width 16 so E2VPT's 16 interleaved segments line up per head.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type Mat, fromRows } from '../../src/linalg/mat.js';
import { moeView } from '../../src/attention/head.js';
import type { Head, PromptExperts } from '../../src/attention/types.js';
import { vptExperts } from '../../src/prompts/vpt.js';
import { e2vptExperts } from '../../src/prompts/e2vpt.js';
import { vaptExperts } from '../../src/prompts/vapt.js';
import { withDefaults, type E2vptConfig, type VaptConfig } from '../../src/prompts/config.js';
import {
  initVit,
  disposeVit,
  multiHeadAttention,
  type VitConfig,
  type VitWeights,
  type TuningMethod,
  type AttentionWeights,
} from '../../src/vit/model.js';
import { createVpt } from '../../src/vit/prompts/vpt.js';
import { createE2vpt, SEGMENTS, type E2vptMethod } from '../../src/vit/prompts/e2vpt.js';
import { createVapt, type VaptMethod } from '../../src/vit/prompts/vapt.js';
import { selectBackend } from '../../src/vit/backend.js';
import { createLinearProbe } from '../../src/vit/prompts/linear-probe.js';

const HEADS = 2;
const DH = 16;
const D = HEADS * DH;
const CFG: VitConfig = { imageSize: 12, channels: 1, patch: 3, width: D, depth: 3, heads: HEADS, mlpRatio: 2, classes: 3 };
const GRID: [number, number] = [4, 4];
const N = 1 + GRID[0] * GRID[1];

function toMat(t: tf.Tensor): Mat {
  const [r, c] = t.shape as [number, number];
  return { rows: r, cols: c, data: Float64Array.from(t.dataSync()) };
}

function cols(m: Mat, from: number, to: number): Mat {
  const w = to - from;
  const out = new Float64Array(m.rows * w);
  for (let i = 0; i < m.rows; i++) out.set(m.data.subarray(i * m.cols + from, i * m.cols + to), i * w);
  return { rows: m.rows, cols: w, data: out };
}

function rowsOf(m: Mat, from: number, to: number): Mat {
  return { rows: to - from, cols: m.cols, data: m.data.slice(from * m.cols, to * m.cols) };
}

/** Random attention weights (scale large enough that gates are far from uniform). */
function randomAttention(seed: number): { tf: AttentionWeights; heads: Head[] } {
  const wq = tf.randomNormal([D, D], 0, 0.35, 'float32', seed);
  const wk = tf.randomNormal([D, D], 0, 0.35, 'float32', seed + 1);
  const wv = tf.randomNormal([D, D], 0, 0.35, 'float32', seed + 2);
  const [Q, K, V] = [toMat(wq), toMat(wk), toMat(wv)];
  const heads = Array.from({ length: HEADS }, (_, h) => ({
    WQ: cols(Q, h * DH, (h + 1) * DH),
    WK: cols(K, h * DH, (h + 1) * DH),
    WV: cols(V, h * DH, (h + 1) * DH),
  }));
  return { tf: { wq, wk, wv }, heads };
}

function tokens(seed: number): tf.Tensor3D {
  return tf.randomNormal([1, N, D], 0, 1, 'float32', seed) as tf.Tensor3D;
}

/**
 * Run the method's hooks at `layer` on T (previous prompts: `prev`), then the tfjs attention;
 * compare each head with moeView(head, T, experts(h)) on the query rows `queries`.
 */
function agree(
  method: TuningMethod,
  layer: number,
  T: tf.Tensor3D,
  att: { tf: AttentionWeights; heads: Head[] },
  experts: (h: number, head: Head, Tm: Mat, prompts: Mat | null) => PromptExperts,
  prev: tf.Tensor3D | null = null,
): number {
  return tf.tidy(() => {
    const p = method.hooks.layerPrompts ? method.hooks.layerPrompts({ layer, tokens: T, prompts: prev, grid: GRID }) : null;
    const kv = method.hooks.kvPrompts ? method.hooks.kvPrompts(layer) : null;
    const seq = p === null ? T : tf.concat([T, p], 1);
    const { perHead } = multiHeadAttention(seq, att.tf, HEADS, kv);
    const Tm = toMat(tf.reshape(T, [N, D]));
    const Pm = p === null ? null : toMat(tf.reshape(p, [p.shape[1], D]));
    let worst = 0;
    for (let h = 0; h < HEADS; h++) {
      const head = att.heads[h] as Head;
      const view = moeView(head, Tm, experts(h, head, Tm, Pm));
      const Q = view.output.rows;
      const got = toMat(tf.reshape(tf.slice(perHead, [0, h, 0, 0], [1, 1, Q, DH]), [Q, DH]));
      let scale = 0;
      let err = 0;
      for (let i = 0; i < got.data.length; i++) {
        scale = Math.max(scale, Math.abs(view.output.data[i] as number));
        err = Math.max(err, Math.abs((got.data[i] as number) - (view.output.data[i] as number)));
      }
      assert.ok(view.prompts > 0 || p === null, 'the view has prompt experts');
      worst = Math.max(worst, err / scale);
    }
    return worst;
  });
}

const TOL = 1e-4;

let backbone: VitWeights;
test.before(async () => {
  await selectBackend('cpu', { log: () => {} });
  backbone = initVit(CFG, 1, false);
});
test.after(() => disposeVit(backbone));

test('VPT-deep: tfjs attention with the method equals the MoE view (every layer)', () => {
  const m = createVpt(backbone, { kind: 'vpt', prompts: 4, mode: 'deep' }, { classes: 3, seed: 2 });
  const att = randomAttention(10);
  for (let l = 0; l < CFG.depth; l++) {
    const T = tokens(20 + l);
    const P = toMat(m.prompts[l] as tf.Variable);
    const rel = agree(m, l, T, att, (_h, head, Tm) => vptExperts(head, Tm, { kind: 'vpt', P, mode: 'deep' }));
    assert.ok(rel < TOL, `layer ${l}: relative error ${rel}`);
    T.dispose();
  }
  tf.dispose(Object.values(att.tf));
  m.dispose();
});

test('VPT-shallow: prompt rows are query rows too, and later layers carry the previous prompt outputs', () => {
  const m = createVpt(backbone, { kind: 'vpt', prompts: 3, mode: 'shallow' }, { classes: 3, seed: 3 });
  const att = randomAttention(11);
  const T = tokens(30);
  const P = toMat(m.prompts[0] as tf.Variable);
  const rel0 = agree(m, 0, T, att, (_h, head, Tm) => vptExperts(head, Tm, { kind: 'vpt', P, mode: 'shallow' }));
  assert.ok(rel0 < TOL, `layer 0: ${rel0}`);
  // Layer 1: the hooks return the previous prompt outputs unchanged.
  const prev = tf.randomNormal([1, 3, D], 0, 1, 'float32', 31) as tf.Tensor3D;
  const Pprev = toMat(tf.reshape(prev, [3, D]));
  const rel1 = agree(m, 1, T, att, (_h, head, Tm) => vptExperts(head, Tm, { kind: 'vpt', P: Pprev, mode: 'shallow' }), prev);
  assert.ok(rel1 < TOL, `layer 1: ${rel1}`);
  tf.dispose([T, prev, ...Object.values(att.tf)]);
  m.dispose();
});

function randomMasks(m: E2vptMethod, cfg: E2vptConfig, seed: number): void {
  let s = seed;
  const bit = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 < 0.7 ? 1 : 0);
  m.setMasks(
    Array.from({ length: CFG.depth }, () => ({
      visualToken: Array.from({ length: cfg.visualPrompts }, bit),
      visualSegment: Array.from({ length: cfg.visualPrompts }, () => Array.from({ length: SEGMENTS }, bit)),
      kvToken: Array.from({ length: cfg.kvPrompts }, bit),
      kvSegment: Array.from({ length: cfg.kvPrompts }, () => Array.from({ length: SEGMENTS }, bit)),
    })),
  );
}

for (const sharedKV of [true, false]) {
  test(`E2VPT (${sharedKV ? 'shared' : 'separate'} key-value prompts, random masks) equals the MoE view`, () => {
    const cfg: E2vptConfig = { kind: 'e2vpt', visualPrompts: 3, kvPrompts: 2, sharedKV };
    const m = createE2vpt(backbone, cfg, { classes: 3, seed: 4 });
    randomMasks(m, cfg, 99 + (sharedKV ? 1 : 0));
    const masks = m.masks();
    const att = randomAttention(12);
    for (let l = 0; l < CFG.depth; l++) {
      const T = tokens(40 + l);
      const ml = masks[l];
      assert.ok(ml);
      const visual = toMat(m.visual[l] as tf.Variable);
      const K = toMat(m.kvKeys[l] as tf.Variable);
      const V = toMat(m.kvValues[l] as tf.Variable);
      const rel = agree(m, l, T, att, (h, head, Tm) =>
        e2vptExperts(head, Tm, {
          kind: 'e2vpt',
          visual,
          keys: cols(K, h * DH, (h + 1) * DH),
          ...(sharedKV ? {} : { values: cols(V, h * DH, (h + 1) * DH) }),
          masks: {
            visualToken: ml.visualToken,
            visualSegment: fromRows(ml.visualSegment),
            kvToken: ml.kvToken,
            kvSegment: fromRows(ml.kvSegment),
          },
        }),
      );
      assert.ok(rel < TOL, `layer ${l}: relative error ${rel}`);
      T.dispose();
    }
    tf.dispose(Object.values(att.tf));
    m.dispose();
  });
}

const vaptVariants: Array<Partial<VaptConfig>> = [
  {},
  { kernel: 3, padding: 1, residual: false, layerNorm: false, projectorBias: false },
  { kernel: 2, padding: 1, staticFirstLayer: false },
];
for (const variant of vaptVariants) {
  test(`VAPT ${JSON.stringify(variant)} equals the MoE view (adaptive layers) and VPT at a static layer 0`, () => {
    const cfg = withDefaults({ kind: 'vapt', prompts: 3, rank: 4, ...variant });
    const m: VaptMethod = createVapt(backbone, cfg, { classes: 3, seed: 5 });
    // Move the zero/one initialisations (bias, LayerNorm) to random values.
    tf.tidy(() => {
      m.layers.forEach((lw, l) => {
        if (!lw) return;
        if (lw.bias) (lw.bias as tf.Variable).assign(tf.randomNormal([cfg.prompts], 0, 0.5, 'float32', 50 + l));
        if (lw.ln) {
          (lw.ln.gamma as tf.Variable).assign(tf.randomNormal([D], 1, 0.3, 'float32', 60 + l));
          (lw.ln.beta as tf.Variable).assign(tf.randomNormal([D], 0, 0.3, 'float32', 70 + l));
        }
      });
      m.mlp.W2.assign(tf.randomNormal([D, cfg.rank], 0, 0.5, 'float32', 80));
    });
    const att = randomAttention(13);
    const W1 = toMat(m.mlp.W1);
    const W2 = toMat(m.mlp.W2);
    for (let l = 0; l < CFG.depth; l++) {
      const T = tokens(50 + l);
      const lw = m.layers[l];
      const rel = agree(m, l, T, att, (_h, head, Tm) => {
        if (!lw) return vptExperts(head, Tm, { kind: 'vpt', P: toMat(m.staticPrompts as tf.Variable), mode: 'deep' });
        const patches = rowsOf(Tm, 1, N);
        return vaptExperts(head, patches, {
          kind: 'vapt',
          grid: GRID,
          kernel: toMat(lw.kernel),
          padding: cfg.padding,
          alpha: toMat(lw.alpha),
          bias: lw.bias ? Float64Array.from(lw.bias.dataSync()) : new Float64Array(cfg.prompts),
          W1,
          W2,
          residual: cfg.residual,
          layerNorm: lw.ln ? { gamma: Float64Array.from(lw.ln.gamma.dataSync()), beta: Float64Array.from(lw.ln.beta.dataSync()) } : null,
        });
      });
      assert.ok(rel < TOL, `layer ${l}: relative error ${rel}`);
      T.dispose();
    }
    tf.dispose(Object.values(att.tf));
    m.dispose();
  });
}

test('no prompts (linear probe, full fine-tuning): the plain tfjs attention equals the MoE view of the tokens alone', () => {
  const m = createLinearProbe(backbone, { classes: 3, seed: 7 });
  const att = randomAttention(16);
  const T = tokens(95);
  const empty: PromptExperts = { keys: { rows: 0, cols: DH, data: new Float64Array(0) }, values: { rows: 0, cols: DH, data: new Float64Array(0) } };
  const rel = agree(m, 0, T, att, () => empty);
  assert.ok(rel < TOL, `relative error ${rel}`);
  tf.dispose([T, ...Object.values(att.tf)]);
  m.dispose();
});

test('multi-head output with W_O: tfjs equals concat of the per-head MoE views times W_O', () => {
  const m = createVpt(backbone, { kind: 'vpt', prompts: 2, mode: 'deep' }, { classes: 3, seed: 6 });
  const att = randomAttention(14);
  const wo = tf.randomNormal([D, D], 0, 0.3, 'float32', 15);
  const T = tokens(90);
  const WO = toMat(wo);
  const P = toMat(m.prompts[0] as tf.Variable);
  tf.tidy(() => {
    const p = m.hooks.layerPrompts?.({ layer: 0, tokens: T, prompts: null, grid: GRID }) as tf.Tensor3D;
    const out = multiHeadAttention(tf.concat([T, p], 1), { ...att.tf, wo }, HEADS).output as tf.Tensor3D;
    const got = toMat(tf.reshape(tf.slice(out, [0, 0, 0], [1, N, D]), [N, D]));
    const Tm = toMat(tf.reshape(T, [N, D]));
    const heads = att.heads.map((head) => moeView(head, Tm, vptExperts(head, Tm, { kind: 'vpt', P, mode: 'deep' })).output);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < N; i++) {
      for (let c = 0; c < D; c++) {
        let s = 0;
        for (let h = 0; h < HEADS; h++) {
          const o = heads[h] as Mat;
          for (let k = 0; k < DH; k++) s += (o.data[i * DH + k] as number) * (WO.data[(h * DH + k) * D + c] as number);
        }
        scale = Math.max(scale, Math.abs(s));
        worst = Math.max(worst, Math.abs(s - (got.data[i * D + c] as number)));
      }
    }
    assert.ok(worst / scale < TOL, `relative error ${worst / scale}`);
  });
  tf.dispose([wo, T, ...Object.values(att.tf)]);
  m.dispose();
});
