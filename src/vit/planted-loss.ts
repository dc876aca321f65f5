/**
 * The two numbers the planted-prompt experiment reports, kept behind one small interface so the
 * ViT code reads like the simulation:
 *
 *   Voronoi loss D1 of unweighted atoms (THEORY.md §4, softmax D1 without the weight term):
 *     every fitted atom joins the cell of its nearest planted atom (Euclidean);
 *     D1 = sum over cells j: singleton cells ||theta_i - theta*_j||, cells of several atoms
 *          sum_i ||theta_i - theta*_j||^2; empty cells add nothing.
 *   Rate: OLS slope of log loss on log n, with a 95% percentile bootstrap interval that resamples
 *     the replications within each n (2,000 resamples, seeded).
 *
 * These mirror src/loss/voronoi.ts and src/rates of the simulation toolkit for this one case
 * (unweighted atoms, exact- or over-specified).
 */
import { makeRng } from '../util/rng.js';

function dist2(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    s += d * d;
  }
  return s;
}

/** Voronoi D1 loss between fitted atoms and planted atoms (rows of parameters). */
export function promptAtomLoss(fitted: ReadonlyArray<readonly number[]>, planted: ReadonlyArray<readonly number[]>): number {
  if (planted.length === 0) return 0;
  const cells: number[][] = planted.map(() => []);
  for (const f of fitted) {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    planted.forEach((p, j) => {
      const d = dist2(f, p);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    });
    (cells[best] as number[]).push(bestD);
  }
  let loss = 0;
  for (const c of cells) {
    if (c.length === 1) loss += Math.sqrt(c[0] as number);
    else for (const d of c) loss += d;
  }
  return loss;
}

function ols(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  return sxy / sxx;
}

/** Slope of log loss on log n with a bootstrap 95% interval (resampling within each n). */
export function slopeWithInterval(points: ReadonlyArray<{ n: number; loss: number }>, seed: number, resamples = 2000): { slope: number; ci: [number, number] } {
  const byN = new Map<number, number[]>();
  for (const p of points) byN.set(p.n, [...(byN.get(p.n) ?? []), Math.log(p.loss)]);
  const ns = [...byN.keys()].sort((a, b) => a - b);
  const flatten = (groups: Map<number, number[]>): [number[], number[]] => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const n of ns) for (const y of groups.get(n) ?? []) {
      xs.push(Math.log(n));
      ys.push(y);
    }
    return [xs, ys];
  };
  const [xs, ys] = flatten(byN);
  const slope = ols(xs, ys);
  const rng = makeRng(seed);
  const boot: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const g = new Map<number, number[]>();
    for (const n of ns) {
      const ys0 = byN.get(n) as number[];
      g.set(n, ys0.map(() => ys0[rng.int(ys0.length)] as number));
    }
    const [bx, by] = flatten(g);
    boot.push(ols(bx, by));
  }
  boot.sort((a, b) => a - b);
  const q = (p: number): number => boot[Math.min(boot.length - 1, Math.max(0, Math.floor(p * boot.length)))] as number;
  return { slope, ci: [q(0.025), q(0.975)] };
}
