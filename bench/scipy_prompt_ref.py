#!/usr/bin/env python3
"""Independent yardstick for bench/fit-speed: the VPT and VAPT prompt mixtures fitted with numpy + scipy.

Model (one head, query row 0, pretrained part known), written here from its formula:
    q = W_Q^T x_0,  token expert i < N: score q . W_K^T x_i / sqrt(dk), value W_V^T x_i
    prompt expert j: score q . W_K^T P_j / sqrt(dk) + b_j, value W_V^T P_j
    f(X) = softmax-weighted mean of the N + L expert values                        (y in R^dv)
    vpt   P_j = p_j (theta atom j = [b_j, p_j (d)])
    vapt  P_j = res G_j + W2 relu(W1 G_j),  G_j = sum_k alpha_jk C_k,  C = conv(X) (H'W' x d,
          one K x K kernel shared by the channels, zero padding; no LayerNorm)
          (theta atom j = [b_j, alpha_j (H'W')])
Jacobian (g_j the prompt gate, u_j = g_j (nu_j - f), a = W_K q / sqrt(dk)):
    d f / d b_j = u_j
    vpt   d f / d p_j = u_j a^T + g_j W_V^T
    vapt  d f / d alpha_jk = u_j (a . M_j C_k) + g_j W_V^T M_j C_k,  M_j = res I + W2 diag(1[W1 G_j > 0]) W1
Everything is vectorised over the n samples (numpy broadcasting / einsum).

Usage: scipy_prompt_ref.py DIR  (DIR holds meta.json and float64 little-endian files X.bin (n x N x d),
Y.bin (n x dv), theta0.bin, WQ.bin (d x dk), WK.bin, WV.bin (d x dv), and for vapt kernel.bin (K x K),
W1.bin (r x d), W2.bin (d x r)). Prints one JSON line: objective (mean squared residual), seconds,
nfev, njev, status, and perJacobian (seconds of one fun + jac evaluation, median of 5).
scipy.optimize.least_squares(method='lm') runs MINPACK's lmder with the analytic Jacobian.
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import least_squares


def load(folder, name, shape):
    return np.fromfile(f"{folder}/{name}.bin", dtype="<f8").reshape(shape)


def main(folder):
    meta = json.load(open(f"{folder}/meta.json"))
    kind, n, N, d, dk, dv, L = meta["kind"], meta["n"], meta["N"], meta["d"], meta["dk"], meta["dv"], meta["L"]
    X = load(folder, "X", (n, N, d))
    Y = load(folder, "Y", (n, dv)).reshape(-1)
    theta0 = np.fromfile(f"{folder}/theta0.bin", dtype="<f8")
    WQ, WK, WV = load(folder, "WQ", (d, dk)), load(folder, "WK", (d, dk)), load(folder, "WV", (d, dv))
    inv = 1.0 / np.sqrt(dk)
    q = X[:, 0, :] @ WQ                              # n x dk
    tok_s = np.einsum("nm,nim->ni", q, X @ WK) * inv  # n x N
    tok_v = X @ WV                                   # n x N x dv
    a = q @ WK.T * inv                               # n x d

    if kind == "vapt":
        H, W = meta["grid"]
        K, pad, r, res = meta["kernel"], meta["padding"], meta["rank"], 1.0 if meta["residual"] else 0.0
        ker, W1, W2 = load(folder, "kernel", (K, K)), load(folder, "W1", (r, d)), load(folder, "W2", (d, r))
        Xp = np.pad(X.reshape(n, H, W, d), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        Ho, Wo = H + 2 * pad - K + 1, W + 2 * pad - K + 1
        C = sum(ker[u, v] * Xp[:, u:u + Ho, v:v + Wo, :] for u in range(K) for v in range(K)).reshape(n, Ho * Wo, d)
        HW = Ho * Wo
        S = 1 + HW
    else:
        S = 1 + d
    assert theta0.size == L * S, (theta0.size, L, S)

    def parts(theta):
        T = theta.reshape(L, S)
        b = T[:, 0]
        if kind == "vpt":
            Pj = np.broadcast_to(T[:, 1:], (n, L, d))
            pre = None
        else:
            G = np.einsum("lk,nkd->nld", T[:, 1:], C)
            pre = G @ W1.T                           # n x L x r
            Pj = res * G + np.maximum(pre, 0) @ W2.T
        ps = np.einsum("nd,nld->nl", a, Pj) + b      # = q . W_K^T P_j / sqrt(dk) + b_j
        pv = Pj @ WV                                 # n x L x dv
        s = np.concatenate([tok_s, ps], axis=1)
        s -= s.max(axis=1, keepdims=True)
        w = np.exp(s)
        w /= w.sum(axis=1, keepdims=True)
        f = np.einsum("ni,nic->nc", w[:, :N], tok_v) + np.einsum("nl,nlc->nc", w[:, N:], pv)
        return w[:, N:], pv, f, pre

    def fun(theta):
        return parts(theta)[2].reshape(-1) - Y

    def jac(theta):
        g, pv, f, pre = parts(theta)
        u = g[:, :, None] * (pv - f[:, None, :])     # n x L x dv
        J = np.empty((n, dv, L, S))
        J[:, :, :, 0] = u.transpose(0, 2, 1)
        if kind == "vpt":
            J[:, :, :, 1:] = np.einsum("nlc,nk->nclk", u, a) + np.einsum("nl,kc->nclk", g, WV)
        else:
            D = (pre > 0).astype(float)              # n x L x r
            CW1 = C @ W1.T                           # n x HW x r
            # M_j C_k = res C_k + W2 (D_j * W1 C_k):  n x L x HW x d
            MC = res * C[:, None, :, :] + np.einsum("nlr,nkr,dr->nlkd", D, CW1, W2, optimize=True)
            ds = np.einsum("nlkd,nd->nlk", MC, a)
            dn = MC @ WV                             # n x L x HW x dv
            J[:, :, :, 1:] = np.einsum("nlc,nlk->nclk", u, ds) + np.einsum("nl,nlkc->nclk", g, dn)
        return J.reshape(n * dv, L * S)

    tol = meta.get("tol", 1e-12)
    t0 = time.perf_counter()
    res_ = least_squares(fun, theta0, jac=jac, method="lm", ftol=tol, xtol=tol, gtol=tol, max_nfev=meta.get("maxNfev", 2000))
    seconds = time.perf_counter() - t0
    per = []
    for _ in range(5):
        t1 = time.perf_counter()
        fun(res_.x)
        jac(res_.x)
        per.append(time.perf_counter() - t1)
    print(json.dumps({"objective": float(np.mean(res_.fun ** 2)), "seconds": seconds, "nfev": int(res_.nfev),
                      "njev": int(res_.njev or 0), "status": int(res_.status), "perJacobian": float(np.median(per)),
                      "numpy": np.__version__, "scipy": __import__("scipy").__version__}))


if __name__ == "__main__":
    main(sys.argv[1])
