/**
 * The merging regime of an over-specified planted-layer student: every fitted prompt atom keeps a
 * weight exp(b_j) >= w_min, by the simulation's reparameterisation (src/mixture/weight-floor.ts)
 *
 *   exp(b_j) = w_min + exp(u_j),   dF/du_j = dF/db_j * e^{u_j} / (w_min + e^{u_j}),
 *
 * so L-BFGS stays unconstrained in u. A surplus atom can then no longer be switched off by its
 * bias; to leave the fit it must move its key away from every query, and otherwise it shares a
 * planted atom's cell: the regime the slow-rate claims about over-specified prompts are about.
 */
import type { MixingMeasure } from '../mixture/measure.js';
import { checkWeightFloor, flooredBiases, unflooredBiases } from '../mixture/weight-floor.js';
import type { SmoothObjective } from '../estimate/minimize.js';
import type { PlantedLayer } from './planted-layer.js';

/** The same layer in u coordinates (each atom's first entry is u_j instead of b_j). */
export function flooredLayer(layer: PlantedLayer, floor: number): PlantedLayer {
  checkWeightFloor(floor);
  const { atoms, atomSize, nParams } = layer;
  const inner = new Float64Array(nParams);
  const scale = new Float64Array(atoms);
  const map = (theta: Float64Array): Float64Array => flooredBiases(theta, atoms, atomSize, floor, inner, scale);
  return {
    form: layer.form,
    atoms,
    atomSize,
    nParams,
    blocks: layer.blocks,
    outputDim: layer.outputDim,
    width: layer.width,
    heads: layer.heads,
    n: layer.n,
    predict(theta, out) {
      layer.predict(map(theta), out);
    },
    objective(Y): SmoothObjective {
      const base = layer.objective(Y);
      return {
        dim: nParams,
        valueAndGradient(theta, grad) {
          const f = base.valueAndGradient(map(theta), grad);
          for (let j = 0; j < atoms; j++) grad[j * atomSize] = (grad[j * atomSize] as number) * (scale[j] as number);
          return f;
        },
      };
    },
    meanSquaredResidual(theta, Y) {
      return layer.meanSquaredResidual(map(theta), Y);
    },
    gateMeans(theta) {
      return layer.gateMeans(map(theta));
    },
    toMeasure(theta): MixingMeasure {
      return layer.toMeasure(Float64Array.from(map(theta)));
    },
    fromMeasure(g) {
      return unflooredBiases(layer.fromMeasure(g), atoms, atomSize, floor);
    },
  };
}

/** A start given in b coordinates, in the floored layer's u coordinates (a weight below the floor goes just above it). */
export function toFlooredStart(layer: PlantedLayer, theta: Float64Array, floor: number): Float64Array {
  return unflooredBiases(theta, layer.atoms, layer.atomSize, floor);
}
