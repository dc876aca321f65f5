/**
 * The one publication theme every figure uses: column sizes in points (1 px = 1 pt, so a
 * single-column figure is 3.4 in = 245 pt wide on paper), DejaVu Sans at sizes readable in print,
 * the Okabe-Ito colour-blind-safe palette, and a FIXED colour per method family, so VPT is the
 * same blue in a rate plot, a sample-efficiency curve and the simulation-against-ViT comparison.
 */

/** Page widths in pt (= vega px): single column 3.4 in, double column 7.0 in. */
export const SIZES = {
  single: { width: 245, height: 180 },
  double: { width: 505, height: 260 },
} as const;
export type ColumnSize = keyof typeof SIZES;

/** The font every figure is set in; render.ts loads exactly this file for PNG output. */
export const FONT_FAMILY = 'DejaVu Sans';
export const FONT_DIR = '/usr/share/fonts/truetype/dejavu';
export const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'] as const;

export const FONT_SIZES = { title: 10, label: 8, axisTitle: 8.5, legend: 7.5, note: 7 } as const;

/** Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies. */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
  grey: '#999999',
} as const;

/**
 * Method / variant families. Every result row (a study variant such as `vapt exact`, a ViT
 * method such as `vpt-deep`, a Gaussian-gated protocol such as `k=4 as-published`) maps to one.
 */
export type Family = 'vpt' | 'kv' | 'vapt' | 'linear' | 'full' | 'gg-published' | 'gg-converged' | 'other';

export interface FamilyStyle {
  readonly label: string;
  readonly color: string;
  /** Order in legends (smaller first). */
  readonly order: number;
}

export const FAMILIES: Readonly<Record<Family, FamilyStyle>> = {
  vpt: { label: 'VPT', color: OKABE_ITO.blue, order: 0 },
  kv: { label: 'E2VPT / key-value', color: OKABE_ITO.bluishGreen, order: 1 },
  vapt: { label: 'VAPT', color: OKABE_ITO.vermillion, order: 2 },
  linear: { label: 'linear probe', color: OKABE_ITO.reddishPurple, order: 3 },
  full: { label: 'full fine-tuning', color: OKABE_ITO.black, order: 4 },
  'gg-published': { label: 'Gaussian-gated, as published (1 EM step)', color: OKABE_ITO.orange, order: 5 },
  'gg-converged': { label: 'Gaussian-gated, EM converged', color: OKABE_ITO.skyBlue, order: 6 },
  other: { label: 'other', color: OKABE_ITO.grey, order: 7 },
};

/**
 * The family of a method or variant name, by its words (case-insensitive). The order of the
 * tests matters: `e2vpt` and `vapt` contain `vpt`, so they are tested first.
 */
export function familyOf(name: string): Family {
  const s = name.toLowerCase();
  if (/as[-_ ]?published|one[-_ ]em|1[-_ ]?em/.test(s)) return 'gg-published';
  if (/converged/.test(s)) return 'gg-converged';
  if (/vapt/.test(s)) return 'vapt';
  if (/e2vpt|\bkv\b|key[-_ ]?value|prefix|(^|[^a-z])kv([^a-z]|$)/.test(s)) return 'kv';
  if (/vpt/.test(s)) return 'vpt';
  if (/linear|probe/.test(s)) return 'linear';
  if (/full|finetun|fine[-_ ]tun/.test(s)) return 'full';
  return 'other';
}

export function colorOf(name: string): string {
  return FAMILIES[familyOf(name)].color;
}

/** Point shapes for variants within a family (exact / over-specified / Gaussian-gated, ...), in order. */
export const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down'] as const;
/** Line dashes matching SHAPES (the first variant of a family is solid). */
export const DASHES: ReadonlyArray<ReadonlyArray<number>> = [[1, 0], [5, 2], [2, 2], [6, 2, 1, 2], [1, 3], [8, 3]];

/** Dash of claimed-rate reference lines: thin and clearly dashed. */
export const CLAIM_DASH = [3, 3] as const;

export interface StyledSeries {
  readonly name: string;
  readonly family: Family;
  readonly color: string;
  readonly shape: string;
  readonly dash: ReadonlyArray<number>;
}

/**
 * Styles for a set of series names: colour from the family, shape and dash from the series' rank
 * within its family (names sorted by family order, then alphabetically, so the assignment does
 * not depend on the order rows arrived in).
 */
export function styleSeries(names: Iterable<string>): StyledSeries[] {
  const unique = [...new Set(names)];
  unique.sort((a, b) => FAMILIES[familyOf(a)].order - FAMILIES[familyOf(b)].order || (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map<Family, number>();
  return unique.map((name) => {
    const family = familyOf(name);
    const r = rank.get(family) ?? 0;
    rank.set(family, r + 1);
    return {
      name,
      family,
      color: FAMILIES[family].color,
      shape: SHAPES[r % SHAPES.length] as string,
      dash: DASHES[r % DASHES.length] as ReadonlyArray<number>,
    };
  });
}

/** Vega-lite `config` block of the theme: fonts, sizes, axes, legends, no view border. */
export function themeConfig(): Record<string, unknown> {
  return {
    font: FONT_FAMILY,
    background: 'white',
    padding: 4,
    view: { stroke: null },
    title: { font: FONT_FAMILY, fontSize: FONT_SIZES.title, fontWeight: 'bold', anchor: 'start', offset: 6, subtitleFontSize: FONT_SIZES.note, subtitleColor: '#444444' },
    axis: {
      labelFont: FONT_FAMILY,
      titleFont: FONT_FAMILY,
      labelFontSize: FONT_SIZES.label,
      titleFontSize: FONT_SIZES.axisTitle,
      titleFontWeight: 'normal',
      domainColor: '#333333',
      tickColor: '#333333',
      labelColor: '#222222',
      titleColor: '#000000',
      gridColor: '#e6e6e6',
      gridWidth: 0.6,
      tickSize: 3,
      labelPadding: 2,
      titlePadding: 4,
    },
    legend: {
      labelFont: FONT_FAMILY,
      titleFont: FONT_FAMILY,
      labelFontSize: FONT_SIZES.legend,
      titleFontSize: FONT_SIZES.legend,
      titleFontWeight: 'bold',
      symbolSize: 36,
      rowPadding: 2,
      padding: 2,
      labelLimit: 260,
      symbolStrokeWidth: 1.5,
    },
    header: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: FONT_SIZES.axisTitle, titleFontSize: FONT_SIZES.axisTitle },
    text: { font: FONT_FAMILY, fontSize: FONT_SIZES.note },
    point: { size: 14, strokeWidth: 1 },
    line: { strokeWidth: 1.4 },
    concat: { spacing: 14 },
    facet: { spacing: 10 },
  };
}
