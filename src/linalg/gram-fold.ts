/**
 * The Gram fold of the streamed normal equations: for a block JT (P x B, row c = column c of J
 * over the block's m <= B rows), residuals r (m) and dense columns `cols` (ascending),
 *   A[c_a, c_b] += sum_k JT[c_a, k] JT[c_b, k]   (a <= b, upper triangle),
 *   g[c_a]      += sum_k JT[c_a, k] r[k].
 * Two implementations with the same contract:
 * - `foldGramJs`: plain JavaScript, register-blocked 2 x 4 over (a, b) (the reference, and the
 *   fallback where the WebAssembly kernel is not built);
 * - `WasmGramFold`: the f64x2 SIMD kernel of gram-fold.wat (assembled by `npm run build` with
 *   wabt's wat2wasm, compiled synchronously once per thread). Its JT and r buffers live in the
 *   kernel's memory, so the caller writes blocks there and nothing is copied per block; it folds
 *   into a compact n x n accumulator (n = dense columns + 1 for r, rounded up to 4) that
 *   `scatter` copies into A and g once per pass.
 * Which one a fit uses: `resolveFold(option)`: the option, else the environment variable
 * PROMPT_EXPERTS_FOLD ('wasm' | 'js'), else 'wasm' where the kernel is built.
 */
import { InputError } from '../util/errors.js';
import { lazyWasmModule, wasmApi, type WasmModule } from '../util/wasm.js';

export type FoldKind = 'wasm' | 'js';

/** The environment variable that selects the fold when no option does. */
export const FOLD_ENV = 'PROMPT_EXPERTS_FOLD';

interface FoldExports {
  fold(cols: number, n: number, m: number, S: number): void;
}

const loadKernel = lazyWasmModule(new URL('./gram-fold.wasm', import.meta.url));

/** The compiled kernel, or null (the reason in `unavailableReason()`) when the .wasm file is missing or invalid. */
function kernelModule(): WasmModule | null {
  return loadKernel().module;
}
function unavailableReason(): string {
  return loadKernel().reason;
}

/** Whether the WebAssembly fold is built and loads here; otherwise why not. */
export function wasmFoldStatus(): { readonly available: boolean; readonly reason: string } {
  const m = kernelModule();
  return { available: m !== null, reason: m === null ? unavailableReason() : '' };
}

/** The fold a fit runs: `option`, else $PROMPT_EXPERTS_FOLD, else 'wasm' where built ('js' otherwise). */
export function resolveFold(option?: FoldKind): FoldKind {
  const env = process.env[FOLD_ENV];
  if (option === undefined && env !== undefined && env !== '' && env !== 'wasm' && env !== 'js') {
    throw new InputError(FOLD_ENV, "'wasm' or 'js' (or unset)", JSON.stringify(env));
  }
  const want = option ?? (env === 'wasm' || env === 'js' ? env : undefined);
  if (want === 'js') return 'js';
  if (kernelModule() !== null) return 'wasm';
  if (want === 'wasm') {
    throw new InputError(option === undefined ? FOLD_ENV : 'fold', `'js', or build the WebAssembly kernel with \`npm run build\` (${unavailableReason()})`, "'wasm'");
  }
  return 'js';
}

/**
 * The JavaScript fold: A (P x P, row-major, upper triangle) and g accumulate the first m rows of
 * the block JT (stride B) over the dense columns `cols`. Register-blocked 2 x 4 over (a, b), so each
 * pass over the block does eight multiply-adds per six loads.
 */
export function foldGramJs(JT: Float64Array, r: Float64Array, B: number, m: number, cols: Int32Array, P: number, A: Float64Array, g: Float64Array): void {
  const Pd = cols.length;
  for (let a = 0; a < Pd; a++) {
    const ca = cols[a] as number;
    const ao = ca * B;
    let t = 0;
    for (let k = 0; k < m; k++) t += (JT[ao + k] as number) * (r[k] as number);
    g[ca] = (g[ca] as number) + t;
  }
  let a = 0;
  for (; a + 1 < Pd; a += 2) {
    const ca0 = cols[a] as number;
    const ca1 = cols[a + 1] as number;
    const a0 = ca0 * B;
    const a1 = ca1 * B;
    const r0 = ca0 * P;
    const r1 = ca1 * P;
    let b = a;
    for (; b + 3 < Pd; b += 4) {
      const cb0 = cols[b] as number;
      const cb1 = cols[b + 1] as number;
      const cb2 = cols[b + 2] as number;
      const cb3 = cols[b + 3] as number;
      const b0 = cb0 * B;
      const b1 = cb1 * B;
      const b2 = cb2 * B;
      const b3 = cb3 * B;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let k = 0; k < m; k++) {
        const x0 = JT[a0 + k] as number;
        const x1 = JT[a1 + k] as number;
        const y0 = JT[b0 + k] as number;
        const y1 = JT[b1 + k] as number;
        const y2 = JT[b2 + k] as number;
        const y3 = JT[b3 + k] as number;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      A[r0 + cb0] = (A[r0 + cb0] as number) + s00;
      A[r0 + cb1] = (A[r0 + cb1] as number) + s01;
      A[r0 + cb2] = (A[r0 + cb2] as number) + s02;
      A[r0 + cb3] = (A[r0 + cb3] as number) + s03;
      if (b > a) A[r1 + cb0] = (A[r1 + cb0] as number) + s10;
      A[r1 + cb1] = (A[r1 + cb1] as number) + s11;
      A[r1 + cb2] = (A[r1 + cb2] as number) + s12;
      A[r1 + cb3] = (A[r1 + cb3] as number) + s13;
    }
    for (; b + 1 < Pd; b += 2) {
      const cb0 = cols[b] as number;
      const cb1 = cols[b + 1] as number;
      const b0 = cb0 * B;
      const b1 = cb1 * B;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < m; k++) {
        const x0 = JT[a0 + k] as number;
        const x1 = JT[a1 + k] as number;
        const y0 = JT[b0 + k] as number;
        const y1 = JT[b1 + k] as number;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      A[r0 + cb0] = (A[r0 + cb0] as number) + s00;
      A[r0 + cb1] = (A[r0 + cb1] as number) + s01;
      if (b > a) A[r1 + cb0] = (A[r1 + cb0] as number) + s10;
      A[r1 + cb1] = (A[r1 + cb1] as number) + s11;
    }
    if (b < Pd) {
      const cb = cols[b] as number;
      const b0 = cb * B;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < m; k++) {
        const y = JT[b0 + k] as number;
        s0 += (JT[a0 + k] as number) * y;
        s1 += (JT[a1 + k] as number) * y;
      }
      A[r0 + cb] = (A[r0 + cb] as number) + s0;
      A[r1 + cb] = (A[r1 + cb] as number) + s1;
    }
  }
  if (a < Pd) {
    const ca = cols[a] as number;
    const a0 = ca * B;
    let s0 = 0;
    for (let k = 0; k < m; k++) s0 += (JT[a0 + k] as number) * (JT[a0 + k] as number);
    A[ca * P + ca] = (A[ca * P + ca] as number) + s0;
  }
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * The WebAssembly fold for one (P, B, cols): its own memory holds a zero row, JT (P x B), r (B),
 * the kernel's row-address table and the n x n accumulator S; `JT` and `r` are views the caller
 * fills. Memory never grows, so the views stay valid.
 */
export class WasmGramFold {
  /** P x B block (row c at c B), inside the kernel's memory. */
  readonly JT: Float64Array;
  /** B residuals, inside the kernel's memory. */
  readonly r: Float64Array;
  private readonly S: Float64Array;
  private readonly n: number;
  private readonly colsAt: number;
  private readonly sAt: number;
  private readonly kernel: FoldExports;
  private readonly cols: Int32Array;

  constructor(
    readonly P: number,
    readonly B: number,
    cols: Int32Array,
  ) {
    const mod = kernelModule();
    if (mod === null) throw new InputError('fold', `'js' (the WebAssembly kernel is not built: ${unavailableReason()})`, "'wasm'");
    const Pd = cols.length;
    const n = 4 * Math.ceil((Pd + 1) / 4);
    const zeroAt = 0;
    const jtAt = align16(8 * B);
    const rAt = jtAt + align16(8 * P * B);
    const colsAt = rAt + align16(8 * B);
    const sAt = colsAt + align16(4 * n);
    const bytes = sAt + 8 * n * n;
    const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const instance = new wasmApi.Instance(mod, { env: { memory } });
    this.kernel = instance.exports as unknown as FoldExports;
    this.JT = new Float64Array(memory.buffer, jtAt, P * B);
    this.r = new Float64Array(memory.buffer, rAt, B);
    this.S = new Float64Array(memory.buffer, sAt, n * n);
    const table = new Int32Array(memory.buffer, colsAt, n);
    for (let a = 0; a < n; a++) table[a] = a < Pd ? jtAt + 8 * B * (cols[a] as number) : a === Pd ? rAt : zeroAt;
    this.n = n;
    this.colsAt = colsAt;
    this.cols = Int32Array.from(cols);
    this.sAt = sAt;
  }

  /** S += the fold of the first m <= B rows of JT and r. */
  fold(m: number): void {
    this.kernel.fold(this.colsAt, this.n, m, this.sAt);
  }

  /** A[c_a, c_b] = S[a, b] (a <= b) and g[c_a] = S[a, Pd] for the dense columns (set, not added); then S = 0. */
  scatter(A: Float64Array, g: Float64Array): void {
    const { S, n, cols, P } = this;
    const Pd = cols.length;
    for (let a = 0; a < Pd; a++) {
      const ra = (cols[a] as number) * P;
      for (let b = a; b < Pd; b++) A[ra + (cols[b] as number)] = S[a * n + b] as number;
      g[cols[a] as number] = S[a * n + Pd] as number;
    }
    S.fill(0);
  }

  /** Drop what S holds (the start of a pass). */
  reset(): void {
    this.S.fill(0);
  }
}
