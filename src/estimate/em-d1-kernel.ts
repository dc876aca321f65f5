/**
 * The WebAssembly SIMD kernel of the d = 1 Gaussian-gated EM pass (em-d1.wat, assembled by
 * `npm run build` with wabt's wat2wasm; compiled synchronously once per thread). Same contract as
 * `emPassD1` in em-gaussian-gated.ts, which stays the reference and the fallback; the kernel's
 * sums are lane-pair sums, so it agrees with the JS pass to rounding, not bit for bit.
 * `EmD1Kernel` copies X and Y into the kernel's memory once (per fit) and then runs passes at
 * parameters written into its component records; `wasmExp` exposes the kernel's exp for tests.
 * The instance and its memory are kept per thread and reused (see `slotFor`).
 */
import { lazyWasmModule, wasmApi, type WasmModule } from '../util/wasm.js';

interface KernelExports {
  pass(P: number, S: number, W: number, k: number, x: number, y: number, n: number, stats: number, O: number): void;
  exp(at: number, sh: number, m: number): void;
}

const loadKernel = lazyWasmModule(new URL('./em-d1.wasm', import.meta.url));

/** The compiled kernel, or null (the reason in `unavailableReason()`) when the .wasm file is missing or invalid. */
function kernelModule(): WasmModule | null {
  return loadKernel().module;
}
function unavailableReason(): string {
  return loadKernel().reason;
}

/** Whether the WebAssembly EM kernel is built and loads here; otherwise why not. */
export function wasmEmStatus(): { readonly available: boolean; readonly reason: string } {
  const m = kernelModule();
  return { available: m !== null, reason: m === null ? unavailableReason() : '' };
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Bytes at the start of the kernel's memory that hold its constant table (written by its start function). */
const CONSTANTS = 384;

interface Slot {
  readonly kernel: KernelExports;
  readonly buffer: ArrayBuffer;
  /** The kernel whose data the memory holds now. */
  owner: object | null;
}

function instantiate(bytes: number): Slot {
  const mod = kernelModule();
  if (mod === null) throw new Error(`the WebAssembly EM kernel is not built (${unavailableReason()})`);
  const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const instance = new wasmApi.Instance(mod, { env: { memory } });
  return { kernel: instance.exports as unknown as KernelExports, buffer: memory.buffer, owner: null };
}

/**
 * One instance per thread, reused by successive kernels while it is large enough: copying the data
 * into pages already touched costs a fraction of first-touching fresh ones (about 0.6 ms for
 * n = 1e5). A kernel whose memory another kernel has since taken copies its data back before a pass.
 */
let shared: Slot | null = null;

function slotFor(bytes: number): Slot {
  if (shared === null || shared.buffer.byteLength < bytes) shared = instantiate(bytes);
  return shared;
}

/** The moments one pass accumulates (length k each), as in em-gaussian-gated.ts's `Work`. */
export interface EmD1Sums {
  readonly S0: Float64Array; readonly Sx: Float64Array; readonly Sy: Float64Array;
  readonly Sxx: Float64Array; readonly Sxy: Float64Array; readonly Syy: Float64Array;
}

/**
 * The kernel over one data set (d = 1, n samples) and k components. Memory: component records
 * (6 f64 each), lane-pair sums (6 f64x2 each), block scratch ((k + 2) x 32 f64x2), the 3 f64x2 of the
 * log-likelihood parts, then X and Y padded with zeros to an even length. It never grows.
 */
export class EmD1Kernel {
  private readonly slot: Slot;
  private readonly kernel: KernelExports;
  private readonly X: Float64Array;
  private readonly Y: Float64Array;
  private readonly rec: Float64Array;
  private readonly sums: Float64Array;
  private readonly out: Float64Array;
  private readonly outExp: BigInt64Array;
  private readonly at: { P: number; S: number; W: number; O: number; x: number; y: number };

  constructor(
    X: Float64Array,
    Y: Float64Array,
    readonly n: number,
    readonly k: number,
  ) {
    const even = n + (n & 1);
    const P = CONSTANTS;
    const S = align16(P + 48 * k);
    const W = S + 96 * k;
    // k rows of lw_j / w_j, then m, then 1 / tot: 32 pairs each (the kernel's block)
    const O = W + 512 * (k + 2);
    const x = O + 48;
    const y = x + 8 * even;
    this.slot = slotFor(y + 8 * even);
    const { kernel, buffer } = this.slot;
    this.kernel = kernel;
    this.at = { P, S, W, O, x, y };
    this.X = X;
    this.Y = Y;
    this.rec = new Float64Array(buffer, P, 6 * k);
    this.sums = new Float64Array(buffer, S, 12 * k);
    this.out = new Float64Array(buffer, O, 4);
    this.outExp = new BigInt64Array(buffer, O + 32, 2);
    this.own();
  }

  /** Copy X and Y (and a zero pad) into the memory and mark it as this kernel's. */
  private own(): void {
    const { buffer } = this.slot;
    const { n } = this;
    const even = n + (n & 1);
    const xs = new Float64Array(buffer, this.at.x, even);
    const ys = new Float64Array(buffer, this.at.y, even);
    xs.set(this.X.subarray(0, n));
    ys.set(this.Y.subarray(0, n));
    if (even > n) {
      xs[n] = 0;
      ys[n] = 0;
    }
    this.slot.owner = this;
  }

  /** Write the component records [c, shiftY, A, Linv, logConst, invNu] (length-k arrays). */
  setComponents(c: Float64Array, shiftY: Float64Array, A: Float64Array, Linv: Float64Array, logConst: Float64Array, invNu: Float64Array): void {
    if (this.slot.owner !== this) this.own();
    const r = this.rec;
    for (let j = 0; j < this.k; j++) {
      r[6 * j] = c[j] as number;
      r[6 * j + 1] = shiftY[j] as number;
      r[6 * j + 2] = A[j] as number;
      r[6 * j + 3] = Linv[j] as number;
      r[6 * j + 4] = logConst[j] as number;
      r[6 * j + 5] = invNu[j] as number;
    }
  }

  /**
   * One pass: the mean joint log-likelihood at the written components, and (when `into` is given)
   * the moments, lane 0 + lane 1 of each sum.
   */
  pass(into: EmD1Sums | null): number {
    if (this.slot.owner !== this) throw new Error('EmD1Kernel.pass: setComponents first (another kernel has used the memory since)');
    const { P, S, W, O, x, y } = this.at;
    this.kernel.pass(P, S, W, this.k, x, y, this.n, into === null ? 0 : 1, O);
    const o = this.out;
    const pairs = (this.n + 1) >> 1;
    // per lane: sum m + log(mantissa product) + (biased exponent sum - 1023 pairs) ln 2
    let ll = 0;
    for (let l = 0; l < 2; l++) ll += (o[l] as number) + Math.log(o[2 + l] as number) + (Number(this.outExp[l] as bigint) - 1023 * pairs) * Math.LN2;
    if (into !== null) {
      const s = this.sums;
      const keys = ['S0', 'Sx', 'Sy', 'Sxx', 'Sxy', 'Syy'] as const;
      for (let j = 0; j < this.k; j++) {
        for (let q = 0; q < 6; q++) into[keys[q] as (typeof keys)[number]][j] = (s[12 * j + 2 * q] as number) + (s[12 * j + 2 * q + 1] as number);
      }
    }
    return ll / this.n;
  }
}

/** The kernel's exp of each value (for tests; its domain is t <= 0). */
export function wasmExp(values: Float64Array): Float64Array {
  const m = values.length + (values.length & 1);
  const slot = slotFor(CONSTANTS + 16 * m);
  slot.owner = null;
  const { kernel, buffer } = slot;
  const v = new Float64Array(buffer, CONSTANTS, m);
  v.set(values);
  new Float64Array(buffer, CONSTANTS + 8 * m, m).fill(0);
  kernel.exp(CONSTANTS, CONSTANTS + 8 * m, m);
  return Float64Array.from(v.subarray(0, values.length));
}
