"""Vanilla LSTM with peephole connections, written by hand.

Greff, Srivastava, Koutník, Steunebrink, Schmidhuber, "LSTM: A Search Space
Odyssey", IEEE TNNLS 28(10), 2017 (arXiv:1503.04069), §II: forward pass and
the backpropagation-through-time deltas as printed there. For t = 1..T, from
given initial states y_0, c_0, with σ logistic and g = h = tanh:

    z_t = g(W_z x_t + R_z y_{t-1} + b_z)
    i_t = σ(W_i x_t + R_i y_{t-1} + p_i ⊙ c_{t-1} + b_i)
    f_t = σ(W_f x_t + R_f y_{t-1} + p_f ⊙ c_{t-1} + b_f)
    c_t = z_t ⊙ i_t + c_{t-1} ⊙ f_t
    o_t = σ(W_o x_t + R_o y_{t-1} + p_o ⊙ c_t + b_o)
    y_t = h(c_t) ⊙ o_t

Peepholes p_i, p_f, p_o are optional: absent ones act as zero and get no
gradient, so the same reference covers the peephole-free variant.
Arrays are batched row-major: x (T, B, m), y0 and c0 (B, n).
"""

import numpy as np

from ._common import initial_state, sigmoid

_GATES = ("z", "i", "f", "o")
_PEEPHOLES = ("p_i", "p_f", "p_o")


def _peephole(params, key):
    """A peephole weight vector, or 0.0 when the variant has none."""
    return params[key] if key in params else 0.0


def _forward_pass(params, inputs):
    """Return outputs y_0..y_T and cells c_0..c_T, shape (T+1, B, n), and the
    gate activations z, i, f, o, each (T, B, n), that the backward pass reuses."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    n = params["W_z"].shape[0]
    y0, c0 = initial_state(inputs, "y0", n), initial_state(inputs, "c0", n)
    steps = x.shape[0]
    ys = np.empty((steps + 1,) + y0.shape)
    cs = np.empty_like(ys)
    ys[0], cs[0] = y0, c0
    acts = {gate: np.empty((steps,) + y0.shape) for gate in _GATES}
    # W_⋆ x_t + b_⋆ for every step at once; only the recurrent part needs the loop.
    input_terms = {gate: x @ params[f"W_{gate}"].T + params[f"b_{gate}"] for gate in _GATES}
    p_i, p_f, p_o = (_peephole(params, key) for key in _PEEPHOLES)
    for t in range(steps):
        pre = {gate: input_terms[gate][t] + ys[t] @ params[f"R_{gate}"].T for gate in _GATES}
        z = np.tanh(pre["z"])
        i = sigmoid(pre["i"] + p_i * cs[t])
        f = sigmoid(pre["f"] + p_f * cs[t])
        cs[t + 1] = z * i + cs[t] * f
        o = sigmoid(pre["o"] + p_o * cs[t + 1])
        ys[t + 1] = np.tanh(cs[t + 1]) * o
        for gate, value in zip(_GATES, (z, i, f, o)):
            acts[gate][t] = value
    return ys, cs, acts


def forward(params, inputs):
    """Block outputs y_1..y_T, shape (T, B, n)."""
    ys, _, _ = _forward_pass(params, inputs)
    return {"y": ys[1:]}


def _backward_through_time(params, cs, acts, cot_y):
    """Deltas δz̄, δī, δf̄, δō w.r.t. the gate pre-activations, each (T, B, n).

    Greff et al.'s backward equations, vectorized over the batch; the terms
    carrying index t+1 are zero at t = T. Also returns δc_1, needed for δc_0.
    """
    p_i, p_f, p_o = (_peephole(params, key) for key in _PEEPHOLES)
    deltas = {gate: np.empty_like(cot_y) for gate in _GATES}
    zeros = np.zeros_like(cot_y[0])
    dy_rec, dc, di, df, f_next = zeros, zeros, zeros, zeros, zeros
    for t in reversed(range(cot_y.shape[0])):
        z, i, f, o = (acts[gate][t] for gate in _GATES)
        tanh_c = np.tanh(cs[t + 1])
        dy = cot_y[t] + dy_rec
        do = dy * tanh_c * o * (1.0 - o)
        dc = dy * o * (1.0 - tanh_c**2) + p_o * do + p_i * di + p_f * df + dc * f_next
        df = dc * cs[t] * f * (1.0 - f)
        di = dc * z * i * (1.0 - i)
        dz = dc * i * (1.0 - z**2)
        for gate, delta in zip(_GATES, (dz, di, df, do)):
            deltas[gate][t] = delta
        dy_rec = sum(deltas[gate][t] @ params[f"R_{gate}"] for gate in _GATES)  # Σ R_⋆ᵀ δ⋆
        f_next = f
    return deltas, dc


def vjp(params, inputs, cotangents):
    """Gradients of Σ_{t,b} ⟨cot_t, y_t⟩, cot = cotangents["y"], for every parameter
    present, x, y0 and c0.

    Parameter gradients sum over time and batch, taken as one matrix product
    over all T·B rows after the backward loop; R_⋆ includes t = 1 with y_0,
    so they are exact for non-zero initial states.
    """
    x = np.asarray(inputs["x"], dtype=np.float64)
    cot_y = np.asarray(cotangents["y"], dtype=np.float64)
    ys, cs, acts = _forward_pass(params, inputs)
    deltas, dc_1 = _backward_through_time(params, cs, acts, cot_y)
    n, m = ys.shape[-1], x.shape[-1]
    x_rows, y_prev_rows = x.reshape(-1, m), ys[:-1].reshape(-1, n)
    grads = {}
    for gate in _GATES:
        rows = deltas[gate].reshape(-1, n)
        grads[f"W_{gate}"] = rows.T @ x_rows
        grads[f"R_{gate}"] = rows.T @ y_prev_rows
        grads[f"b_{gate}"] = rows.sum(axis=0)
    peephole_sums = {"p_i": cs[:-1] * deltas["i"], "p_f": cs[:-1] * deltas["f"],
                     "p_o": cs[1:] * deltas["o"]}
    for key in _PEEPHOLES:
        if key in params:
            grads[key] = peephole_sums[key].sum(axis=(0, 1))
    grads["x"] = sum(deltas[gate] @ params[f"W_{gate}"] for gate in _GATES)
    grads["y0"] = sum(deltas[gate][0] @ params[f"R_{gate}"] for gate in _GATES)
    grads["c0"] = (_peephole(params, "p_i") * deltas["i"][0]
                   + _peephole(params, "p_f") * deltas["f"][0] + dc_1 * acts["f"][0])
    return grads
