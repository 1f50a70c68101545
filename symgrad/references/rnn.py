"""Vanilla tanh RNN with per-step softmax cross-entropy, written by hand.

Goodfellow, Bengio, Courville, Deep Learning, MIT Press 2016, §10.2:
forward eqs. 10.8–10.11, back-propagation through time eqs. 10.17–10.28.
For t = 1..T, from a given initial state h_0:

    a_t = b + W h_{t-1} + U x_t,   h_t = tanh(a_t),   o_t = c + V h_t,
    yhat_t = softmax(o_t),   L = Σ_t −Σ_j y_{t,j} log yhat_{t,j}

Arrays are batched row-major: x (T, B, m), y (T, B, k) one-hot, h0 (B, n).
"""

import numpy as np

from ._common import initial_state


def _log_softmax(z):
    """Row-wise log-softmax, shifted by the row max so exp cannot overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _forward_pass(params, inputs):
    """Return states h_0..h_T, shape (T+1, B, n), and log-probabilities (T, B, k)."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    h0 = initial_state(inputs, "h0", params["W"].shape[0])
    hs = np.empty((x.shape[0] + 1,) + h0.shape)
    hs[0] = h0
    input_terms = x @ params["U"].T + params["b"]  # U x_t + b for every step at once
    for t in range(x.shape[0]):
        hs[t + 1] = np.tanh(input_terms[t] + hs[t] @ params["W"].T)
    logp = _log_softmax(hs[1:] @ params["V"].T + params["c"])
    return hs, logp


def forward(params, inputs):
    """Per-example loss summed over time, shape (B,)."""
    _, logp = _forward_pass(params, inputs)
    return {"L": -(inputs["y"] * logp).sum(axis=(0, 2))}


def _backward_through_time(params, hs, grad_o):
    """Gradients w.r.t. the pre-activations a_t, shape (T, B, n), by eqs. 10.19–10.21.

    ∇h_t = Wᵀ diag(1−h_{t+1}²) ∇h_{t+1} + Vᵀ ∇o_t, with no future term at t = T.
    """
    grad_a = np.empty_like(hs[1:])
    grad_a_next = np.zeros_like(hs[0])
    for t in reversed(range(grad_o.shape[0])):
        grad_h = grad_o[t] @ params["V"] + grad_a_next @ params["W"]
        grad_a_next = grad_h * (1.0 - hs[t + 1] ** 2)
        grad_a[t] = grad_a_next
    return grad_a


def vjp(params, inputs, cotangents):
    """Gradients of s·Σ_b L_b, with s = cotangents["L"], for U, W, V, b, c, x and h0.

    Parameter gradients sum over time and batch (eqs. 10.22–10.28), taken as one
    matrix product over all T·B rows after the backward loop.
    """
    s = cotangents["L"]
    x = np.asarray(inputs["x"], dtype=np.float64)
    hs, logp = _forward_pass(params, inputs)
    grad_o = s * (np.exp(logp) - inputs["y"])  # ∇o_t = yhat_t − y_t (eq. 10.18)
    grad_a = _backward_through_time(params, hs, grad_o)
    n, k, m = hs.shape[-1], grad_o.shape[-1], x.shape[-1]
    rows_a = grad_a.reshape(-1, n)
    rows_o = grad_o.reshape(-1, k)
    return {
        "U": rows_a.T @ x.reshape(-1, m),
        "W": rows_a.T @ hs[:-1].reshape(-1, n),
        "V": rows_o.T @ hs[1:].reshape(-1, n),
        "b": rows_a.sum(axis=0),
        "c": rows_o.sum(axis=0),
        "x": grad_a @ params["U"],
        "h0": grad_a[0] @ params["W"],
    }
