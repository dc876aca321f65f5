/** `prompt-experts rescore experiments/<study>`: recompute the losses of stored fits without refitting. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type Command, parseFlags } from './command.js';
import { loadStudy } from '../study/runner.js';
import { rescoreStudy } from '../study/rescore.js';

export const rescoreCommand: Command = {
  name: 'rescore',
  summary: 'recompute the losses of a study\'s stored fits (e.g. a loss added since) without refitting',
  help: `Usage: prompt-experts rescore experiments/<study> [--quick]

Every results line keeps its fitted measure ("estimate"); the true measure is the variant's
(truth.json) or, for truths that depend on n, the line's own. rescore recomputes from them every
loss the variant's model kind measures now, and the per-atom losses and health flags, and
rewrites experiments/<study>/results.jsonl (results.quick.jsonl with --quick) in place, line order
kept. Lines of an older variant config, or without an estimate, are left as they are. Prints how
many lines were rescored, the loss names they gained, and the largest relative change of the
losses they already had (0, or rounding, when the scoring is the one that made them). Holds
results.jsonl's lock while writing (see simulate --help), so it refuses while a run writes.
`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { quick: { type: 'boolean' } }, 'rescore');
    const dir = positionals[0];
    if (dir === undefined || positionals.length > 1) throw new InputError('rescore arguments', 'one study folder (experiments/<study>)');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'a study folder holding study.json');
    const study = loadStudy(join(dir, 'study.json'));
    const s = await rescoreStudy(study, dir, { quick: values.quick === true });
    io.out(
      `rescored ${s.rescored} lines of ${s.out} (${s.skipped} left as they were); losses added: ${s.added.length === 0 ? 'none' : s.added.join(', ')}; largest relative change of existing losses: ${s.maxRelativeChange.toExponential(2)}\n`,
    );
    return 0;
  },
};
