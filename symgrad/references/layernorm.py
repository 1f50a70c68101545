"""Layer normalization, written by hand.

Ba, Kiros, Hinton, "Layer Normalization", arXiv:1607.06450, 2016, §3 eq. 4:
each row (position) is normalized over its d_model features with the biased
variance, then scaled and shifted. The paper adds no ε; ε = 1e-5 inside the
square root is PyTorch's default and keeps constant rows finite:

    x̂ = (x − μ) / √(σ² + ε),   Y = γ ⊙ x̂ + β

Backward, per row, with g = ∇_Y ⊙ γ and means over the features:

    ∇_x = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / √(σ² + ε)
    ∇_γ = Σ_rows ∇_Y ⊙ x̂,   ∇_β = Σ_rows ∇_Y

X is (B, T, d_model), γ and β are (d_model,). The helpers work on any
leading axes, so the transformer reference reuses them.
"""

import numpy as np

LAYOUT = "batch-first"   # (B, T, d); symgrad.check swaps it to the compiled (T, B, d)

EPSILON = 1e-5


def normalize(X, gamma, beta):
    """Y and the (x̂, 1/√(σ²+ε)) pair the backward pass needs."""
    centered = X - X.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt((centered**2).mean(axis=-1, keepdims=True) + EPSILON)
    x_hat = centered * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std)


def normalize_vjp(gamma, saved, dY):
    """(∇_γ, ∇_β, ∇_X) from the pair saved by normalize; γ, β sum over all rows."""
    x_hat, inv_std = saved
    rows = tuple(range(dY.ndim - 1))
    g = dY * gamma
    dX = inv_std * (g - g.mean(axis=-1, keepdims=True)
                    - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))
    return (dY * x_hat).sum(axis=rows), dY.sum(axis=rows), dX


def forward(params, inputs):
    """Normalized rows Y, shape (B, T, d_model)."""
    Y, _ = normalize(np.asarray(inputs["X"], dtype=np.float64), params["gamma"], params["beta"])
    return {"Y": Y}


def vjp(params, inputs, cotangents):
    """Gradients of Σ ⟨cot, Y⟩, cot = cotangents["Y"], for gamma, beta and X."""
    _, saved = normalize(np.asarray(inputs["X"], dtype=np.float64),
                         params["gamma"], params["beta"])
    d_gamma, d_beta, dX = normalize_vjp(params["gamma"], saved,
                                        np.asarray(cotangents["Y"], dtype=np.float64))
    return {"gamma": d_gamma, "beta": d_beta, "X": dX}
