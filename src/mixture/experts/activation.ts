/**
 * Activations of the one-hidden-layer experts with their derivatives:
 *   relu(z) = max(z, 0)                 relu'(z) = 1[z > 0]
 *   tanh(z)                              tanh'(z) = 1 - tanh(z)^2
 *   gelu(z) = z Phi(z) (exact, erf form) gelu'(z) = Phi(z) + z phi(z)
 */
import { stdlib } from '../../util/stdlib.js';

const erf = stdlib<(x: number) => number>('@stdlib/math/base/special/erf');

export type ActivationName = 'relu' | 'tanh' | 'gelu';

export interface Activation {
  readonly name: ActivationName;
  f(z: number): number;
  /** sigma'(z), given also fz = sigma(z) (tanh reuses it). */
  df(z: number, fz: number): number;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const activations: Readonly<Record<ActivationName, Activation>> = {
  relu: { name: 'relu', f: (z) => (z > 0 ? z : 0), df: (z) => (z > 0 ? 1 : 0) },
  tanh: {
    name: 'tanh',
    f: Math.tanh,
    df: (_z, t) => 1 - t * t,
  },
  gelu: {
    name: 'gelu',
    f: (z) => 0.5 * z * (1 + erf(z * INV_SQRT2)),
    df: (z) => 0.5 * (1 + erf(z * INV_SQRT2)) + z * INV_SQRT_2PI * Math.exp(-0.5 * z * z),
  },
};
