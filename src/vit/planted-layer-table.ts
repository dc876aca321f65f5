/**
 * The planted-layer ViT study per n, as the simulation's `rates --per-n` shows it: for each
 * (form, regime, n), how many fits, the median [IQR] of the per-atom losses, the shares with an
 * escaped, switched-off (by its weight) or muted (by its key; '-' where no line recorded gate shares) atom, how the fits stopped, and the worst training objective against
 * the noise variance (a fit that reached the estimator ends near 1). experiments/README.md
 * carries it between <!-- table:vit-planted-layer-per-n --> markers
 * (experiments/update-readme.mjs), so the prose about the ViT fits quotes generated numbers.
 */
import { quantileSorted, quartiles } from '../rates/quantile.js';
import type { LayerFitLine } from './planted-layer-study.js';
import { PLANTED_REGIMES } from './study.js';

export interface LossSummary {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
}

export interface LayerPerNRow {
  readonly form: string;
  readonly regime: string;
  readonly n: number;
  readonly fits: number;
  readonly atomsSingle: LossSummary | null;
  /** Over-specified students only (an exact student has no multi-atom cell). */
  readonly atomsMulti: LossSummary | null;
  readonly escaped: number;
  readonly switchedOff: number;
  /** Share of the fits that recorded gate shares with a prompt muted by its key (null: none recorded them). */
  readonly muted: number | null;
  /** Count per stop reason (tolerance, stalled, cap, non-finite). */
  readonly stops: Readonly<Record<string, number>>;
  /** max over the fits of trainObjective / noiseVar. */
  readonly worstObjectiveRatio: number;
  readonly medianSeconds: number;
}

function summary(values: ReadonlyArray<number | undefined>): LossSummary | null {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return quartiles(xs);
}

/** Rows ordered by regime (exact first), form (as first met in the file), then n. */
export function layerPerN(fits: ReadonlyArray<LayerFitLine>): LayerPerNRow[] {
  const groups = new Map<string, LayerFitLine[]>();
  for (const f of fits) {
    const key = `${f.regime}\u0000${f.form}\u0000${f.n}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [f]);
    else g.push(f);
  }
  const forms = [...new Set(fits.map((f) => f.form))];
  const regimeRank = (r: string): number => (PLANTED_REGIMES as ReadonlyArray<string>).indexOf(r);
  const rows: LayerPerNRow[] = [];
  for (const g of groups.values()) {
    const first = g[0] as LayerFitLine;
    const stops: Record<string, number> = {};
    for (const f of g) stops[f.stopReason] = (stops[f.stopReason] ?? 0) + 1;
    const seconds = g.map((f) => f.seconds).sort((a, b) => a - b);
    const recorded = g.filter((f) => f.muted !== undefined);
    rows.push({
      form: first.form,
      regime: first.regime,
      n: first.n,
      fits: g.length,
      atomsSingle: summary(g.map((f) => f['atoms-single'])),
      atomsMulti: first.regime === 'exact' ? null : summary(g.map((f) => f['atoms-multi'])),
      escaped: g.filter((f) => f.escaped).length / g.length,
      switchedOff: g.filter((f) => f.switchedOff).length / g.length,
      muted: recorded.length === 0 ? null : recorded.filter((f) => f.muted === true).length / recorded.length,
      stops,
      worstObjectiveRatio: Math.max(...g.map((f) => f.trainObjective / f.noiseVar)),
      medianSeconds: quantileSorted(seconds, 0.5),
    });
  }
  return rows.sort((a, b) => regimeRank(a.regime) - regimeRank(b.regime) || forms.indexOf(a.form) - forms.indexOf(b.form) || a.n - b.n);
}

const p3 = (x: number): string => x.toPrecision(3);
const cell = (s: LossSummary | null): string => (s === null ? '-' : `${p3(s.median)} [${p3(s.q1)}, ${p3(s.q3)}]`);
const pct = (x: number): string => `${Math.round(100 * x)}%`;

/** The rows as a markdown table. */
export function layerPerNMarkdown(rows: ReadonlyArray<LayerPerNRow>): string {
  const out = [
    '| form | regime | n | fits | atoms-single median [IQR] | atoms-multi median [IQR] | escaped | switched off | muted | stops | worst objective / noise variance | median seconds |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const stops = Object.entries(r.stops)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push(`| ${r.form} | ${r.regime} | ${r.n} | ${r.fits} | ${cell(r.atomsSingle)} | ${cell(r.atomsMulti)} | ${pct(r.escaped)} | ${pct(r.switchedOff)} | ${r.muted === null ? '-' : pct(r.muted)} | ${stops} | ${r.worstObjectiveRatio.toFixed(4)} | ${r.medianSeconds.toFixed(1)} |`);
  }
  return out.join('\n');
}
