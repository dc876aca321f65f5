/** `prompt-experts rates experiments/<study>`: slopes with confidence intervals against the claims. */
import { existsSync, statSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { type Command, intFlag, parseFlags } from './command.js';
import { renderPerNMarkdown, renderRateMarkdown, renderRateTable, studyRateTable } from '../study/rates-table.js';

/** More resamples than this change the interval's endpoints by less than their own rounding. */
const MAX_BOOTSTRAP = 100_000;

export const ratesCommand: Command = {
  name: 'rates',
  summary: 'slope of log(loss) on log(n) per variant and loss, with CI, against the claimed rates',
  help: `Usage: prompt-experts rates experiments/<study> [--quick] [--json | --markdown [--per-n]] [--all-losses | --loss NAME ...]
                   [--variant V ...] [--healthy] [--of-means] [--level P] [--bootstrap B] [--drop-duplicates]

Reads experiments/<study>/results.jsonl (results.quick.jsonl with --quick) and, per variant and
loss, fits the OLS slope of log(loss) on log(n) with a bootstrap percentile interval
(replications resampled within each n) and the (log n / n)^gamma form. Each row is set beside the
rate the study's claims attach to that (variant, loss) and the verdict: 'consistent' if the
slope the claim implies over the measured n grid lies in the interval, 'faster' if the interval
lies below it, 'slower' if above, 'unreliable (cap)' if at some n more than the study's
health.capShare (default 5%) of the fits stopped at the iteration cap. Each row is also judged
against the study's other claims about the same loss, so you can see whether the data tell
them apart. With "protocols" in the study, a verdict is 'robust' only when every start protocol
gives it. Losses per fitted atom (atoms-single, atoms-multi, atoms-multi-min) and the health
shares (cap / switched off / escaped) are explained in docs/theory.md §5 and §7.

Only lines of the study's own variants (current config), n grid and replications count; the
others are counted and reported. Two lines for one (variant, n, rep) are an error naming the
lines. Exit 2 when no row can be fitted.

Options:
  --quick            the quick results
  --json             the table as JSON (format in src/study/rates-table.ts; read by src/figures)
  --markdown         the table as Markdown (experiments/README.md)
  --all-losses       a row for every loss in the results, not only the study's main loss
  --loss NAME        rows for this loss only (repeatable), e.g. --loss atoms-multi
  --variant V        rows for this variant only (repeatable; a base name covers every protocol)
  --per-n            with --markdown: the per-n table (median [IQR], shares at cap / switched
                     off / escaped) of each row instead of the slope table
  --level P          confidence level in (0, 1) (default 0.95)
  --bootstrap B      bootstrap resamples, 0 to ${MAX_BOOTSTRAP} (default 2000)
  --drop-duplicates  keep the first of duplicate (variant, n, rep) lines and count the rest
  --healthy          only fits with no atom switched off or escaped (the merging fits the
                     slow-rate theory is about; a selection, so read it beside the full table)
  --of-means         fit log(mean loss at n) on log n, one point per n, the regression published
                     simulations report (the bootstrap still resamples replications within each
                     n); without it every fit's log loss is a point (the slope of the geometric mean)
`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { quick: { type: 'boolean' }, json: { type: 'boolean' }, markdown: { type: 'boolean' }, 'all-losses': { type: 'boolean' }, 'drop-duplicates': { type: 'boolean' }, loss: { type: 'string', multiple: true }, variant: { type: 'string', multiple: true }, 'per-n': { type: 'boolean' }, healthy: { type: 'boolean' }, 'of-means': { type: 'boolean' }, level: { type: 'string' }, bootstrap: { type: 'string' } },
      'rates',
    );
    const dir = positionals[0];
    if (dir === undefined || positionals.length > 1) throw new InputError('rates arguments', 'one study folder (experiments/<study>)');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'a study folder holding study.json');
    const quick = values.quick === true;
    const level = values.level === undefined ? 0.95 : Number(values.level);
    if (!(level > 0 && level < 1)) throw new InputError('--level', 'a number in (0, 1)', JSON.stringify(values.level));
    const bootstrap = intFlag(values.bootstrap as string | undefined, 'bootstrap', 2000, 0, MAX_BOOTSTRAP);
    const { lines: _lines, config: _config, ...table } = studyRateTable(dir, { quick, level, bootstrap, allLosses: values['all-losses'] === true, dropDuplicates: values['drop-duplicates'] === true, ...(values.loss === undefined ? {} : { losses: values.loss as string[] }), ...(values.variant === undefined ? {} : { variants: values.variant as string[] }), healthyOnly: values.healthy === true, ofMeans: values['of-means'] === true });
    const out = values.json === true ? JSON.stringify(table, null, 2) : values.markdown === true ? (values['per-n'] === true ? renderPerNMarkdown(table) : renderRateMarkdown(table)) : renderRateTable(table);
    io.out(`${out}\n`);
    return 0;
  },
};
