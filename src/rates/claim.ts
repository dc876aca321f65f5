/**
 * Claimed rates as expressions in n, e.g. "(log(n)/n)^(1/4)", "sqrt(log(n)/n)", "n^(-1/2)",
 * "1/log(n)^tau" with { tau: 1 }: parsed and differentiated with mathjs (log is the natural log).
 *
 *   local slope      d log r / d log n = n r'(n) / r(n)     (from mathjs' symbolic derivative)
 *   implied slope    the OLS slope of log r(n) on log n at the study's design points (each n with
 *                    its replication count): exactly the regression the measured slope comes from,
 *                    so the two are comparable whatever the form (verdict.ts)
 *
 * An expression may use n, the constants it is given, and mathjs' functions; anything else is an
 * error naming the field. It must be finite and positive on n >= 2.
 */
import { derivative, parse, ConstantNode, type MathNode, SymbolNode } from 'mathjs';
import { InputError } from '../util/errors.js';

export interface CompiledRate {
  /** The expression as written. */
  readonly expression: string;
  readonly constants: Readonly<Record<string, number>>;
  /** r(n), up to its constant. */
  value(n: number): number;
  /** d log r / d log n at n. */
  localSlope(n: number): number;
}

const FUNCTIONS = new Set(['log', 'sqrt', 'exp', 'pow', 'log10', 'log2', 'abs']);

/** Replace every constant symbol by its number, so the derivative is taken in n alone. */
function substitute(node: MathNode, constants: Readonly<Record<string, number>>, field: string): MathNode {
  return node.transform((x: MathNode, _path: string, parent: MathNode | null) => {
    if (!(x instanceof SymbolNode)) return x;
    const isFn = parent !== null && parent.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === x;
    if (isFn) {
      if (!FUNCTIONS.has(x.name)) throw new InputError(field, `an expression in n using ${[...FUNCTIONS].join(', ')}`, `function ${x.name}`);
      return x;
    }
    if (x.name === 'n') return x;
    const c = constants[x.name];
    if (c === undefined) throw new InputError(field, `an expression in n (other symbols need a value in "constants")`, `unknown symbol ${JSON.stringify(x.name)}`);
    return new ConstantNode(c);
  });
}

/** Parse a claimed rate (throws InputError naming `field`). */
export function compileRate(expression: string, constants: Readonly<Record<string, number>> = {}, field = 'rate'): CompiledRate {
  let node: MathNode;
  try {
    node = parse(expression);
  } catch (e) {
    throw new InputError(field, 'an expression in n such as "(log(n)/n)^(1/4)"', `${JSON.stringify(expression)} (${e instanceof Error ? e.message : String(e)})`);
  }
  const bound = substitute(node, constants, field);
  const f = bound.compile();
  let df: ReturnType<MathNode['compile']>;
  try {
    df = derivative(bound, 'n').compile();
  } catch (e) {
    throw new InputError(field, 'an expression mathjs can differentiate in n', `${JSON.stringify(expression)} (${e instanceof Error ? e.message : String(e)})`);
  }
  const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
  const value = (n: number): number => num(f.evaluate({ n }));
  const localSlope = (n: number): number => (n * num(df.evaluate({ n }))) / value(n);
  for (const n of [2, 10, 1e3, 1e6, 1e9]) {
    const v = value(n);
    if (!(Number.isFinite(v) && v > 0) || !Number.isFinite(localSlope(n))) throw new InputError(field, 'a rate that is finite and positive for n >= 2', `${JSON.stringify(expression)} = ${String(v)} at n = ${n}`);
  }
  return { expression, constants, value, localSlope };
}

/** OLS slope of log r(n) on log n over a design (n with multiplicities). */
export function impliedSlope(rate: Pick<CompiledRate, 'value'>, design: ReadonlyArray<{ readonly n: number; readonly count?: number }>): number {
  let sw = 0, sx = 0, sy = 0;
  for (const g of design) {
    const w = g.count ?? 1;
    sw += w;
    sx += w * Math.log(g.n);
    sy += w * Math.log(rate.value(g.n));
  }
  const xbar = sx / sw;
  const ybar = sy / sw;
  let sxx = 0, sxy = 0;
  for (const g of design) {
    const w = g.count ?? 1;
    const dx = Math.log(g.n) - xbar;
    sxx += w * dx * dx;
    sxy += w * dx * (Math.log(rate.value(g.n)) - ybar);
  }
  if (!(sxx > 0)) throw new InputError('design', 'two or more distinct n');
  return sxy / sxx;
}
