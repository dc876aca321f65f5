#!/usr/bin/env python3
"""Independent numpy reference of the moe-view contract (README "moe-view and params: formats").

Written from the contract's text, not from the TypeScript: reads one input document (or a JSON
list of them) on stdin and prints the corresponding {gates, scores, expertOutputs, output,
attention} documents. Kinds are not computed here (they are a numerical classification, not
part of the arithmetic being checked).

Attention on the augmented sequence, in matrix form:
  vpt deep     keys/values from [X; P], queries from X
  vpt shallow  keys/values/queries from [X; P]
  kv           keys [X WK; K], values [X WV; V], queries X WQ
  vapt         P = G + W2 relu(W1 G) (residual) or W2 relu(W1 G),
               G = alpha conv(LN(X)) + bias, appended like vpt deep
"""
import json
import sys

import numpy as np


def layer_norm(x, gamma, beta, eps=1e-6):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


def vapt_prompts(X, p):
    H, W = p["grid"]
    k = np.asarray(p["kernel"], dtype=np.float64)
    K = k.shape[0]
    pad = p["padding"]
    d = X.shape[1]
    if p["layerNorm"] is not None:
        X = layer_norm(X, np.asarray(p["layerNorm"]["gamma"]), np.asarray(p["layerNorm"]["beta"]))
    img = X.reshape(H, W, d)
    img = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
    Ho, Wo = H + 2 * pad - K + 1, W + 2 * pad - K + 1
    out = np.zeros((Ho, Wo, d))
    for u in range(K):
        for v in range(K):
            out += k[u, v] * img[u:u + Ho, v:v + Wo, :]
    C = out.reshape(Ho * Wo, d)
    alpha = np.asarray(p["alpha"], dtype=np.float64)
    G = alpha @ C + np.asarray(p["bias"], dtype=np.float64)[:, None]
    W1 = np.asarray(p["W1"], dtype=np.float64)
    W2 = np.asarray(p["W2"], dtype=np.float64)
    mlp = np.maximum(G @ W1.T, 0.0) @ W2.T
    return G + mlp if p["residual"] else mlp


def moe_view(doc):
    X = np.asarray(doc["X"], dtype=np.float64)
    WQ = np.asarray(doc["WQ"], dtype=np.float64)
    WK = np.asarray(doc["WK"], dtype=np.float64)
    WV = np.asarray(doc["WV"], dtype=np.float64)
    dk = WQ.shape[1]
    p = doc["prompt"]
    queries_tokens = X
    if p is None:
        Kall, Vall = X @ WK, X @ WV
    elif p["kind"] == "vpt":
        T = np.vstack([X, np.asarray(p["P"], dtype=np.float64)])
        Kall, Vall = T @ WK, T @ WV
        if p["mode"] == "shallow":
            queries_tokens = T
    elif p["kind"] == "kv":
        Kall = np.vstack([X @ WK, np.asarray(p["K"], dtype=np.float64)])
        Vall = np.vstack([X @ WV, np.asarray(p["V"], dtype=np.float64)])
    elif p["kind"] == "vapt":
        T = np.vstack([X, vapt_prompts(X, p)])
        Kall, Vall = T @ WK, T @ WV
    else:
        raise ValueError(p["kind"])
    S = (queries_tokens @ WQ) @ Kall.T / np.sqrt(dk)
    A = np.exp(S - S.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    out = A @ Vall
    return {
        "gates": A.tolist(),
        "scores": S.tolist(),
        "expertOutputs": Vall.tolist(),
        "output": out.tolist(),
        "attention": out.tolist(),
    }


def main():
    doc = json.load(sys.stdin)
    res = [moe_view(d) for d in doc] if isinstance(doc, list) else moe_view(doc)
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
