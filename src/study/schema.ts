/**
 * study.json: one rate study, validated once at the boundary.
 *
 *   { "name": "vpt-vs-vapt",
 *     "seed": 20250131,                      base seed; cell seeds = deriveSeed(seed, variant, n, rep)
 *     "n": [100, 316, 1000] | { "from": 100, "to": 100000, "count": 13 },   log-spaced, rounded
 *     "replications": 10,
 *     "model": { "kind": "...", ... },       defaults shared by every variant (a variant's own
 *     "estimator": { ... },                  "model" / "estimator" fields override these, key by key)
 *     "loss": "D1",                          name of the main loss (the `loss` field of a results line)
 *     "variants": [ { "name": "vapt exact", "model": { ... }, "estimator": { ... } } ],
 *     "claims": [ { "variants": ["vapt exact"], "rate": "sqrt(log n / n)", "slope": -0.5 } ],
 *     "quick": { "n": [...], "replications": 3, "variants": ["vapt exact", ...] },
 *     "plugins": ["./my-kind.js"] }         ES modules registering model kinds (study/plugins.ts)
 *
 * Model and estimator blocks are open records here: their kind's own schema (registry.ts) checks
 * them once the variant is resolved, so an error still names the field, e.g.
 * `variants[2].model.L: expected an integer >= 1`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { parseWith } from '../util/schema.js';
import { compileRate } from '../rates/claim.js';

/** Upper bounds that keep a grid listable and a cell's samples addressable (per-cell memory: limits.ts). */
export const MAX_N = 100_000_000;
export const MAX_REPLICATIONS = 1_000_000;
const MAX_GRID_POINTS = 1000;
const bounded = (max: number, what: string): z.ZodNumber =>
  z.number({ error: what }).int({ error: what }).min(1, { error: what }).max(max, { error: what });
const sampleSize = bounded(MAX_N, `an integer in [2, ${MAX_N}]`).min(2, { error: `an integer in [2, ${MAX_N}]` });
const replications = bounded(MAX_REPLICATIONS, `an integer in [1, ${MAX_REPLICATIONS}]`);

const logGrid = z
  .object({
    from: sampleSize,
    to: sampleSize,
    count: bounded(MAX_GRID_POINTS, `an integer in [1, ${MAX_GRID_POINTS}]`),
  })
  .strict()
  .refine((g) => g.to >= g.from, { error: 'to >= from', path: ['to'] });

const nGrid = z.union([z.array(sampleSize).min(1, { error: 'at least one sample size' }), logGrid], {
  error: 'an array of sample sizes or { "from", "to", "count" }',
});

const block = z.record(z.string(), z.unknown(), { error: 'an object' });

const variantSchema = z
  .object({
    name: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }),
    description: z.string().optional(),
    model: block.optional(),
    estimator: block.optional(),
  })
  .strict();

const claimSchema = z
  .object({
    /** Variant names the claim is about (with "protocols": the base names; the claim holds for every protocol). */
    variants: z.array(z.string()).min(1, { error: 'at least one variant name' }),
    /** Which loss the claim is about (default: the study's main loss). */
    loss: z.string().optional(),
    /**
     * The rate as an expression in n (mathjs; log is natural), e.g. "(log(n)/n)^(1/4)" or
     * "1/log(n)^tau" with constants { "tau": 1 }. With the older "slope" / "form" fields it is
     * only a label.
     */
    rate: z.string({ error: 'an expression in n such as "(log(n)/n)^(1/4)"' }),
    constants: z.record(z.string(), z.number({ error: 'a number' })).optional(),
    /** The specification regime the claim is about: every claimed variant must be of it ("any": no check). */
    regime: z.enum(['exact', 'over', 'any'], { error: '"exact", "over" or "any"' }).default('any'),
    /** Older form: claimed slope of log(loss) on log(n); null for rates slower than any polynomial. */
    slope: z.number({ error: 'a number or null' }).nullable().optional(),
    /** Older form: the rate's functional form. */
    form: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('power'), exponent: z.number() }).strict(),
        z.object({ kind: z.literal('logpower'), gamma: z.number() }).strict(),
        z.object({ kind: z.literal('inverse-log'), tau: z.number() }).strict(),
      ], { error: '{ "kind": "power", "exponent" } | { "kind": "logpower", "gamma" } | { "kind": "inverse-log", "tau" }' })
      .optional(),
    /** Where the claim comes from. */
    source: z.string().optional(),
  })
  .strict();

/** A start protocol crossed with every variant: its estimator fields override the variant's. */
const protocolSchema = z
  .object({
    name: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }),
    estimator: block,
  })
  .strict();

/** Thresholds of the fit-health flags (src/loss/atoms.ts); rates applies them to the stored atoms. */
const healthSchema = z
  .object({
    switchedOff: z.number({ error: 'a share in [0, 1)' }).min(0, { error: 'a share in [0, 1)' }).lt(1, { error: 'a share in [0, 1)' }).default(0.01),
    escaped: z.number({ error: 'a positive distance' }).positive({ error: 'a positive distance' }).default(3),
    /** A cell (variant, n) with more than this share of fits stopped at the iteration cap is unreliable. */
    capShare: z.number({ error: 'a share in [0, 1]' }).min(0, { error: 'a share in [0, 1]' }).max(1, { error: 'a share in [0, 1]' }).default(0.05),
  })
  .strict();

const quickSchema = z
  .object({
    n: nGrid.optional(),
    replications: replications.optional(),
    variants: z.array(z.string()).optional(),
  })
  .strict();

export const studySchema = z
  .object({
    name: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }),
    description: z.string().optional(),
    seed: z.number({ error: 'an integer in [0, 2^32)' }).int({ error: 'an integer in [0, 2^32)' }).min(0).max(4294967295, { error: 'an integer in [0, 2^32)' }),
    n: nGrid,
    replications,
    model: block.optional(),
    estimator: block.optional(),
    loss: z.string({ error: 'the name of the main loss' }).min(1),
    variants: z.array(variantSchema).min(1, { error: 'at least one variant' }),
    claims: z.array(claimSchema).optional(),
    protocols: z.array(protocolSchema).min(1, { error: 'at least one protocol' }).optional(),
    health: healthSchema.optional(),
    quick: quickSchema.optional(),
    /** ES modules that register model kinds, relative to the study's folder (plugins.ts). */
    plugins: z.array(z.string({ error: 'a path to an ES module' }).min(1, { error: 'a path to an ES module' }), { error: 'an array of paths to ES modules' }).optional(),
  })
  .strict();

export type StudyConfig = z.infer<typeof studySchema>;
export type ClaimConfig = z.infer<typeof claimSchema>;
export type HealthConfig = z.infer<typeof healthSchema>;

/** The health thresholds of a study (defaults filled in). */
export function healthOf(study: StudyConfig): HealthConfig {
  return study.health ?? healthSchema.parse({});
}

/** A variant with the study-level defaults merged in. */
export interface ResolvedVariant {
  /** Full name: the variant's, or "<variant> [<protocol>]" when the study crosses protocols. */
  readonly name: string;
  /** The variant's own name: cells of one base share their seeds (the same data under every protocol). */
  readonly base: string;
  /** The crossed protocol's name (null without "protocols"). */
  readonly protocol: string | null;
  readonly model: Record<string, unknown>;
  readonly estimator: Record<string, unknown>;
  /** Field path of this variant in study.json, for error messages (`variants[2]`). */
  readonly path: string;
  /** Short hash of the resolved model + estimator + loss: a results line is valid for this variant only if it carries it. */
  readonly configHash: string;
}

/** The grid one run covers (full, or the study's quick block). */
export interface StudyPlan {
  readonly study: StudyConfig;
  readonly quick: boolean;
  readonly n: number[];
  readonly replications: number;
  readonly variants: ResolvedVariant[];
}

/** Log-spaced integer grid from..to with `count` points (duplicates after rounding removed). */
export function expandGrid(g: StudyConfig['n']): number[] {
  if (Array.isArray(g)) return [...new Set(g)].sort((a, b) => a - b);
  if (g.count === 1) return [g.from];
  const out: number[] = [];
  const a = Math.log(g.from);
  const b = Math.log(g.to);
  for (let i = 0; i < g.count; i++) out.push(Math.round(Math.exp(a + ((b - a) * i) / (g.count - 1))));
  return [...new Set(out)].sort((x, y) => x - y);
}

/** JSON with object keys sorted: the same config always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashOf(value: unknown, length = 12): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}

/** Validate a parsed study.json (throws InputError naming the field). */
export function parseStudy(value: unknown, source = 'study.json'): StudyConfig {
  const study = parseWith(studySchema, value);
  const names = new Set<string>();
  study.variants.forEach((v, i) => {
    if (names.has(v.name)) throw new InputError(`variants[${i}].name`, 'a name no other variant has', JSON.stringify(v.name));
    names.add(v.name);
    const kind = (v.model?.kind ?? study.model?.kind) as unknown;
    if (typeof kind !== 'string') throw new InputError(`variants[${i}].model.kind`, 'a model kind (in the variant or in the study-level "model")', kind === undefined ? 'none' : JSON.stringify(kind));
  });
  (study.claims ?? []).forEach((c, i) =>
    c.variants.forEach((name, j) => {
      if (!names.has(name)) throw new InputError(`claims[${i}].variants[${j}]`, `one of the variant names (${[...names].join(', ')})`, JSON.stringify(name));
    }),
  );
  const protocolNames = new Set<string>();
  (study.protocols ?? []).forEach((p, i) => {
    if (protocolNames.has(p.name)) throw new InputError(`protocols[${i}].name`, 'a name no other protocol has', JSON.stringify(p.name));
    protocolNames.add(p.name);
  });
  (study.claims ?? []).forEach((c, i) => {
    if (c.slope === undefined && c.form === undefined) compileRate(c.rate, c.constants ?? {}, `claims[${i}].rate`);
  });
  (study.quick?.variants ?? []).forEach((name, j) => {
    if (!names.has(name)) throw new InputError(`quick.variants[${j}]`, `one of the variant names (${[...names].join(', ')})`, JSON.stringify(name));
  });
  void source;
  return study;
}

/** "<variant> [<protocol>]": the name of a variant crossed with a protocol. */
export function protocolVariantName(variant: string, protocol: string): string {
  return `${variant} [${protocol}]`;
}

/**
 * The config hash of a resolved variant. model.scoring changes only how a fit is scored (e.g. a
 * published code's reference values), not what is simulated or fitted: it stays out of the hash,
 * so `rescore` can apply it to stored fits.
 */
export function variantConfigHash(model: Record<string, unknown>, estimator: Record<string, unknown>, loss: string): string {
  const { scoring: _scoring, ...simulated } = model;
  return hashOf({ model: simulated, estimator, loss });
}

/** Merge a variant's blocks over the study's defaults and fix the grid for a full or quick run. */
export function planStudy(study: StudyConfig, quick: boolean): StudyPlan {
  const q = quick ? study.quick : undefined;
  if (quick && q === undefined) throw new InputError('quick', 'a "quick" block in study.json for --quick');
  const keep = q?.variants === undefined ? undefined : new Set(q.variants);
  const variants: ResolvedVariant[] = [];
  const protocols = study.protocols ?? [null];
  study.variants.forEach((v, i) => {
    protocols.forEach((p, k) => {
      const name = p === null ? v.name : protocolVariantName(v.name, p.name);
      if (keep !== undefined && !keep.has(v.name) && !keep.has(name)) return;
      const model = { ...(study.model ?? {}), ...(v.model ?? {}) };
      const estimator = { ...(study.estimator ?? {}), ...(v.estimator ?? {}), ...(p?.estimator ?? {}) };
      const path = p === null ? `variants[${i}]` : `variants[${i}] x protocols[${k}]`;
      variants.push({ name, base: v.name, protocol: p?.name ?? null, model, estimator, path, configHash: variantConfigHash(model, estimator, study.loss) });
    });
  });
  return {
    study,
    quick,
    n: expandGrid(q?.n ?? study.n),
    replications: q?.replications ?? study.replications,
    variants,
  };
}
