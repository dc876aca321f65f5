/**
 * The data behind the gate-heatmap figure: a seeded head, tokens and one prompt of each kind
 * (VPT-deep, E2VPT key-value, VAPT), read through the MoE view with the expert kinds established
 * numerically. The config lives in experiments/attention-gates/config.json.
 */
import { z } from 'zod';
import type { Head } from '../attention/types.js';
import type { Mat } from '../linalg/mat.js';
import { promptedKinds, promptedView, type HeadPrompt } from '../prompts/head-prompt.js';
import { makeRng, type Rng } from '../util/rng.js';
import { parseWith } from '../util/schema.js';
import type { GatePanel } from './specs/gate-heatmap.js';

const int = z.number().int().positive();
export const gateFigureConfigSchema = z.object({
  description: z.string().optional(),
  seed: z.number().int().nonnegative(),
  tokens: int,
  grid: z.tuple([int, int]),
  width: int,
  dk: int,
  dv: int,
  prompts: int,
  kernel: int,
  rank: int,
  weightScale: z.number().positive(),
  promptScale: z.number().positive(),
});
export type GateFigureConfig = z.infer<typeof gateFigureConfigSchema>;

function gaussian(rng: Rng, rows: number, cols: number, scale: number): Mat {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.normal();
  return { rows, cols, data };
}

export function gatePanels(json: unknown): GatePanel[] {
  const c = parseWith(gateFigureConfigSchema, json, 'attention-gates config');
  if (c.grid[0] * c.grid[1] !== c.tokens) throw new Error(`attention-gates config: grid ${c.grid.join('x')} must hold the ${c.tokens} tokens`);
  const rng = makeRng(c.seed);
  const head: Head = { WQ: gaussian(rng, c.width, c.dk, c.weightScale), WK: gaussian(rng, c.width, c.dk, c.weightScale), WV: gaussian(rng, c.width, c.dv, c.weightScale) };
  const X = gaussian(rng, c.tokens, c.width, 1);
  const L = c.prompts;
  const Hc = c.grid[0] - c.kernel + 1;
  const Wc = c.grid[1] - c.kernel + 1;
  const methods: Array<[string, HeadPrompt]> = [
    ['VPT-deep', { kind: 'vpt', P: gaussian(rng, L, c.width, c.promptScale), mode: 'deep' }],
    ['E2VPT key-value', { kind: 'e2vpt', keys: gaussian(rng, L, c.dk, c.promptScale), values: gaussian(rng, L, c.dv, c.promptScale) }],
    [
      'VAPT',
      {
        kind: 'vapt',
        grid: c.grid,
        kernel: gaussian(rng, c.kernel, c.kernel, 1 / c.kernel),
        padding: 0,
        alpha: gaussian(rng, L, Hc * Wc, c.promptScale / Math.sqrt(Hc * Wc)),
        bias: gaussian(rng, 1, L, 0.1).data,
        W1: gaussian(rng, c.rank, c.width, 1 / Math.sqrt(c.width)),
        W2: gaussian(rng, c.width, c.rank, 1 / Math.sqrt(c.rank)),
        residual: true,
        layerNorm: null,
      },
    ],
  ];
  return methods.map(([method, prompt]) => ({ method, view: promptedView(head, X, prompt), expertKinds: promptedKinds(head, X, prompt, { seed: c.seed }).expertKinds }));
}
