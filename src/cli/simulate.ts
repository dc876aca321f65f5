/** `prompt-experts simulate experiments/<study>/study.json`: run (or resume) a rate study. */
import { dirname } from 'node:path';
import { InputError } from '../util/errors.js';
import { type Command, intFlag, parseFlags } from './command.js';
import { listKinds } from '../study/registry.js';
import { loadStudy, parseShard, runStudy } from '../study/runner.js';
import { DEFAULT_MAX_MEMORY, formatBytes, parseBytes, parseSeconds } from '../study/limits.js';
import '../study/kinds/index.js';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run a rate study (grid of variant x n x replication fits), resumable',
  get help() {
    return `Usage: prompt-experts simulate experiments/<study>/study.json [--quick] [--workers W] [--shard i/N] [--max-memory M] [--max-cell-seconds S]

Runs every cell (variant, n, rep) of the study's grid: simulate n samples from the variant's true
model with the cell's seed (deriveSeed(study.seed, variant, n, rep)), fit, measure the losses, and
append one JSON line per fit to experiments/<study>/results.jsonl as it goes. Cells already in the
file are skipped, so a killed run resumes where it stopped. Provenance (config hash, versions of
node and the dependencies, start and end times, workers) goes to run.json beside it.

Options:
  --quick        the study's "quick" block (smaller grid); writes results.quick.jsonl / run.quick.json
  --workers W    worker threads (default: all cores, os.availableParallelism()); 0 = in this thread
  --shard i/N    run only shard i of N (cells whose canonical index is i-1 mod N) and write
                 results.shard-i-of-N.jsonl; combine the shards with \`prompt-experts merge\`
  --variant V    run only variant V (repeatable; with "protocols", "<variant> [<protocol>]")
  --max-n N      run only the cells with n <= N (the rest stay to do: a compute cut you can resume)
  --limit K      stop after K new cells
  --max-memory M refuse the study if one cell needs more than M (e.g. 512M, 16G; default
                 ${formatBytes(DEFAULT_MAX_MEMORY)}), estimated from the config before anything runs
  --max-cell-seconds S  refuse the study if one cell is estimated to take more than S seconds
                 (one probe cell per variant at the smallest n, timed and scaled linearly to the
                 largest; off by default)
  --quiet        no progress output

One writer per results file: a run holds <results file>.lock (pid and host) while it writes; a
second run on the same file exits with code 2 naming the holder (shards write different files
and run side by side). A lock left by a killed run on this host is taken over.

Results line (one per fit):
  {"variant","n","rep","seed","loss","losses":{...},"iterations","converged","objective",
   "restarts","seconds","cellSeconds","configHash","estimate":[{"weight","params":{...}}],
   "protocol","stopReason","atCap","starts":[...],"atoms":[{"cell","weight","distance","blocks"}],
   "cells":[{"trueIndex","size","weightSum","trueWeight"}],"switchedOff","escaped"}
  (the last group for mixture kinds; the true measures go once to truth.json; docs/theory.md
  explains the per-atom losses and the start protocols)

Truths and designs in n: any number under a variant's "truth" or "design" may be written
{ "expr": "<expression in n>" } (mathjs, natural log; n, pi, e and log, sqrt, exp, pow, abs, sin,
cos, tanh, min, max), e.g. "W": [{ "expr": "1 + 0.5 * n^(-1/4)" }]: each n's cells are simulated
from and scored against the truth at that n, recorded in truth.json ("truthByN": { "<n>": measure })
and in each results line ("truth"). Expressions are checked at every n of the grid before any
cell runs (exit 2 naming the field); the config hash holds the expression, so resuming and
stale-line checks work as for fixed truths.

Model kinds (\`prompt-experts kinds\` lists their fields, defaults, estimators and losses;
docs/theory.md explains the models and losses; a study's "plugins" adds kinds of your own):
${listKinds()
  .map((k) => `  ${k.kind.padEnd(22)} ${k.summary}`)
  .join('\n')}
`;
  },
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { quick: { type: 'boolean' }, workers: { type: 'string' }, shard: { type: 'string' }, limit: { type: 'string' }, 'max-n': { type: 'string' }, variant: { type: 'string', multiple: true }, quiet: { type: 'boolean' }, 'max-memory': { type: 'string' }, 'max-cell-seconds': { type: 'string' } },
      'simulate',
    );
    const path = positionals[0];
    if (path === undefined || positionals.length > 1) throw new InputError('simulate arguments', 'one path to a study.json');
    const study = loadStudy(path);
    const summary = await runStudy(study, dirname(path), {
      studyDir: dirname(path),
      quick: values.quick === true,
      workers: values.workers === undefined ? undefined : intFlag(values.workers as string, 'workers', 0, 0, 1024),
      shard: values.shard === undefined ? undefined : parseShard(values.shard as string),
      limit: values.limit === undefined ? undefined : intFlag(values.limit as string, 'limit', 0, 1),
      maxN: values['max-n'] === undefined ? undefined : intFlag(values['max-n'] as string, 'max-n', 0, 2),
      quiet: values.quiet === true,
      variants: values.variant === undefined ? undefined : (values.variant as string[]),
      maxMemory: values['max-memory'] === undefined ? undefined : parseBytes(values['max-memory'] as string, '--max-memory'),
      maxCellSeconds: values['max-cell-seconds'] === undefined ? undefined : parseSeconds(values['max-cell-seconds'] as string, '--max-cell-seconds'),
    });
    return summary.failed > 0 ? 1 : 0;
  },
};
