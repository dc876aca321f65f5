/**
 * Unrolled kernel of the prepared VAPT prompt mixture (prompt-mixture.ts, `PreparedPromptMixture`
 * with kind 'vapt'): JavaScript source generated once per layout (the integers dv, L, H'W', r and
 * the residual flag, nothing else) and compiled with `new Function`. The pretrained B = W_V^T W2
 * and the bound theta are locals read once per block; each sample's record entries are loaded
 * once and serve every atom. Per sample and atom the operations and their order are those of
 * `forward` and `jacobianColumns` (so both give the same bits):
 *   s_j = b_j + res (alpha_j . Ca) + sum_t 1[h_jt > 0] w2a_t h_jt,   h_jt = alpha_j . CW1_t,
 *   nu_jc = res (alpha_j . CWV_c) + sum_t 1[h_jt > 0] B_ct h_jt,
 *   softmax over [m0, s_1..s_L] (max-shifted; exp(0) = 1 when the tokens lead), f = w0 nu0 + sum_j w_j nu_j, / z,
 *   u_jc = g_j (nu_jc - f_c),   Q_ct = 1[h_jt > 0] (u_c w2a_t + g_j B_ct),
 *   d f_c / d alpha_jk = (u_c res Ca_k + res g_j CWV_ck) + sum_t CW1_tk Q_ct.
 */

/** Sizes the generator needs (those of prompt-mixture.ts's prepared layout). */
export interface VaptUnrolledLayout {
  readonly dv: number;
  readonly L: number;
  readonly HW: number;
  readonly r: number;
  readonly resid: number;
  /** Floats per sample record. */
  readonly S: number;
  /** Floats per atom in theta (1 + H'W'). */
  readonly atomSize: number;
}

/** out[t dv + c] = f_c at samples i0 + t (t < count); with a Jacobian also jt[a stride + t dv + c]. */
export type VaptKernel = (R: Float64Array, th: Float64Array, B: Float64Array, i0: number, count: number, out: Float64Array, jt: Float64Array | null, stride: number) => void;

/** Largest record work the generator unrolls (the source grows with L H'W' (1 + r + dv) dv). */
export const VAPT_UNROLL_MAX = 20000;

export function vaptUnrolledSource(lay: VaptUnrolledLayout, withJacobian: boolean): string | null {
  const { dv, L, HW, r, resid, S, atomSize } = lay;
  for (const v of [dv, L, HW, r, resid, S, atomSize]) if (!Number.isInteger(v) || v < 0) return null;
  if (L * HW * (1 + r + dv) * (withJacobian ? dv : 1) > VAPT_UNROLL_MAX) return null;
  const s: string[] = [];
  s.push(`const res = ${resid};`);
  for (let c = 0; c < dv; c++) for (let t = 0; t < r; t++) s.push(`const B${c}_${t} = B[${c * r + t}];`);
  for (let j = 0; j < L; j++) {
    s.push(`const b${j} = th[${j * atomSize}];`);
    for (let k = 0; k < HW; k++) s.push(`const a${j}_${k} = th[${j * atomSize + 1 + k}];`);
  }
  s.push('for (let t = 0; t < count; t++) {', `const ro = (i0 + t) * ${S};`, 'const m0 = R[ro];');
  for (let c = 0; c < dv; c++) s.push(`const n0_${c} = R[ro + ${1 + c}];`);
  const e0 = 1 + dv;
  // record: Ca (HW), CW1 (r x HW), CWV (dv x HW), w2a (r)
  for (let k = 0; k < HW; k++) s.push(`const Ca${k} = R[ro + ${e0 + k}];`);
  for (let q = 0; q < r; q++) for (let k = 0; k < HW; k++) s.push(`const W1_${q}_${k} = R[ro + ${e0 + (1 + q) * HW + k}];`);
  for (let c = 0; c < dv; c++) for (let k = 0; k < HW; k++) s.push(`const CV${c}_${k} = R[ro + ${e0 + (1 + r + c) * HW + k}];`);
  for (let q = 0; q < r; q++) s.push(`const w2_${q} = R[ro + ${e0 + HW * (1 + r + dv) + q}];`);
  s.push('let mx = m0;');
  const dot = (row: (k: number) => string, j: number): string => {
    let acc = '0';
    for (let k = 0; k < HW; k++) acc = `(${acc} + a${j}_${k} * ${row(k)})`;
    return acc;
  };
  for (let j = 0; j < L; j++) {
    s.push(`let s${j} = b${j};`, `s${j} += res * ${dot((k) => `Ca${k}`, j)};`);
    for (let q = 0; q < r; q++) {
      s.push(`const h${j}_${q} = ${dot((k) => `W1_${q}_${k}`, j)};`, `if (h${j}_${q} > 0) s${j} += w2_${q} * h${j}_${q};`);
    }
    for (let c = 0; c < dv; c++) {
      s.push(`let nu${j}_${c} = ${dot((k) => `CV${c}_${k}`, j)};`, `nu${j}_${c} *= res;`);
      for (let q = 0; q < r; q++) s.push(`if (h${j}_${q} > 0) nu${j}_${c} += B${c}_${q} * h${j}_${q};`);
    }
    s.push(`if (s${j} > mx) mx = s${j};`);
  }
  s.push('const w0 = mx === m0 ? 1 : Math.exp(m0 - mx);', 'let z = w0;');
  for (let c = 0; c < dv; c++) s.push(`let f${c} = w0 * n0_${c};`);
  for (let j = 0; j < L; j++) {
    s.push(`let g${j} = Math.exp(s${j} - mx);`, `z += g${j};`);
    for (let c = 0; c < dv; c++) s.push(`f${c} = f${c} + g${j} * nu${j}_${c};`);
  }
  s.push('const iz = 1 / z;');
  for (let c = 0; c < dv; c++) s.push(`f${c} = f${c} * iz;`, `out[t * ${dv} + ${c}] = f${c};`);
  for (let j = 0; j < L; j++) s.push(`g${j} = g${j} * iz;`);
  if (withJacobian) {
    s.push(`const oo = t * ${dv};`);
    for (let j = 0; j < L; j++) {
      const o = j * atomSize;
      s.push(`{`, `const g = g${j};`);
      for (let c = 0; c < dv; c++) s.push(`const u${c} = g * (nu${j}_${c} - f${c});`, `jt[${o} * stride + oo + ${c}] = u${c};`);
      for (let c = 0; c < dv; c++) for (let q = 0; q < r; q++) s.push(`const Q${c}_${q} = h${j}_${q} > 0 ? u${c} * w2_${q} + g * B${c}_${q} : 0;`);
      s.push('const rg = res * g;');
      for (let k = 0; k < HW; k++) {
        s.push(`{`, `const ck = res * Ca${k};`);
        for (let c = 0; c < dv; c++) {
          let v = `(u${c} * ck + rg * CV${c}_${k})`;
          for (let q = 0; q < r; q++) v = `(${v} + W1_${q}_${k} * Q${c}_${q})`;
          s.push(`jt[${o + 1 + k} * stride + oo + ${c}] = ${v};`);
        }
        s.push('}');
      }
      s.push('}');
    }
  }
  s.push('}');
  return s.join('\n');
}

const compiled = new Map<string, VaptKernel>();

/** The compiled kernel (cached by source), or null where it does not apply or strings may not be compiled. */
export function vaptKernel(lay: VaptUnrolledLayout, withJacobian: boolean): VaptKernel | null {
  const body = vaptUnrolledSource(lay, withJacobian);
  if (body === null) return null;
  let k = compiled.get(body);
  if (k === undefined) {
    try {
      k = new Function('R', 'th', 'B', 'i0', 'count', 'out', 'jt', 'stride', body) as VaptKernel;
    } catch {
      return null;
    }
    if (compiled.size >= 64) compiled.clear();
    compiled.set(body, k);
  }
  return k;
}
