"""Layer normalization, Ba, Kiros & Hinton, "Layer Normalization" (arXiv:1607.06450, 2016),
§3, applied to each row (position) over its d_model features with the biased variance:
X̂ = (X − μ 1ᵀ) ⊘ (σ 1ᵀ), σ = √(var + ε), Y = X̂ ⊙ (1 γ) + 1 β, ε = 1e-5 as in PyTorch.
Its input gradient is one rule of the VJP table, in the compact form
(G − rowmean(G) 1ᵀ − X̂ ⊙ rowmean(G ⊙ X̂) 1ᵀ) ⊘ σ 1ᵀ with G = δX̂.
"""
from symgrad.dsl import Model, layernorm, ones

SUMMARY = "layer normalization of each row, with gain γ and bias β"
SOURCE = "Ba, Kiros, Hinton. Layer Normalization. arXiv:1607.06450, 2016, §3"
CHECK_SIZES = {"T": 3, "d_model": 4}
REFERENCE = "symgrad.references.layernorm"
EPS = 1e-5


def build():
    M = Model("layernorm", title="Layer normalization", source=SOURCE)
    T, d = M.dims("T d_model")
    X = M.input("X", T, d)
    M.output(normalized(M, X, "", "Y"))
    return M


def normalized(M, X, tag, out):
    """X̂ = LN(X) and out = X̂ ⊙ (1 γ) + 1 β as nodes, γ and β row vectors (names + tag)."""
    T, d = X.shape
    gamma, beta = M.param("gamma" + tag, 1, d), M.param("beta" + tag, 1, d)
    xhat = M.define("Xhat" + tag, layernorm(X, EPS))
    return M.define(out, xhat * (ones(T) @ gamma) + ones(T) @ beta)
