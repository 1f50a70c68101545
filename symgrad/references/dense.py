"""Two-layer sigmoid network with softmax cross-entropy, written by hand.

Textbook backpropagation (e.g. Bishop, Pattern Recognition and Machine
Learning, 2006, §5.3; Goodfellow, Bengio, Courville, Deep Learning, 2016,
§6.5). Per example, in column-vector math:

    z1 = W1 x + b1,  h = σ(z1),  z2 = W2 h + b2,  yhat = softmax(z2),
    L = −Σ_j y_j log yhat_j

Arrays are batched row-major: x (B, m), y (B, k) one-hot.
"""

import numpy as np


def _sigmoid(z):
    """Logistic sigmoid via tanh, exact and free of overflow for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _log_softmax(z):
    """Row-wise log-softmax, shifted by the row max so exp cannot overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _forward_pass(params, inputs):
    """Return the hidden activations and log-probabilities the backward pass reuses."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    h = _sigmoid(x @ params["W1"].T + params["b1"])
    logp = _log_softmax(h @ params["W2"].T + params["b2"])
    return h, logp


def forward(params, inputs):
    """Per-example cross-entropy loss L, shape (B,)."""
    _, logp = _forward_pass(params, inputs)
    return {"L": -(inputs["y"] * logp).sum(axis=-1)}


def vjp(params, inputs, cotangents):
    """Gradients of s·Σ_b L_b, with s = cotangents["L"], for W1, b1, W2, b2 and x."""
    s = cotangents["L"]
    x = np.asarray(inputs["x"], dtype=np.float64)
    h, logp = _forward_pass(params, inputs)
    dz2 = s * (np.exp(logp) - inputs["y"])  # δz2 = yhat − y (one-hot y)
    dh = dz2 @ params["W2"]  # δh = W2ᵀ δz2
    dz1 = dh * h * (1.0 - h)  # δz1 = δh ⊙ σ'(z1)
    return {
        "W1": dz1.T @ x,
        "b1": dz1.sum(axis=0),
        "W2": dz2.T @ h,
        "b2": dz2.sum(axis=0),
        "x": dz1 @ params["W1"],
    }
