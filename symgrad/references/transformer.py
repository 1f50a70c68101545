"""One Transformer encoder block, written by hand.

Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.1 (residual
connection around each sub-layer, then layer normalization) and §3.3
(position-wise FFN). With FFN(H) = act(H W_1 + b_1) W_2 + b_2 and
LN_k(Z) = γ_k ⊙ x̂(Z) + β_k, ε = 1e-5:

    post-LN (Vaswani):   H = LN_1(X + MHA(X)),   Y = LN_2(H + FFN(H))
    pre-LN (pre_ln):     H = X + MHA(LN_1(X)),   Y = H + FFN(LN_2(H))

act is ReLU, or with the option gelu the tanh approximation of GELU
(Hendrycks & Gimpel, arXiv:1606.08415, §2):

    gelu(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))

The backward pass chains the pieces' hand-written backward passes in reverse:
layernorm.normalize_vjp, mha.self_attention_vjp and the FFN below; at each
residual sum the gradient flows into both branches and adds up.
X is (B, T, d_model); MHA weights as in mha; W_1 (d_model, d_ff), b_1 (d_ff,),
W_2 (d_ff, d_model), b_2 (d_model,), γ_k, β_k (d_model,). Options causal,
pre_ln, gelu; optional padding mask M_pad (B, T, T).
"""

import numpy as np

LAYOUT = "batch-first"   # (B, T, d); symgrad.check swaps it to the compiled (T, B, d)

from symgrad.references.attention import additive_mask
from symgrad.references.layernorm import normalize, normalize_vjp
from symgrad.references.mha import self_attention, self_attention_vjp

_GELU_SCALE = np.sqrt(2.0 / np.pi)
_GELU_CUBIC = 0.044715


def _activation(A, gelu):
    """act(A) and act'(A), elementwise."""
    if not gelu:
        return np.maximum(A, 0.0), (A > 0.0).astype(np.float64)
    th = np.tanh(_GELU_SCALE * (A + _GELU_CUBIC * A**3))
    inner_slope = _GELU_SCALE * (1.0 + 3.0 * _GELU_CUBIC * A**2)
    slope = 0.5 * (1.0 + th) + 0.5 * A * (1.0 - th**2) * inner_slope
    return 0.5 * A * (1.0 + th), slope


def _ffn(params, H, gelu):
    """FFN(H) and what its backward pass needs."""
    Z, slope = _activation(H @ params["W_1"] + params["b_1"], gelu)
    return Z @ params["W_2"] + params["b_2"], (H, Z, slope)


def _ffn_vjp(params, saved, dF):
    """Gradients for W_1, b_1, W_2, b_2 and the FFN input H; weights sum over all rows."""
    H, Z, slope = saved
    dA = (dF @ params["W_2"].T) * slope
    rows = tuple(range(dF.ndim - 1))
    return {"W_2": np.tensordot(Z, dF, axes=(rows, rows)), "b_2": dF.sum(axis=rows),
            "W_1": np.tensordot(H, dA, axes=(rows, rows)), "b_1": dA.sum(axis=rows),
            "H": dA @ params["W_1"].T}


def _layer_norm(params, k, Z):
    """LN_k(Z), k = 1 or 2, and its saved pair."""
    return normalize(Z, params[f"gamma_{k}"], params[f"beta_{k}"])


def _layer_norm_vjp(params, k, saved, dY, grads):
    """Store ∇γ_k, ∇β_k in grads and return the gradient for LN_k's input."""
    grads[f"gamma_{k}"], grads[f"beta_{k}"], dZ = normalize_vjp(params[f"gamma_{k}"], saved, dY)
    return dZ


def _forward_pass(params, inputs, causal, pre_ln, gelu):
    """Y and everything the backward pass needs, keyed by sub-layer."""
    X = np.asarray(inputs["X"], dtype=np.float64)
    mask = additive_mask(inputs, X.shape[-2], causal)
    saved = {}
    if pre_ln:
        N1, saved["ln1"] = _layer_norm(params, 1, X)
        attended, saved["mha"] = self_attention(params, N1, mask)
        H = X + attended
        N2, saved["ln2"] = _layer_norm(params, 2, H)
        fed, saved["ffn"] = _ffn(params, N2, gelu)
        return H + fed, saved
    attended, saved["mha"] = self_attention(params, X, mask)
    H, saved["ln1"] = _layer_norm(params, 1, X + attended)
    fed, saved["ffn"] = _ffn(params, H, gelu)
    Y, saved["ln2"] = _layer_norm(params, 2, H + fed)
    return Y, saved


def forward(params, inputs, *, causal=False, pre_ln=False, gelu=False):
    """Block output Y, shape (B, T, d_model)."""
    Y, _ = _forward_pass(params, inputs, causal, pre_ln, gelu)
    return {"Y": Y}


def vjp(params, inputs, cotangents, *, causal=False, pre_ln=False, gelu=False):
    """Gradients of Σ ⟨cot, Y⟩, cot = cotangents["Y"], for every parameter and X."""
    _, saved = _forward_pass(params, inputs, causal, pre_ln, gelu)
    dY = np.asarray(cotangents["Y"], dtype=np.float64)
    grads = {}
    if pre_ln:
        ffn = _ffn_vjp(params, saved["ffn"], dY)
        dH = dY + _layer_norm_vjp(params, 2, saved["ln2"], ffn.pop("H"), grads)
        mha = self_attention_vjp(params, saved["mha"], dH)
        dX = dH + _layer_norm_vjp(params, 1, saved["ln1"], mha.pop("X"), grads)
    else:
        dR2 = _layer_norm_vjp(params, 2, saved["ln2"], dY, grads)
        ffn = _ffn_vjp(params, saved["ffn"], dR2)
        dR1 = _layer_norm_vjp(params, 1, saved["ln1"], dR2 + ffn.pop("H"), grads)
        mha = self_attention_vjp(params, saved["mha"], dR1)
        dX = dR1 + mha.pop("X")
    return {**grads, **ffn, **mha, "X": dX}
