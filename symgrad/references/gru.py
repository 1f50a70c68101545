"""Gated recurrent unit in the form of Cho et al., written by hand.

Cho, van Merriënboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio,
"Learning Phrase Representations using RNN Encoder–Decoder for Statistical
Machine Translation", EMNLP 2014 (arXiv:1406.1078v3), eqs. 5–8, biases
omitted as in the paper. The reset gate acts on h_{t-1} *before* the product
with U (unlike cuDNN, see gru_cudnn). For t = 1..T, from a given h_0:

    r_t = σ(W_r x_t + U_r h_{t-1}),   z_t = σ(W_z x_t + U_z h_{t-1})
    h̃_t = tanh(W x_t + U (r_t ⊙ h_{t-1}))
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t

Arrays are batched row-major: x (T, B, m), h0 (B, n).
"""

import numpy as np

from ._common import initial_state, sigmoid


def _forward_pass(params, inputs):
    """Return states h_0..h_T, shape (T+1, B, n), and the per-step r, z, h̃ and
    r ⊙ h_{t-1}, each (T, B, n), that the backward pass reuses."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    h0 = initial_state(inputs, "h0", params["U"].shape[0])
    steps = x.shape[0]
    hs = np.empty((steps + 1,) + h0.shape)
    hs[0] = h0
    r, z, cand, reset_h = (np.empty((steps,) + h0.shape) for _ in range(4))
    # W_⋆ x_t for every step at once; only the recurrent part needs the loop.
    wr_x, wz_x, w_x = (x @ params[key].T for key in ("W_r", "W_z", "W"))
    for t in range(steps):
        r[t] = sigmoid(wr_x[t] + hs[t] @ params["U_r"].T)
        z[t] = sigmoid(wz_x[t] + hs[t] @ params["U_z"].T)
        reset_h[t] = r[t] * hs[t]
        cand[t] = np.tanh(w_x[t] + reset_h[t] @ params["U"].T)
        hs[t + 1] = z[t] * hs[t] + (1.0 - z[t]) * cand[t]
    return hs, r, z, cand, reset_h


def forward(params, inputs):
    """Hidden states h_1..h_T, shape (T, B, n)."""
    return {"h": _forward_pass(params, inputs)[0][1:]}


def _backward_through_time(params, hs, r, z, cand, cot_h):
    """Deltas w.r.t. the pre-activations of r, z and h̃, each (T, B, n), and δh_0.

    δh_t = cot_t + (carry from step t+1); h_{t-1} reaches h_t four ways: directly
    through z_t ⊙ h_{t-1}, through r_t ⊙ h_{t-1} inside U, and through r_t and z_t.
    """
    d_r, d_z, d_cand = (np.empty_like(cot_h) for _ in range(3))
    carry = np.zeros_like(hs[0])
    for t in reversed(range(cot_h.shape[0])):
        dh = cot_h[t] + carry
        d_z[t] = dh * (hs[t] - cand[t]) * z[t] * (1.0 - z[t])
        d_cand[t] = dh * (1.0 - z[t]) * (1.0 - cand[t] ** 2)
        d_reset_h = d_cand[t] @ params["U"]  # δ(r ⊙ h_{t-1}) = Uᵀ δ(pre-activation of h̃)
        d_r[t] = d_reset_h * hs[t] * r[t] * (1.0 - r[t])
        carry = (dh * z[t] + d_reset_h * r[t]
                 + d_r[t] @ params["U_r"] + d_z[t] @ params["U_z"])
    return d_r, d_z, d_cand, carry


def vjp(params, inputs, cotangents):
    """Gradients of Σ_{t,b} ⟨cot_t, h_t⟩, cot = cotangents["h"], for W_r, W_z, W,
    U_r, U_z, U, x and h0.

    Parameter gradients sum over time and batch, taken as one matrix product
    over all T·B rows after the backward loop.
    """
    x = np.asarray(inputs["x"], dtype=np.float64)
    cot_h = np.asarray(cotangents["h"], dtype=np.float64)
    hs, r, z, cand, reset_h = _forward_pass(params, inputs)
    d_r, d_z, d_cand, d_h0 = _backward_through_time(params, hs, r, z, cand, cot_h)
    n, m = hs.shape[-1], x.shape[-1]
    rows_r, rows_z, rows_cand = (d.reshape(-1, n) for d in (d_r, d_z, d_cand))
    x_rows, h_prev_rows = x.reshape(-1, m), hs[:-1].reshape(-1, n)
    return {
        "W_r": rows_r.T @ x_rows,
        "W_z": rows_z.T @ x_rows,
        "W": rows_cand.T @ x_rows,
        "U_r": rows_r.T @ h_prev_rows,
        "U_z": rows_z.T @ h_prev_rows,
        "U": rows_cand.T @ reset_h.reshape(-1, n),
        "x": d_r @ params["W_r"] + d_z @ params["W_z"] + d_cand @ params["W"],
        "h0": d_h0,
    }
