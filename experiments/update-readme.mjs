#!/usr/bin/env node
// Renders each study's rate table (`prompt-experts rates <study> --markdown --all-losses`) into
// experiments/README.md between the markers <!-- rates:STUDY --> and <!-- /rates:STUDY -->, so
// no number produced by the code is typed by hand. Run after `npm run build`:
//   node experiments/update-readme.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const readme = `${here}README.md`;
const bin = fileURLToPath(new URL('../bin/prompt-experts.js', import.meta.url));
let text = readFileSync(readme, 'utf8');
for (const study of ['vpt-vs-vapt', 'gaussian-gated-repro']) {
  const args = [bin, 'rates', `${here}${study}`, '--markdown'];
  if (study === 'gaussian-gated-repro') args.push('--all-losses');
  const table = execFileSync(process.execPath, args, { encoding: 'utf8' }).trimEnd();
  const re = new RegExp(`(<!-- rates:${study} -->)[\\s\\S]*?(<!-- /rates:${study} -->)`);
  if (!re.test(text)) throw new Error(`README.md: no markers for ${study}`);
  text = text.replace(re, (_m, open, close) => `${open}\n${table}\n${close}`);
}
writeFileSync(readme, text);
process.stdout.write(`updated ${readme}\n`);
