/**
 * Sample-efficiency curves of the ViT experiments: per task, mean test accuracy (top row) and
 * mean test error (bottom row, log-log) against the number of training examples n, one line per
 * method, the per-seed values as faint points. On the MNIST-derived tasks the Bayes error is
 * essentially 0, so test error is the excess error whose slope the theory speaks of.
 */
import type { VlSpec } from '../render.js';
import { SIZES, styleSeries, type ColumnSize } from '../theme.js';
import { base, decades, groupBy, logAxis, mean, round } from './common.js';

export interface EfficiencyPoint {
  readonly method: string;
  readonly task: string;
  readonly n: number;
  readonly seed: number;
  readonly accuracy: number;
}

export function sampleEfficiencySpec(input: { points: ReadonlyArray<EfficiencyPoint>; title?: string; subtitle?: string; size?: ColumnSize }): VlSpec {
  const size = input.size ?? 'double';
  const pts = input.points.filter((p) => Number.isFinite(p.accuracy) && p.n > 0);
  if (pts.length === 0) throw new Error('sample-efficiency plot: no points');
  const styles = styleSeries(pts.map((p) => p.method));
  const tasks = [...new Set(pts.map((p) => p.task))].sort();
  const rows: Record<string, unknown>[] = [];
  for (const p of [...pts].sort((a, b) => a.method.localeCompare(b.method) || a.task.localeCompare(b.task) || a.n - b.n || a.seed - b.seed)) {
    rows.push({ kind: 'seed', method: p.method, task: p.task, n: p.n, accuracy: round(p.accuracy), error: round(Math.max(1 - p.accuracy, 1e-4)) });
  }
  for (const [key, g] of groupBy(pts, (p) => `${p.method}\u0000${p.task}\u0000${p.n}`)) {
    const [method, task, n] = key.split('\u0000') as [string, string, string];
    const acc = mean(g.map((p) => p.accuracy));
    rows.push({ kind: 'mean', method, task, n: Number(n), accuracy: round(acc), error: round(Math.max(1 - acc, 1e-4)) });
  }
  rows.sort((a, b) => String(a.kind).localeCompare(String(b.kind)) || String(a.method).localeCompare(String(b.method)) || String(a.task).localeCompare(String(b.task)) || (a.n as number) - (b.n as number));
  const ns = pts.map((p) => p.n);
  const nTicks = decades(Math.min(...ns), Math.max(...ns));
  const nAxis = nTicks.length >= 1 ? logAxis('training examples n', [...new Set([...nTicks, Math.min(...ns), Math.max(...ns)])].sort((a, b) => a - b)) : { title: 'training examples n' };
  const x = { field: 'n', type: 'quantitative', scale: { type: 'log', nice: false, padding: 6 }, axis: nAxis };
  const color = { field: 'method', type: 'nominal', title: null, scale: { domain: styles.map((s) => s.name), range: styles.map((s) => s.color) }, legend: { orient: 'bottom', columns: 3 } };
  const strokeDash = { field: 'method', type: 'nominal', scale: { domain: styles.map((s) => s.name), range: styles.map((s) => [...s.dash]) }, legend: null };
  const width = Math.max(90, Math.floor((SIZES[size].width - 60 - 12 * (tasks.length - 1)) / tasks.length));
  const panel = (field: 'accuracy' | 'error') => ({
    width,
    height: 110,
    layer: [
      { transform: [{ filter: "datum.kind === 'seed'" }], mark: { type: 'point', filled: true, opacity: 0.3, size: 8 }, encoding: { x, y: yOf(field), color } },
      { transform: [{ filter: "datum.kind === 'mean'" }], mark: { type: 'line', point: { filled: true, size: 14 }, strokeWidth: 1.3 }, encoding: { x, y: yOf(field), color, strokeDash } },
    ],
  });
  return {
    ...base(input.title, input.subtitle ?? 'lines: mean over seeds; faint points: single seeds; error = 1 \u2212 accuracy (log scale)'),
    data: { values: rows },
    vconcat: (['accuracy', 'error'] as const).map((field) => ({
      facet: { column: { field: 'task', type: 'nominal', title: null, sort: tasks, header: field === 'error' ? { labels: false } : {} } },
      spec: panel(field),
    })),
    resolve: { scale: { color: 'shared' } },
  };
}

function yOf(field: 'accuracy' | 'error'): Record<string, unknown> {
  return field === 'accuracy'
    ? { field, type: 'quantitative', title: 'test accuracy', scale: { zero: false }, axis: { format: '.0%' } }
    : { field, type: 'quantitative', title: 'test error', scale: { type: 'log', nice: false }, axis: { format: '.2~f' } };
}
