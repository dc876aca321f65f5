#!/usr/bin/env node
// Renders each study's rate table (`prompt-experts rates <study> --markdown [flags]`) into
// experiments/README.md between the markers <!-- rates:STUDY [flags] --> and <!-- /rates:STUDY [flags] -->, so
// no number produced by the code is typed by hand. Run after `npm run build`:
//   node experiments/update-readme.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const readme = `${here}README.md`;
const bin = fileURLToPath(new URL('../bin/prompt-experts.js', import.meta.url));
let text = readFileSync(readme, 'utf8');
// Each marker names a study and, optionally, the rates flags of its table: <!-- rates:STUDY -->
// (the main loss), <!-- rates:STUDY --all-losses -->, <!-- rates:STUDY --loss atoms-multi --per-n -->.
// Replaces what stands between <!-- KEY --> and <!-- /KEY --> by body.
const fill = (key, body) => {
  const open = `<!-- ${key} -->`;
  const close = `<!-- /${key} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close, start);
  if (end < 0) throw new Error(`README.md: no closing marker ${close}`);
  text = `${text.slice(0, start + open.length)}\n${body}\n${text.slice(end)}`;
};
const markers = [...text.matchAll(/<!-- rates:([^ >]+)((?: --?[a-z-]+(?: "[^"]*"| [a-zA-Z0-9-]+)?)*) -->/g)];
if (markers.length === 0) throw new Error('README.md: no rates markers');
for (const [, study, flags] of markers) {
  const extra = [...flags.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  const args = [bin, 'rates', `${here}${study}`, '--markdown', ...extra];
  const table = execFileSync(process.execPath, args, { encoding: 'utf8' }).trimEnd();
  fill(`rates:${study}${flags}`, table.replaceAll(here, 'experiments/'));
}
// Tables drawn from data modules: <!-- table:sim-vs-vit --> ... <!-- /table:sim-vs-vit --> (src/figures),
// <!-- table:vit-planted-layer-per-n --> (src/vit/planted-layer-table.ts).
const tables = {
  'sim-vs-vit': async () => {
    const m = await import('../dist/src/figures/sim-vs-vit-data.js');
    return m.simVsVitMarkdown(m.simVsVitComparison(fileURLToPath(new URL('..', import.meta.url))));
  },
  'vit-planted-layer-per-n': async () => {
    const { readJsonl } = await import('../dist/src/vit/results.js');
    const m = await import('../dist/src/vit/planted-layer-table.js');
    const lines = readJsonl(fileURLToPath(new URL('vit-planted-layer/results.jsonl', import.meta.url)));
    return m.layerPerNMarkdown(m.layerPerN(lines.filter((l) => l.kind === 'fit')));
  },
};
for (const [name, render] of Object.entries(tables)) {
  if (text.includes(`<!-- table:${name} -->`)) fill(`table:${name}`, await render());
}
writeFileSync(readme, text);
process.stdout.write(`updated ${readme}\n`);
