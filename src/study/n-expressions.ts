/**
 * Truths and designs that change with the sample size n. Inside a variant's "model" block, any
 * number under "truth" or "design" may be written as an expression in n:
 *
 *   "truth": { "components": [ { "bias": 0, "beta": [1], "W": [{ "expr": "1 + 0.5 * n^(-1/4)" }], "c": [0] } ] }
 *
 * The truth of a cell at n is then the block with every expression replaced by its value at n,
 * e.g. a prompt expert approaching the pretrained one (W*_n = W0 + c n^-1/4), or two true atoms
 * whose separation shrinks like n^-1/8: the moving truths behind minimax statements such as the
 * non-distinguishable regime of arXiv 2505.18455. Each expression is parsed and compiled once,
 * with mathjs (log is natural; functions log, sqrt, exp, pow, log10, log2, abs, sin, cos, tanh,
 * min, max; constants pi and e), and evaluated once per (variant, n) when that n's cell model is
 * built (cell.ts), never inside a fit. Values must be finite at every n of the grid; an
 * expression anywhere else in the block, a parse error, an unknown symbol or a non-finite value
 * is an InputError naming the field.
 */
import { parse, type MathNode, SymbolNode } from 'mathjs';
import { InputError } from '../util/errors.js';

/** The fields of a model block whose numbers may depend on n. */
export const N_DEPENDENT_ROOTS = ['truth', 'design'] as const;

const FUNCTIONS = new Set(['log', 'sqrt', 'exp', 'pow', 'log10', 'log2', 'abs', 'sin', 'cos', 'tanh', 'min', 'max']);
const CONSTANTS = new Set(['pi', 'e']);

export interface NExpression {
  /** Field path in study.json, e.g. `variants[1].model.truth.components[0].W[0]`. */
  readonly field: string;
  readonly text: string;
  value(n: number): number;
}

/** A model block whose truth or design depends on n. */
export interface NDependence {
  readonly expressions: ReadonlyArray<NExpression>;
  /** The block at sample size n: every expression replaced by its value (InputError if not finite). */
  at(n: number): Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parse and compile one expression in n (throws InputError naming `field`). */
export function compileNExpression(text: unknown, field: string): NExpression {
  const expected = 'an expression in n such as "1 + 0.5 * n^(-1/4)"';
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, expected, JSON.stringify(text));
  let node: MathNode;
  try {
    node = parse(text);
  } catch (e) {
    throw new InputError(field, expected, `${JSON.stringify(text)} (${e instanceof Error ? e.message : String(e)})`);
  }
  node.traverse((x: MathNode, _path: string, parent: MathNode | null) => {
    if (!(x instanceof SymbolNode)) return;
    const isFn = parent !== null && parent.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === x;
    if (isFn ? FUNCTIONS.has(x.name) : x.name === 'n' || CONSTANTS.has(x.name)) return;
    throw new InputError(field, `${expected}, using n, pi, e and the functions ${[...FUNCTIONS].join(', ')}`, `${isFn ? 'function' : 'symbol'} ${JSON.stringify(x.name)} in ${JSON.stringify(text)}`);
  });
  const f = node.compile();
  return {
    field,
    text,
    value(n: number): number {
      let v: unknown;
      try {
        v = f.evaluate({ n });
      } catch {
        v = NaN;
      }
      return typeof v === 'number' ? v : NaN;
    },
  };
}

/**
 * The n-dependence of a resolved model block (`path`: the variant's field path), or undefined
 * when it has no expression. `{ "expr": ... }` outside "truth" and "design" is an error.
 */
export function nDependence(model: Record<string, unknown>, path: string): NDependence | undefined {
  const found = new Map<string, NExpression>();
  const walk = (v: unknown, field: string, allowed: boolean): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${field}[${i}]`, allowed));
    else if (isObject(v)) {
      if ('expr' in v) {
        if (!allowed) throw new InputError(field, `a value fixed for every n ({ "expr": ... } is allowed only inside ${N_DEPENDENT_ROOTS.map((r) => `"${r}"`).join(' and ')})`, 'an expression in n');
        const extra = Object.keys(v).filter((k) => k !== 'expr');
        if (extra.length > 0) throw new InputError(field, '{ "expr": "<expression in n>" } with no other field', `field ${JSON.stringify(extra[0])}`);
        found.set(field, compileNExpression(v.expr, `${field}.expr`));
      } else for (const [k, x] of Object.entries(v)) walk(x, `${field}.${k}`, allowed);
    }
  };
  for (const [k, v] of Object.entries(model)) walk(v, `${path}.model.${k}`, (N_DEPENDENT_ROOTS as ReadonlyArray<string>).includes(k));
  if (found.size === 0) return undefined;
  const substitute = (v: unknown, field: string, n: number): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => substitute(x, `${field}[${i}]`, n));
    if (!isObject(v)) return v;
    const e = found.get(field);
    if (e !== undefined) {
      const x = e.value(n);
      if (!Number.isFinite(x)) throw new InputError(e.field, 'an expression in n with a finite value at every n of the grid', `${JSON.stringify(e.text)} = ${String(x)} at n = ${n}`);
      return x;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, `${field}.${k}`, n)]));
  };
  return {
    expressions: [...found.values()],
    at(n: number): Record<string, unknown> {
      return Object.fromEntries(Object.entries(model).map(([k, v]) => [k, substitute(v, `${path}.model.${k}`, n)]));
    },
  };
}
