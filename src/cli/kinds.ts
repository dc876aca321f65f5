/**
 * `prompt-experts kinds [STUDY.json] [--json]`: every model kind a study can name, with its
 * "model" and "estimator" fields (type, default), its estimators and its losses, read from the
 * kinds' own zod schemas (so the list cannot drift from what the config accepts). With a study
 * file, its plugins are loaded first and their kinds listed too.
 */
import { dirname } from 'node:path';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { type Command, parseFlags } from './command.js';
import { listKinds, type ModelKind } from '../study/registry.js';
import { loadStudy } from '../study/runner.js';
import { loadPlugins, pluginUrls } from '../study/plugins.js';
import { GENERIC_LOSSES } from '../study/generic-losses.js';
import { N_DEPENDENT_ROOTS } from '../study/n-expressions.js';
import '../study/kinds/index.js';

export interface FieldDoc {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  readonly default?: unknown;
}

export interface KindDoc {
  readonly kind: string;
  readonly summary: string;
  readonly model: FieldDoc[];
  readonly estimator: FieldDoc[];
  readonly estimators: string[];
  readonly losses: string[];
  /** Model fields whose numbers may be expressions in n ({ "expr": "..." }; study/n-expressions.ts). */
  readonly nDependent: string[];
}

type Json = { type?: string | string[]; enum?: unknown[]; const?: unknown; anyOf?: Json[]; oneOf?: Json[]; items?: Json; properties?: Record<string, Json>; required?: string[]; default?: unknown };

function typeOf(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum !== undefined) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts !== undefined) return alts.map(typeOf).join(' | ');
  if (s.type === 'array') return `${s.items === undefined ? 'unknown' : typeOf(s.items)}[]`;
  if (s.type === 'object' && s.properties !== undefined)
    return `{ ${Object.entries(s.properties).map(([k, v]) => (k === 'kind' && v.const !== undefined ? `kind: ${JSON.stringify(v.const)}` : k)).join(', ')} }`;
  if (s.type === 'integer') return 'integer';
  return Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'value');
}

function fields(schema: z.ZodType | undefined): FieldDoc[] {
  if (schema === undefined) return [];
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const required = new Set(js.required ?? []);
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, type: typeOf(s), required: required.has(name) && s.default === undefined, ...(s.default === undefined ? {} : { default: s.default }) }));
}

export function describeKind(k: ModelKind): KindDoc {
  const model = fields(k.schemas?.model);
  return {
    kind: k.kind,
    summary: k.summary,
    model,
    estimator: fields(k.schemas?.estimator),
    estimators: [...(k.estimators ?? [])],
    losses: [...(k.lossNames ?? []), ...GENERIC_LOSSES],
    nDependent: N_DEPENDENT_ROOTS.filter((r) => model.some((f) => f.name === r)),
  };
}

function render(d: KindDoc): string {
  const line = (f: FieldDoc): string => `    ${f.name.padEnd(14)} ${f.type}${f.required ? '  (required)' : f.default === undefined ? '  (optional)' : `  (default ${JSON.stringify(f.default)})`}`;
  return [
    `${d.kind}: ${d.summary}`,
    '  model:',
    ...d.model.map(line),
    `  estimator${d.estimators.length > 0 ? ` (${d.estimators.join(', ')})` : ''}:`,
    ...d.estimator.map(line),
    `  losses: ${d.losses.join(', ')}`,
    ...(d.nDependent.length > 0 ? [`  in n: any number under ${d.nDependent.join(', ')} may be { "expr": "<expression in n>" } (a truth or design that changes with n)`] : []),
  ].join('\n');
}

export const kindsCommand: Command = {
  name: 'kinds',
  summary: 'list the model kinds a study can use: fields, defaults, estimators, losses',
  help: `Usage: prompt-experts kinds [experiments/<study>/study.json] [--json]

Lists every model kind a study.json can name in "model": { "kind": ... }: the fields of its
"model" and "estimator" blocks with their types and defaults, the estimators, and the loss names
its cells report ("loss" and claims' "loss" must be one of them; the generic per-atom losses
${GENERIC_LOSSES.join(', ')} are valid for every kind). With a study file, the plugins it names
are loaded first and their kinds are listed too. The models, parameters and losses are explained
in docs/theory.md; README.md has one complete study per kind.

Truths and designs that change with n: any number under a kind's "truth" or "design" field may
be written { "expr": "<mathjs expression in n>" }, e.g. { "expr": "1 + 0.5 * n^(-1/4)" } for a
prompt expert approaching a pretrained one. Each expression is compiled once and evaluated once
per n (the cell model of that n is built from the values); the losses of a cell are measured
against that n's truth, which truth.json ("truthByN") and each results line ("truth") record.
An expression elsewhere, one that does not parse, uses a symbol other than n, pi, e, or is not
finite at some n of the grid, exits 2 naming the field before any cell runs. The kinds listed
with an "in n" line accept it.
`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, 'kinds');
    if (positionals.length > 1) throw new InputError('kinds arguments', 'at most one path to a study.json');
    const path = positionals[0];
    if (path !== undefined) {
      const study = loadStudy(path);
      await loadPlugins(pluginUrls(study.plugins, dirname(path)));
    }
    const docs = listKinds().map(describeKind);
    process.stdout.write(values.json === true ? `${JSON.stringify(docs, null, 2)}\n` : `${docs.map(render).join('\n\n')}\n`);
    return 0;
  },
};
