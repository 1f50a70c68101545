"""Gated recurrent unit in the form of torch.nn.GRU / cuDNN, written by hand.

The variant documented for torch.nn.GRU and implemented by NVIDIA cuDNN: the
reset gate multiplies W_hn h_{t-1} + b_hn *after* the product (Cho et al.
apply it before, see gru), and every gate has separate input and hidden
biases. For t = 1..T, from a given h_0:

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Arrays are batched row-major: x (T, B, m), h0 (B, n).
"""

import numpy as np

from ._common import initial_state, sigmoid


def _forward_pass(params, inputs):
    """Return states h_0..h_T, shape (T+1, B, n), and the per-step r, z, n and
    W_hn h_{t-1} + b_hn, each (T, B, n), that the backward pass reuses."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    h0 = initial_state(inputs, "h0", params["W_hn"].shape[0])
    steps = x.shape[0]
    hs = np.empty((steps + 1,) + h0.shape)
    hs[0] = h0
    r, z, new, hidden_n = (np.empty((steps,) + h0.shape) for _ in range(4))
    # W_i⋆ x_t + b_i⋆ for every step at once; only the recurrent part needs the loop.
    in_r, in_z, in_n = (x @ params[f"W_i{g}"].T + params[f"b_i{g}"] for g in "rzn")
    for t in range(steps):
        r[t] = sigmoid(in_r[t] + hs[t] @ params["W_hr"].T + params["b_hr"])
        z[t] = sigmoid(in_z[t] + hs[t] @ params["W_hz"].T + params["b_hz"])
        hidden_n[t] = hs[t] @ params["W_hn"].T + params["b_hn"]
        new[t] = np.tanh(in_n[t] + r[t] * hidden_n[t])
        hs[t + 1] = (1.0 - z[t]) * new[t] + z[t] * hs[t]
    return hs, r, z, new, hidden_n


def forward(params, inputs):
    """Hidden states h_1..h_T, shape (T, B, n)."""
    return {"h": _forward_pass(params, inputs)[0][1:]}


def _backward_through_time(params, hs, r, z, new, hidden_n, cot_h):
    """Deltas w.r.t. the pre-activations of r, z, n and w.r.t. W_hn h_{t-1} + b_hn,
    each (T, B, n), and δh_0.

    δh_t = cot_t + (carry from step t+1); h_{t-1} reaches h_t directly through
    z_t ⊙ h_{t-1} and through the three hidden products W_hr, W_hz, W_hn.
    """
    d_r, d_z, d_new, d_hidden_n = (np.empty_like(cot_h) for _ in range(4))
    carry = np.zeros_like(hs[0])
    for t in reversed(range(cot_h.shape[0])):
        dh = cot_h[t] + carry
        d_new[t] = dh * (1.0 - z[t]) * (1.0 - new[t] ** 2)
        d_z[t] = dh * (hs[t] - new[t]) * z[t] * (1.0 - z[t])
        d_r[t] = d_new[t] * hidden_n[t] * r[t] * (1.0 - r[t])
        d_hidden_n[t] = d_new[t] * r[t]
        carry = (dh * z[t] + d_r[t] @ params["W_hr"] + d_z[t] @ params["W_hz"]
                 + d_hidden_n[t] @ params["W_hn"])
    return d_r, d_z, d_new, d_hidden_n, carry


def vjp(params, inputs, cotangents):
    """Gradients of Σ_{t,b} ⟨cot_t, h_t⟩, cot = cotangents["h"], for all twelve
    weights and biases, x and h0.

    Parameter gradients sum over time and batch, taken as one matrix product
    over all T·B rows after the backward loop. Input and hidden biases of r and
    z enter the same sum, so their gradients are equal; b_in and b_hn differ
    because r_t scales only the hidden one.
    """
    x = np.asarray(inputs["x"], dtype=np.float64)
    cot_h = np.asarray(cotangents["h"], dtype=np.float64)
    hs, r, z, new, hidden_n = _forward_pass(params, inputs)
    d_r, d_z, d_new, d_hidden_n, d_h0 = _backward_through_time(
        params, hs, r, z, new, hidden_n, cot_h)
    n, m = hs.shape[-1], x.shape[-1]
    rows_r, rows_z, rows_new, rows_hidden_n = (
        d.reshape(-1, n) for d in (d_r, d_z, d_new, d_hidden_n))
    x_rows, h_prev_rows = x.reshape(-1, m), hs[:-1].reshape(-1, n)
    return {
        "W_ir": rows_r.T @ x_rows,
        "W_iz": rows_z.T @ x_rows,
        "W_in": rows_new.T @ x_rows,
        "W_hr": rows_r.T @ h_prev_rows,
        "W_hz": rows_z.T @ h_prev_rows,
        "W_hn": rows_hidden_n.T @ h_prev_rows,
        "b_ir": rows_r.sum(axis=0),
        "b_iz": rows_z.sum(axis=0),
        "b_in": rows_new.sum(axis=0),
        "b_hr": rows_r.sum(axis=0),
        "b_hz": rows_z.sum(axis=0),
        "b_hn": rows_hidden_n.sum(axis=0),
        "x": d_r @ params["W_ir"] + d_z @ params["W_iz"] + d_new @ params["W_in"],
        "h0": d_h0,
    }
