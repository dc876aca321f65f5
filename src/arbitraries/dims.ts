/** Head dimensions: tokens N, width d, key width dk, value width dv. */
import fc from 'fast-check';

export interface Dims {
  readonly N: number;
  readonly d: number;
  readonly dk: number;
  readonly dv: number;
}

export interface DimsOptions {
  readonly maxTokens?: number;
  readonly maxWidth?: number;
}

export function dimsArb(opts: DimsOptions = {}): fc.Arbitrary<Dims> {
  const w = opts.maxWidth ?? 6;
  return fc.record({
    N: fc.integer({ min: 1, max: opts.maxTokens ?? 6 }),
    d: fc.integer({ min: 1, max: w }),
    dk: fc.integer({ min: 1, max: w }),
    dv: fc.integer({ min: 1, max: w }),
  });
}
