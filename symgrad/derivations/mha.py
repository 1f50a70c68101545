"""Multi-head self-attention, Vaswani et al., "Attention Is All You Need" (NeurIPS 2017),
§3.2.2: head_i = Attention(X W_i^Q, X W_i^K, X W_i^V), MultiHead = Concat(head_1…head_h) W^O.
The heads are written once, with the index i; Concat(…) W^O is Σᵢ O_i W_i^O, W_i^O the
i-th row block of W^O. No biases, as in the paper.
"""
from symgrad.dsl import Model, softmax_rows, sum_heads

from .attention import MASK_OPTIONS, attention_scores

SUMMARY = "multi-head self-attention, heads written with an index i"
SOURCE = "Vaswani et al. Attention Is All You Need. NeurIPS 2017, §3.2.2"
CHECK_SIZES = {"T": 4, "d_model": 4, "d_k": 2, "d_v": 2, "h": 2}
OPTIONS = MASK_OPTIONS


def reference(causal=False, padding=False):
    return ("symgrad.references.mha", {"causal": causal})


def build(causal=False, padding=False):
    M = Model("mha", title="Multi-head self-attention", source=SOURCE,
              options={"causal": causal, "padding": padding})
    T, d_model = M.dims("T d_model")
    X = M.input("X", T, d_model)
    M.output(self_attention(M, X, causal, padding, "Y"))
    return M


def self_attention(M, X, causal, padding, out):
    """Σᵢ softmax(Q_i K_iᵀ/√d_k + M) V_i W_i^O with Q_i = X W_i^Q, … as the node named out."""
    d_model = X.cols
    d_k, d_v = M.dims("d_k d_v")
    M.heads("h")
    W = {q: M.param("W_" + q, d_model, d_k if q != "V" else d_v, per_head=True) for q in "QKV"}
    Q, K, V = (M.define(q, X @ W[q]) for q in "QKV")
    S = M.define("S", attention_scores(M, Q, K, d_k, causal, padding), show_delta=True)
    P = M.define("P", softmax_rows(S), show_delta=True)
    O = M.define("O", P @ V)
    return M.define(out, sum_heads(O @ M.param("W_O", d_v, d_model, per_head=True)))
