/**
 * Gate heatmap of the attention MoE view: for each prompt method, the gate matrix
 * gate_ij = softmax_j(s_i.(X)) with query rows down and experts across (N token experts, then the
 * L prompt experts). Each expert column is labelled with the kind established numerically for it
 * (constant / linear / nonlinear in X), and prompt experts are set off by a vertical rule.
 */
import type { MoeView, ExpertKind } from '../../attention/types.js';
import type { VlSpec } from '../render.js';
import { SIZES, type ColumnSize } from '../theme.js';
import { base, round } from './common.js';

export interface GatePanel {
  /** Panel title, e.g. `VPT-deep`, `E2VPT (key-value)`, `VAPT`. */
  readonly method: string;
  readonly view: MoeView;
  readonly expertKinds: ReadonlyArray<ExpertKind>;
}

const KIND_ABBR: Record<ExpertKind, string> = { constant: 'const', linear: 'lin', nonlinear: 'nonlin' };

export function gateHeatmapSpec(input: { panels: ReadonlyArray<GatePanel>; title?: string; subtitle?: string; size?: ColumnSize }): VlSpec {
  const size = input.size ?? 'double';
  const rows: Record<string, unknown>[] = [];
  let maxE = 0;
  for (const p of input.panels) {
    const { view } = p;
    const E = view.gates.cols;
    maxE = Math.max(maxE, E);
    for (let i = 0; i < view.gates.rows; i++) {
      for (let j = 0; j < E; j++) {
        const isPrompt = j >= view.tokens;
        const kind = p.expertKinds[j] ?? 'linear';
        const expert = isPrompt ? `p${j - view.tokens + 1} ${KIND_ABBR[kind]}` : `x${j + 1} ${KIND_ABBR[kind]}`;
        rows.push({ method: p.method, query: i < view.tokens ? `x${i + 1}` : `p${i - view.tokens + 1}`, qi: i, expert, ej: j, gate: round(view.gates.data[i * E + j] as number), prompt: isPrompt });
      }
    }
  }
  const panels = input.panels.length;
  const width = Math.max(80, Math.floor((SIZES[size].width - 70 - 14 * (panels - 1)) / panels));
  const cell = Math.min(22, Math.floor(width / Math.max(maxE, 1)));
  const x = { field: 'expert', type: 'ordinal', sort: { field: 'ej' }, title: 'expert (kind in X)', axis: { labelAngle: -60, labelFontSize: 6.5 } };
  const y = { field: 'query', type: 'ordinal', sort: { field: 'qi' }, title: 'query row' };
  const spec = {
    ...base(input.title, input.subtitle ?? 'gate_ij = softmax_j(x_i\u1d40W_Q W_K\u1d40 k_j / \u221ad_k); p: prompt experts, kinds established numerically'),
    data: { values: rows },
    facet: { column: { field: 'method', type: 'nominal', title: null, sort: input.panels.map((p) => p.method) } },
    spec: {
      width: { step: cell },
      height: { step: cell },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 0.4 },
          encoding: { x, y, color: { field: 'gate', type: 'quantitative', scale: { scheme: 'viridis', domain: [0, 1] }, title: 'gate', legend: { orient: 'right', gradientLength: 80 } } },
        },
        {
          transform: [{ filter: 'datum.prompt' }],
          mark: { type: 'rect', fillOpacity: 0, stroke: '#D55E00', strokeWidth: 0.9 },
          encoding: { x, y },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
  return spec;
}
