// An example plugin: a model kind defined outside the package and loaded by a study's
// "plugins": ["./my-kind.js"] (resolved relative to the study's folder) in the main thread and in
// every worker thread. The kind: a straight line y = a x + b + sigma eps, x ~ U[-1, 1], fitted by
// ordinary least squares in closed form; losses "l2" (||(a, b)-hat - (a, b)||) and "slope" (|a-hat - a|).
import { registerKind } from 'prompt-experts';

registerKind({
  kind: 'line',
  summary: 'y = a x + b + sigma eps fitted by ordinary least squares (example plugin); losses l2, slope',
  lossNames: ['l2', 'slope'],
  estimators: ['ols'],
  build(model, _estimator, path) {
    const a = model.a ?? 1;
    const b = model.b ?? 0;
    const sigma = model.sigma ?? 0.5;
    if (typeof a !== 'number' || typeof b !== 'number' || typeof sigma !== 'number' || !(sigma > 0)) {
      throw new Error(`${path}.model: expected numbers a, b and sigma > 0`);
    }
    const truth = { atoms: [{ params: { a: Float64Array.of(a), b: Float64Array.of(b) } }] };
    return {
      lossNames: ['l2', 'slope'],
      simulate(n, rng) {
        const X = new Float64Array(n);
        const Y = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          X[i] = 2 * rng.uniform() - 1;
          Y[i] = a * X[i] + b + sigma * rng.normal();
        }
        return { samples: { n, inputDim: 1, outputDim: 1, X, Y }, truth };
      },
      fit(s) {
        const t0 = performance.now();
        let mx = 0, my = 0;
        for (let i = 0; i < s.n; i++) { mx += s.X[i] / s.n; my += s.Y[i] / s.n; }
        let sxx = 0, sxy = 0;
        for (let i = 0; i < s.n; i++) { sxx += (s.X[i] - mx) ** 2; sxy += (s.X[i] - mx) * (s.Y[i] - my); }
        const ah = sxy / sxx;
        return {
          measure: { atoms: [{ params: { a: Float64Array.of(ah), b: Float64Array.of(my - ah * mx) } }] },
          diagnostics: { iterations: 1, converged: true, objective: 0, restarts: 1, seconds: (performance.now() - t0) / 1000 },
        };
      },
      losses(fit, t) {
        const da = fit.measure.atoms[0].params.a[0] - t.atoms[0].params.a[0];
        const db = fit.measure.atoms[0].params.b[0] - t.atoms[0].params.b[0];
        return { l2: Math.hypot(da, db), slope: Math.abs(da) };
      },
    };
  },
});
