/** Small helpers shared by the spec builders. */
import { SIZES, themeConfig, type ColumnSize } from '../theme.js';

/** Fixed-decimal number with a typographic minus (U+2212), as printed in figures. */
export function fmt(x: number, digits = 2): string {
  const s = x.toFixed(digits);
  return s.startsWith('-') ? `\u2212${s.slice(1)}` : s;
}

/** `slope [lo, hi]` as shown in legends. */
export function fmtSlope(slope: number, lo?: number, hi?: number): string {
  return lo === undefined || hi === undefined ? fmt(slope) : `${fmt(slope)} [${fmt(lo)}, ${fmt(hi)}]`;
}

export function mean(xs: ReadonlyArray<number>): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Group rows by a key, keeping first-seen order of keys. */
export function groupBy<T>(rows: Iterable<T>, key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const g = out.get(k);
    if (g === undefined) out.set(k, [r]);
    else g.push(r);
  }
  return out;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Round to 12 significant digits so tiny float noise never changes the spec's bytes. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(12)) : x;
}

/** The common top of every spec: schema, theme, background. */
export function base(title: string | undefined, subtitle: string | string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', config: themeConfig() };
  if (title !== undefined) out.title = subtitle === undefined ? { text: title } : { text: title, subtitle };
  return out;
}

/** Width of each of `panels` side-by-side plots so the whole figure fits its column. */
export function panelWidth(size: ColumnSize, panels: number, reserved = 48, spacing = 12): number {
  return Math.max(60, Math.floor((SIZES[size].width - reserved - spacing * (panels - 1)) / panels));
}

/** Powers of ten between lo and hi (inclusive), for log-axis ticks. */
export function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const v = 10 ** e;
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(round(v));
  }
  return out;
}

const SUP: Record<string, string> = { '-': '\u207b', '0': '\u2070', '1': '\u00b9', '2': '\u00b2', '3': '\u00b3', '4': '\u2074', '5': '\u2075', '6': '\u2076', '7': '\u2077', '8': '\u2078', '9': '\u2079' };

/** `10^k` with superscript digits; plain numbers for 1..1000. */
export function pow10Label(v: number): string {
  if (v >= 1 && v <= 1000) return String(v);
  const e = Math.round(Math.log10(v));
  return `10${[...String(e)].map((c) => SUP[c] ?? c).join('')}`;
}

/** Axis properties for a log axis with ticks at the given powers of ten, labelled 10^k. */
export function logAxis(title: string, ticks: ReadonlyArray<number>): Record<string, unknown> {
  const cases = ticks.map((v) => `datum.value == ${v} ? '${pow10Label(v)}' : `).join('');
  return { title, values: [...ticks], labelExpr: `${cases}''`, grid: true };
}
