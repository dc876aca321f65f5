/**
 * Simulation against ViT: the slope of log(loss) on log(n), with its confidence interval, for each
 * prompt method as measured in the simulated prompt mixtures and in the planted-prompt ViT
 * experiment, side by side, with the claimed rates as vertical reference lines.
 */
import type { VlSpec } from '../render.js';
import { SIZES, styleSeries, CLAIM_DASH, type ColumnSize } from '../theme.js';
import { base, fmt, round } from './common.js';

export interface SlopeEntry {
  /** e.g. `simulation (softmax, exact)` or `ViT planted (tiny, wasm)`. */
  readonly source: string;
  /** Method or variant, e.g. `vapt exact`, `vpt-deep`. */
  readonly method: string;
  readonly slope: number;
  readonly lo: number;
  readonly hi: number;
}

export function simVsVitSpec(input: { entries: ReadonlyArray<SlopeEntry>; claims?: ReadonlyArray<{ label: string; slope: number }>; title?: string; subtitle?: string; size?: ColumnSize }): VlSpec {
  const size = input.size ?? 'single';
  const styles = styleSeries(input.entries.map((e) => e.method));
  const rows = input.entries.map((e) => ({ label: `${e.method} \u2014 ${e.source}`, method: e.method, source: e.source, slope: round(e.slope), lo: round(e.lo), hi: round(e.hi), text: `${fmt(e.slope)} [${fmt(e.lo)}, ${fmt(e.hi)}]` }));
  const order = rows.map((r) => r.label);
  const y = { field: 'label', type: 'nominal', sort: order, title: null };
  const color = { field: 'method', type: 'nominal', title: null, scale: { domain: styles.map((s) => s.name), range: styles.map((s) => s.color) }, legend: null };
  const claims = (input.claims ?? []).map((c) => ({ label: c.label, slope: c.slope }));
  return {
    ...base(input.title, input.subtitle ?? 'slope of log(loss) on log(n) with 95% CI; dashed: claimed rate'),
    width: SIZES[size].width - 150,
    height: { step: 14 },
    layer: [
      { data: { values: claims }, mark: { type: 'rule', strokeDash: [...CLAIM_DASH], color: '#555555', strokeWidth: 0.8 }, encoding: { x: { field: 'slope', type: 'quantitative' } } },
      // One label per claim, each a line higher than the last: claimed slopes lie close together
      // (-0.5, -0.25, 0) and their labels would overprint on a wide axis.
      ...claims.map((c, k) => ({ data: { values: [c] }, mark: { type: 'text', angle: 0, dy: -4 - 8 * k, dx: 2, align: 'left', baseline: 'bottom', fontSize: 6.5, color: '#555555' }, encoding: { x: { field: 'slope', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } })),
      { data: { values: rows }, mark: { type: 'rule', strokeWidth: 1.4 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: 'slope of log loss on log n' }, x2: { field: 'hi' }, color } },
      { data: { values: rows }, mark: { type: 'point', filled: true, size: 22 }, encoding: { y, x: { field: 'slope', type: 'quantitative' }, color } },
    ],
  };
}
