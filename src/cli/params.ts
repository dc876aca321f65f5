/** `prompt-experts params [CONFIG.json]`: tunable parameter counts of the prompt methods on a ViT. */
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import {
  type Accounting,
  type PromptConfig,
  type VitShape,
  DEFAULT_E2VPT,
  DEFAULT_VAPT,
  DEFAULT_VPT,
  VIT_B16,
  checkVit,
  paramTable,
} from '../prompts/config.js';
import { parseInput } from '../prompts/validate.js';
import { type Command, intFlag, parseFlags, readJsonInput } from './command.js';

const count = z.int().min(0);
const positive = z.int().min(1);
const vitSchema = z.object({ layers: positive, width: positive, grid: z.tuple([positive, positive]) }).partial();
const methodSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('vpt'), prompts: count, mode: z.enum(['deep', 'shallow']) }).partial().required({ kind: true }),
  z.object({ kind: z.literal('e2vpt'), visualPrompts: count, kvPrompts: count, sharedKV: z.boolean() }).partial().required({ kind: true }),
  z
    .object({
      kind: z.literal('vapt'),
      prompts: positive,
      kernel: positive,
      padding: count,
      rank: positive,
      residual: z.boolean(),
      layerNorm: z.boolean(),
      staticFirstLayer: z.boolean(),
      projectorBias: z.boolean(),
    })
    .partial()
    .required({ kind: true }),
]);
export const paramsFileSchema = z.object({
  vit: vitSchema.optional(),
  methods: z.array(methodSchema).min(1).optional(),
  accounting: z.enum(['official', 'poster', 'both']).optional(),
});

function parseGrid(text: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (m === null || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InputError('--grid', 'HxW with positive integers, e.g. 14x14', JSON.stringify(text));
  return [Number(m[1]), Number(m[2])];
}

function label(c: PromptConfig, accounting: Accounting): string {
  switch (c.kind) {
    case 'vpt':
      return `VPT-${c.mode} (${c.prompts} prompts)`;
    case 'e2vpt':
      return `E2VPT (${c.visualPrompts} visual + ${c.kvPrompts} ${c.sharedKV ? 'shared ' : ''}key-value prompts)`;
    case 'vapt':
      return `VAPT (L=${c.prompts}, K=${c.kernel}, r=${c.rank}${accounting === 'poster' ? ', poster accounting' : ''})`;
  }
}

export const paramsCommand: Command = {
  name: 'params',
  summary: 'tunable parameter counts of VPT, E2VPT and VAPT on a ViT',
  help: `Usage: prompt-experts params [CONFIG.json] [options]

Prints the itemised count of tunable prompt parameters for each method on a ViT (default:
ViT-B/16, 12 layers, width 768, 14x14 patches; all three methods with their defaults; VAPT in
both the official-code and the poster accounting).

Options (override the defaults and the config file):
  --layers N  --width D  --grid HxW           the ViT
  --method vpt|e2vpt|vapt|all                 which methods (default all)
  --prompts L                                 VPT and VAPT prompts, E2VPT visual prompts
  --mode deep|shallow                         VPT mode (default deep)
  --kv-prompts L  --separate-kv               E2VPT key-value prompts (default 5, shared K/V)
  --kernel K  --padding P  --rank R           VAPT (defaults 2, 0, 8)
  --no-layernorm  --no-static-first  --no-projector-bias   VAPT components left out
  --accounting official|poster|both           VAPT accounting (default both)
  --json                                      print { vit, methods: [{ config, accounting, rows, total }] }

CONFIG.json: { "vit": { "layers", "width", "grid": [H, W] }, "methods": [ { "kind": "vpt" |
"e2vpt" | "vapt", ...fields of that method's config } ], "accounting": "official" | "poster" | "both" }
(every field optional). Config fields: vpt { prompts, mode }, e2vpt { visualPrompts, kvPrompts,
sharedKV }, vapt { prompts, kernel, padding, rank, residual, layerNorm, staticFirstLayer, projectorBias }.
`,
  async run(argv, io) {
    const { values: f, positionals } = parseFlags(
      argv,
      {
        json: { type: 'boolean' },
        layers: { type: 'string' },
        width: { type: 'string' },
        grid: { type: 'string' },
        method: { type: 'string' },
        prompts: { type: 'string' },
        mode: { type: 'string' },
        'kv-prompts': { type: 'string' },
        'separate-kv': { type: 'boolean' },
        kernel: { type: 'string' },
        padding: { type: 'string' },
        rank: { type: 'string' },
        'no-layernorm': { type: 'boolean' },
        'no-static-first': { type: 'boolean' },
        'no-projector-bias': { type: 'boolean' },
        accounting: { type: 'string' },
      },
      'params',
    );
    if (positionals.length > 1) throw new InputError('params arguments', 'at most one CONFIG.json', `${positionals.length} arguments`);
    const file = positionals[0] === undefined ? {} : parseInput(paramsFileSchema, readJsonInput(positionals[0]), '');
    const str = (k: string): string | undefined => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
    const vit: VitShape = {
      layers: intFlag(str('layers'), 'layers', file.vit?.layers ?? VIT_B16.layers),
      width: intFlag(str('width'), 'width', file.vit?.width ?? VIT_B16.width),
      grid: str('grid') === undefined ? (file.vit?.grid ?? VIT_B16.grid) : parseGrid(str('grid') as string),
    };
    checkVit(vit);
    const method = str('method') ?? 'all';
    if (!['all', 'vpt', 'e2vpt', 'vapt'].includes(method)) throw new InputError('--method', 'one of vpt, e2vpt, vapt, all', JSON.stringify(method));
    const mode = str('mode');
    if (mode !== undefined && mode !== 'deep' && mode !== 'shallow') throw new InputError('--mode', 'deep or shallow', JSON.stringify(mode));
    const accountingFlag = str('accounting') ?? file.accounting ?? 'both';
    if (!['official', 'poster', 'both'].includes(accountingFlag)) throw new InputError('--accounting', 'official, poster or both', JSON.stringify(accountingFlag));
    const base: PromptConfig[] = file.methods?.map((m) => {
      switch (m.kind) {
        case 'vpt':
          return { ...DEFAULT_VPT, ...m } as PromptConfig;
        case 'e2vpt':
          return { ...DEFAULT_E2VPT, ...m } as PromptConfig;
        case 'vapt':
          return { ...DEFAULT_VAPT, ...m } as PromptConfig;
      }
    }) ?? [DEFAULT_VPT, DEFAULT_E2VPT, DEFAULT_VAPT];
    const configs = base
      .filter((c) => method === 'all' || c.kind === method)
      .map((c): PromptConfig => {
        switch (c.kind) {
          case 'vpt':
            return { ...c, prompts: intFlag(str('prompts'), 'prompts', c.prompts, 0), mode: (mode as 'deep' | 'shallow' | undefined) ?? c.mode };
          case 'e2vpt':
            return {
              ...c,
              visualPrompts: intFlag(str('prompts'), 'prompts', c.visualPrompts, 0),
              kvPrompts: intFlag(str('kv-prompts'), 'kv-prompts', c.kvPrompts, 0),
              sharedKV: f['separate-kv'] === true ? false : c.sharedKV,
            };
          case 'vapt':
            return {
              ...c,
              prompts: intFlag(str('prompts'), 'prompts', c.prompts),
              kernel: intFlag(str('kernel'), 'kernel', c.kernel),
              padding: intFlag(str('padding'), 'padding', c.padding, 0),
              rank: intFlag(str('rank'), 'rank', c.rank),
              layerNorm: f['no-layernorm'] === true ? false : c.layerNorm,
              staticFirstLayer: f['no-static-first'] === true ? false : c.staticFirstLayer,
              projectorBias: f['no-projector-bias'] === true ? false : c.projectorBias,
            };
        }
      });
    if (configs.length === 0) throw new InputError('--method', `a method present in the config file`, JSON.stringify(method));
    const results = configs.flatMap((config) => {
      const accs: Accounting[] = config.kind !== 'vapt' ? ['official'] : accountingFlag === 'both' ? ['official', 'poster'] : [accountingFlag as Accounting];
      return accs.map((accounting) => {
        const rows = paramTable(vit, config, accounting);
        return { config, accounting, rows, total: rows.reduce((s, r) => s + r.count, 0) };
      });
    });
    if (f.json === true) {
      io.out(`${JSON.stringify({ vit, methods: results })}\n`);
      return 0;
    }
    const n = (x: number): string => x.toLocaleString('en-US');
    const out: string[] = [`ViT: ${vit.layers} layers, width ${vit.width}, grid ${vit.grid[0]}x${vit.grid[1]} (${vit.grid[0] * vit.grid[1]} patches)`, ''];
    const table: string[][] = [['method', 'component', 'each', 'x', 'count']];
    for (const r of results) {
      r.rows.forEach((row, k) => table.push([k === 0 ? label(r.config, r.accounting) : '', row.component, n(row.each), String(row.times), n(row.count)]));
      table.push(['', 'total', '', '', n(r.total)]);
    }
    const w = [0, 1, 2, 3, 4].map((c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
    for (const r of table) out.push(r.map((s, c) => (c < 2 ? s.padEnd(w[c] ?? 0) : s.padStart(w[c] ?? 0))).join('  ').trimEnd());
    io.out(`${out.join('\n')}\n`);
    return 0;
  },
};
