/**
 * The rate table of a study: for every variant and every loss in its results, the slope of
 * log(loss) on log(n) with a bootstrap confidence interval (src/rates), next to the rate the
 * study's claims attach to that (variant, loss), and the verdict. Also the per-n summaries and
 * fit-health shares a referee needs, and, for studies that cross start protocols, whether the
 * verdict is the same under every protocol.
 *
 * Which lines count: only those of the study's own variants (current config hash), n grid and
 * replications; every other line is counted under `ignored` with its reason. Two lines for one
 * (variant, n, rep) are an error naming both lines (or, with `dropDuplicates`, the first is kept
 * and the others counted). A loss that is missing, non-finite or <= 0 in a line is counted per row.
 *
 * Verdicts: 'consistent' when the slope the claim implies over the row's own design (claim.ts)
 * lies in the interval, 'faster' when the interval lies below it, 'slower' when above;
 * 'unreliable (cap)' when at some n more than `health.capShare` of the fits stopped at the
 * iteration cap (the verdict the slope alone would give is kept in `slopeVerdict`).
 * `alternatives` judges the same row against every other claim about the same loss, so a reader
 * sees whether the data could tell the claims apart.
 *
 * JSON form (`prompt-experts rates --json`), a contract read by src/figures:
 *   { "study", "quick", "results", "mainLoss", "level", "bootstrap", "health",
 *     "healthyOnly", "used", "ignored": { "otherVariant", "staleConfig", "outOfGrid", "duplicates" },
 *     "rows": [ { "variant", "base", "protocol", "loss", "main", "fits", "invalid", "unhealthyExcluded", "nValues", "nMin", "nMax",
 *                 "slope", "ci": [lo, hi], "intercept", "gamma", "gammaCi",
 *                 "halves": { "low": { "slope", "ci", "nMax" }, "high": { "slope", "ci", "nMin" } } | null,
 *                 "claim": { "rate", "slope", "regime", "source"? } | null, "claimedSlope", "localSlopes",
 *                 "verdict", "slopeVerdict", "verdictNote", "alternatives": [ { "rate", "variants", "claimedSlope", "verdict" } ],
 *                 "perN": [ { "n", "count", "mean", "geomean", "median", "q1", "q3", "atCap", "switchedOff", "escaped" } ],
 *                 "meanIterations", "convergedShare", "capShare", "switchedOffShare", "escapedShare" } ],
 *     "protocols": [ { "variant", "loss", "verdicts": { protocol: verdict }, "agreement": "robust" | "protocol-dependent" | "unreliable (cap)" } ] }
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkClaimRegimes, type ResultLine } from './cell.js';
import { healthOf, planStudy, type ClaimConfig, type HealthConfig, type StudyConfig, type StudyPlan } from './schema.js';
import { cellKey, loadStudy, readResults, resultsFile } from './runner.js';
import { InputError } from '../util/errors.js';
import { compileRate, impliedSlope, fitLogRate, fitSlope, judgeAgainstSlope, judgeRate, judgeSlope, quartiles, type ClaimedRate, type CompiledRate, type Verdict } from '../rates/index.js';

export type RowVerdict = Verdict | 'unreliable (cap)';

export interface PerN {
  readonly n: number;
  readonly count: number;
  readonly mean: number;
  readonly geomean: number;
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  /** Shares of this n's fits: stopped at the iteration cap, with an atom switched off, with an escaped atom. */
  readonly atCap: number;
  readonly switchedOff: number;
  readonly escaped: number;
}

export interface RateRow {
  readonly variant: string;
  /** The variant's own name and the crossed protocol (null without "protocols"). */
  readonly base: string;
  readonly protocol: string | null;
  readonly loss: string;
  readonly main: boolean;
  readonly fits: number;
  /** Lines of this variant whose value of this loss was missing, non-finite or <= 0. */
  readonly invalid: number;
  /** With healthyOnly: lines left out because an atom was switched off or escaped. */
  readonly unhealthyExcluded: number;
  readonly nValues: number;
  readonly nMin: number;
  readonly nMax: number;
  readonly slope: number;
  readonly ci: readonly [number, number];
  readonly intercept: number;
  readonly claim: { readonly rate: string; readonly slope: number | null; readonly regime: string; readonly form?: ClaimedRate; readonly source?: string } | null;
  /** The slope the claim implies over this row's design (null: "slower than any power", judged against 0). */
  readonly claimedSlope: number | null;
  /** The claim's local slope d log r / d log n at nMin and nMax (expression claims only). */
  readonly localSlopes: readonly [number, number] | null;
  /** Fit of the (log n / n)^gamma form: gamma with its interval (sqrt(log n / n) is gamma = 1/2). */
  readonly gamma: number;
  readonly gammaCi: readonly [number, number];
  /**
   * The slope over the lower and over the upper half of the row's n values (the middle value in
   * both when their number is odd), with intervals; null with fewer than 4 n values. A power
   * rate has one slope throughout; 1/log^tau n flattens (local slope -tau / log n), so an upper
   * slope well above the lower one is the mark of a rate slower than any power.
   */
  readonly halves: { readonly low: { readonly slope: number; readonly ci: readonly [number, number]; readonly nMax: number }; readonly high: { readonly slope: number; readonly ci: readonly [number, number]; readonly nMin: number } } | null;
  readonly verdict: RowVerdict | null;
  /** The verdict of the slope alone (differs from `verdict` only when the row is unreliable). */
  readonly slopeVerdict: Verdict | null;
  readonly verdictNote: string | null;
  readonly alternatives: ReadonlyArray<{ readonly rate: string; readonly variants: ReadonlyArray<string>; readonly claimedSlope: number | null; readonly verdict: Verdict }>;
  readonly perN: ReadonlyArray<PerN>;
  readonly meanIterations: number;
  readonly convergedShare: number;
  readonly capShare: number;
  readonly switchedOffShare: number;
  readonly escapedShare: number;
}

export interface ProtocolAgreement {
  readonly variant: string;
  readonly loss: string;
  readonly verdicts: Readonly<Record<string, RowVerdict | null>>;
  /** robust: every protocol gives the same verdict; unreliable (cap): some protocol's rows stopped at the cap too often. */
  readonly agreement: 'robust' | 'protocol-dependent' | 'unreliable (cap)';
}

export interface IgnoredLines {
  readonly otherVariant: number;
  readonly staleConfig: number;
  readonly outOfGrid: number;
  readonly duplicates: number;
}

export interface RateTable {
  readonly study: string;
  readonly quick: boolean;
  readonly results: string;
  readonly mainLoss: string;
  readonly level: number;
  readonly bootstrap: number;
  readonly health: HealthConfig;
  /** Whether only fits without a switched-off or escaped atom were used. */
  readonly healthyOnly: boolean;
  /** 'logs': slopes of log(loss) over every fit; 'mean': of log(mean loss at n), one point per n (--of-means). */
  readonly aggregate: 'logs' | 'mean';
  /** Lines that entered the table, and those left out, by reason. */
  readonly used: number;
  readonly ignored: IgnoredLines;
  readonly rows: RateRow[];
  readonly protocols: ProtocolAgreement[];
}

export interface RateTableOptions {
  readonly quick: boolean;
  readonly results: string;
  readonly level: number;
  readonly bootstrap: number;
  readonly allLosses: boolean;
  /** Only these losses (overrides allLosses). */
  readonly losses?: ReadonlyArray<string>;
  /** Rows only for these variants (full names, or base names covering every protocol). */
  readonly variants?: ReadonlyArray<string>;
  /** Use only fits with no atom switched off or escaped (the merging fits; a selection, reported per row). */
  readonly healthyOnly?: boolean;
  /** Keep the first of duplicate (variant, n, rep) lines instead of refusing the file. */
  readonly dropDuplicates?: boolean;
  /** Check config hashes against the plan (default true). */
  readonly checkConfig?: boolean;
  /** Fit log(mean loss at n) on log n, one point per n, as published simulations do (default: every fit's log loss). */
  readonly ofMeans?: boolean;
  /** File line of each entry of `lines` (for error messages; default: its position + 1). */
  readonly lineNumbers?: ReadonlyArray<number>;
}

/** Health flags of a line at the study's thresholds, from its stored atoms (or its own flags). */
function flagsOf(l: ResultLine, h: HealthConfig): { switchedOff: boolean; escaped: boolean } {
  if (l.atoms === undefined || l.cells === undefined) return { switchedOff: l.switchedOff === true, escaped: l.escaped === true };
  const cells = l.cells;
  const switchedOff = l.atoms.some((a) => {
    const c = cells[a.cell];
    return c !== undefined && c.size >= 2 && a.weight !== undefined && c.weightSum !== undefined && a.weight < h.switchedOff * c.weightSum;
  });
  return { switchedOff, escaped: l.atoms.some((a) => a.distance > h.escaped) };
}

const share = (xs: ReadonlyArray<boolean>): number => (xs.length === 0 ? 0 : xs.filter(Boolean).length / xs.length);

/** The lines that count for `plan` (see the header), with the counts of those that do not. */
export function selectLines(plan: StudyPlan, lines: ReadonlyArray<ResultLine>, opts: Pick<RateTableOptions, 'results' | 'dropDuplicates' | 'checkConfig' | 'lineNumbers'>): { lines: ResultLine[]; ignored: IgnoredLines } {
  const hashes = new Map(plan.variants.map((v) => [v.name, v.configHash]));
  const grid = new Set(plan.n);
  const seen = new Map<string, number>();
  const out: ResultLine[] = [];
  let otherVariant = 0, staleConfig = 0, outOfGrid = 0, duplicates = 0;
  lines.forEach((l, i) => {
    const lineNo = opts.lineNumbers?.[i] ?? i + 1;
    const h = hashes.get(l.variant);
    if (h === undefined) { otherVariant++; return; }
    if (opts.checkConfig !== false && l.configHash !== h) { staleConfig++; return; }
    if (!grid.has(l.n) || !(Number.isInteger(l.rep) && l.rep >= 0 && l.rep < plan.replications)) { outOfGrid++; return; }
    const key = cellKey(l);
    const first = seen.get(key);
    if (first !== undefined) {
      if (opts.dropDuplicates === true) { duplicates++; return; }
      throw new InputError(`${opts.results}:${lineNo}`, `one line per (variant, n, rep) (pass --drop-duplicates to keep the first)`, `a second line for ("${l.variant}", n = ${l.n}, rep = ${l.rep}), first on line ${first}`);
    }
    seen.set(key, lineNo);
    out.push(l);
  });
  return { lines: out, ignored: { otherVariant, staleConfig, outOfGrid, duplicates } };
}

interface JudgedClaim { cfg: ClaimConfig; compiled: CompiledRate | null }

export function rateTable(study: StudyConfig, lines: ReadonlyArray<ResultLine>, opts: RateTableOptions, planIn?: StudyPlan): RateTable {
  const plan = planIn ?? planStudy(study, opts.quick && study.quick !== undefined);
  const health = healthOf(study);
  const selected = selectLines(plan, lines, opts);
  const claims: JudgedClaim[] = (study.claims ?? []).map((cfg) => ({ cfg, compiled: cfg.slope === undefined && cfg.form === undefined ? compileRate(cfg.rate, cfg.constants ?? {}) : null }));
  const rows: RateRow[] = [];
  for (const v of plan.variants) {
    if (opts.variants !== undefined && !opts.variants.includes(v.name) && !opts.variants.includes(v.base)) continue;
    const all = selected.lines.filter((l) => l.variant === v.name);
    const mine = opts.healthyOnly === true ? all.filter((l) => { const f = flagsOf(l, health); return !f.switchedOff && !f.escaped; }) : all;
    if (mine.length === 0) continue;
    const present = [...new Set(mine.flatMap((l) => Object.keys(l.losses ?? { [study.loss]: l.loss })))];
    const lossNames = opts.losses !== undefined ? present.filter((x) => opts.losses?.includes(x)) : opts.allLosses ? present : [study.loss];
    lossNames.sort((a, b) => (a === study.loss ? -1 : b === study.loss ? 1 : a.localeCompare(b)));
    const flags = mine.map((l) => flagsOf(l, health));
    // Lines written before stop reasons were recorded: at the cap when not converged after the
    // variant's maxIterations (or, without one in the config, whenever not converged), except
    // under EM's 'as-published' protocol, whose single step is the protocol, not a cap.
    const cap = v.estimator.maxIterations;
    const fixedSteps = v.estimator.protocol === 'as-published';
    const atCap = (l: ResultLine): boolean => l.atCap ?? (!fixedSteps && !l.converged && (typeof cap !== 'number' || l.iterations >= cap));
    for (const loss of lossNames) {
      const value = (l: ResultLine): number => (loss === study.loss ? l.loss : (l.losses?.[loss] ?? NaN));
      const used = mine.map((l, i) => ({ l, f: flags[i] as { switchedOff: boolean; escaped: boolean }, loss: value(l) })).filter((p) => Number.isFinite(p.loss) && p.loss > 0);
      const pts = used.map((p) => ({ n: p.l.n, loss: p.loss }));
      const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
      if (ns.length < 2) continue;
      const seed = [...`${v.name}\u0000${loss}`].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261) || 1;
      const aggregate = opts.ofMeans === true ? 'mean' : 'logs';
      const fit = fitSlope(pts, { level: opts.level, bootstrap: opts.bootstrap, seed, aggregate });
      let halves: RateRow['halves'] = null;
      if (ns.length >= 4) {
        const cut = Math.ceil(ns.length / 2);
        const lowMax = ns[cut - 1] as number;
        const highMin = ns[ns.length - cut] as number;
        const lo = fitSlope(pts.filter((p) => p.n <= lowMax), { level: opts.level, bootstrap: opts.bootstrap, seed, aggregate });
        const hi = fitSlope(pts.filter((p) => p.n >= highMin), { level: opts.level, bootstrap: opts.bootstrap, seed, aggregate });
        halves = { low: { slope: lo.slope, ci: lo.ci, nMax: lowMax }, high: { slope: hi.slope, ci: hi.ci, nMin: highMin } };
      }
      const lr = fitLogRate(pts, { level: opts.level, bootstrap: opts.bootstrap, seed });
      const perN: PerN[] = ns.map((n) => {
        const at = used.filter((p) => p.l.n === n);
        const xs = at.map((p) => p.loss).sort((a, b) => a - b);
        const atN = mine.filter((l) => l.n === n);
        return {
          n,
          count: xs.length,
          mean: xs.reduce((s, x) => s + x, 0) / xs.length,
          geomean: Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length),
          ...quartiles(xs),
          atCap: share(atN.map(atCap)),
          switchedOff: share(at.map((p) => p.f.switchedOff)),
          escaped: share(at.map((p) => p.f.escaped)),
        };
      });
      const judge = (c: JudgedClaim): { claimedSlope: number | null; verdict: Verdict; note: string } => {
        if (c.compiled !== null) {
          const cs = impliedSlope(c.compiled, fit.groups);
          const verdict = judgeSlope(fit.ci, cs);
          const pct = Math.round(fit.level * 100);
          return { claimedSlope: cs, verdict, note: `measured slope ${fit.slope.toFixed(3)} [${fit.ci[0].toFixed(3)}, ${fit.ci[1].toFixed(3)}] (${pct}%) against ${c.cfg.rate}: ${cs.toFixed(3)} (the slope it implies for n in [${ns[0]}, ${ns[ns.length - 1]}]); ${verdict}` };
        }
        if (c.cfg.form !== undefined) {
          const j = judgeRate(fit, c.cfg.form as ClaimedRate);
          return { claimedSlope: j.claimedSlope, verdict: j.verdict, note: j.note };
        }
        const j = judgeAgainstSlope(fit, c.cfg.slope ?? null);
        return { claimedSlope: c.cfg.slope ?? null, verdict: j.verdict, note: j.note };
      };
      const aboutLoss = claims.filter((c) => (c.cfg.loss ?? study.loss) === loss);
      const own = aboutLoss.find((c) => c.cfg.variants.includes(v.base) || c.cfg.variants.includes(v.name));
      const j = own === undefined ? null : judge(own);
      const capShare = share(mine.map(atCap));
      const unreliable = perN.some((p) => p.atCap > health.capShare);
      const verdict: RowVerdict | null = j === null ? null : unreliable ? 'unreliable (cap)' : j.verdict;
      rows.push({
        variant: v.name,
        base: v.base,
        protocol: v.protocol,
        loss,
        main: loss === study.loss,
        fits: pts.length,
        invalid: mine.length - used.length,
        unhealthyExcluded: all.length - mine.length,
        nValues: ns.length,
        nMin: ns[0] as number,
        nMax: ns[ns.length - 1] as number,
        slope: fit.slope,
        ci: fit.ci,
        intercept: fit.intercept,
        claim:
          own === undefined
            ? null
            : {
                rate: own.cfg.rate,
                slope: j?.claimedSlope ?? null,
                regime: own.cfg.regime,
                ...(own.cfg.form === undefined ? {} : { form: own.cfg.form as ClaimedRate }),
                ...(own.cfg.source === undefined ? {} : { source: own.cfg.source }),
              },
        claimedSlope: j?.claimedSlope ?? null,
        localSlopes: own?.compiled == null ? null : [own.compiled.localSlope(ns[0] as number), own.compiled.localSlope(ns[ns.length - 1] as number)],
        gamma: lr.gamma,
        gammaCi: lr.ci,
        halves,
        verdict,
        slopeVerdict: j?.verdict ?? null,
        verdictNote: j === null ? null : unreliable ? `${j.note}; but more than ${Math.round(100 * health.capShare)}% of the fits at some n stopped at the iteration cap` : j.note,
        alternatives: aboutLoss.filter((c) => c !== own).map((c) => {
          const a = judge(c);
          return { rate: c.cfg.rate, variants: c.cfg.variants, claimedSlope: a.claimedSlope, verdict: a.verdict };
        }),
        perN,
        meanIterations: mine.reduce((acc, l) => acc + l.iterations, 0) / mine.length,
        convergedShare: mine.filter((l) => l.converged).length / mine.length,
        capShare,
        switchedOffShare: share(used.map((p) => p.f.switchedOff)),
        escapedShare: share(used.map((p) => p.f.escaped)),
      });
    }
  }
  if (rows.length === 0) {
    const { otherVariant, staleConfig, outOfGrid, duplicates } = selected.ignored;
    throw new InputError(opts.results, 'results with positive losses at two or more sample sizes for some variant', `${selected.lines.length} usable lines (ignored: ${otherVariant} of other variants, ${staleConfig} with a stale config, ${outOfGrid} outside the n grid, ${duplicates} duplicates)`);
  }
  const protocols: ProtocolAgreement[] = [];
  if (study.protocols !== undefined) {
    const groups = new Map<string, RateRow[]>();
    for (const r of rows) {
      if (r.protocol === null || r.claim === null) continue;
      const key = `${r.base}\u0000${r.loss}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const rs of groups.values()) {
      const first = rs[0] as RateRow;
      const verdicts = Object.fromEntries(rs.map((r) => [r.protocol as string, r.verdict]));
      const unreliable = rs.some((r) => r.verdict === 'unreliable (cap)');
      const agree = rs.length === study.protocols.length && rs.every((r) => r.verdict === first.verdict);
      protocols.push({ variant: first.base, loss: first.loss, verdicts, agreement: unreliable ? 'unreliable (cap)' : agree ? 'robust' : 'protocol-dependent' });
    }
  }
  return {
    study: study.name,
    quick: opts.quick,
    results: opts.results,
    mainLoss: study.loss,
    level: opts.level,
    bootstrap: opts.bootstrap,
    health,
    healthyOnly: opts.healthyOnly === true,
    aggregate: opts.ofMeans === true ? 'mean' : 'logs',
    used: selected.lines.length,
    ignored: selected.ignored,
    rows,
    protocols,
  };
}

const fmt = (x: number): string => (Number.isFinite(x) ? (x >= 0 ? ' ' : '') + x.toFixed(3) : '   n/a');
const pctOf = (x: number): string => `${Math.round(100 * x)}%`;

/** One line: how many lines the table used and what it left out, and why. */
export function describeUsage(t: RateTable): string {
  const i = t.ignored;
  const parts = [
    i.otherVariant > 0 ? `${i.otherVariant} of variants not in the study` : '',
    i.staleConfig > 0 ? `${i.staleConfig} made with another variant config` : '',
    i.outOfGrid > 0 ? `${i.outOfGrid} outside the study's n grid or replications` : '',
    i.duplicates > 0 ? `${i.duplicates} duplicates (first kept)` : '',
  ].filter((s) => s !== '');
  const invalid = t.rows.reduce((s, r) => s + r.invalid, 0);
  const unhealthy = [...new Map(t.rows.map((r) => [r.variant, r.unhealthyExcluded])).values()].reduce((a, b) => a + b, 0);
  return `${t.used} lines used from ${t.results}; ignored: ${parts.length === 0 ? 'none' : parts.join(', ')}${t.aggregate === 'mean' ? '; slopes of log(mean loss at n) on log n, one point per n' : ''}${invalid > 0 ? `; ${invalid} (row, line) pairs without a positive finite loss left out of their rows` : ''}${t.healthyOnly ? `; healthy fits only: ${unhealthy} fits with an atom switched off or escaped left out` : ''}`;
}

/** Plain-text table, one row per (variant, loss), then the protocol comparison. */
export function renderRateTable(t: RateTable): string {
  const head = ['variant', 'loss', 'fits', 'n range', 'slope', `${Math.round(t.level * 100)}% CI`, 'low / high n', 'claimed', 'verdict', 'cap', 'off', 'esc'];
  const body = t.rows.map((r) => [
    r.variant,
    r.loss,
    String(r.fits),
    `${r.nMin}..${r.nMax}`,
    fmt(r.slope),
    `[${fmt(r.ci[0])}, ${fmt(r.ci[1])}]`,
    r.halves === null ? '-' : `${fmt(r.halves.low.slope)} / ${fmt(r.halves.high.slope)}`,
    r.claim === null ? '-' : `${r.claim.rate}${r.claimedSlope === null ? ' (-> 0)' : ` (${r.claimedSlope.toFixed(3)})`}`,
    r.verdict ?? '-',
    pctOf(r.capShare),
    pctOf(r.switchedOffShare),
    pctOf(r.escapedShare),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [
    `${t.study}${t.quick ? ' (quick)' : ''}: slope of log(loss) on log(n), ${Math.round(t.level * 100)}% bootstrap CI (${t.bootstrap} resamples within each n)`,
    describeUsage(t),
    `cap / off / esc: share of fits stopped at the iteration cap / with an atom switched off (< ${pctOf(t.health.switchedOff)} of its cell's weight) / with an atom farther than ${t.health.escaped} from every true atom`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  if (t.protocols.length > 0) {
    out.push('', 'protocols: is the verdict the same under every start protocol?');
    for (const p of t.protocols) out.push(`  ${p.variant} / ${p.loss}: ${p.agreement} (${Object.entries(p.verdicts).map(([k, v]) => `${k}: ${v ?? '-'}`).join(', ')})`);
  }
  return out.join('\n');
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
      `| ${r.variant} | ${r.loss} | ${r.fits} | ${r.nMin}-${r.nMax} (${r.nValues}) | ${g(r.perN[0]?.geomean)} | ${g(r.perN[r.perN.length - 1]?.geomean)} | ${f(r.slope)} | [${f(r.ci[0])}, ${f(r.ci[1])}] | ${
        r.claim === null ? '-' : `${r.claim.rate}: ${r.claimedSlope === null ? '-> 0' : f(r.claimedSlope)}`
      } | ${r.verdict ?? '-'} | ${r.alternatives.map((a) => `${a.rate}: ${a.verdict}`).join('; ') || '-'} | ${r.halves === null ? '-' : `${f(r.halves.low.slope)} [${f(r.halves.low.ci[0])}, ${f(r.halves.low.ci[1])}] / ${f(r.halves.high.slope)} [${f(r.halves.high.ci[0])}, ${f(r.halves.high.ci[1])}]`} | ${r.meanIterations.toFixed(0)} / ${pctOf(r.capShare)} / ${pctOf(r.switchedOffShare)} / ${pctOf(r.escapedShare)} |`,
  );
  const out = [
    `${describeUsage(t)}.`,
    '',
    `| variant | loss | fits | n (values) | loss at n min | loss at n max | slope | ${pct}% CI | claim: implied slope | verdict | against the other claims | slope over the lower / upper half of n [${pct}% CI] | iterations (mean) / at cap / switched off / escaped |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  if (t.protocols.length > 0) {
    out.push('', '| variant | loss | verdict per protocol | agreement |', '|---|---|---|---|');
    for (const p of t.protocols) out.push(`| ${p.variant} | ${p.loss} | ${Object.entries(p.verdicts).map(([k, v]) => `${k}: ${v ?? '-'}`).join('; ')} | ${p.agreement} |`);
  }
  return out.join('\n');
}

/** Per-n Markdown table of every row: median [IQR] per n, with the health shares. */
export function renderPerNMarkdown(t: RateTable): string {
  const out = [`| variant | loss | n | fits | median [IQR] | at cap | switched off | escaped |`, '|---|---|---|---|---|---|---|---|'];
  for (const r of t.rows)
    for (const p of r.perN) out.push(`| ${r.variant} | ${r.loss} | ${p.n} | ${p.count} | ${p.median.toPrecision(3)} [${p.q1.toPrecision(3)}, ${p.q3.toPrecision(3)}] | ${pctOf(p.atCap)} | ${pctOf(p.switchedOff)} | ${pctOf(p.escaped)} |`);
  return out.join('\n');
}

/**
 * The rate table of the study in `dir` from its committed results (results.jsonl, or
 * results.quick.jsonl with `quick`).
 */
export function studyRateTable(
  dir: string,
  opts: { quick?: boolean; level?: number; bootstrap?: number; allLosses?: boolean; losses?: ReadonlyArray<string>; variants?: ReadonlyArray<string>; healthyOnly?: boolean; dropDuplicates?: boolean; ofMeans?: boolean } = {},
): RateTable & { lines: ResultLine[]; config: StudyConfig } {
  const study = loadStudy(join(dir, 'study.json'));
  const quick = opts.quick === true;
  const path = resultsFile(dir, quick);
  if (!existsSync(path)) throw new InputError(path, `a results file: run \`prompt-experts simulate ${join(dir, 'study.json')}${quick ? ' --quick' : ''}\` first`);
  const plan = planStudy(study, quick && study.quick !== undefined);
  checkClaimRegimes(study, plan.variants, plan.n[0] ?? 2);
  const lineNumbers: number[] = [];
  const lines = readResults(path, false, lineNumbers);
  const table = rateTable(study, lines, { quick, results: path, level: opts.level ?? 0.95, bootstrap: opts.bootstrap ?? 2000, allLosses: opts.allLosses === true, ...(opts.losses === undefined ? {} : { losses: opts.losses }), ...(opts.variants === undefined ? {} : { variants: opts.variants }), healthyOnly: opts.healthyOnly === true, dropDuplicates: opts.dropDuplicates === true, ofMeans: opts.ofMeans === true, lineNumbers }, plan);
  return { ...table, lines: selectLines(plan, lines, { results: path, dropDuplicates: true }).lines, config: study };
}
