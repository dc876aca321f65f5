/**
 * The rate table of a study: for every variant and every loss in its results, the slope of
 * log(loss) on log(n) with a bootstrap confidence interval (src/rates), next to the rate the
 * study's claims attach to the variant, and the verdict. Also the per-n summaries a figure needs.
 *
 * JSON form (`prompt-experts rates --json`), a contract read by src/figures:
 *   { "study", "quick", "results" (path), "mainLoss", "level", "bootstrap",
 *     "rows": [ { "variant", "loss", "main" (is the study's main loss), "fits", "nValues",
 *                 "nMin", "nMax", "slope", "ci": [lo, hi], "intercept",
 *                 "gamma", "gammaCi": [lo, hi]   (fit of loss ~ C (log n / n)^gamma),
 *                 "claim": { "rate", "slope" (null: slower than any polynomial), "form"?, "source"? } | null,
 *                 "claimedSlope" (the slope the claim implies over this n range; null: -> 0),
 *                 "verdict": "consistent" | "faster" | "slower" | null, "verdictNote",
 *                 "perN": [ { "n", "count", "mean", "geomean", "median" } ],
 *                 "meanIterations", "convergedShare" } ] }
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultLine } from './cell.js';
import { planStudy, type StudyConfig } from './schema.js';
import { loadStudy, readResults, resultsFile } from './runner.js';
import { InputError } from '../util/errors.js';
import { fitLogRate, fitSlope, judgeAgainstSlope, judgeRate, type ClaimedRate } from '../rates/index.js';

export interface RateRow {
  readonly variant: string;
  readonly loss: string;
  readonly main: boolean;
  readonly fits: number;
  readonly nValues: number;
  readonly nMin: number;
  readonly nMax: number;
  readonly slope: number;
  readonly ci: readonly [number, number];
  readonly intercept: number;
  readonly claim: { readonly rate: string; readonly slope: number | null; readonly form?: ClaimedRate; readonly source?: string } | null;
  /** The slope the claim implies over this row's n range (its `slope`, or the form's implied slope; null for slower-than-any-power). */
  readonly claimedSlope: number | null;
  /** Fit of the (log n / n)^gamma form: gamma with its interval (sqrt(log n / n) is gamma = 1/2). */
  readonly gamma: number;
  readonly gammaCi: readonly [number, number];
  readonly verdict: 'consistent' | 'faster' | 'slower' | null;
  readonly verdictNote: string | null;
  readonly perN: ReadonlyArray<{ n: number; count: number; mean: number; geomean: number; median: number }>;
  /** Estimator diagnostics over the row's fits: mean iterations and the share that converged. */
  readonly meanIterations: number;
  readonly convergedShare: number;
}

export interface RateTable {
  readonly study: string;
  readonly quick: boolean;
  readonly results: string;
  readonly mainLoss: string;
  readonly level: number;
  readonly bootstrap: number;
  readonly rows: RateRow[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function rateTable(
  study: StudyConfig,
  lines: ReadonlyArray<ResultLine>,
  opts: { quick: boolean; results: string; level: number; bootstrap: number; allLosses: boolean },
): RateTable {
  const order = new Map(study.variants.map((v, i) => [v.name, i]));
  const variants = [...new Set(lines.map((l) => l.variant))].sort((a, b) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9) || a.localeCompare(b));
  const rows: RateRow[] = [];
  for (const variant of variants) {
    const mine = lines.filter((l) => l.variant === variant);
    const lossNames = opts.allLosses ? [...new Set(mine.flatMap((l) => Object.keys(l.losses ?? { [study.loss]: l.loss })))] : [study.loss];
    lossNames.sort((a, b) => (a === study.loss ? -1 : b === study.loss ? 1 : a.localeCompare(b)));
    for (const loss of lossNames) {
      const pts = mine
        .map((l) => ({ n: l.n, loss: loss === study.loss ? l.loss : (l.losses?.[loss] ?? NaN) }))
        .filter((p) => Number.isFinite(p.loss) && p.loss > 0);
      const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
      if (ns.length < 2) continue;
      const seed = [...`${variant}\u0000${loss}`].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261) || 1;
      const fit = fitSlope(pts, { level: opts.level, bootstrap: opts.bootstrap, seed });
      const lr = fitLogRate(pts, { level: opts.level, bootstrap: opts.bootstrap, seed });
      const claimCfg = (study.claims ?? []).find((c) => c.variants.includes(variant) && (c.loss ?? study.loss) === loss);
      const claim =
        claimCfg === undefined
          ? null
          : { rate: claimCfg.rate, slope: claimCfg.slope, ...(claimCfg.form === undefined ? {} : { form: claimCfg.form as ClaimedRate }), ...(claimCfg.source === undefined ? {} : { source: claimCfg.source }) };
      let v: { verdict: 'consistent' | 'faster' | 'slower'; note: string } | null = null;
      let claimedSlope: number | null = null;
      if (claim !== null && claim.form !== undefined) {
        const j = judgeRate(fit, claim.form);
        v = { verdict: j.verdict, note: j.note };
        claimedSlope = j.claimedSlope;
      } else if (claim !== null) {
        v = judgeAgainstSlope(fit, claim.slope);
        claimedSlope = claim.slope;
      }
      const perN = ns.map((n) => {
        const xs = pts.filter((p) => p.n === n).map((p) => p.loss);
        return {
          n,
          count: xs.length,
          mean: xs.reduce((s, x) => s + x, 0) / xs.length,
          geomean: Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length),
          median: median(xs),
        };
      });
      rows.push({
        variant,
        loss,
        main: loss === study.loss,
        fits: pts.length,
        nValues: ns.length,
        nMin: ns[0] as number,
        nMax: ns[ns.length - 1] as number,
        slope: fit.slope,
        ci: fit.ci,
        intercept: fit.intercept,
        claim,
        claimedSlope,
        gamma: lr.gamma,
        gammaCi: lr.ci,
        verdict: v?.verdict ?? null,
        verdictNote: v?.note ?? null,
        perN,
        meanIterations: mine.reduce((acc, l) => acc + l.iterations, 0) / mine.length,
        convergedShare: mine.filter((l) => l.converged).length / mine.length,
      });
    }
  }
  return { study: study.name, quick: opts.quick, results: opts.results, mainLoss: study.loss, level: opts.level, bootstrap: opts.bootstrap, rows };
}

const fmt = (x: number): string => (Number.isFinite(x) ? (x >= 0 ? ' ' : '') + x.toFixed(3) : '   n/a');

/** Plain-text table, one row per (variant, loss). */
export function renderRateTable(t: RateTable): string {
  const head = ['variant', 'loss', 'fits', 'n range', 'slope', `${Math.round(t.level * 100)}% CI`, 'claimed', 'verdict'];
  const body = t.rows.map((r) => [
    r.variant,
    r.loss,
    String(r.fits),
    `${r.nMin}..${r.nMax}`,
    fmt(r.slope),
    `[${fmt(r.ci[0])}, ${fmt(r.ci[1])}]`,
    r.claim === null ? '-' : `${r.claim.rate}${r.claimedSlope === null ? ' (-> 0)' : ` (${r.claimedSlope.toFixed(3)})`}`,
    r.verdict ?? '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [
    `${t.study}${t.quick ? ' (quick)' : ''}: slope of log(loss) on log(n), ${Math.round(t.level * 100)}% bootstrap CI (${t.bootstrap} resamples within each n)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

/**
 * Markdown table (for experiments/README.md, rendered between markers by experiments/update-readme.mjs);
 * "loss at n min / n max" are geometric means over the replications.
 */
export function renderRateMarkdown(t: RateTable): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const pct = Math.round(t.level * 100);
  const g = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toPrecision(3));
  const rows = t.rows.map(
    (r) =>
      `| ${r.variant} | ${r.loss} | ${r.fits} | ${r.nMin}-${r.nMax} (${r.nValues}) | ${g(r.perN[0]?.geomean)} | ${g(r.perN[r.perN.length - 1]?.geomean)} | ${f(r.slope)} | [${f(r.ci[0])}, ${f(r.ci[1])}] | ${f(r.gamma)} [${f(r.gammaCi[0])}, ${f(r.gammaCi[1])}] | ${
        r.claim === null ? '-' : `${r.claim.rate}: ${r.claimedSlope === null ? '-> 0' : f(r.claimedSlope)}`
      } | ${r.verdict ?? '-'} | ${r.meanIterations.toFixed(0)} / ${(100 * r.convergedShare).toFixed(0)}% |`,
  );
  return [
    `| variant | loss | fits | n (values) | loss at n min | loss at n max | slope | ${pct}% CI | gamma of (log n / n)^gamma [${pct}% CI] | claim: implied slope | verdict | iterations (mean) / converged |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * The rate table of the study in `dir` from its committed results (results.jsonl, or
 * results.quick.jsonl with `quick`), keeping only lines made by the study's current config.
 */
export function studyRateTable(
  dir: string,
  opts: { quick?: boolean; level?: number; bootstrap?: number; allLosses?: boolean } = {},
): RateTable & { lines: ResultLine[]; config: StudyConfig } {
  const study = loadStudy(join(dir, 'study.json'));
  const quick = opts.quick === true;
  const path = resultsFile(dir, quick);
  if (!existsSync(path)) throw new InputError(path, `a results file: run \`prompt-experts simulate ${join(dir, 'study.json')}${quick ? ' --quick' : ''}\` first`);
  const plan = planStudy(study, quick && study.quick !== undefined);
  const hashes = new Map(plan.variants.map((v) => [v.name, v.configHash]));
  const lines = readResults(path).filter((l) => hashes.get(l.variant) === l.configHash);
  const table = rateTable(study, lines, { quick, results: path, level: opts.level ?? 0.95, bootstrap: opts.bootstrap ?? 2000, allLosses: opts.allLosses === true });
  return { ...table, lines, config: study };
}
