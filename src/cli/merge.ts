/** `prompt-experts merge experiments/<study>`: combine shard results into results.jsonl. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type Command, parseFlags } from './command.js';
import { loadStudy } from '../study/runner.js';
import { mergeStudy } from '../study/merge.js';

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'combine the shards of a study (results.shard-*.jsonl) into results.jsonl',
  help: `Usage: prompt-experts merge experiments/<study> [--quick] [FILE.jsonl ...]

Combines results files into experiments/<study>/results.jsonl (results.quick.jsonl with --quick):
by default every results.shard-I-of-N.jsonl in the folder, or the files named. Lines are
deduplicated by cell (variant, n, rep), the first copy wins; copies made with different variant
configs are an error. The output is sorted (variant, n, rep), so the same inputs give the same
bytes. run.json gains each shard's sessions. Prints how many cells of the grid are still missing.
No file to merge is an error (exit 2, nothing written). Holds results.jsonl's lock while writing
(see simulate --help).
`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { quick: { type: 'boolean' } }, 'merge');
    const dir = positionals[0];
    if (dir === undefined) throw new InputError('merge arguments', 'a study folder (experiments/<study>)');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'a study folder holding study.json');
    const study = loadStudy(join(dir, 'study.json'));
    const s = mergeStudy(study, dir, { quick: values.quick === true, inputs: positionals.slice(1) });
    io.out(
      `merged ${s.inputs.length} file${s.inputs.length === 1 ? '' : 's'} into ${s.out}: ${s.lines} cells (${s.duplicates} duplicate lines dropped); ${s.missing} of ${s.total} grid cells missing\n`,
    );
    return 0;
  },
};
