/**
 * The WebAssembly kernel of the planted layer's evaluation pass for image-independent prompts
 * (VPT-deep, key-value; planted-pass.wat, assembled by `npm run build` with wabt's wat2wasm).
 * It runs the JavaScript pass's operations in the same order with JavaScript's own Math.exp, so
 * its value, gradient sums and outputs are the JavaScript pass's to the bit; the JavaScript pass
 * stays the reference and the fallback when the .wasm file is missing.
 *
 * One instance and memory per prepared layer, never grown: the prepared arrays (queries Q, token
 * mixtures NU, log-sums M0) live in it, so `plantedLayer` fills them in place; the targets Y are
 * copied in when a pass gets a different array than the last one (so a Y must not be changed in
 * place while an objective made from it is in use).
 */
import { lazyWasmModule, wasmApi } from '../util/wasm.js';

interface Exports {
  pass(rows: number, H: number, dh: number, d: number, L: number, Q: number, NU: number, M0: number, Y: number, KP: number, VP: number, B: number, GK: number, GV: number, GB: number, S: number, OUT: number, mode: number): number;
}

const loadKernel = lazyWasmModule(new URL('./planted-pass.wasm', import.meta.url));

/** Whether the kernel is built and loads here; otherwise why not. */
export function plantedPassStatus(): { readonly available: boolean; readonly reason: string } {
  const k = loadKernel();
  return { available: k.module !== null, reason: k.reason };
}

/** Mode bits of a pass: compare with Y (sum of squares), accumulate the gradient sums, write the outputs. */
export const PASS_Y = 1;
export const PASS_GRAD = 2;
export const PASS_OUT = 4;

export interface PlantedPassKernel {
  /** Prepared arrays, views into the kernel's memory: rows x d, rows x d, rows x H. */
  readonly Q: Float64Array;
  readonly NU: Float64Array;
  readonly M0: Float64Array;
  /** The prompts' keys and values (L x d) and biases (L), written before a pass. */
  readonly KP: Float64Array;
  readonly VP: Float64Array;
  readonly B: Float64Array;
  /** Unscaled gradient sums (L x d, L x d, L), zeroed by a PASS_GRAD pass before it accumulates. */
  readonly GK: Float64Array;
  readonly GV: Float64Array;
  readonly GB: Float64Array;
  /** One pass over every row and head; returns the sum of squared residuals (0 without PASS_Y). */
  run(mode: number, Y: Float64Array | null, out: Float64Array | null): number;
}

/** A kernel for `rows` query rows of width d in H heads and L prompts, or null when the .wasm is unavailable. */
export function plantedPassKernel(rows: number, d: number, H: number, L: number): PlantedPassKernel | null {
  const mod = loadKernel().module;
  if (mod === null) return null;
  const dh = d / H;
  let at = 0;
  const region = (count: number): number => {
    const o = at;
    at += Math.ceil((count * 8) / 16) * 16;
    return o;
  };
  const oQ = region(rows * d);
  const oNU = region(rows * d);
  const oM0 = region(rows * H);
  const oY = region(rows * d);
  const oOUT = region(rows * d);
  const oKP = region(L * d);
  const oVP = region(L * d);
  const oB = region(L);
  const oGK = region(L * d);
  const oGV = region(L * d);
  const oGB = region(L);
  const oS = region(2 * L + 2 * dh);
  const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(at / 65536)) });
  const exports = new wasmApi.Instance(mod, { env: { memory, exp: Math.exp } }).exports as Exports;
  const view = (o: number, count: number): Float64Array => new Float64Array(memory.buffer, o, count);
  const Yv = view(oY, rows * d);
  const OUTv = view(oOUT, rows * d);
  const k = {
    Q: view(oQ, rows * d),
    NU: view(oNU, rows * d),
    M0: view(oM0, rows * H),
    KP: view(oKP, L * d),
    VP: view(oVP, L * d),
    B: view(oB, L),
    GK: view(oGK, L * d),
    GV: view(oGV, L * d),
    GB: view(oGB, L),
  };
  let yOwner: Float64Array | null = null;
  return {
    ...k,
    run(mode, Y, out) {
      if ((mode & PASS_Y) !== 0) {
        if (Y === null) throw new Error('planted pass: PASS_Y without targets');
        if (Y !== yOwner) {
          Yv.set(Y);
          yOwner = Y;
        }
      }
      if ((mode & PASS_GRAD) !== 0) {
        k.GK.fill(0);
        k.GV.fill(0);
        k.GB.fill(0);
      }
      const sse = exports.pass(rows, H, dh, d, L, oQ, oNU, oM0, oY, oKP, oVP, oB, oGK, oGV, oGB, oS, oOUT, mode);
      if ((mode & PASS_OUT) !== 0 && out !== null) out.set(OUTv);
      return sse;
    },
  };
}
