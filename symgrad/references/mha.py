"""Multi-head self-attention without biases, written by hand.

Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.2.2, with
queries, keys and values all taken from X (self-attention). For each head i:

    Q_i = X W_Q[i],  K_i = X W_K[i],  V_i = X W_V[i],
    O_i = softmax(Q_i K_iᵀ / √d_k + M) V_i,
    Y = Σ_i O_i W_O[i]   (= Concat(O_1, …, O_h) W^O, W_O[i] the row blocks of W^O)

Backward: each head's attention by attention.attend_vjp, then the linear
maps by the product rule; X collects the Q, K and V paths of every head.
X is (B, T, d_model); W_Q, W_K (h, d_model, d_k), W_V (h, d_model, d_v),
W_O (h, d_v, d_model); optional padding mask M_pad (B, T, T), option causal.
"""

import numpy as np

LAYOUT = "batch-first"   # (B, T, d); symgrad.check swaps it to the compiled (T, B, d)

from symgrad.references.attention import additive_mask, attend, attend_vjp

_PROJECTIONS = ("Q", "K", "V")


def self_attention(params, X, mask):
    """Y and the per-head arrays the backward pass needs; heads sit on axis 1."""
    heads = {key: np.einsum("btm,hmk->bhtk", X, params[f"W_{key}"]) for key in _PROJECTIONS}
    P, O = attend(heads["Q"], heads["K"], heads["V"], np.expand_dims(mask, -3))
    return np.einsum("bhtv,hvm->btm", O, params["W_O"]), (X, heads, P, O)


def self_attention_vjp(params, saved, dY):
    """Gradients for W_Q, W_K, W_V, W_O and X from what self_attention saved."""
    X, heads, P, O = saved
    grads = {"W_O": np.einsum("bhtv,btm->hvm", O, dY)}
    dO = np.einsum("btm,hvm->bhtv", dY, params["W_O"])
    d_heads = attend_vjp(heads["Q"], heads["K"], heads["V"], P, dO)
    grads["X"] = np.zeros_like(X)
    for key, d_head in zip(_PROJECTIONS, d_heads):
        grads[f"W_{key}"] = np.einsum("btm,bhtk->hmk", X, d_head)
        grads["X"] += np.einsum("bhtk,hmk->btm", d_head, params[f"W_{key}"])
    return grads


def _setup(inputs, causal):
    """X as float64 and its additive mask."""
    X = np.asarray(inputs["X"], dtype=np.float64)
    return X, additive_mask(inputs, X.shape[-2], causal)


def forward(params, inputs, *, causal=False):
    """Self-attention output Y, shape (B, T, d_model)."""
    Y, _ = self_attention(params, *_setup(inputs, causal))
    return {"Y": Y}


def vjp(params, inputs, cotangents, *, causal=False):
    """Gradients of Σ ⟨cot, Y⟩, cot = cotangents["Y"], for every weight and X."""
    _, saved = self_attention(params, *_setup(inputs, causal))
    return self_attention_vjp(params, saved, np.asarray(cotangents["Y"], dtype=np.float64))
