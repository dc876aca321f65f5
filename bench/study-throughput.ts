/**
 * Benchmark (not a test): study throughput read off a study's own results, and the wall time the
 * whole grid needs on W cores.
 *
 *   node dist/bench/study-throughput.js [experiments/vpt-vs-vapt] [--workers 2] [--markdown]
 *
 * Every results line records `cellSeconds` (wall seconds of simulate + fit + losses in its worker
 * thread). Per variant and n: fits, mean seconds per cell, fits per second (1 / mean). Cells of
 * the grid with no line yet are projected from the variant's two largest measured n >= 1e4:
 * mean seconds ~ c n^b, b from those two points (clamped to [1, 2]: a pass is linear in n, and
 * over-specified fits may take more iterations at larger n), else linear in n from the largest.
 * Done + to-do core-seconds over W workers is the wall time with both cores busy (the runner
 * keeps them so while cells remain; run.json's sessions give the wall time actually spent).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Line {
  readonly variant: string;
  readonly n: number;
  readonly cellSeconds?: number;
  readonly seconds?: number;
}

interface StudyGrid {
  readonly n: number[];
  readonly replications: number;
  readonly variants: ReadonlyArray<{ readonly name: string }>;
  readonly protocols?: ReadonlyArray<{ readonly name: string }>;
}

export interface VariantThroughput {
  readonly variant: string;
  /** Per grid n: fits measured, mean seconds per cell (measured, or projected when projected = true). */
  readonly perN: ReadonlyArray<{ n: number; fits: number; meanSeconds: number; projected: boolean }>;
  readonly doneSeconds: number;
  readonly todoSeconds: number;
}

function variantNames(study: StudyGrid): string[] {
  const names = study.variants.map((v) => v.name);
  const protocols = study.protocols ?? [];
  return protocols.length === 0 ? names : names.flatMap((v) => protocols.map((p) => `${v} [${p.name}]`));
}

/** Mean seconds per cell at n from the measured means: c n^b through the two largest n >= 1e4. */
function project(measured: ReadonlyArray<{ n: number; mean: number; fits: number }>, n: number, replications: number): number {
  // Only complete n: the first cells of a partly run n are its fastest ones.
  const complete = measured.filter((m) => m.fits >= replications).sort((a, b) => a.n - b.n);
  const big = complete.filter((m) => m.n >= 1e4);
  const last = (big.length > 0 ? big : complete).at(-1);
  if (last === undefined) return Number.NaN;
  let b = 1;
  if (big.length >= 2) {
    const prev = big[big.length - 2]!;
    b = Math.min(2, Math.max(1, Math.log(last.mean / prev.mean) / Math.log(last.n / prev.n)));
  }
  return last.mean * Math.pow(n / last.n, b);
}

export function throughput(study: StudyGrid, lines: ReadonlyArray<Line>): VariantThroughput[] {
  return variantNames(study).map((variant) => {
    const mine = lines.filter((l) => l.variant === variant && study.n.includes(l.n));
    const measured = study.n
      .map((n) => {
        const s = mine.filter((l) => l.n === n).map((l) => l.cellSeconds ?? l.seconds ?? 0);
        return { n, fits: s.length, sum: s.reduce((a, b) => a + b, 0) };
      })
      .filter((m) => m.fits > 0)
      .map((m) => ({ ...m, mean: m.sum / m.fits }));
    let doneSeconds = 0;
    let todoSeconds = 0;
    const perN = study.n.map((n) => {
      const m = measured.find((x) => x.n === n);
      const missing = study.replications - (m?.fits ?? 0);
      doneSeconds += m?.sum ?? 0;
      const projectedMean = missing > 0 ? project(measured, n, study.replications) : Number.NaN;
      if (missing > 0) todoSeconds += missing * projectedMean;
      return m !== undefined ? { n, fits: m.fits, meanSeconds: m.mean, projected: false } : { n, fits: 0, meanSeconds: projectedMean, projected: true };
    });
    return { variant, perN, doneSeconds, todoSeconds };
  });
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2);
}

function main(argv: string[]): void {
  const dir = argv.find((a) => !a.startsWith('--')) ?? join('experiments', 'vpt-vs-vapt');
  const wi = argv.indexOf('--workers');
  const workers = wi >= 0 ? Number(argv[wi + 1]) : 2;
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write('study-throughput: --workers must be a positive integer, e.g. --workers 2\n');
    process.exit(2);
  }
  const studyPath = join(dir, 'study.json');
  const resultsPath = join(dir, 'results.jsonl');
  if (!existsSync(studyPath) || !existsSync(resultsPath)) {
    process.stderr.write(`study-throughput: ${dir} needs study.json and results.jsonl (run \`prompt-experts simulate ${studyPath}\` first)\n`);
    process.exit(2);
  }
  const study = JSON.parse(readFileSync(studyPath, 'utf8')) as StudyGrid;
  const lines = readFileSync(resultsPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
  const rows = throughput(study, lines);
  const at = (r: VariantThroughput, n: number): string => {
    const p = r.perN.find((x) => x.n === n);
    if (p === undefined) return '-';
    return `${fmt(p.meanSeconds)}${p.projected ? ' (proj.)' : ''}`;
  };
  const fps = (r: VariantThroughput, n: number): string => {
    const p = r.perN.find((x) => x.n === n);
    return p === undefined || p.projected ? '-' : fmt(1 / p.meanSeconds);
  };
  const out: string[] = [];
  out.push(`| variant | s / cell at 1e5 | fits / s at 1e5 | s / cell at 1e6 | fits / s at 1e6 | core-h done | core-h to do |`);
  out.push('|---|---|---|---|---|---|---|');
  let done = 0;
  let todo = 0;
  for (const r of rows) {
    done += r.doneSeconds;
    todo += r.todoSeconds;
    out.push(`| ${r.variant} | ${at(r, 1e5)} | ${fps(r, 1e5)} | ${at(r, 1e6)} | ${fps(r, 1e6)} | ${(r.doneSeconds / 3600).toFixed(2)} | ${(r.todoSeconds / 3600).toFixed(2)} |`);
  }
  out.push('');
  out.push(`${lines.length} results lines; grid ${study.n.length} n x ${study.replications} replications x ${rows.length} variants.`);
  out.push(`Core-hours: ${(done / 3600).toFixed(1)} measured, ${(todo / 3600).toFixed(1)} projected to do; whole study on ${workers} cores: ${((done + todo) / 3600 / workers).toFixed(1)} h wall (${(todo / 3600 / workers).toFixed(1)} h left).`);
  process.stdout.write(out.join('\n') + '\n');
}

if (process.argv[1] !== undefined && /study-throughput\.[jt]s$/.test(process.argv[1])) main(process.argv.slice(2));
