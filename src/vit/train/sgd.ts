/**
 * The optimiser of the official VPT-family code (PyTorch `torch.optim.SGD` with momentum and
 * weight decay, driven by a linear-warmup + cosine learning-rate schedule):
 *
 *   g_t = grad + wd * p,   v_t = mu * v_{t-1} + g_t,   p_t = p_{t-1} - lr_t * v_t
 *   lr_t = base * (t + 1) / warmup                                     for t < warmup
 *   lr_t = base * 0.5 * (1 + cos(pi * (t - warmup) / (total - warmup)))  afterwards
 *
 * The velocity buffers are plain tensors keyed by variable name so that they can be
 * checkpointed and restored with the parameters (resumable runs).
 */
import * as tf from '@tensorflow/tfjs';

export function warmupCosine(step: number, total: number, base: number, warmup: number): number {
  if (step < warmup) return (base * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, (step - warmup) / span);
  return base * 0.5 * (1 + Math.cos(Math.PI * t));
}

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

export class MomentumSgd {
  readonly velocity = new Map<string, tf.Tensor>();
  constructor(readonly options: SgdOptions) {}

  /**
   * Apply one update at learning rate lr. `vars` pairs each variable with its stable name (the
   * checkpoint key of its velocity); `grads` is keyed by tfjs' own variable names, as
   * `tf.variableGrads` returns them.
   */
  apply(vars: ReadonlyArray<readonly [string, tf.Variable]>, grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, weightDecay } = this.options;
    for (const [name, v] of vars) {
      const g = grads[v.name];
      if (g === undefined) continue;
      const prev = this.velocity.get(name);
      const next = tf.tidy(() => {
        const full = weightDecay > 0 ? g.add(v.mul(weightDecay)) : g;
        return prev === undefined ? full.clone() : prev.mul(momentum).add(full);
      });
      prev?.dispose();
      this.velocity.set(name, next);
      tf.tidy(() => v.assign(v.sub(next.mul(lr))));
    }
  }

  /** Velocity buffers for a checkpoint (names prefixed with `velocity/`). */
  state(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [k, t] of this.velocity) out[`velocity/${k}`] = t;
    return out;
  }

  restore(tensors: tf.NamedTensorMap): void {
    for (const [k, t] of Object.entries(tensors)) {
      if (!k.startsWith('velocity/')) continue;
      this.velocity.get(k.slice(9))?.dispose();
      this.velocity.set(k.slice(9), t.clone());
    }
  }

  dispose(): void {
    for (const t of this.velocity.values()) t.dispose();
    this.velocity.clear();
  }
}

/**
 * AdamW (Loshchilov & Hutter), used for backbone pretraining and the planted-prompt fits, where
 * plain SGD from scratch is slow on a ViT:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr wd p
 * Same state interface as MomentumSgd (moments under `adam.m/`, `adam.v/`, step under `adam.t`).
 */
export class AdamW {
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();
  private t = 0;
  constructor(readonly options: { weightDecay: number; beta1?: number; beta2?: number; eps?: number }) {}

  apply(vars: ReadonlyArray<readonly [string, tf.Variable]>, grads: tf.NamedTensorMap, lr: number): void {
    const b1 = this.options.beta1 ?? 0.9;
    const b2 = this.options.beta2 ?? 0.999;
    const eps = this.options.eps ?? 1e-8;
    const wd = this.options.weightDecay;
    this.t += 1;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (const [name, p] of vars) {
      const g = grads[p.name];
      if (g === undefined) continue;
      const m0 = this.m.get(name);
      const v0 = this.v.get(name);
      const m1 = tf.tidy(() => (m0 === undefined ? g.mul(1 - b1) : m0.mul(b1).add(g.mul(1 - b1))));
      const v1 = tf.tidy(() => (v0 === undefined ? g.square().mul(1 - b2) : v0.mul(b2).add(g.square().mul(1 - b2))));
      m0?.dispose();
      v0?.dispose();
      this.m.set(name, m1);
      this.v.set(name, v1);
      tf.tidy(() => {
        const step = m1.div(c1).div(v1.div(c2).sqrt().add(eps)).mul(lr);
        p.assign(wd > 0 ? p.sub(step).sub(p.mul(lr * wd)) : p.sub(step));
      });
    }
  }

  state(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = { 'adam.t': tf.scalar(this.t) };
    for (const [k, t] of this.m) out[`adam.m/${k}`] = t;
    for (const [k, t] of this.v) out[`adam.v/${k}`] = t;
    return out;
  }

  restore(tensors: tf.NamedTensorMap): void {
    for (const [k, t] of Object.entries(tensors)) {
      if (k === 'adam.t') this.t = t.dataSync()[0] ?? 0;
      else if (k.startsWith('adam.m/')) this.m.set(k.slice(7), t.clone());
      else if (k.startsWith('adam.v/')) this.v.set(k.slice(7), t.clone());
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export type Optimizer = MomentumSgd | AdamW;
