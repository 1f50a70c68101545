"""Scaled dot-product attention, written by hand.

Forward: Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.2.1,
with an additive mask M (0 keeps an entry, −inf hides it). Backward: the
standard attention gradients as listed in Dao et al., "FlashAttention",
NeurIPS 2022, Appendix B.2 (without the tiling):

    S = Q Kᵀ / √d_k + M,   P = softmax(S) row-wise,   O = P V
    dV = Pᵀ dO,   dP = dO Vᵀ,   dS = P ⊙ (dP − rowsum(dP ⊙ P) 1ᵀ),
    dQ = dS K / √d_k,   dK = dSᵀ Q / √d_k

Rows are positions: Q, K (B, T, d_k), V (B, T, d_v), optional padding mask
M_pad (B, T, T); the option causal adds −inf above the diagonal. The helpers
work on any leading axes, so mha and transformer reuse them per head.
"""

import numpy as np

LAYOUT = "batch-first"   # (B, T, d); symgrad.check swaps it to the compiled (T, B, d)


def additive_mask(inputs, T, causal):
    """M = causal mask + M_pad, or 0.0 when neither applies; broadcasts against (B, T, T)."""
    mask = np.zeros((T, T))
    if causal:
        mask[np.triu_indices(T, k=1)] = -np.inf
    if "M_pad" in inputs:
        mask = mask + np.asarray(inputs["M_pad"], dtype=np.float64)
    return mask


def _softmax(s):
    """Row-wise softmax shifted by the row max; a −inf entry gets weight exactly 0."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attend(Q, K, V, mask):
    """P = softmax(Q Kᵀ/√d_k + M) and O = P V over the last two axes."""
    S = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]) + mask
    P = _softmax(S)
    return P, P @ V


def attend_vjp(Q, K, V, P, dO):
    """(dQ, dK, dV) from the saved weights P, by the FlashAttention App. B equations.

    Hidden entries have P = 0 exactly, so their dS is 0 and they pass no gradient.
    """
    dV = np.swapaxes(P, -1, -2) @ dO
    dP = dO @ np.swapaxes(V, -1, -2)
    dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))
    scale = 1.0 / np.sqrt(Q.shape[-1])
    return dS @ K * scale, np.swapaxes(dS, -1, -2) @ Q * scale, dV


def _arrays(inputs):
    """Q, K, V as float64."""
    return (np.asarray(inputs[key], dtype=np.float64) for key in ("Q", "K", "V"))


def forward(params, inputs, *, causal=False):
    """Attention output O, shape (B, T, d_v); params is empty."""
    Q, K, V = _arrays(inputs)
    _, O = attend(Q, K, V, additive_mask(inputs, Q.shape[-2], causal))
    return {"O": O}


def vjp(params, inputs, cotangents, *, causal=False):
    """Gradients of Σ ⟨cot, O⟩, cot = cotangents["O"], for Q, K and V (not the mask)."""
    Q, K, V = _arrays(inputs)
    P, _ = attend(Q, K, V, additive_mask(inputs, Q.shape[-2], causal))
    dQ, dK, dV = attend_vjp(Q, K, V, P, np.asarray(cotangents["O"], dtype=np.float64))
    return {"Q": dQ, "K": dK, "V": dV}
