#!/usr/bin/env python3
"""Independent yardstick for bench/fit-speed: the same least-squares fit with numpy + scipy.

Model (the TypeScript softmaxMoe with affine gates, last atom anchored, one-hidden-layer tanh
experts with output layer and bias, scalar output), written here from its formula, not from the
TypeScript code:
    f(x) = sum_j g_j(x) (V_j . tanh(W_j x + c_j) + v0_j),
    g = softmax(b_j + beta_j . x), with (b, beta) = 0 for the last atom.
theta layout, atom by atom: [b_j, beta_j (d)] (not for the last atom), W_j (h x d, row-major),
c_j (h), V_j (h), v0_j.

Usage: scipy_ref.py DIR  (DIR holds meta.json, X.bin, Y.bin, theta0.bin: float64 little endian).
Prints one JSON line: objective (mean squared residual), seconds (best of meta.reps runs), nfev,
njev, status, theta.
scipy.optimize.least_squares(method='lm') runs MINPACK's lmder with the analytic Jacobian.
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import least_squares


def main(folder):
    meta = json.load(open(f"{folder}/meta.json"))
    n, d, L, h = meta["n"], meta["d"], meta["atoms"], meta["hidden"]
    X = np.fromfile(f"{folder}/X.bin", dtype="<f8").reshape(n, d)
    Y = np.fromfile(f"{folder}/Y.bin", dtype="<f8")
    theta0 = np.fromfile(f"{folder}/theta0.bin", dtype="<f8")

    # offsets
    gate_off, exp_off, P = [], [], 0
    for j in range(L):
        if j == L - 1:
            gate_off.append(-1)
        else:
            gate_off.append(P)
            P += 1 + d
        exp_off.append(P)
        P += h * d + h + h + 1
    assert P == theta0.size, (P, theta0.size)

    def parts(theta):
        logits = np.zeros((n, L))
        E = np.empty((n, L))
        U = []
        for j in range(L):
            go, eo = gate_off[j], exp_off[j]
            if go >= 0:
                logits[:, j] = theta[go] + X @ theta[go + 1:go + 1 + d]
            W = theta[eo:eo + h * d].reshape(h, d)
            c = theta[eo + h * d:eo + h * d + h]
            V = theta[eo + h * d + h:eo + h * d + 2 * h]
            v0 = theta[eo + h * d + 2 * h]
            u = np.tanh(X @ W.T + c)
            U.append((u, V))
            E[:, j] = u @ V + v0
        logits -= logits.max(axis=1, keepdims=True)
        G = np.exp(logits)
        G /= G.sum(axis=1, keepdims=True)
        f = (G * E).sum(axis=1)
        return G, E, U, f

    def fun(theta):
        return parts(theta)[3] - Y

    def jac(theta):
        G, E, U, f = parts(theta)
        J = np.empty((n, P))
        for j in range(L):
            go, eo = gate_off[j], exp_off[j]
            gj = G[:, j]
            if go >= 0:
                cj = gj * (E[:, j] - f)
                J[:, go] = cj
                J[:, go + 1:go + 1 + d] = cj[:, None] * X
            u, V = U[j]
            dz = gj[:, None] * (1 - u * u) * V  # n x h
            for k in range(h):
                J[:, eo + k * d:eo + (k + 1) * d] = dz[:, k:k + 1] * X
            J[:, eo + h * d:eo + h * d + h] = dz
            J[:, eo + h * d + h:eo + h * d + 2 * h] = gj[:, None] * u
            J[:, eo + h * d + 2 * h] = gj
        return J

    tol = meta.get("tol", 1e-12)
    seconds = float("inf")
    for _ in range(meta.get("reps", 1)):  # best of reps (the machine may be shared)
        t0 = time.perf_counter()
        res = least_squares(fun, theta0, jac=jac, method="lm", ftol=tol, xtol=tol, gtol=tol, max_nfev=meta.get("maxNfev", 2000))
        seconds = min(seconds, time.perf_counter() - t0)
    objective = float(np.mean(res.fun ** 2))
    print(json.dumps({"objective": objective, "seconds": seconds, "nfev": int(res.nfev), "njev": int(res.njev or 0),
                      "status": int(res.status), "theta": res.x.tolist(), "numpy": np.__version__,
                      "scipy": __import__("scipy").__version__}))


if __name__ == "__main__":
    main(sys.argv[1])
