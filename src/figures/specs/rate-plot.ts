/**
 * Rate plot: log-log loss against n. Per series (a study variant): every replicate as a faint
 * point, the per-n geometric mean (mean of log loss, the quantity the slope is fitted on) as a
 * solid point, the fitted line log loss = a + slope log n with slope and its confidence interval
 * in the legend, and the claimed rate as a thin dashed line of the same colour anchored where the
 * fitted line starts. Optional panels (e.g. softmax against Gaussian gating) side by side.
 */
import { styleSeries, CLAIM_DASH, SIZES, type ColumnSize } from '../theme.js';
import type { VlSpec } from '../render.js';
import { base, compareStrings, decades, fmt, fmtSlope, groupBy, logAxis, mean, panelWidth, round } from './common.js';

export interface RatePoint {
  /** Series (variant) name, e.g. `vapt exact`. */
  readonly series: string;
  readonly n: number;
  readonly loss: number;
}

export interface RateFit {
  readonly series: string;
  /** Fitted slope of log loss on log n. */
  readonly slope: number;
  /** Confidence interval of the slope (e.g. bootstrap 95%). */
  readonly lo?: number;
  readonly hi?: number;
  /**
   * Intercept a of log loss = a + slope log n (natural logs). When absent the line goes through
   * the centroid of the series' (log n, log loss) points, which is where an OLS fit on all
   * replicates passes.
   */
  readonly intercept?: number;
}

export interface RateClaim {
  readonly series: string;
  /** Claimed slope, e.g. -0.5 for n^{-1/2}. */
  readonly slope: number;
  /** Text for the claim, e.g. `n^-1/2 (claimed)`; default: the slope. */
  readonly label?: string;
}

export interface RatePlotInput {
  readonly points: ReadonlyArray<RatePoint>;
  /** One fit per series to draw; series without a fit get points only. */
  readonly fits: ReadonlyArray<RateFit>;
  readonly claims?: ReadonlyArray<RateClaim>;
  readonly title?: string;
  readonly subtitle?: string | string[];
  /** Axis title for the loss (default `loss`). */
  readonly lossTitle?: string;
  readonly size?: ColumnSize;
  /** Panel of each series (side-by-side plots sharing axes); default one panel. */
  readonly panelOf?: (series: string) => string;
  /** Order of series in the legend (default: family order, then name). */
  readonly seriesOrder?: ReadonlyArray<string>;
}

interface Row {
  kind: 'rep' | 'mean' | 'fit' | 'claim';
  series: string;
  key: string;
  panel: string;
  n: number;
  loss: number;
  text?: string;
}

/** Build the vega-lite spec of a rate plot. */
export function ratePlotSpec(input: RatePlotInput): VlSpec {
  const size = input.size ?? 'single';
  const points = input.points.filter((p) => p.n > 0 && p.loss > 0 && Number.isFinite(p.loss));
  if (points.length === 0) throw new Error('rate plot: no positive finite (n, loss) points');
  const bySeries = groupBy(points, (p) => p.series);
  const styles = styleSeries(bySeries.keys());
  if (input.seriesOrder !== undefined) {
    const order = input.seriesOrder;
    styles.sort((a, b) => (order.indexOf(a.name) + 1 || 1e9) - (order.indexOf(b.name) + 1 || 1e9));
  }
  const fitOf = new Map(input.fits.map((f) => [f.series, f]));
  const keyOf = new Map<string, string>();
  for (const s of styles) {
    const f = fitOf.get(s.name);
    keyOf.set(s.name, f === undefined ? s.name : `${s.name}: ${fmtSlope(f.slope, f.lo, f.hi)}`);
  }
  const panelOf = input.panelOf ?? (() => '');
  const rows: Row[] = [];
  const claimsBySeries = groupBy(input.claims ?? [], (c) => c.series);
  for (const s of styles) {
    const pts = bySeries.get(s.name) as RatePoint[];
    const key = keyOf.get(s.name) as string;
    const panel = panelOf(s.name);
    const sorted = [...pts].sort((a, b) => a.n - b.n || a.loss - b.loss);
    for (const p of sorted) rows.push({ kind: 'rep', series: s.name, key, panel, n: p.n, loss: round(p.loss) });
    const byN = groupBy(sorted, (p) => String(p.n));
    for (const g of byN.values()) {
      rows.push({ kind: 'mean', series: s.name, key, panel, n: (g[0] as RatePoint).n, loss: round(Math.exp(mean(g.map((p) => Math.log(p.loss))))) });
    }
    const nMin = (sorted[0] as RatePoint).n;
    const nMax = (sorted[sorted.length - 1] as RatePoint).n;
    const fit = fitOf.get(s.name);
    if (fit !== undefined && nMax > nMin) {
      const a = fit.intercept ?? mean(sorted.map((p) => Math.log(p.loss))) - fit.slope * mean(sorted.map((p) => Math.log(p.n)));
      const at = (n: number): number => round(Math.exp(a + fit.slope * Math.log(n)));
      rows.push({ kind: 'fit', series: s.name, key, panel, n: nMin, loss: at(nMin) }, { kind: 'fit', series: s.name, key, panel, n: nMax, loss: at(nMax) });
      for (const c of claimsBySeries.get(s.name) ?? []) {
        const y0 = at(nMin);
        const text = c.label ?? `claim ${fmt(c.slope)}`;
        rows.push(
          { kind: 'claim', series: `${s.name}|${text}`, key, panel, n: nMin, loss: y0 },
          { kind: 'claim', series: `${s.name}|${text}`, key, panel, n: nMax, loss: round(y0 * Math.exp(c.slope * Math.log(nMax / nMin))) },
        );
      }
    }
  }
  const panels = [...new Set(rows.map((r) => r.panel))].sort(compareStrings);
  const nTicks = decades(Math.min(...points.map((p) => p.n)), Math.max(...points.map((p) => p.n)));
  const losses = rows.map((r) => r.loss);
  const lTicks = decades(Math.min(...losses), Math.max(...losses));
  const keys = styles.map((s) => keyOf.get(s.name) as string);
  const color = { field: 'key', type: 'nominal', title: null, scale: { domain: keys, range: styles.map((s) => s.color) }, legend: { orient: 'bottom', direction: 'vertical', columns: size === 'double' && keys.length > 3 ? 2 : 1, symbolOpacity: 1, symbolFillColor: null } };
  const shape = { field: 'key', type: 'nominal', title: null, scale: { domain: keys, range: styles.map((s) => s.shape) } };
  const x = { field: 'n', type: 'quantitative', scale: { type: 'log', nice: false, padding: 6 }, axis: logAxis('sample size n', nTicks) };
  const lossTitle = input.lossTitle ?? 'loss';
  const y = { field: 'loss', type: 'quantitative', scale: { type: 'log', nice: false, padding: 6 }, axis: lTicks.length >= 2 ? logAxis(lossTitle, lTicks) : { title: lossTitle, format: '~g', tickCount: 4 } };
  const layer = [
    { transform: [{ filter: "datum.kind === 'rep'" }], mark: { type: 'point', filled: true, opacity: 0.25, size: 9 }, encoding: { x, y, color, shape } },
    { transform: [{ filter: "datum.kind === 'mean'" }], mark: { type: 'point', filled: true, opacity: 1, size: 26, stroke: 'white', strokeWidth: 0.5 }, encoding: { x, y, color, shape } },
    { transform: [{ filter: "datum.kind === 'fit'" }], mark: { type: 'line', strokeWidth: 1.4 }, encoding: { x, y, color, detail: { field: 'series' }, strokeDash: { field: 'key', type: 'nominal', scale: { domain: keys, range: styles.map((s) => [...s.dash]) }, legend: null } } },
    { transform: [{ filter: "datum.kind === 'claim'" }], mark: { type: 'line', strokeWidth: 0.9, strokeDash: [...CLAIM_DASH], opacity: 0.85 }, encoding: { x, y, color, detail: { field: 'series' } } },
  ];
  const width = panelWidth(size, panels.length, 52);
  const height = SIZES[size].height - (size === 'single' ? 40 : 60);
  const hasClaims = rows.some((r) => r.kind === 'claim');
  const defaultSubtitle = ['faint: replicates; solid: geometric mean per n', `line: fit, slope [95% CI]${hasClaims ? '; dashed: claimed rate' : ''}`];
  const spec: Record<string, unknown> = { ...base(input.title, input.subtitle ?? defaultSubtitle), data: { values: rows } };
  if (panels.length === 1) {
    return { ...spec, width, height, layer };
  }
  return {
    ...spec,
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels } },
    spec: { width, height, layer },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  };
}
