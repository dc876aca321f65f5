/**
 * Tasks derived from MNIST, deterministic from seeds: one backbone pretraining task and a small
 * downstream suite in the spirit of VTAB-1k's three groups.
 *
 *   pretrain      digits-0-4          classify digits 0-4 (the backbone's task)
 *   natural       digits-5-9          unseen classes: classify digits 5-9
 *   specialized   inverted-noisy      altered appearance: all ten digits, inverted, blurred, noisy
 *   structured    count               how many small digits (1-4) lie on the 28 x 28 canvas
 *   structured    rotation            which rotation (0, 90, 180, 270 degrees) a digit shows
 *
 * Every image is built at 28 x 28 with grey values in [0, 1] and resized (bilinear) to the
 * requested side. Training example i of (task, seed) depends only on (task, seed, i): the
 * training set of size n is the first n examples of one stream, so the sets are nested across
 * n for the same seed. Test sets come from MNIST's test split with a fixed seed per task (the
 * same whatever the training seed), so every method and n is scored on the same images.
 */
import { deriveSeed, makeRng, type Rng } from '../../util/rng.js';
import { loadMnist, indicesOfDigits, type MnistImages, type MnistSplit } from './mnist.js';

export type TaskGroup = 'pretrain' | 'natural' | 'specialized' | 'structured';

export interface TaskInfo {
  readonly name: string;
  readonly group: TaskGroup;
  readonly numClasses: number;
  readonly description: string;
}

/** A labelled image set: `count` images of `size` x `size` (row-major), labels 0..numClasses-1. */
export interface ImageSet {
  readonly task: string;
  readonly count: number;
  readonly size: number;
  readonly numClasses: number;
  readonly x: Float32Array;
  readonly y: Int32Array;
}

const SIDE = 28;
const PIX = SIDE * SIDE;
/** Seed of every task's test stream (fixed: the test set does not move with the training seed). */
export const TEST_SEED = 20250101;

interface TaskDef extends TaskInfo {
  /** MNIST digits the task draws its images from. */
  readonly digits: ReadonlyArray<number>;
  /** Build example i: `primary` is the i-th image of the shuffled pool; `rng` is example i's own stream. */
  make(primary: number, data: MnistImages, pool: ReadonlyArray<number>, rng: Rng): { image: Float32Array; label: number };
}

function mnistImage(data: MnistImages, index: number): Float32Array {
  const out = new Float32Array(PIX);
  const off = index * PIX;
  for (let p = 0; p < PIX; p++) out[p] = (data.pixels[off + p] ?? 0) / 255;
  return out;
}

/** Bilinear resize of a square image (align-corners off, pixel centres). */
export function resize(src: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return src;
  const out = new Float32Array(to * to);
  if (to < from && from % to === 0) {
    // Integer downscale: average each f x f block (no aliasing).
    const f = from / to;
    for (let r = 0; r < to; r++) {
      for (let c = 0; c < to; c++) {
        let s = 0;
        for (let i = 0; i < f; i++) for (let j = 0; j < f; j++) s += src[(r * f + i) * from + c * f + j] ?? 0;
        out[r * to + c] = s / (f * f);
      }
    }
    return out;
  }
  const scale = from / to;
  for (let r = 0; r < to; r++) {
    const y = Math.min(Math.max((r + 0.5) * scale - 0.5, 0), from - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(y0 + 1, from - 1);
    const wy = y - y0;
    for (let c = 0; c < to; c++) {
      const x = Math.min(Math.max((c + 0.5) * scale - 0.5, 0), from - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, from - 1);
      const wx = x - x0;
      const a = (src[y0 * from + x0] ?? 0) * (1 - wx) + (src[y0 * from + x1] ?? 0) * wx;
      const b = (src[y1 * from + x0] ?? 0) * (1 - wx) + (src[y1 * from + x1] ?? 0) * wx;
      out[r * to + c] = a * (1 - wy) + b * wy;
    }
  }
  return out;
}

/** Rotate a square image by k quarter turns counter-clockwise. */
export function rotate90(src: Float32Array, side: number, k: number): Float32Array {
  let cur = src;
  for (let t = 0; t < ((k % 4) + 4) % 4; t++) {
    const out = new Float32Array(side * side);
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) out[(side - 1 - c) * side + r] = cur[r * side + c] ?? 0;
    cur = out;
  }
  return cur;
}

function boxBlur3(src: Float32Array, side: number): Float32Array {
  const out = new Float32Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      let s = 0;
      let n = 0;
      for (let i = -1; i <= 1; i++) {
        for (let j = -1; j <= 1; j++) {
          const rr = r + i;
          const cc = c + j;
          if (rr < 0 || cc < 0 || rr >= side || cc >= side) continue;
          s += src[rr * side + cc] ?? 0;
          n++;
        }
      }
      out[r * side + c] = s / n;
    }
  }
  return out;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

const DEFS: TaskDef[] = [
  {
    name: 'digits-0-4',
    group: 'pretrain',
    numClasses: 5,
    description: 'MNIST digits 0-4 (the backbone pretraining task)',
    digits: [0, 1, 2, 3, 4],
    make: (primary, data) => ({ image: mnistImage(data, primary), label: data.labels[primary] ?? 0 }),
  },
  {
    name: 'digits-5-9',
    group: 'natural',
    numClasses: 5,
    description: 'unseen classes: MNIST digits 5-9, label = digit - 5',
    digits: [5, 6, 7, 8, 9],
    make: (primary, data) => ({ image: mnistImage(data, primary), label: (data.labels[primary] ?? 5) - 5 }),
  },
  {
    name: 'inverted-noisy',
    group: 'specialized',
    numClasses: 10,
    description: 'altered appearance: all ten digits, inverted (1 - x), 3 x 3 box blur, Gaussian noise sd 0.2',
    digits: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    make: (primary, data, _pool, rng) => {
      const img = boxBlur3(mnistImage(data, primary), SIDE);
      for (let p = 0; p < PIX; p++) img[p] = clamp01(1 - (img[p] ?? 0) + 0.2 * rng.normal());
      return { image: img, label: data.labels[primary] ?? 0 };
    },
  },
  {
    name: 'count',
    group: 'structured',
    numClasses: 4,
    description: 'count: 1-4 digits shrunk to 12 x 12, each in its own quadrant of the canvas with jitter; label = count - 1',
    digits: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    make: (primary, data, pool, rng) => {
      const k = 1 + rng.int(4);
      const cells = [0, 1, 2, 3];
      for (let i = 3; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = cells[i] as number;
        cells[i] = cells[j] as number;
        cells[j] = t;
      }
      const img = new Float32Array(PIX);
      for (let d = 0; d < k; d++) {
        const src = d === 0 ? primary : (pool[rng.int(pool.length)] as number);
        const small = resize(mnistImage(data, src), SIDE, 12);
        const cell = cells[d] as number;
        const top = (cell >> 1) * 14 + rng.int(3);
        const left = (cell & 1) * 14 + rng.int(3);
        for (let r = 0; r < 12; r++) for (let c = 0; c < 12; c++) {
          const p = (top + r) * SIDE + left + c;
          img[p] = Math.max(img[p] ?? 0, small[r * 12 + c] ?? 0);
        }
      }
      return { image: img, label: k - 1 };
    },
  },
  {
    name: 'rotation',
    group: 'structured',
    numClasses: 4,
    description: 'orientation: a digit (2, 3, 4, 5 or 7: no 180-degree symmetry) rotated by k quarter turns; label = k',
    digits: [2, 3, 4, 5, 7],
    make: (primary, data, _pool, rng) => {
      const k = rng.int(4);
      return { image: rotate90(mnistImage(data, primary), SIDE, k), label: k };
    },
  },
];

export const TASK_NAMES: ReadonlyArray<string> = DEFS.map((d) => d.name);

export function taskInfo(name: string): TaskInfo {
  const def = DEFS.find((d) => d.name === name);
  if (def === undefined) throw new RangeError(`task: expected one of ${TASK_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  return { name: def.name, group: def.group, numClasses: def.numClasses, description: def.description };
}

export function listTasks(): TaskInfo[] {
  return TASK_NAMES.map(taskInfo);
}

const poolCache = new Map<string, number[]>();

/** The task's source images of one split, shuffled by `seed` (the order examples are drawn in). */
function shuffledPool(def: TaskDef, split: MnistSplit, seed: number): number[] {
  const key = `${def.name}|${split}|${seed}`;
  const hit = poolCache.get(key);
  if (hit !== undefined) return hit;
  const pool = indicesOfDigits(loadMnist(split), def.digits);
  const rng = makeRng(deriveSeed(seed, def.name, split, 'order'));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = t;
  }
  if (poolCache.size > 32) poolCache.clear();
  poolCache.set(key, pool);
  return pool;
}

function build(name: string, split: MnistSplit, count: number, seed: number, size: number): ImageSet {
  const def = DEFS.find((d) => d.name === name);
  if (def === undefined) throw new RangeError(`task: expected one of ${TASK_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`n: expected an integer >= 1, got ${count}`);
  if (!Number.isInteger(size) || size < 4) throw new RangeError(`image size: expected an integer >= 4, got ${size}`);
  const data = loadMnist(split);
  const pool = shuffledPool(def, split, seed);
  const x = new Float32Array(count * size * size);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    // Cycle through the pool if n exceeds it (only possible for n > ~30,000 training images).
    const primary = pool[i % pool.length] as number;
    const rng = makeRng(deriveSeed(seed, def.name, split, i));
    const { image, label } = def.make(primary, data, pool, rng);
    x.set(resize(image, SIDE, size), i * size * size);
    y[i] = label;
  }
  return { task: name, count, size, numClasses: def.numClasses, x, y };
}

/** Training set of size n for (task, seed); nested: the first m < n examples equal the set of size m. */
export function trainSet(task: string, n: number, seed: number, size = SIDE): ImageSet {
  return build(task, 'train', n, seed, size);
}

/** Fixed test set of `count` images for a task (from MNIST's test split, seed TEST_SEED). */
export function testSet(task: string, count: number, size = SIDE): ImageSet {
  return build(task, 'test', count, TEST_SEED, size);
}

/** Rows [start, start + count) of a set (a view copy, for mini-batches). */
export function sliceSet(set: ImageSet, start: number, count: number): ImageSet {
  const px = set.size * set.size;
  return { ...set, count, x: set.x.slice(start * px, (start + count) * px), y: set.y.slice(start, start + count) };
}

/** Gather the given rows of a set (for shuffled mini-batches). */
export function gatherSet(set: ImageSet, rows: ReadonlyArray<number>): ImageSet {
  const px = set.size * set.size;
  const x = new Float32Array(rows.length * px);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(set.x.subarray(r * px, (r + 1) * px), i * px);
    y[i] = set.y[r] ?? 0;
  });
  return { ...set, count: rows.length, x, y };
}
