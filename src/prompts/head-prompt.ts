/**
 * Any method's head-level prompt, dispatched to its module: the MoE view of a head with a
 * prompt, the direct computation, and the numerically established expert and score kinds.
 */
import type { Mat } from '../linalg/mat.js';
import { moeView } from '../attention/head.js';
import { classifyView, type KindOptions, type Kinds } from '../attention/kinds.js';
import type { Head, MoeView, PromptExperts } from '../attention/types.js';
import { type Augmented, attendAugmented } from './method.js';
import { type VptHeadPrompt, vptAugment, vptExperts } from './vpt.js';
import { type E2vptHeadPrompt, e2vptAugment, e2vptExperts } from './e2vpt.js';
import { type VaptHeadPrompt, vaptAugment, vaptExperts } from './vapt.js';

export type HeadPrompt = VptHeadPrompt | E2vptHeadPrompt | VaptHeadPrompt;

export function promptExperts(head: Head, X: Mat, prompt: HeadPrompt): PromptExperts {
  switch (prompt.kind) {
    case 'vpt':
      return vptExperts(head, X, prompt);
    case 'e2vpt':
      return e2vptExperts(head, X, prompt);
    case 'vapt':
      return vaptExperts(head, X, prompt);
  }
}

export function promptAugment(head: Head, X: Mat, prompt: HeadPrompt): Augmented {
  switch (prompt.kind) {
    case 'vpt':
      return vptAugment(head, X, prompt);
    case 'e2vpt':
      return e2vptAugment(head, X, prompt);
    case 'vapt':
      return vaptAugment(head, X, prompt);
  }
}

/** The MoE view of a head with a prompt (null: plain head). */
export function promptedView(head: Head, X: Mat, prompt: HeadPrompt | null): MoeView {
  return moeView(head, X, prompt === null ? undefined : promptExperts(head, X, prompt));
}

/** The head's output computed directly on the prompt-augmented inputs (no MoE reading). */
export function promptedAttention(head: Head, X: Mat, prompt: HeadPrompt | null): Mat {
  if (prompt === null) return moeView(head, X).attention;
  return attendAugmented(head, promptAugment(head, X, prompt));
}

/** Expert and score kinds of a prompted head at X, by finite differences along random lines. */
export function promptedKinds(head: Head, X: Mat, prompt: HeadPrompt | null, opts?: KindOptions): Kinds {
  return classifyView((Y) => promptedView(head, Y, prompt), X, opts);
}
