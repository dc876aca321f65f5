/** `prompt-experts recap experiments/<study> --from-cap M`: raise an iteration cap, refitting only the fits the old cap stopped. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type Command, parseFlags } from './command.js';
import { loadStudy } from '../study/runner.js';
import { recapStudy, RECAP_KINDS } from '../study/recap.js';

export const recapCommand: Command = {
  name: 'recap',
  summary: 'after raising estimator.maxIterations, keep the fits the old cap did not stop and drop the rest for simulate to refit',
  help: `Usage: prompt-experts recap experiments/<study> --from-cap M [--variant V]... [--dry-run] [--quick]

For a study whose results were made with estimator.maxIterations = M, after study.json raised it
(for some variants, or for all). Levenberg-Marquardt uses the cap only as its loop bound and a
cell's seed does not depend on the config, so a fit that stopped before M is the same fit under
the higher cap, to the bit; only fits that M stopped (for multistart: any start that M stopped)
can change. recap finds the lines made under each variant's config with the cap set back to M
(nothing else in the config may have changed), keeps those the cap did not stop under the new
config hash, and drops the others. Then \`prompt-experts simulate <study>/study.json\` refits
exactly the dropped cells; the file ends as a run under the new cap would have written it.

  --from-cap M   the cap the lines were made under (required)
  --variant V    only variant V (repeatable; a base name covers every protocol); default: every
                 variant whose cap in study.json is above M
  --dry-run      count what would be kept and dropped; write nothing
  --quick        results.quick.jsonl

Kinds accepted: ${RECAP_KINDS.join(', ')} (fitted by Levenberg-Marquardt). Holds results.jsonl's lock
while writing, so it refuses while a run writes.
`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { 'from-cap': { type: 'string' }, variant: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, quick: { type: 'boolean' } }, 'recap');
    const dir = positionals[0];
    if (dir === undefined || positionals.length > 1) throw new InputError('recap arguments', 'one study folder (experiments/<study>)');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'a study folder holding study.json');
    const raw = values['from-cap'];
    if (typeof raw !== 'string') throw new InputError('--from-cap', 'the cap the lines were made under, e.g. --from-cap 3000');
    const fromCap = Number(raw);
    const study = loadStudy(join(dir, 'study.json'));
    const variants = values.variant as string[] | undefined;
    const s = recapStudy(study, dir, { fromCap, ...(variants === undefined ? {} : { variants }), dryRun: values['dry-run'] === true, quick: values.quick === true });
    for (const v of s.variants) io.out(`${v.variant}: cap ${v.fromCap} -> ${v.toCap}: ${v.kept} lines kept, ${v.dropped} dropped (stopped at the old cap)\n`);
    const dropped = s.variants.reduce((a, v) => a + v.dropped, 0);
    io.out(`${values['dry-run'] === true ? 'dry run: nothing written' : `rewrote ${s.out}`}; ${s.untouched} lines of other variants or configs left as they were${dropped > 0 && values['dry-run'] !== true ? `; run \`prompt-experts simulate ${join(dir, 'study.json')}\` to refit the ${dropped} dropped cells` : ''}\n`);
    return 0;
  },
};
