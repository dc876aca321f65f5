/**
 * The study files of the ViT experiments (`experiments/<study>/study.json`), validated with zod
 * at the boundary: one schema for sample-efficiency sweeps (`kind: "vit-sweep"`) and one for
 * planted-prompt studies (`kind: "vit-planted"`). Both share the backbone block, which says how
 * to pretrain the backbone when `experiments/<study>/backbone/` does not hold one yet.
 */
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { parseJsonText, parseWith } from '../util/schema.js';
import { readTextFile } from '../util/files.js';
import { DEFAULT_E2VPT, DEFAULT_VAPT, DEFAULT_VPT, type PromptConfig } from '../prompts/config.js';
import { TASK_NAMES } from './data/tasks.js';
import type { MethodSpec } from './index.js';

const posInt = z.number({ error: 'a positive integer' }).int({ error: 'a positive integer' }).min(1, { error: 'a positive integer' });
const nonNegInt = z.number({ error: 'an integer >= 0' }).int({ error: 'an integer >= 0' }).min(0, { error: 'an integer >= 0' });
const posNum = z.number({ error: 'a positive number' }).refine((v) => Number.isFinite(v) && v > 0, { error: 'a positive finite number' });
const nonNegNum = z.number({ error: 'a number >= 0' }).refine((v) => Number.isFinite(v) && v >= 0, { error: 'a finite number >= 0' });
const fraction = z.number({ error: 'a number in [0, 1]' }).min(0, { error: 'a number in [0, 1]' }).max(1, { error: 'a number in [0, 1]' });
const seed = z.number({ error: 'an integer in [0, 2^32)' }).int({ error: 'an integer in [0, 2^32)' }).min(0).max(4294967295, { error: 'an integer in [0, 2^32)' });
/** MNIST's split sizes: a training set draws from 60000 images, a test set from 10000. */
export const MAX_TRAIN_IMAGES = 60_000;
export const MAX_TEST_IMAGES = 10_000;
const trainCount = posInt.max(MAX_TRAIN_IMAGES, { error: `an integer in [1, ${MAX_TRAIN_IMAGES}] (MNIST's training split)` });
const testCount = posInt.max(MAX_TEST_IMAGES, { error: `an integer in [1, ${MAX_TEST_IMAGES}] (MNIST's test split)` });
const taskName = z.string({ error: `a task name (${TASK_NAMES.join(', ')})` }).refine((t) => TASK_NAMES.includes(t), { error: `one of ${TASK_NAMES.join(', ')}` });

export const vitArchSchema = z
  .object({
    imageSize: posInt,
    channels: posInt.default(1),
    patch: posInt,
    width: posInt.max(4096, { error: 'an integer in [1, 4096]' }),
    depth: posInt.max(64, { error: 'an integer in [1, 64]' }),
    heads: posInt.max(64, { error: 'an integer in [1, 64]' }),
    mlpRatio: posNum,
  })
  .strict()
  .refine((v) => v.imageSize <= 224, { error: 'an image size of at most 224 pixels', path: ['imageSize'] })
  .refine((v) => v.imageSize % v.patch === 0, { error: 'imageSize must be a multiple of patch', path: ['patch'] })
  .refine((v) => v.width % v.heads === 0, { error: 'width must be a multiple of heads', path: ['heads'] })
  .refine((v) => Number.isInteger(v.mlpRatio * v.width), { error: 'mlpRatio * width must be an integer (the MLP width)', path: ['mlpRatio'] });

export const backboneSchema = z
  .object({
    vit: vitArchSchema,
    task: taskName.default('digits-0-4'),
    trainSize: trainCount.default(20000),
    testSize: testCount.default(1000),
    steps: posInt.default(400),
    batchSize: posInt.default(64),
    lr: posNum.default(2e-3),
    warmupSteps: nonNegInt.default(40),
    weightDecay: nonNegNum.default(0.05),
    seed: seed.default(1),
  })
  .strict();

export const trainSchema = z
  .object({
    steps: posInt,
    batchSize: posInt.default(32),
    lr: posNum.default(0.1),
    warmupSteps: nonNegInt.default(10),
    momentum: fraction.default(0.9),
    weightDecay: nonNegNum.default(0),
  })
  .strict();

/** Prompt-config fields a study may set (merged over the defaults of src/prompts/config.ts). */
const promptFields = z
  .object({
    prompts: nonNegInt,
    visualPrompts: nonNegInt,
    kvPrompts: nonNegInt,
    sharedKV: z.boolean(),
    kernel: posInt,
    padding: nonNegInt,
    rank: posInt,
    residual: z.boolean(),
    layerNorm: z.boolean(),
    staticFirstLayer: z.boolean(),
    projectorBias: z.boolean(),
  })
  .partial()
  .strict();

export const METHOD_CHOICES = ['vpt-shallow', 'vpt-deep', 'e2vpt', 'vapt', 'linear-probe', 'full-finetune'] as const;

const pruneSchema = z
  .object({
    /** Fractions of the active token / segment masks pruned after the first training run. */
    visualTokens: fraction.default(0),
    visualSegments: fraction.default(0),
    kvTokens: fraction.default(0),
    kvSegments: fraction.default(0),
    /** Training batches the mask importance is summed over. */
    batches: posInt.default(4),
  })
  .strict();

export const methodSchema = z
  .object({
    name: z.enum(METHOD_CHOICES, { error: `one of ${METHOD_CHOICES.join(', ')}` }),
    /** Name in results.jsonl (default: name). */
    label: z.string().min(1).optional(),
    config: promptFields.optional(),
    /** Overrides of the study's train block for this method (e.g. a smaller lr for full fine-tuning). */
    train: trainSchema.partial().optional(),
    /** Untrained-prompt baseline: prompts stay at their initialisation, only the head trains. */
    frozenPrompts: z.boolean().default(false),
    /** E2VPT only: prune-then-rewind (train, prune by mask importance, retrain from the same init with frozen masks). */
    prune: pruneSchema.optional(),
  })
  .strict()
  .refine((m) => m.prune === undefined || m.name === 'e2vpt', { error: 'prune applies to e2vpt only', path: ['prune'] });

export const sweepSchema = z
  .object({
    kind: z.literal('vit-sweep', { error: '"vit-sweep"' }),
    name: z.string().min(1, { error: 'a non-empty string' }),
    description: z.string().optional(),
    backbone: backboneSchema,
    tasks: z.array(taskName).min(1, { error: 'at least one task' }),
    methods: z.array(methodSchema).min(1, { error: 'at least one method' }),
    n: z.array(trainCount).min(1, { error: 'at least one n' }),
    seeds: z.array(seed).min(1, { error: 'at least one seed' }),
    testSize: testCount.default(1000),
    train: trainSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    const labels = s.methods.map((m) => m.label ?? m.name);
    labels.forEach((l, i) => {
      if (labels.indexOf(l) !== i) ctx.addIssue({ code: 'custom', message: `a unique method label (${JSON.stringify(l)} appears twice; set "label")`, path: ['methods', i, 'label'] });
    });
  });

export type SweepStudy = z.infer<typeof sweepSchema>;
export type MethodEntry = z.infer<typeof methodSchema>;
export type BackboneBlock = z.infer<typeof backboneSchema>;

export const plantedSchema = z
  .object({
    kind: z.literal('vit-planted', { error: '"vit-planted"' }),
    name: z.string().min(1, { error: 'a non-empty string' }),
    description: z.string().optional(),
    backbone: backboneSchema,
    /** Real images the teacher labels (their class labels are ignored). */
    task: taskName.default('digits-5-9'),
    /** Prompt forms planted in the teacher (and fitted by the student of the same form). */
    forms: z
      .array(
        z
          .object({
            name: z.enum(['vpt-deep', 'vpt-shallow', 'vapt'], { error: 'vpt-deep, vpt-shallow or vapt' }),
            label: z.string().min(1).optional(),
            config: promptFields.optional(),
          })
          .strict(),
      )
      .min(1, { error: 'at least one form' }),
    n: z.array(trainCount).min(2, { error: 'at least two values of n (a slope needs two)' }),
    seeds: z.array(seed).min(1, { error: 'at least one seed' }),
    /** Scale of the planted parameters relative to their default initialisation. */
    plantScale: posNum.default(3),
    /** Standard deviation sigma of the Gaussian noise added to every target coordinate. */
    noise: nonNegNum.default(0.5),
    fit: z
      .object({
        steps: posInt.default(200),
        batchSize: posInt.default(32),
        lr: posNum.default(0.01),
        /** Start: truth + initPerturbation * (a fresh initialisation, centred). */
        initPerturbation: nonNegNum.default(0.5),
      })
      .strict()
      .default({ steps: 200, batchSize: 32, lr: 0.01, initPerturbation: 0.5 }),
    /** Held-out images for the student's test error. */
    testSize: testCount.default(500),
  })
  .strict();

export type PlantedStudy = z.infer<typeof plantedSchema>;

export const PLANTED_LAYER_FORMS = ['vpt-deep', 'kv', 'vapt'] as const;
/** exact: L = L*; over: L = L* + 1; over-floor: L = L* + 1 with every fitted weight exp(b_j) >= weightFloor (the merging regime). */
export const PLANTED_REGIMES = ['exact', 'over', 'over-floor'] as const;

/**
 * Planted prompts in one attention layer (`kind: "vit-planted-layer"`, src/vit/planted-layer-study.ts):
 * the prompt mixture of block `block` of the frozen backbone on real image tokens, all output
 * tokens as targets, fitted to a stopping rule, scored with the simulation's losses.
 */
export const plantedLayerSchema = z
  .object({
    kind: z.literal('vit-planted-layer', { error: '"vit-planted-layer"' }),
    name: z.string().min(1, { error: 'a non-empty string' }),
    description: z.string().optional(),
    backbone: backboneSchema,
    /** Real images whose tokens enter the planted layer (their labels are ignored). */
    task: taskName.default('digits-5-9'),
    /** Index of the planted block (its LN1 output is the layer input). */
    block: nonNegInt.default(1),
    forms: z
      .array(
        z
          .object({
            name: z.enum(PLANTED_LAYER_FORMS, { error: PLANTED_LAYER_FORMS.join(', ') }),
            label: z.string().min(1).optional(),
            /** L*: planted prompts (the exact student fits L*, the over-specified one L* + 1). */
            prompts: posInt.max(64).default(2),
            /** vapt: convolution kernel K, padding, hidden width r of the fixed MLP, residual P = G + g(G). */
            kernel: posInt.default(2),
            padding: nonNegInt.default(0),
            rank: posInt.default(8),
            residual: z.boolean().default(true),
          })
          .strict(),
      )
      .min(1, { error: 'at least one form' }),
    regimes: z.array(z.enum(PLANTED_REGIMES, { error: PLANTED_REGIMES.join(', ') })).min(1).default(['exact', 'over']),
    /** over-floor: every fitted atom's weight exp(b_j) is kept at or above this (src/vit/planted-layer-floor.ts). */
    weightFloor: posNum.optional(),
    n: z.array(trainCount).min(2, { error: 'at least two values of n (a slope needs two)' }),
    seeds: z.array(seed).min(1, { error: 'at least one seed' }),
    /** Planted parameters: z ~ plantScale N(0, I) (see src/vit/planted-layer-fit.ts); b*_j = plantBias. */
    plantScale: posNum.default(1),
    plantBias: z.number().refine((v) => Number.isFinite(v), { error: 'a finite number' }).default(0),
    /** sigma: y = f_{theta*}(X) + sigma N(0, I) on every output coordinate. */
    noise: nonNegNum.default(0.1),
    /** The 'fixed' start: truth expanded to L atoms + scale * (block scale) * N(0, 1). */
    start: z.object({ scale: nonNegNum.default(0.5) }).strict().default({ scale: 0.5 }),
    /** L-BFGS stopping rule (src/estimate/minimize.ts). */
    fit: z
      .object({
        maxSteps: posInt.default(20000),
        ftol: nonNegNum.default(1e-12),
        window: posInt.default(10),
        gtol: nonNegNum.default(1e-9),
        memory: posInt.default(10),
      })
      .strict()
      .default({ maxSteps: 20000, ftol: 1e-12, window: 10, gtol: 1e-9, memory: 10 }),
    health: z
      .object({ switchedOff: fraction.default(0.01), escaped: posNum.default(3) })
      .strict()
      .default({ switchedOff: 0.01, escaped: 3 }),
    /** `--quick`: a smaller grid (results.quick.jsonl, run.quick.json). */
    quick: z
      .object({
        n: z.array(trainCount).min(2),
        seeds: z.array(seed).min(1),
        forms: z.array(z.string().min(1)).min(1).optional(),
        /** Overrides of the fit block for the quick grid (e.g. a smaller step cap). */
        fit: z.object({ maxSteps: posInt, ftol: nonNegNum, window: posInt, gtol: nonNegNum, memory: posInt }).partial().strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.regimes.includes('over-floor') && s.weightFloor === undefined) ctx.addIssue({ code: 'custom', message: 'a positive weight floor for the over-floor regime (e.g. "weightFloor": 0.25), or drop "over-floor" from regimes', path: ['weightFloor'] });
    if (s.weightFloor !== undefined && !(s.weightFloor < Math.exp(s.plantBias) / 2))
      ctx.addIssue({ code: 'custom', message: `below half the planted weight exp(plantBias) / 2 = ${(Math.exp(s.plantBias) / 2).toPrecision(3)}, so two fitted atoms can share one planted atom`, path: ['weightFloor'] });
    if (s.block >= s.backbone.vit.depth) ctx.addIssue({ code: 'custom', message: `a block index below the depth ${s.backbone.vit.depth}`, path: ['block'] });
    const labels = s.forms.map((f) => f.label ?? f.name);
    labels.forEach((l, i) => {
      if (labels.indexOf(l) !== i) ctx.addIssue({ code: 'custom', message: `a unique form label (${JSON.stringify(l)} appears twice; set "label")`, path: ['forms', i, 'label'] });
    });
    (s.quick?.forms ?? []).forEach((l, i) => {
      if (!labels.includes(l)) ctx.addIssue({ code: 'custom', message: `a form label of the study (${labels.join(', ')})`, path: ['quick', 'forms', i] });
    });
  });

export type PlantedLayerStudy = z.infer<typeof plantedLayerSchema>;

function readStudyJson(path: string): unknown {
  return parseJsonText(readTextFile(path, 'a readable study.json'), path);
}

/** Parse with the field path prefixed by the file, e.g. `study.json: methods[2].name: expected ...`. */
function parseStudy<T extends z.ZodType>(schema: T, path: string): z.infer<T> {
  const value = readStudyJson(path);
  try {
    return parseWith(schema, value);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${path}: ${e.field}`, e.expected);
    throw e;
  }
}

export function loadSweepStudy(path: string): SweepStudy {
  return parseStudy(sweepSchema, path);
}

export function loadPlantedStudy(path: string): PlantedStudy {
  return parseStudy(plantedSchema, path);
}

export function loadPlantedLayerStudy(path: string): PlantedLayerStudy {
  return parseStudy(plantedLayerSchema, path);
}

/** The `kind` of a study file (for `vit planted`, which runs both planted kinds). */
export function studyKind(path: string): unknown {
  const v = readStudyJson(path);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { kind?: unknown }).kind : undefined;
}

/** The full prompt config of a method (defaults of src/prompts/config.ts, overridden by the study). */
export function methodSpec(name: (typeof METHOD_CHOICES)[number], fields: z.infer<typeof promptFields> = {}): MethodSpec {
  const pick = <T extends PromptConfig>(base: T): T => {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(fields)) {
      if (!(k in base)) throw new InputError(`config.${k}`, `a field of the ${base.kind} config (${Object.keys(base).filter((x) => x !== 'kind').join(', ')})`);
      out[k] = v;
    }
    return out as T;
  };
  switch (name) {
    case 'vpt-deep':
    case 'vpt-shallow':
      return { name, config: pick({ ...DEFAULT_VPT, mode: name === 'vpt-deep' ? 'deep' : 'shallow' }) };
    case 'e2vpt':
      return { name, config: pick(DEFAULT_E2VPT) };
    case 'vapt':
      return { name, config: pick(DEFAULT_VAPT) };
    default:
      if (Object.keys(fields).length > 0) throw new InputError('config', `no prompt config for ${name}`);
      return { name };
  }
}
