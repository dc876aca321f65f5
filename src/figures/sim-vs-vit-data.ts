/**
 * The simulation-against-ViT comparison as data: for each prompt method, regime and loss, the
 * slope of log(loss) on log(n) in the simulated prompt mixtures (experiments/vpt-vs-vapt, the
 * `fixed` start protocol, which is the planted ViT study's) beside the planted-layer ViT study's
 * slope lines (experiments/vit-planted-layer/results.jsonl), over its fits stopped by tolerance
 * and over all its fits. The figure `sim-vs-vit` and the table in experiments/README.md
 * (experiments/update-readme.mjs, marker <!-- table:sim-vs-vit -->) are both drawn from it, so
 * no slope is typed by hand.
 *
 * The simulation's n grid (100..10^6) is wider than the ViT's, and a rate that changes regime
 * with n (an atom switched off at small n, merged at large n) gives different slopes over
 * different ranges; so each row also carries the simulation's lower-half slope (n up to the grid's
 * middle value, 10^4), the range the ViT covers.
 *
 * Agreement: judged on the ViT slope over all fits (every fit, tolerance-stopped or not, ends at
 * the noise level; selecting the tolerance-stopped ones would select on the optimiser): 'overlap'
 * when its interval and the simulation's (full range or lower half) intersect, else 'ViT steeper'
 * / 'ViT flatter' against both.
 *
 * Escaped fits: an over-specified ViT fit whose surplus atom escaped (drifted away from every
 * planted atom while the fit stayed at the noise level) puts that atom in a multi-atom cell, so its
 * atoms-multi is the distance the atom travelled, not an estimation error. When at least half of
 * a row's ViT fits escaped, an atoms-multi row's agreement is 'no rate (escaped)' and its claims
 * are not judged; the row still shows the slope and the escaped count.
 *
 * Claims: each row also judges the ViT's all-fits interval against every claim the simulation
 * study declares for the same variant and loss, at the slope the claim implies over the ViT's own
 * n grid (src/rates/claim.ts). Over a short grid two claims can imply nearly the same slope, and
 * the row then says the ViT could not tell them apart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileRate, impliedSlope } from '../rates/claim.js';
import { judgeSlope, type Verdict } from '../rates/verdict.js';
import { studyRateTable } from '../study/rates-table.js';
import { loadStudy } from '../study/runner.js';
import { readJsonl } from '../vit/results.js';
import type { PLANTED_REGIMES } from '../vit/study.js';

export type VitForm = 'vpt-deep' | 'kv' | 'vapt';
/** The planted-layer study's regimes (exact, over, over-floor). */
export type Regime = (typeof PLANTED_REGIMES)[number];

export interface SlopeCi {
  readonly slope: number;
  readonly ci: readonly [number, number];
}

export interface VitSlope extends SlopeCi {
  readonly points: number;
  readonly ns: ReadonlyArray<number>;
  /** Per n: share stopped by the step cap / by anything but the tolerance (absent in old lines). */
  readonly capShare: Readonly<Record<string, number>>;
  readonly unconvergedShare?: Readonly<Record<string, number>>;
}

export interface SimVsVitRow {
  readonly form: VitForm;
  readonly regime: Regime;
  readonly loss: string;
  /** The simulation variant, e.g. "vpt over [fixed]". */
  readonly variant: string;
  readonly sim: (SlopeCi & { readonly nMin: number; readonly nMax: number; readonly fits: number }) | null;
  readonly simLow: (SlopeCi & { readonly nMax: number }) | null;
  readonly vitConverged: VitSlope | null;
  readonly vitAll: VitSlope | null;
  /**
   * The study's claims about this loss, judged on the ViT all-fits interval over the ViT's n grid:
   * the variant's own claim first (own), then the other claims about the same loss in the same
   * regime (another method's), so a reader sees whether the ViT could tell them apart.
   */
  readonly claims: ReadonlyArray<{ readonly rate: string; readonly own: boolean; readonly implied: number; readonly verdict: Verdict }>;
  /** ViT fits of this form and regime with an escaped atom, of all of them (null: none run). */
  readonly vitEscaped: { readonly escaped: number; readonly fits: number } | null;
  /** 'between': steeper than one simulation interval and flatter than the other; 'no rate (escaped)': see the file comment. */
  readonly agreement: 'overlap' | 'ViT steeper' | 'ViT flatter' | 'between' | 'no rate (escaped)' | null;
}

/** Whether a row's ViT slope measures escaped atoms rather than an estimation error (file comment). */
export function escapedRow(loss: string, e: SimVsVitRow['vitEscaped']): boolean {
  return loss === 'atoms-multi' && e !== null && e.fits > 0 && 2 * e.escaped >= e.fits;
}

/** Which (regime, loss) pairs are compared: exact students' singleton cells; over-specified students' multi-atom cells (the slow-rate claims' quantity) and singleton cells. */
export const COMPARED: ReadonlyArray<{ readonly regime: Regime; readonly loss: string }> = [
  { regime: 'exact', loss: 'atoms-single' },
  { regime: 'over', loss: 'atoms-multi' },
  { regime: 'over', loss: 'atoms-single' },
  { regime: 'over-floor', loss: 'atoms-multi' },
  { regime: 'over-floor', loss: 'atoms-single' },
];

const SIM_BASE: Readonly<Record<VitForm, string>> = { 'vpt-deep': 'vpt', kv: 'kv', vapt: 'vapt' };
/** The simulation's name of a regime: its weight-floored variants are "<method> over floor". */
const SIM_REGIME: Readonly<Record<Regime, string>> = { exact: 'exact', over: 'over', 'over-floor': 'over floor' };
const simBase = (form: VitForm, regime: Regime): string => `${SIM_BASE[form]} ${SIM_REGIME[regime]}`;

interface SlopeLine extends VitSlope {
  kind: string;
  form: string;
  regime?: string;
  loss?: string;
  fits?: string;
}

function overlaps(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] <= b[1] && b[0] <= a[1];
}

export function agreementOf(vit: readonly [number, number], sims: ReadonlyArray<readonly [number, number]>): SimVsVitRow['agreement'] {
  if (sims.length === 0) return null;
  if (sims.some((s) => overlaps(vit, s))) return 'overlap';
  if (sims.every((s) => vit[1] < s[0])) return 'ViT steeper';
  if (sims.every((s) => vit[0] > s[1])) return 'ViT flatter';
  return 'between';
}

/** The comparison rows from the committed results under `root` (the repository root). */
export function simVsVitComparison(root: string, bootstrap = 2000): SimVsVitRow[] {
  const forms: VitForm[] = ['vpt-deep', 'kv', 'vapt'];
  const variants = [...new Set(COMPARED.flatMap(({ regime }) => forms.map((f) => `${simBase(f, regime)} [fixed]`)))];
  const losses = [...new Set(COMPARED.map((c) => c.loss))];
  const simDir = join(root, 'experiments/vpt-vs-vapt');
  const table = studyRateTable(simDir, { bootstrap, losses, variants });
  const study = loadStudy(join(simDir, 'study.json'));
  const rateClaims = (study.claims ?? []).filter((c) => c.slope === undefined && c.form === undefined).map((c) => ({ c, rate: compileRate(c.rate, c.constants ?? {}) }));
  const layer = join(root, 'experiments/vit-planted-layer/results.jsonl');
  const lines = existsSync(layer) ? readJsonl<SlopeLine & { escaped?: boolean }>(layer) : [];
  const slopes = lines.filter((l) => l.kind === 'slope');
  const fitLines = lines.filter((l) => l.kind === 'fit');
  const rows: SimVsVitRow[] = [];
  for (const { regime, loss } of COMPARED) {
    for (const form of forms) {
      const base = simBase(form, regime);
      const variant = `${base} [fixed]`;
      const r = table.rows.find((x) => x.variant === variant && x.loss === loss);
      const vit = (fits: 'converged' | 'all'): VitSlope | null => {
        const s = slopes.find((l) => l.form === form && (l.regime ?? 'exact') === regime && (l.loss ?? 'atoms-single') === loss && (l.fits ?? 'converged') === fits);
        return s === undefined ? null : { slope: s.slope, ci: s.ci, points: s.points, ns: s.ns, capShare: s.capShare, ...(s.unconvergedShare === undefined ? {} : { unconvergedShare: s.unconvergedShare }) };
      };
      const vitConverged = vit('converged');
      const vitAll = vit('all');
      const sim = r === undefined ? null : { slope: r.slope, ci: r.ci, nMin: r.nMin, nMax: r.nMax, fits: r.fits };
      const simLow = r?.halves == null ? null : { slope: r.halves.low.slope, ci: r.halves.low.ci, nMax: r.halves.low.nMax };
      const sims = [sim?.ci, simLow?.ci].filter((c): c is readonly [number, number] => c !== undefined);
      const mine = fitLines.filter((f) => f.form === form && (f.regime ?? 'exact') === regime);
      const vitEscaped = mine.length === 0 ? null : { escaped: mine.filter((f) => f.escaped === true).length, fits: mine.length };
      const noRate = escapedRow(loss, vitEscaped);
      const claims =
        vitAll === null || noRate
          ? []
          : rateClaims
              .filter(({ c }) => (c.loss ?? study.loss) === loss && (c.variants.includes(base) || (regime !== 'exact' && c.regime === 'over')))
              .map(({ c, rate }) => {
                // One point per fit, spread evenly over the ViT's n values (each n has the same seeds).
                const implied = impliedSlope(rate, vitAll.ns.map((n) => ({ n, count: vitAll.points / vitAll.ns.length })));
                return { rate: c.rate, own: c.variants.includes(base), implied, verdict: judgeSlope(vitAll.ci, implied) };
              })
              .sort((a, b) => Number(b.own) - Number(a.own));
      const agreement = vitAll === null ? null : noRate ? 'no rate (escaped)' : agreementOf(vitAll.ci, sims);
      rows.push({ form, regime, loss, variant, sim, simLow, vitConverged, vitAll, vitEscaped, claims, agreement });
    }
  }
  return rows;
}

const f3 = (x: number): string => x.toFixed(3);
const cell = (s: SlopeCi | null): string => (s === null ? '-' : `${f3(s.slope)} [${f3(s.ci[0])}, ${f3(s.ci[1])}]`);
const range = (ns: ReadonlyArray<number>): string => (ns.length === 0 ? '' : `${ns[0]}..${ns[ns.length - 1]}`);

/** The rows as a markdown table (experiments/README.md). */
export function simVsVitMarkdown(rows: ReadonlyArray<SimVsVitRow>): string {
  const out = [
    '| method | regime | loss | ViT, fits stopped by tolerance | ViT, all fits | simulation, full range | simulation, lower half | agreement | ViT all fits against its claim and the other claims (slope implied over its n) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const vit = (s: VitSlope | null): string => (s === null ? 'not run' : `${cell(s)} (${s.points} fits, n = ${range(s.ns)})`);
    // All fits ran but none stopped by tolerance (every one stalled at the noise level): say so, not "not run".
    const converged = r.vitConverged === null && r.vitAll !== null ? `none of ${r.vitAll.points} fits` : vit(r.vitConverged);
    const sim = r.sim === null ? 'not run' : `${cell(r.sim)} (n = ${r.sim.nMin}..${r.sim.nMax})`;
    const low = r.simLow === null ? '-' : `${cell(r.simLow)} (n <= ${r.simLow.nMax})`;
    const claims = r.agreement === 'no rate (escaped)' && r.vitEscaped !== null ? `not judged: surplus atom escaped in ${r.vitEscaped.escaped} of ${r.vitEscaped.fits} ViT fits` : r.claims.length === 0 ? '-' : r.claims.map((c) => `${c.own ? '' : 'other: '}${c.rate}: ${f3(c.implied)}, ${c.verdict}`).join('; ');
    out.push(`| ${r.form} | ${r.regime} | ${r.loss} | ${converged} | ${vit(r.vitAll)} | ${sim} | ${low} | ${r.agreement ?? '-'} | ${claims} |`);
  }
  return out.join('\n');
}
