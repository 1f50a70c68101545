"""Scaled dot-product attention, Vaswani et al., "Attention Is All You Need" (NeurIPS 2017),
§3.2.1, eq. 1: O = softmax(Q Kᵀ/√d_k + M) V, rows are positions, the softmax taken row by
row. The backward pass is the one FlashAttention prints (Dao et al. 2022, App. B):
dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P) 1ᵀ), dQ = dS K/√d_k, dK = dSᵀ Q/√d_k.
"""
from sympy import sqrt

from symgrad.dsl import Model, Option, softmax_rows

SUMMARY = "scaled dot-product attention, optional causal and padding masks"
SOURCE = ("Vaswani et al. Attention Is All You Need. NeurIPS 2017, §3.2.1, eq. 1; "
          "backward as in Dao et al. FlashAttention, NeurIPS 2022, App. B")
CHECK_SIZES = {"T": 4, "d_k": 3, "d_v": 2}
MASK_OPTIONS = {
    "causal": Option(help="the causal mask M: a position attends to itself and earlier ones only"),
    "padding": Option(help="an additive key-padding mask M_pad given with the data (0 keep, -inf hide)"),
}
OPTIONS = MASK_OPTIONS


def reference(causal=False, padding=False):
    return ("symgrad.references.attention", {"causal": causal})


def build(causal=False, padding=False):
    M = Model("attention", title="Scaled dot-product attention", source=SOURCE,
              options={"causal": causal, "padding": padding})
    T, d_k, d_v = M.dims("T d_k d_v")
    Q, K, V = M.input("Q", T, d_k), M.input("K", T, d_k), M.input("V", T, d_v)
    S = M.define("S", attention_scores(M, Q, K, d_k, causal, padding), show_delta=True)
    P = M.define("P", softmax_rows(S), show_delta=True)
    M.output(M.define("O", P @ V))
    return M


def attention_scores(M, Q, K, d_k, causal, padding, suffix=""):
    """Q Kᵀ/√d_k plus the masks: M (causal, constant) and M_pad (padding, given with the data)."""
    T = Q.rows
    S = Q @ K.T / sqrt(d_k)
    if causal:
        S = S + (M.declared.get("M") or M.causal_mask("M", T))
    if padding:
        S = S + (M.declared.get("M_pad") or M.mask("M_pad", T, T))
    return S
