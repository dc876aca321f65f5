/**
 * ViT-level prompt configurations: one definition per method, used both by the float64 MoE view
 * (src/attention, src/prompts) and by the tfjs ViT (src/vit), and their parameter counts.
 *
 * Counts, for a ViT with `layers` blocks of width d on an H x W patch grid:
 *   VPT-deep     layers * L * d            (shallow: L * d)
 *   E2VPT        layers * (Lv * d + Lkv * d * (sharedKV ? 1 : 2))
 *   VAPT         official accounting (the official code's trainable tensors):
 *                  [staticFirstLayer] L * d                       (ordinary prompts at layer 0)
 *                  + A * ( [layerNorm] 2d + K^2 + L * H'W' + [projectorBias] L )
 *                  + 2 r d                                        (shared MLP, no biases)
 *                with A = layers - 1 adaptive layers when staticFirstLayer, else layers, and
 *                H' = H + 2 padding - K + 1, W' likewise;
 *                poster accounting (the paper's formula): layers * (K^2 + L * H'W') + 2 r d.
 * ViT-B/16 (12 layers, d = 768, 14x14): VPT-deep 10 -> 92,160; E2VPT 10 + 5 shared -> 138,240;
 * VAPT defaults -> 55,608 (poster 32,616).
 */
import { InputError } from '../util/errors.js';

export interface VitShape {
  readonly layers: number;
  readonly width: number;
  /** Patch grid [H, W] (N = H * W patch tokens). */
  readonly grid: readonly [number, number];
}

export interface VptConfig {
  readonly kind: 'vpt';
  readonly prompts: number;
  readonly mode: 'deep' | 'shallow';
}

export interface E2vptConfig {
  readonly kind: 'e2vpt';
  readonly visualPrompts: number;
  readonly kvPrompts: number;
  /** One tensor serves as both key and value prompts. */
  readonly sharedKV: boolean;
}

export interface VaptConfig {
  readonly kind: 'vapt';
  readonly prompts: number;
  /** Convolution kernel size K (K x K, one kernel shared by all channels). */
  readonly kernel: number;
  readonly padding: number;
  /** Hidden width r of the shared feature MLP W2 relu(W1 u). */
  readonly rank: number;
  readonly residual: boolean;
  /** A LayerNorm (gamma, beta) per adaptive layer before the convolution. */
  readonly layerNorm: boolean;
  /** Ordinary (static) prompts at layer 0, adaptive prompts from layer 1 on (official code). */
  readonly staticFirstLayer: boolean;
  readonly projectorBias: boolean;
}

export type PromptConfig = VptConfig | E2vptConfig | VaptConfig;
export type Accounting = 'official' | 'poster';

export const VIT_B16: VitShape = { layers: 12, width: 768, grid: [14, 14] };

export const DEFAULT_VPT: VptConfig = { kind: 'vpt', prompts: 10, mode: 'deep' };
export const DEFAULT_E2VPT: E2vptConfig = { kind: 'e2vpt', visualPrompts: 10, kvPrompts: 5, sharedKV: true };
export const DEFAULT_VAPT: VaptConfig = {
  kind: 'vapt',
  prompts: 10,
  kernel: 2,
  padding: 0,
  rank: 8,
  residual: true,
  layerNorm: true,
  staticFirstLayer: true,
  projectorBias: true,
};

/** Fill the defaults of a (partial) config of a given kind. */
export function withDefaults(c: Partial<VptConfig> & { kind: 'vpt' }): VptConfig;
export function withDefaults(c: Partial<E2vptConfig> & { kind: 'e2vpt' }): E2vptConfig;
export function withDefaults(c: Partial<VaptConfig> & { kind: 'vapt' }): VaptConfig;
export function withDefaults(c: Partial<PromptConfig> & { kind: PromptConfig['kind'] }): PromptConfig;
export function withDefaults(c: Partial<PromptConfig> & { kind: PromptConfig['kind'] }): PromptConfig {
  switch (c.kind) {
    case 'vpt':
      return { ...DEFAULT_VPT, ...(c as Partial<VptConfig>) };
    case 'e2vpt':
      return { ...DEFAULT_E2VPT, ...(c as Partial<E2vptConfig>) };
    case 'vapt':
      return { ...DEFAULT_VAPT, ...(c as Partial<VaptConfig>) };
  }
}

/** Output grid of the VAPT convolution: H' = H + 2 padding - K + 1 (and W'). Throws if empty. */
export function convGrid(grid: readonly [number, number], kernel: number, padding: number): [number, number] {
  const h = grid[0] + 2 * padding - kernel + 1;
  const w = grid[1] + 2 * padding - kernel + 1;
  if (h < 1 || w < 1) {
    throw new InputError('kernel', `a kernel no larger than the padded grid ${grid[0] + 2 * padding}x${grid[1] + 2 * padding}`, `${kernel}`);
  }
  return [h, w];
}

function checkInt(v: number, field: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new InputError(field, `an integer >= ${min}`, String(v));
}

export function checkVit(vit: VitShape): void {
  checkInt(vit.layers, 'layers', 1);
  checkInt(vit.width, 'width', 1);
  checkInt(vit.grid[0], 'grid[0]', 1);
  checkInt(vit.grid[1], 'grid[1]', 1);
}

/** One row of a parameter table: a component, its count per layer (or once), how many times. */
export interface ParamRow {
  readonly component: string;
  readonly each: number;
  readonly times: number;
  readonly count: number;
}

/** The itemised parameter count of a prompt method on a ViT. */
export function paramTable(vit: VitShape, config: PromptConfig, accounting: Accounting = 'official'): ParamRow[] {
  checkVit(vit);
  const d = vit.width;
  const row = (component: string, each: number, times: number): ParamRow => ({ component, each, times, count: each * times });
  switch (config.kind) {
    case 'vpt': {
      checkInt(config.prompts, 'prompts', 0);
      return [row(`prompts (${config.prompts} x ${d})`, config.prompts * d, config.mode === 'deep' ? vit.layers : 1)];
    }
    case 'e2vpt': {
      checkInt(config.visualPrompts, 'visualPrompts', 0);
      checkInt(config.kvPrompts, 'kvPrompts', 0);
      const kvTensors = config.sharedKV ? 1 : 2;
      return [
        row(`visual prompts (${config.visualPrompts} x ${d})`, config.visualPrompts * d, vit.layers),
        row(`key-value prompts (${kvTensors} x ${config.kvPrompts} x ${d}${config.sharedKV ? ', shared' : ''})`, kvTensors * config.kvPrompts * d, vit.layers),
      ];
    }
    case 'vapt': {
      checkInt(config.prompts, 'prompts', 1);
      checkInt(config.kernel, 'kernel', 1);
      checkInt(config.padding, 'padding', 0);
      checkInt(config.rank, 'rank', 1);
      const [hh, ww] = convGrid(vit.grid, config.kernel, config.padding);
      const L = config.prompts;
      const K2 = config.kernel * config.kernel;
      const mlp = row(`shared feature MLP (W1 ${config.rank}x${d}, W2 ${d}x${config.rank})`, 2 * config.rank * d, 1);
      if (accounting === 'poster') {
        return [
          row(`conv kernel (${config.kernel}x${config.kernel})`, K2, vit.layers),
          row(`token-wise projector (${L} x ${hh * ww})`, L * hh * ww, vit.layers),
          mlp,
        ];
      }
      const adaptive = config.staticFirstLayer ? vit.layers - 1 : vit.layers;
      const rows: ParamRow[] = [];
      if (config.staticFirstLayer) rows.push(row(`static prompts at layer 0 (${L} x ${d})`, L * d, 1));
      if (config.layerNorm) rows.push(row(`LayerNorm (gamma, beta: 2 x ${d})`, 2 * d, adaptive));
      rows.push(row(`conv kernel (${config.kernel}x${config.kernel})`, K2, adaptive));
      rows.push(row(`token-wise projector (${L} x ${hh * ww})`, L * hh * ww, adaptive));
      if (config.projectorBias) rows.push(row(`projector bias (${L})`, L, adaptive));
      rows.push(mlp);
      return rows;
    }
  }
}

/** Total number of tunable prompt parameters of a method on a ViT (see the header for the formulas). */
export function paramCount(vit: VitShape, config: PromptConfig, accounting: Accounting = 'official'): number {
  return paramTable(vit, config, accounting).reduce((s, r) => s + r.count, 0);
}
