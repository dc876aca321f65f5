/** `prompt-experts figures`: regenerate every committed figure from committed inputs. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type Command, parseFlags } from './command.js';

export const figuresCommand: Command = {
  name: 'figures',
  summary: 'regenerate the committed figures (SVG, PNG, vega-lite JSON) from committed results',
  help: `Usage: prompt-experts figures [--out DIR] [--only ID[,ID...]] [--check] [--list]

Builds every figure of the catalog (src/figures/catalog.ts) from the committed inputs under
experiments/ (results.jsonl files and configs) without re-running any simulation, and writes
DIR/ID.svg, DIR/ID.png (resvg, DejaVu Sans) and DIR/ID.vl.json (the vega-lite spec). The same
inputs give the same bytes. A figure whose inputs are missing is skipped with a message; with
--check that is a failure unless the catalog marks the figure optional.

  --out DIR     output folder (default figures)
  --only IDS    comma-separated figure ids
  --check       write nothing; exit 1 if any figure differs from the files in DIR or any
                (non-optional) figure's inputs are missing
  --list        print the ids, inputs and captions, then exit

Example: npm run figures         (build, then prompt-experts figures)
`,
  async run(argv, io) {
    // Loaded on use: the renderer (resvg, a native addon) is not needed by the other commands.
    const { CATALOG } = await import('../figures/catalog.js');
    const { renderFigure, specJson, writeFigure } = await import('../figures/render.js');
    const { values, positionals } = parseFlags(argv, { out: { type: 'string' }, only: { type: 'string' }, check: { type: 'boolean' }, list: { type: 'boolean' } }, 'figures');
    if (positionals.length > 0) throw new InputError('figures arguments', 'flags only (see --help)', positionals.join(' '));
    const out = (values.out as string | undefined) ?? 'figures';
    const only = typeof values.only === 'string' ? values.only.split(',').map((s) => s.trim()) : undefined;
    for (const id of only ?? []) if (!CATALOG.some((f) => f.id === id)) throw new InputError('--only', `figure ids among ${CATALOG.map((f) => f.id).join(', ')}`, JSON.stringify(id));
    const figures = CATALOG.filter((f) => only === undefined || only.includes(f.id));
    if (values.list === true) {
      for (const f of figures) io.out(`${f.id}\n  inputs: ${f.inputs.join(', ')}\n  ${f.caption}\n`);
      return 0;
    }
    const root = process.cwd();
    let differ = 0;
    for (const f of figures) {
      const missing = f.inputs.filter((p) => !existsSync(join(root, p)));
      if (missing.length > 0) {
        const fails = values.check === true && f.optional !== true;
        if (fails) differ++;
        io.err(`figures: ${fails ? 'cannot check' : 'skipping'} ${f.id}: missing ${missing.join(', ')}\n`);
        continue;
      }
      const t0 = Date.now();
      const spec = f.build(root);
      if (values.check === true) {
        const fig = await renderFigure(spec);
        const same = (file: string, bytes: Buffer): boolean => existsSync(file) && readFileSync(file).equals(bytes);
        const ok = same(join(out, `${f.id}.svg`), Buffer.from(fig.svg)) && same(join(out, `${f.id}.png`), fig.png) && same(join(out, `${f.id}.vl.json`), Buffer.from(specJson(spec)));
        if (!ok) differ++;
        io.out(`${f.id}: ${ok ? 'identical' : 'DIFFERS'} (${Date.now() - t0} ms)\n`);
      } else {
        const w = await writeFigure(out, f.id, spec);
        io.out(`${f.id}: ${w.changed.length === 0 ? 'unchanged' : `wrote ${w.changed.join(', ')}`} (${Date.now() - t0} ms)\n`);
      }
    }
    return differ > 0 ? 1 : 0;
  },
};
