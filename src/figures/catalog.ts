/**
 * Every committed figure: its id (file stem under figures/), the committed inputs it reads, a
 * sentence for the README gallery, and how to build its vega-lite spec from those inputs. No
 * figure re-runs a simulation: rate plots read results.jsonl and fit slopes (src/rates) with
 * fixed bootstrap seeds, so the same inputs give the same bytes.
 * Add a figure by appending an entry here; `prompt-experts figures` renders them all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VlSpec } from './render.js';
import { ratePlotSpec, type RateClaim } from './specs/rate-plot.js';
import { gateHeatmapSpec } from './specs/gate-heatmap.js';
import { sampleEfficiencySpec, type EfficiencyPoint } from './specs/sample-efficiency.js';
import { simVsVitSpec, type SlopeEntry } from './specs/sim-vs-vit.js';
import { simVsVitComparison, type SimVsVitRow } from './sim-vs-vit-data.js';
import { gatePanels } from './gates.js';
import { studyRateTable, type RateRow } from '../study/rates-table.js';
import { readJsonl } from '../vit/results.js';
import { fmt } from './specs/common.js';

export interface CatalogFigure {
  readonly id: string;
  /** One sentence for the gallery: what the figure shows. */
  readonly caption: string;
  /** Committed files it is built from, relative to the repository root. */
  readonly inputs: ReadonlyArray<string>;
  /** Inputs may be absent (e.g. results of a run still to come): `figures --check` then skips it instead of failing. */
  readonly optional?: boolean;
  build(root: string): VlSpec;
}

/** Local slope of 1/log(n)^tau over [nMin, nMax]: the reference line for "slower than any power". */
function inverseLogSlope(nMin: number, nMax: number, tau = 1): number {
  return (-tau * (Math.log(Math.log(nMax)) - Math.log(Math.log(nMin)))) / (Math.log(nMax) - Math.log(nMin));
}

function claimOf(row: RateRow): RateClaim | undefined {
  if (row.claim === null) return undefined;
  if (row.claimedSlope !== null) return { series: row.variant, slope: row.claimedSlope, label: `${row.claim.rate} (claimed)` };
  return { series: row.variant, slope: inverseLogSlope(row.nMin, row.nMax), label: '1/log n (claimed form, tau = 1)' };
}

function rateFigure(root: string, study: string, opts: { variants?: ReadonlyArray<string>; loss?: string; title: string; lossTitle: string; size: 'single' | 'double'; panels?: (v: string) => string }): VlSpec {
  const table = studyRateTable(join(root, 'experiments', study), { bootstrap: 2000, ...(opts.loss === undefined ? {} : { losses: [opts.loss] }), ...(opts.variants === undefined ? {} : { variants: opts.variants }) });
  const keep = (v: string): boolean => opts.variants === undefined || opts.variants.includes(v);
  const loss = opts.loss ?? table.mainLoss;
  const rows = table.rows.filter((r) => r.loss === loss && keep(r.variant));
  const claims = rows.map(claimOf).filter((c): c is RateClaim => c !== undefined);
  return ratePlotSpec({
    points: table.lines.filter((l) => keep(l.variant)).map((l) => ({ series: l.variant, n: l.n, loss: loss === table.mainLoss ? l.loss : (l.losses[loss] ?? NaN) })),
    fits: rows.map((r) => ({ series: r.variant, slope: r.slope, lo: r.ci[0], hi: r.ci[1], intercept: r.intercept })),
    claims,
    title: opts.title,
    lossTitle: opts.lossTitle,
    size: opts.size,
    ...(opts.panels === undefined ? {} : { panelOf: opts.panels }),
    ...(opts.variants === undefined ? {} : { seriesOrder: opts.variants }),
  });
}

/** atoms-multi of over-specified variants (names without the protocol), a panel per start protocol. */
function atomsMultiFigure(id: string, caption: string, names: ReadonlyArray<string>, title: string): CatalogFigure {
  const variants = ['[fixed]', '[multistart]'].flatMap((p) => names.map((m) => `${m} ${p}`));
  return {
    id,
    caption,
    inputs: ['experiments/vpt-vs-vapt/study.json', 'experiments/vpt-vs-vapt/results.jsonl'],
    build: (root) =>
      rateFigure(root, 'vpt-vs-vapt', {
        variants,
        loss: 'atoms-multi',
        title,
        lossTitle: 'largest atom error in a multi-atom cell',
        size: 'double',
        panels: (v) => (v.endsWith('[multistart]') ? 'multistart (best of 3)' : 'fixed start'),
      }),
  };
}

interface SweepLine { method: string; task: string; n: number; seed: number; accuracy: number }
interface PlantedSlope { kind: string; form: string; slope: number; ci: [number, number] }

export const CATALOG: ReadonlyArray<CatalogFigure> = [
  {
    id: 'attention-gates',
    caption: 'One attention head read as a bank of softmax-gated MoE models: the gates of every query row over the token experts and the prompt experts that VPT, E2VPT and VAPT add, each expert labelled with its kind in X as established numerically.',
    inputs: ['experiments/attention-gates/config.json'],
    build: (root) =>
      gateHeatmapSpec({ panels: gatePanels(JSON.parse(readFileSync(join(root, 'experiments/attention-gates/config.json'), 'utf8'))), title: 'Attention as a mixture of experts: gates with prompt experts' }),
  },
  {
    id: 'vpt-vs-vapt-paper',
    caption: 'VPT against VAPT prompt mixtures (softmax gates, exact and over-specified): Voronoi loss of the least-squares estimate against n, with fitted slopes and 95% bootstrap intervals.',
    inputs: ['experiments/vpt-vs-vapt/study.json', 'experiments/vpt-vs-vapt/results.jsonl'],
    build: (root) => rateFigure(root, 'vpt-vs-vapt', { variants: ['vpt exact [fixed]', 'vpt over [fixed]', 'vapt exact [fixed]', 'vapt over [fixed]'], title: 'Prompt estimation: VPT vs VAPT', lossTitle: 'Voronoi loss D\u2081', size: 'single' }),
  },
  atomsMultiFigure(
    'vpt-vs-vapt-atoms-multi',
    'The quantity the slow-rate claims are about: in over-specified fits, the largest unweighted error of the fitted atoms sharing a true atom (atoms-multi), VPT, prefix (kv) and VAPT, a panel per start protocol, with the claimed rates ((log n / n)^1/4 for VAPT, 1 / log n for VPT and prefix) as dashed lines.',
    ['vpt over', 'kv over', 'vapt over'],
    'Per-atom error in multi-atom Voronoi cells',
  ),
  atomsMultiFigure(
    'vpt-vs-vapt-atoms-multi-floor',
    'The same per-atom error in the merging regime: over-specified fits whose weights are kept above 0.25, so no surplus atom can be switched off by its bias; VPT, prefix (kv) and VAPT, a panel per start protocol, with the claimed rates as dashed lines.',
    ['vpt over floor', 'kv over floor', 'vapt over floor'],
    'Per-atom error in multi-atom cells, fitted weights floored (merging regime)',
  ),
  atomsMultiFigure(
    'vpt-vs-vapt-atoms-multi-gaussian',
    'The same per-atom error under Gaussian gating: VPT and VAPT over-specified fits, free and in the merging regime (canonical gate weights kept above 0.1, gate means within 2/sqrt(N), two standard deviations of the token mean, of their weighted centre), a panel per start protocol, with the claimed rates as dashed lines.',
    ['gaussian-gated vpt over', 'gaussian-gated vpt over floor', 'gaussian-gated vapt over', 'gaussian-gated vapt over floor'],
    'Per-atom error in multi-atom cells, Gaussian gating (free and floored)',
  ),
  {
    id: 'vpt-vs-vapt-rates',
    caption: 'Every prompt mixture of the VPT-vs-VAPT study under the fixed start, softmax gating (VPT, key-value, VAPT; free and weight-floored) beside Gaussian gating (VPT, VAPT): the D1 loss, which both kinds of claim expect near n^-1/2, with that rate as dashed lines.',
    inputs: ['experiments/vpt-vs-vapt/study.json', 'experiments/vpt-vs-vapt/results.jsonl'],
    build: (root) =>
      rateFigure(root, 'vpt-vs-vapt', {
        variants: ['vapt over', 'vpt over', 'kv over', 'vapt over floor', 'vpt over floor', 'kv over floor', 'vapt exact', 'vpt exact', 'kv exact', 'gaussian-gated vapt over', 'gaussian-gated vpt over', 'gaussian-gated vapt exact', 'gaussian-gated vpt exact'].map((v) => `${v} [fixed]`),
        title: 'Rates of prompt mixtures under softmax and Gaussian gating (fixed start)',
        lossTitle: 'Voronoi loss D\u2081',
        size: 'double',
        panels: (v) => (v.startsWith('gaussian-gated') ? 'Gaussian gating' : 'softmax gating'),
      }),
  },
  {
    id: 'gaussian-gated-repro-rates',
    caption: 'The published Gaussian-gated simulation (type I, k* = 3) refitted with k = 4 and 5: one EM step as the official code ran, against EM run to convergence, beside the published slopes.',
    inputs: ['experiments/gaussian-gated-repro/study.json', 'experiments/gaussian-gated-repro/results.jsonl'],
    build: (root) => rateFigure(root, 'gaussian-gated-repro', { title: 'Gaussian-gated MoE: published protocol vs converged EM', lossTitle: 'Voronoi loss (type I)', size: 'double', panels: (v) => (v.startsWith('k=4') ? 'k = 4' : 'k = 5') }),
  },
  {
    id: 'vit-tiny-sample-efficiency',
    caption: 'Tiny ViT on MNIST-derived tasks (wasm, CPU): test accuracy and test error of each prompt method and the baselines against the number of training images.',
    inputs: ['experiments/vit-tiny/results.jsonl'],
    build: (root) => {
      const lines = readJsonl<SweepLine>(join(root, 'experiments/vit-tiny/results.jsonl'));
      const points: EfficiencyPoint[] = lines.map((l) => ({ method: l.method, task: l.task, n: l.n, seed: l.seed, accuracy: l.accuracy }));
      return sampleEfficiencySpec({ points, title: 'Sample efficiency of prompt methods (tiny ViT)' });
    },
  },
  {
    id: 'sim-vs-vit',
    caption: 'Slopes of the per-atom errors against n: simulated prompt mixtures (fixed starts) beside planted prompts fitted in one layer of a real (tiny) ViT (all fits), for exact-specified students (atoms-single) and over-specified ones, free (over) and with every fitted weight kept above a floor (over-floor, the merging regime) (atoms-multi, the multi-atom cells the slow-rate claims are about; a ViT row where at least half of the fits stranded the surplus atom is marked "escaped (no rate)", its slope being the distance that atom travelled); below, the earlier CLS-feature ViT study (D1, a fixed step budget).',
    inputs: ['experiments/vpt-vs-vapt/study.json', 'experiments/vpt-vs-vapt/results.jsonl', 'experiments/vit-planted-layer/results.jsonl', 'experiments/vit-planted-tiny/results.jsonl'],
    build: (root) => {
      const entries: SlopeEntry[] = [];
      const shown = (r: SimVsVitRow): boolean => (r.regime === 'exact' && r.loss === 'atoms-single') || (r.regime !== 'exact' && r.loss === 'atoms-multi');
      for (const r of simVsVitComparison(root).filter(shown)) {
        const method = `${r.variant.split(' ')[0]} ${r.regime}`;
        if (r.sim !== null) entries.push({ source: `simulation, ${r.loss}`, method, slope: r.sim.slope, lo: r.sim.ci[0], hi: r.sim.ci[1] });
        // A slope of escaped atoms' distances is labelled as such (src/figures/sim-vs-vit-data.ts).
        const label = r.agreement === 'no rate (escaped)' ? 'ViT layer, escaped (no rate)' : `ViT layer, ${r.loss}`;
        if (r.vitAll !== null) entries.push({ source: label, method, slope: r.vitAll.slope, lo: r.vitAll.ci[0], hi: r.vitAll.ci[1] });
      }
      const planted = join(root, 'experiments/vit-planted-tiny/results.jsonl');
      if (existsSync(planted)) {
        for (const s of readJsonl<PlantedSlope>(planted).filter((l) => l.kind === 'slope')) {
          entries.push({ source: 'ViT CLS, D1, 150 steps', method: s.form, slope: s.slope, lo: s.ci[0], hi: s.ci[1] });
        }
      }
      return simVsVitSpec({ entries, claims: [{ label: `n^${fmt(-0.5, 1)}`, slope: -0.5 }, { label: `n^${fmt(-0.25, 2)}`, slope: -0.25 }, { label: 'no decay', slope: 0 }], title: 'Simulation vs ViT: slope of prompt-estimation loss', size: 'single' });
    },
  },
];

export function catalogFigure(id: string): CatalogFigure {
  const fig = CATALOG.find((f) => f.id === id);
  if (fig === undefined) throw new Error(`unknown figure ${JSON.stringify(id)}: expected one of ${CATALOG.map((f) => f.id).join(', ')}`);
  return fig;
}
