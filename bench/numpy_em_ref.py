#!/usr/bin/env python3
"""Independent yardstick for bench/fit-speed: one EM iteration of a Gaussian-gated mixture, vectorised numpy.

Model p(x, y) = sum_k pi_k N(x | c_k, Gamma_k) N(y | A_k^T x + b_k, nu_k); one iteration is
    E: r_ik = softmax_k(log pi_k + log N(x_i | c_k, Gamma_k) + log N(y_i | A_k^T x_i + b_k, nu_k))
    M: S_k = sum_i r_ik, pi_k = S_k / n, c_k = sum_i r_ik x_i / S_k, Gamma_k = centred weighted covariance,
       A_k = Sxx_k^{-1} Sxy_k, b_k = ybar_k - A_k^T c_k, nu_k = (Syy_k - A_k^T Sxy_k) / S_k
(all n x k work in whole-array numpy operations; the k small solves by np.linalg).

Usage: numpy_em_ref.py DIR (meta.json with n, d, k, reps; float64 files X.bin (n x d), Y.bin (n),
pi.bin, c.bin, Gamma.bin, A.bin, b.bin, nu.bin). Prints one JSON line: seconds (median of reps
iterations from the same start), logLikelihood (mean, at the start) and the next iterate.
"""
import json
import sys
import time

import numpy as np


def main(folder):
    meta = json.load(open(f"{folder}/meta.json"))
    n, d, k = meta["n"], meta["d"], meta["k"]
    rd = lambda name, shape: np.fromfile(f"{folder}/{name}.bin", dtype="<f8").reshape(shape)
    X, Y = rd("X", (n, d)), rd("Y", (n,))
    pi, c, Gamma, A, b, nu = rd("pi", (k,)), rd("c", (k, d)), rd("Gamma", (k, d, d)), rd("A", (k, d)), rd("b", (k,)), rd("nu", (k,))

    def iteration():
        L = np.linalg.cholesky(Gamma)                          # k x d x d
        Linv = np.linalg.inv(L)
        logdet = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        D = X[:, None, :] - c[None, :, :]                      # n x k x d
        Z = np.einsum("kab,nkb->nka", Linv, D)
        E = Y[:, None] - (X @ A.T + b)                         # n x k
        lw = (np.log(pi) - 0.5 * logdet - 0.5 * d * np.log(2 * np.pi) - 0.5 * (Z * Z).sum(axis=2)
              - 0.5 * np.log(2 * np.pi * nu) - 0.5 * E * E / nu)
        m = lw.max(axis=1, keepdims=True)
        w = np.exp(lw - m)
        tot = w.sum(axis=1, keepdims=True)
        ll = float((m[:, 0] + np.log(tot[:, 0])).mean())
        R = w / tot
        S0 = R.sum(axis=0)
        cn = (R.T @ X) / S0[:, None]
        ybar = (R.T @ Y) / S0
        Dx = X[:, None, :] - cn[None, :, :]
        Dy = Y[:, None] - ybar[None, :]
        RDx = R[:, :, None] * Dx
        Sxx = np.einsum("nka,nkb->kab", RDx, Dx)
        Sxy = np.einsum("nka,nk->ka", RDx, Dy)
        Syy = (R * Dy * Dy).sum(axis=0)
        An = np.linalg.solve(Sxx, Sxy[:, :, None])[:, :, 0]
        return ll, {"pi": S0 / n, "c": cn, "Gamma": Sxx / S0[:, None, None], "A": An,
                    "b": ybar - (An * cn).sum(axis=1), "nu": (Syy - (An * Sxy).sum(axis=1)) / S0}

    times = []
    for _ in range(meta.get("reps", 7)):
        t0 = time.perf_counter()
        ll, nxt = iteration()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": float(np.median(times)), "logLikelihood": ll,
                      "next": {key: v.reshape(-1).tolist() for key, v in nxt.items()}, "numpy": np.__version__}))


if __name__ == "__main__":
    main(sys.argv[1])
