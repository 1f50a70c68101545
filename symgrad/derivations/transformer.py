"""One Transformer encoder block, Vaswani et al., "Attention Is All You Need" (NeurIPS 2017),
§3.1 and §3.3: multi-head self-attention, residual, layer norm, position-wise feed-forward
network FFN(H) = max(0, H W_1 + b_1) W_2 + b_2, residual, layer norm (post-LN, as printed).
The pre-LN form (Xiong et al., "On Layer Normalization in the Transformer Architecture",
ICML 2020) normalizes before each sub-layer instead: H = X + MHA(LN_1(X)),
Y = H + FFN(LN_2(H)). Row vectors (biases, γ, β) are added to every row: 1 b.
"""
from symgrad.dsl import Model, Option, gelu, ones, relu

from .attention import MASK_OPTIONS
from .layernorm import normalized
from .mha import self_attention

SUMMARY = "Transformer encoder block: attention, FFN, residuals, layer norms (post- or pre-LN)"
SOURCE = ("Vaswani et al. Attention Is All You Need. NeurIPS 2017, §3.1, §3.3; pre-LN: "
          "Xiong et al. On Layer Normalization in the Transformer Architecture. ICML 2020")
CHECK_SIZES = {"T": 3, "d_model": 4, "d_k": 2, "d_v": 2, "h": 2, "d_ff": 5}
OPTIONS = {"pre_ln": Option(help="layer norm before each sub-layer (Xiong et al. 2020), not after"),
           **MASK_OPTIONS,
           "gelu": Option(help="GELU in the feed-forward network instead of ReLU")}


def reference(pre_ln=False, causal=False, padding=False, gelu=False):
    return ("symgrad.references.transformer", {"pre_ln": pre_ln, "causal": causal, "gelu": gelu})


def build(pre_ln=False, causal=False, padding=False, gelu=False):
    M = Model("transformer", title=f"Transformer encoder block ({'pre' if pre_ln else 'post'}-LN)",
              source=SOURCE, options={"pre_ln": pre_ln, "causal": causal, "padding": padding,
                                      "gelu": gelu})
    T, d_model, d_ff = M.dims("T d_model d_ff")
    X = M.input("X", T, d_model)
    attend = lambda Z: self_attention(M, Z, causal, padding, "A")  # noqa: E731
    if pre_ln:
        H = M.define("H", X + attend(normalized(M, X, "_1", "N_1")))
        M.output(M.define("Y", H + feed_forward(M, normalized(M, H, "_2", "N_2"), d_ff, gelu)))
    else:   # the residual sums R are named: each feeds a layer norm and two routes back
        H = normalized(M, M.define("R_1", X + attend(X)), "_1", "H")
        M.output(normalized(M, M.define("R_2", H + feed_forward(M, H, d_ff, gelu)), "_2", "Y"))
    return M


def feed_forward(M, H, d_ff, use_gelu):
    """FFN(H) = act(H W_1 + 1 b_1) W_2 + 1 b_2, the node F; act is ReLU (or GELU)."""
    T, d_model = H.shape
    W_1, b_1 = M.param("W_1", d_model, d_ff), M.param("b_1", 1, d_ff)
    W_2, b_2 = M.param("W_2", d_ff, d_model), M.param("b_2", 1, d_model)
    act = gelu if use_gelu else relu
    Z = M.define("Z", H @ W_1 + ones(T) @ b_1)
    return M.define("F", act(Z) @ W_2 + ones(T) @ b_2)
