/**
 * Unrolled kernels of the prepared softmax MoE (softmax-moe-prepared.ts) for one output (q = 1):
 * JavaScript source generated once per family from its layout (the integers L, d, h and the
 * theta offsets, nothing else) and compiled with `new Function`, so every parameter is a local
 * read once per block, every loop over atoms, inputs and hidden units is unrolled, and each
 * sample is one pass in registers: about 2.7 times fewer cycles than the structure-of-arrays
 * loops, whose per-element loads, stores and bounds checks dominate at these sizes.
 *
 * Per sample t (x_l = X^T[l n + i0 + t]), in the order of softmax-moe-prepared.ts's loops (so
 * both give the same bits):
 *   l_j = b_j + (((0 + beta_j0 x_0) + beta_j1 x_1) + ...),   0 for the anchored atom,
 *   z_jk = ((c_jk + W_jk0 x_0) + ...),  u = sigma(z) (tanh inline as tanhExpm1),  e_j = ((v0_j + V_j0 u_j0) + ...),
 *   g = softmax(l) (max-shifted),  f = ((0 + g_0 e_0) + ...),
 * then the columns of J^T at row oo + t:
 *   b_j: c_j = g_j (e_j - f),  beta_jl: c_j x_l,  W_jkl: dz_jk x_l,  c_jk: dz_jk (dz = g_j (V_jk sigma'(z_jk))),
 *   V_jk: g_j u_jk,  v0_j: g_j;  affine experts: A_jl: g_j x_l, a_j: g_j;  constant: g_j.
 */
import type { SoftmaxMoeLayout } from './softmax-moe-prepared.js';

/** Expert shapes the generator covers (q = 1). */
export type UnrolledExpert =
  | { readonly kind: 'constant' }
  | { readonly kind: 'affine' }
  | {
      readonly kind: 'mlp';
      readonly h: number;
      readonly outLayer: boolean;
      readonly outBias: boolean;
      /** tanh written inline as tanhExpm1 (same operations), sigma' = 1 - u^2; otherwise act / dact are called. */
      readonly tanh: boolean;
    };

/**
 * Rows oo + t, t < T, of the samples i0 + t: out[oo + t] = f, and with a Jacobian
 * jt[a stride + oo + t] = d f / d theta_a. act / dact: the activation sigma and sigma'(z, sigma(z)).
 */
export type UnrolledKernel = (
  th: Float64Array,
  XT: Float64Array,
  n: number,
  i0: number,
  T: number,
  out: Float64Array,
  oo: number,
  jt: Float64Array | null,
  stride: number,
  act: (z: number) => number,
  dact: (z: number, fz: number) => number,
) => void;

/** Largest theta the generator unrolls (the source grows with it; larger families keep the loops). */
export const UNROLL_MAX_PARAMS = 600;

/** The kernel's source body (exported for tests and inspection); null where q != 1 or theta is too large. */
export function unrolledSource(lay: SoftmaxMoeLayout, expert: UnrolledExpert, withJacobian: boolean): string | null {
  const L = lay.atoms;
  const d = lay.inputDim;
  if (lay.outputDim !== 1 || lay.nParams > UNROLL_MAX_PARAMS) return null;
  const gOff = Array.from(lay.gateOffsets);
  const eOff = Array.from(lay.expertOffsets);
  for (const v of [...gOff, ...eOff, L, d]) if (!Number.isInteger(v)) return null;
  const h = expert.kind === 'mlp' ? expert.h : 0;
  if (!Number.isInteger(h)) return null;
  const s: string[] = [];
  // Parameters as locals.
  for (let j = 0; j < L; j++) {
    const go = gOff[j] as number;
    if (go >= 0) {
      s.push(`const b${j} = th[${go}];`);
      for (let k = 0; k < d; k++) s.push(`const be${j}_${k} = th[${go + 1 + k}];`);
    }
    const eo = eOff[j] as number;
    if (expert.kind === 'constant') s.push(`const a${j} = th[${eo}];`);
    else if (expert.kind === 'affine') {
      for (let l = 0; l < d; l++) s.push(`const A${j}_${l} = th[${eo + l}];`);
      s.push(`const a${j} = th[${eo + d}];`);
    } else {
      for (let k = 0; k < h; k++) {
        for (let l = 0; l < d; l++) s.push(`const w${j}_${k}_${l} = th[${eo + k * d + l}];`);
        s.push(`const c${j}_${k} = th[${eo + h * d + k}];`);
        if (expert.outLayer) s.push(`const V${j}_${k} = th[${eo + h * d + h + k}];`);
      }
      if (expert.outBias) s.push(`const v0${j} = th[${eo + h * d + 2 * h}];`);
    }
  }
  s.push('for (let t = 0; t < T; t++) {');
  for (let l = 0; l < d; l++) s.push(`const x${l} = XT[${l} * n + i0 + t];`);
  for (let j = 0; j < L; j++) {
    if ((gOff[j] as number) >= 0) {
      let acc = '0';
      for (let k = 0; k < d; k++) acc = `(${acc} + be${j}_${k} * x${k})`;
      s.push(`const l${j} = b${j} + ${acc};`);
    } else s.push(`const l${j} = 0;`);
    if (expert.kind === 'constant') s.push(`const e${j} = a${j};`);
    else if (expert.kind === 'affine') {
      let acc = `a${j}`;
      for (let l = 0; l < d; l++) acc = `(${acc} + A${j}_${l} * x${l})`;
      s.push(`const e${j} = ${acc};`);
    } else {
      let acc = expert.outBias ? `v0${j}` : '0';
      for (let k = 0; k < h; k++) {
        let z = `c${j}_${k}`;
        for (let l = 0; l < d; l++) z = `(${z} + w${j}_${k}_${l} * x${l})`;
        s.push(`const z${j}_${k} = ${z};`);
        if (expert.tanh) {
          // tanhExpm1: 1 for z > 20, else expm1(2 z) / (expm1(2 z) + 2)
          s.push(`const m${j}_${k} = Math.expm1(2 * z${j}_${k});`, `const u${j}_${k} = z${j}_${k} > 20 ? 1 : m${j}_${k} / (m${j}_${k} + 2);`);
          if (withJacobian) s.push(`const du${j}_${k} = 1 - u${j}_${k} * u${j}_${k};`);
        } else {
          s.push(`const u${j}_${k} = act(z${j}_${k});`);
          if (withJacobian) s.push(`const du${j}_${k} = dact(z${j}_${k}, u${j}_${k});`);
        }
        acc = `(${acc} + V${j}_${k} * u${j}_${k})`;
      }
      s.push(`const e${j} = ${expert.outLayer ? acc : `u${j}_0`};`);
    }
  }
  let mx = '-Infinity';
  for (let j = 0; j < L; j++) mx = `Math.max(${mx}, l${j})`;
  s.push(`const mx = ${mx};`);
  let zs = '0';
  for (let j = 0; j < L; j++) {
    s.push(`const x${j}e = Math.exp(l${j} - mx);`);
    zs = `(${zs} + x${j}e)`;
  }
  s.push(`const inv = 1 / ${zs};`);
  let f = '0';
  for (let j = 0; j < L; j++) {
    s.push(`const g${j} = x${j}e * inv;`);
    f = `(${f} + g${j} * e${j})`;
  }
  s.push(`const f = ${f};`, 'out[oo + t] = f;');
  if (withJacobian) {
    s.push('const r0 = oo + t;');
    const col = (a: number, v: string): void => {
      s.push(`jt[${a} * stride + r0] = ${v};`);
    };
    for (let j = 0; j < L; j++) {
      const go = gOff[j] as number;
      const eo = eOff[j] as number;
      if (go >= 0) {
        s.push(`const cc${j} = g${j} * (e${j} - f);`);
        col(go, `cc${j}`);
        for (let k = 0; k < d; k++) col(go + 1 + k, `cc${j} * x${k}`);
      }
      if (expert.kind === 'constant') col(eo, `g${j}`);
      else if (expert.kind === 'affine') {
        for (let l = 0; l < d; l++) col(eo + l, `g${j} * x${l}`);
        col(eo + d, `g${j}`);
      } else {
        for (let k = 0; k < h; k++) {
          s.push(`const dz${j}_${k} = g${j} * ${expert.outLayer ? `(V${j}_${k} * du${j}_${k})` : `du${j}_${k}`};`);
          for (let l = 0; l < d; l++) col(eo + k * d + l, `dz${j}_${k} * x${l}`);
          col(eo + h * d + k, `dz${j}_${k}`);
          if (expert.outLayer) col(eo + h * d + h + k, `g${j} * u${j}_${k}`);
        }
        if (expert.outBias) col(eo + h * d + 2 * h, `g${j}`);
      }
    }
  }
  s.push('}');
  return s.join('\n');
}

/**
 * Compiled kernels by source, so that every fit of one family shape runs the same function and
 * keeps its optimised code (a fresh function would start cold in the interpreter at every fit).
 */
const compiled = new Map<string, UnrolledKernel>();
const CACHE_MAX = 64;

/** The compiled kernel, or null where the generator does not apply (q != 1, theta too large) or strings may not be compiled. */
export function unrolledKernel(lay: SoftmaxMoeLayout, expert: UnrolledExpert, withJacobian: boolean): UnrolledKernel | null {
  const body = unrolledSource(lay, expert, withJacobian);
  if (body === null) return null;
  let k = compiled.get(body);
  if (k === undefined) {
    try {
      k = new Function('th', 'XT', 'n', 'i0', 'T', 'out', 'oo', 'jt', 'stride', 'act', 'dact', body) as UnrolledKernel;
    } catch {
      // code generation from strings disallowed (node --disallow-code-generation-from-strings): the loops serve
      return null;
    }
    if (compiled.size >= CACHE_MAX) compiled.clear();
    compiled.set(body, k);
  }
  return k;
}
