/**
 * `prompt-experts vit <pretrain|sweep|planted>`: the ViT prompt experiments (issue 4).
 * Every subcommand takes --backend auto|node-gpu|webgpu|wasm|cpu and prints the backend and device
 * it ran on (also recorded in every results line).
 */
import { InputError } from '../util/errors.js';
import { type Command, intFlag, parseFlags } from './command.js';
import { describeBackend, parseBackend, selectBackend, type BackendRequest } from '../vit/backend.js';
import { DEFAULT_PRETRAIN, TINY_ARCH, pretrainBackbone } from '../vit/train/pretrain.js';
import { ensureBackbone, mergeSweep, runSweep } from '../vit/sweep.js';
import { runPlanted } from '../vit/planted.js';
import { mergePlantedLayer, runPlantedLayer } from '../vit/planted-layer-study.js';
import { loadPlantedLayerStudy, loadPlantedStudy, loadSweepStudy, studyKind } from '../vit/study.js';
import { parseShard, type Shard } from '../study/runner.js';
import { disposeVit } from '../vit/index.js';
import { dirname } from 'node:path';

const HELP = `Usage: prompt-experts vit <subcommand> [options]

Subcommands:
  pretrain [--out DIR] [--steps N] [--seed S]
      Pretrain a backbone ViT (28x28 MNIST, patch 7, width 48, depth 3, 3 heads) on digits 0-4
      and save it as a tfjs-format checkpoint folder (model.json + weights.bin; default
      experiments/vit-tiny/backbone). Resumes from DIR/partial if a run was cut.
  backbone experiments/<study>/study.json
      Pretrain the study's backbone into experiments/<study>/backbone/ if it is missing (any ViT
      study kind), then print its metadata. Run it once before starting shards (--shard).
  sweep experiments/<study>/study.json [--shard i/N]
      Sample-efficiency sweep: methods x tasks x n x seeds on the study's frozen backbone
      (pretrained into experiments/<study>/backbone/ first when missing). Appends one line per cell
      to experiments/<study>/results.jsonl and skips cells already there (resumable):
        {"study","method","base","task","group","n","seed","accuracy","error","loss","trainLoss",
         "tunableParams","promptParams","activePromptParams","steps","lr","backend","device",
         "seconds","imagesPerSecond","finished"} (imagesPerSecond: training images through forward and
         backward per second of the cell's training wall time, for comparing backends and devices)
      Sessions (start, end, backend, device, versions, backbone) go to run.json beside it.
  planted experiments/<study>/study.json [--quick] [--shard i/N]
      Planted prompts; what runs depends on the study's "kind":
      "vit-planted" (e.g. experiments/vit-planted-tiny): a teacher (frozen backbone + planted VPT
      or VAPT prompt parameters) maps real MNIST images to its CLS features plus Gaussian noise;
      a student with the same backbone fits the prompts by a fixed number of AdamW steps; the
      Voronoi loss between fitted and planted prompt atoms against n. One line per fit
      ({"kind":"fit","form","n","seed","loss",...}) and, after the run, one line per form with
      the slope of log loss on log n and its bootstrap 95% interval ({"kind":"slope",...}).
      "vit-planted-layer" (e.g. experiments/vit-planted-layer): prompts planted in ONE attention
      layer ("block") of the frozen backbone: VPT-deep, key-value (prefix / E2VPT) or VAPT prompt
      atoms with score biases; the backbone runs the images to that block once (any backend),
      then everything is float64: targets are the layer's outputs on ALL tokens and heads plus
      N(0, noise^2) per coordinate; exact (L = L*), over-specified (L = L* + 1) and, with
      regime "over-floor" and "weightFloor": w, over-specified students whose fitted weights
      exp(b_j) stay >= w (the merging regime) start
      from the truth + start.scale noise and are fitted by L-BFGS (preconditioned by the
      Gauss-Newton matrix on 32 images, refreshed every 100 steps) until the relative objective
      change over fit.window steps <= fit.ftol and the gradient norm <= fit.gtol, or fit.maxSteps.
      One line per fit ({"kind":"fit","form","regime","n","seed","stopReason","converged",
      "atCap","steps","trainObjective","noiseVar","D1","atoms-single","atoms-multi",
      "atoms-multi-min","gateMeans","muted","estimate",...}; gateMeans: each prompt's mean
      attention share, muted: a prompt turned off by its key) and, after the run, one slope
      line per (form, regime, loss) over the converged fits and one over all fits, with the share of fits per n stopped by the cap
      ("capShare") and by anything but the tolerance ("unconvergedShare").
      --quick runs the study's "quick" block into results.quick.jsonl / run.quick.json.
  merge experiments/<study>/study.json [FILE.jsonl ...]
      Combine the shards of a "vit-sweep" or "vit-planted-layer" study (every
      results.shard-I-of-N.jsonl beside study.json, or the files named) with results.jsonl into
      results.jsonl: one line per cell (the first copy wins, results.jsonl first), in study order;
      a planted-layer study's slope lines are recomputed from all fits; run.json gains the
      shards' sessions. Prints how many cells of the grid are still missing.

Options (all subcommands):
  --backend B   auto | node-gpu | webgpu | wasm | cpu (default auto: node-gpu, a hardware
                WebGPU adapter, wasm, cpu, first that works)
  --quiet       no progress output
  --shard i/N   (sweep, planted-layer) run only the cells at positions i-1 mod N of the study's
                order into results.shard-i-of-N.jsonl / run.shard-i-of-N.json, so N processes
                can share a machine; the backbone must exist first (vit backbone); combine the
                shards with vit merge. Each shard resumes like the whole study.
`;

export const vitCommand: Command = {
  name: 'vit',
  summary: 'ViT prompt experiments: pretrain a backbone, sample-efficiency sweep, planted prompts',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseFlags(
      rest,
      { backend: { type: 'string' }, quiet: { type: 'boolean' }, quick: { type: 'boolean' }, out: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, shard: { type: 'string' } },
      `vit ${sub ?? ''}`.trim(),
    );
    let backend: BackendRequest = 'auto';
    if (values.backend !== undefined) {
      try {
        backend = parseBackend(values.backend as string);
      } catch {
        throw new InputError('--backend', 'one of auto, node-gpu, webgpu, wasm, cpu', JSON.stringify(values.backend));
      }
    }
    const quiet = values.quiet === true;
    const log = (m: string): void => {
      if (!quiet) io.err(`${m}\n`);
    };
    const shard: Shard | undefined = values.shard === undefined ? undefined : parseShard(values.shard as string);
    if (shard !== undefined && sub !== 'sweep' && sub !== 'planted') throw new InputError('--shard', 'only with vit sweep or vit planted');
    const onePath = (): string => {
      const p = positionals[0];
      if (p === undefined || positionals.length > 1) throw new InputError(`vit ${sub} arguments`, 'one path to a study.json');
      return p;
    };
    switch (sub) {
      case 'pretrain': {
        if (positionals.length > 0) throw new InputError('vit pretrain arguments', 'no positional arguments (use --out DIR)');
        if (values.quick !== undefined) throw new InputError('vit pretrain arguments', '--out, --steps, --seed, --backend, --quiet (no --quick)');
        const info = await selectBackend(backend, { log });
        io.err(`backend: ${describeBackend(info)}\n`);
        const out = (values.out as string | undefined) ?? 'experiments/vit-tiny/backbone';
        const meta = await pretrainBackbone(out, {
          ...DEFAULT_PRETRAIN,
          vit: TINY_ARCH,
          steps: intFlag(values.steps as string | undefined, 'steps', DEFAULT_PRETRAIN.steps),
          seed: intFlag(values.seed as string | undefined, 'seed', DEFAULT_PRETRAIN.seed, 0),
          label: quiet ? null : 'pretrain',
        });
        io.out(`${JSON.stringify({ out, ...meta, device: info.device })}\n`);
        return 0;
      }
      case 'sweep': {
        if (values.out !== undefined || values.steps !== undefined || values.seed !== undefined || values.quick !== undefined) throw new InputError('vit sweep arguments', 'only --backend, --quiet and --shard (steps and seeds live in study.json)');
        const s = await runSweep(onePath(), { backend, quiet, log, shard });
        io.out(`${JSON.stringify(s)}\n`);
        return 0;
      }
      case 'planted': {
        if (values.out !== undefined || values.steps !== undefined || values.seed !== undefined) throw new InputError('vit planted arguments', 'only --backend, --quiet, --quick and --shard (steps and seeds live in study.json)');
        const path = onePath();
        if (studyKind(path) === 'vit-planted-layer') {
          const s = await runPlantedLayer(path, { backend, quiet, log, quick: values.quick === true, shard });
          io.out(`${JSON.stringify(s)}\n`);
          return 0;
        }
        if (shard !== undefined) throw new InputError('--shard', 'a "vit-planted-layer" or "vit-sweep" study');
        if (values.quick === true) throw new InputError('--quick', 'a "vit-planted-layer" study (vit-planted studies have no quick block)');
        const s = await runPlanted(path, { backend, quiet, log });
        io.out(`${JSON.stringify(s)}\n`);
        return 0;
      }
      case 'backbone': {
        if (values.out !== undefined || values.steps !== undefined || values.seed !== undefined || values.quick !== undefined) throw new InputError('vit backbone arguments', 'only --backend and --quiet (the backbone block lives in study.json)');
        const path = onePath();
        const kind = studyKind(path);
        const block =
          kind === 'vit-sweep' ? loadSweepStudy(path).backbone
          : kind === 'vit-planted' ? loadPlantedStudy(path).backbone
          : kind === 'vit-planted-layer' ? loadPlantedLayerStudy(path).backbone
          : undefined;
        if (block === undefined) throw new InputError(`${path}: kind`, '"vit-sweep", "vit-planted" or "vit-planted-layer"', JSON.stringify(kind));
        const info = await selectBackend(backend, { log });
        log(`backend: ${describeBackend(info)}`);
        const { weights, meta } = await ensureBackbone(dirname(path), block, log, quiet);
        disposeVit(weights);
        io.out(`${JSON.stringify({ backbone: `${dirname(path)}/backbone`, ...meta, backend: info.backend, device: info.device })}\n`);
        return 0;
      }
      case 'merge': {
        if (values.backend !== undefined || values.out !== undefined || values.steps !== undefined || values.seed !== undefined) throw new InputError('vit merge arguments', 'a study.json, then optional results files (and --quick for a planted-layer study)');
        const [path, ...inputs] = positionals;
        if (path === undefined) throw new InputError('vit merge arguments', 'the path to a study.json');
        const kind = studyKind(path);
        if (kind === 'vit-sweep' && values.quick === true) throw new InputError('--quick', 'a "vit-planted-layer" study (a sweep has no quick block)');
        const s =
          kind === 'vit-sweep' ? mergeSweep(path, inputs)
          : kind === 'vit-planted-layer' ? mergePlantedLayer(path, { quick: values.quick === true, inputs })
          : undefined;
        if (s === undefined) throw new InputError(`${path}: kind`, '"vit-sweep" or "vit-planted-layer"', JSON.stringify(kind));
        io.out(`merged ${s.inputs.length} file${s.inputs.length === 1 ? '' : 's'} into ${s.out}: ${s.lines} cells (${s.duplicates} duplicate lines dropped); ${s.missing} of ${s.total} grid cells missing\n`);
        return 0;
      }
      default:
        throw new InputError('vit subcommand', 'pretrain, backbone, sweep, planted or merge', sub === undefined ? 'nothing' : JSON.stringify(sub));
    }
  },
};
