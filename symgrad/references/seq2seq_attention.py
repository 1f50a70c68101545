"""RNN encoder–decoder with additive attention, written by hand.

Bahdanau, Cho, Bengio, "Neural Machine Translation by Jointly Learning to Align
and Translate", ICLR 2015 (arXiv:1409.0473), §3 and Appendix A, with the gated
units simplified to tanh RNNs and the maxout readout to a softmax. The encoder is
a bidirectional RNN over the source j = 1..T_x, the forward direction started
from h→_0 and the backward one from h←_{T_x+1}:

    h→_j = tanh(b→ + W→ h→_{j-1} + U→ x_j),   h←_j = tanh(b← + W← h←_{j+1} + U← x_j)

The decoder runs over t = 1..T from s_0 and scores every annotation j (eq. 6):

    E_t[j] = tanh(W_a s_{t-1} + U_a→ h→_j + U_a← h←_j),   α_t = softmax_j(E_t v_a)
    c→_t = Σ_j α_{tj} h→_j,   c←_t = Σ_j α_{tj} h←_j
    s_t = tanh(W s_{t-1} + U u_t + C→ c→_t + C← c←_t + b)
    ŷ_t = softmax(V s_t + c),   L = Σ_t −y_tᵀ log ŷ_t

Arrays are batched row-major and time-major: x (T_x, B, m), u (T, B, m),
y (T, B, k) one-hot, initial states h__1f0, h__1b0, s0 (B, n). Keys ending in
"f" / "b" (b__1f, U_a__b, C__f, …) belong to the forward / backward direction.
"""

from typing import NamedTuple

import numpy as np


class _Trace(NamedTuple):
    """Everything the forward pass computes that the backward pass reuses.

    hf are the forward-direction states h→_0..h→_{T_x}; hb the backward-direction
    states in the order that direction visits them, h←_{T_x+1}, h←_{T_x}, …, h←_1,
    so one RNN routine serves both. E, alpha are (T, T_x, B, a) and (T, T_x, B).
    """

    x: np.ndarray
    u: np.ndarray
    hf: np.ndarray
    hb: np.ndarray
    s: np.ndarray
    E: np.ndarray
    alpha: np.ndarray
    ctx_f: np.ndarray
    ctx_b: np.ndarray
    logp: np.ndarray

    @property
    def annotations(self):
        """(H→, H←), each (T_x, B, n) in source order j = 1..T_x."""
        return self.hf[1:], self.hb[:0:-1]


def _log_softmax(z, axis):
    """Log-softmax along axis, shifted by the max so exp cannot overflow."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _initial_state(inputs, key, batch, n):
    """An initial state from the inputs, zeros when none is given."""
    if key in inputs:
        return np.asarray(inputs[key], dtype=np.float64)
    return np.zeros((batch, n))


def _rows(a):
    """Merge all leading axes, so a sum over time and batch is one matrix product."""
    return a.reshape(-1, a.shape[-1])


def _run_rnn(params, direction, x, h0):
    """States h_0..h_L of the tanh RNN of one encoder direction over x (L, B, m),
    taken in the order given, shape (L+1, B, n)."""
    hs = np.empty((x.shape[0] + 1,) + h0.shape)
    hs[0] = h0
    input_terms = x @ params[f"U__{direction}"].T + params[f"b__{direction}"]
    for j in range(x.shape[0]):
        hs[j + 1] = np.tanh(input_terms[j] + hs[j] @ params[f"W__{direction}"].T)
    return hs


def _decode(params, s0, u, Hf, Hb):
    """Decoder states s_0..s_T (T+1, B, n) with the E_t, α_t, c→_t and c←_t of every step.

    U_a→ h→_j + U_a← h←_j does not depend on t, so it is computed once for all steps.
    """
    steps, n_src = u.shape[0], Hf.shape[0]
    keys = Hf @ params["U_a__f"].T + Hb @ params["U_a__b"].T  # (T_x, B, a)
    input_terms = u @ params["U"].T + params["b"]
    s = np.empty((steps + 1,) + s0.shape)
    s[0] = s0
    E = np.empty((steps,) + keys.shape)
    alpha = np.empty((steps, n_src, s0.shape[0]))
    ctx_f, ctx_b = np.empty_like(s[1:]), np.empty_like(s[1:])
    for t in range(steps):
        E[t] = np.tanh(s[t] @ params["W_a"].T + keys)
        alpha[t] = np.exp(_log_softmax(E[t] @ params["v_a"], axis=0))  # over source steps j
        ctx_f[t] = np.einsum("jb,jbn->bn", alpha[t], Hf)
        ctx_b[t] = np.einsum("jb,jbn->bn", alpha[t], Hb)
        s[t + 1] = np.tanh(input_terms[t] + s[t] @ params["W"].T
                           + ctx_f[t] @ params["C__f"].T + ctx_b[t] @ params["C__b"].T)
    return s, E, alpha, ctx_f, ctx_b


def _forward_pass(params, inputs):
    """Run encoder, decoder and readout; return the _Trace."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    u = np.asarray(inputs["u"], dtype=np.float64)
    batch, n = x.shape[1], params["W"].shape[0]
    hf = _run_rnn(params, "1f", x, _initial_state(inputs, "h__1f0", batch, n))
    hb = _run_rnn(params, "1b", x[::-1], _initial_state(inputs, "h__1b0", batch, n))
    s0 = _initial_state(inputs, "s0", batch, n)
    s, E, alpha, ctx_f, ctx_b = _decode(params, s0, u, hf[1:], hb[:0:-1])
    logp = _log_softmax(s[1:] @ params["V"].T + params["c"], axis=-1)
    return _Trace(x, u, hf, hb, s, E, alpha, ctx_f, ctx_b, logp)


def forward(params, inputs):
    """Per-example loss summed over the target steps, shape (B,)."""
    logp = _forward_pass(params, inputs).logp
    return {"L": -(inputs["y"] * logp).sum(axis=(0, 2))}


def attention_weights(params, inputs):
    """α_{tj} for every example, shape (T, T_x, B); exposed so tests can inspect it."""
    return _forward_pass(params, inputs).alpha


def _decoder_bptt(params, tr, grad_o):
    """Backward through the decoder steps, t = T..1.

    Returns δ of the pre-activation of s_t (T, B, n), δ of the scores E_t v_a
    (T, T_x, B), δ of the pre-activation of E_t (T, T_x, B, a), and δs_0.
    s_{t-1} reaches the loss through W in s_t and through W_a in E_t, which
    together form the carry into step t−1; V s_t adds Vᵀ δo_t at step t.
    """
    Hf, Hb = tr.annotations
    grad_pre = np.empty_like(tr.s[1:])
    grad_score = np.empty_like(tr.alpha)
    grad_E_pre = np.empty_like(tr.E)
    carry = np.zeros_like(tr.s[0])
    for t in reversed(range(grad_o.shape[0])):
        grad_s = grad_o[t] @ params["V"] + carry
        grad_pre[t] = grad_s * (1.0 - tr.s[t + 1] ** 2)
        # δα_tj = ⟨h→_j, δc→_t⟩ + ⟨h←_j, δc←_t⟩ with δc_t = Cᵀ δ(pre-activation of s_t)
        grad_alpha = ((Hf * (grad_pre[t] @ params["C__f"])).sum(axis=-1)
                      + (Hb * (grad_pre[t] @ params["C__b"])).sum(axis=-1))
        alpha = tr.alpha[t]
        grad_score[t] = alpha * (grad_alpha - (alpha * grad_alpha).sum(axis=0))
        grad_E_pre[t] = grad_score[t][..., None] * params["v_a"] * (1.0 - tr.E[t] ** 2)
        carry = grad_pre[t] @ params["W"] + grad_E_pre[t].sum(axis=0) @ params["W_a"]
    return grad_pre, grad_score, grad_E_pre, carry


def _rnn_bptt(W, hs, grad_h):
    """δ of the pre-activations (L, B, n) and δh_0 for one encoder direction, in its own
    visiting order; grad_h (L, B, n) is what the decoder sends to each state.

    δh_j = grad_h_j + Wᵀ δa_{j+1}, with no recurrent term at the last state.
    """
    grad_a = np.empty_like(grad_h)
    carry = np.zeros_like(hs[0])
    for j in reversed(range(grad_h.shape[0])):
        grad_a[j] = (grad_h[j] + carry) * (1.0 - hs[j + 1] ** 2)
        carry = grad_a[j] @ W
    return grad_a, carry


def _encoder_grads(params, direction, hs, x, grad_h, initial_key):
    """Gradients of one encoder direction's b, W, U and initial state, plus its part of δx,
    all from arrays in that direction's visiting order."""
    grad_a, grad_h0 = _rnn_bptt(params[f"W__{direction}"], hs, grad_h)
    rows_a = _rows(grad_a)
    return {
        f"b__{direction}": rows_a.sum(axis=0),
        f"W__{direction}": rows_a.T @ _rows(hs[:-1]),
        f"U__{direction}": rows_a.T @ _rows(x),
        initial_key: grad_h0,
    }, grad_a @ params[f"U__{direction}"]


def vjp(params, inputs, cotangents):
    """Gradients of s·Σ_b L_b, with s = cotangents["L"], for every parameter and for
    x, u, h__1f0, h__1b0 and s0.

    Each annotation h_j collects, from every decoder step t, its share through the
    context c_t (α_{tj} δc_t) and through the scores (U_aᵀ δE_t[j]); these are the
    cotangents of the two encoder RNNs, which then run ordinary BPTT.
    """
    s = cotangents["L"]
    tr = _forward_pass(params, inputs)
    Hf, Hb = tr.annotations
    grad_o = s * (np.exp(tr.logp) - inputs["y"])  # δo_t = ŷ_t − y_t
    grad_pre, grad_score, grad_E_pre, grad_s0 = _decoder_bptt(params, tr, grad_o)
    grad_keys = grad_E_pre.sum(axis=0)  # U_a h_j enters every E_t
    rows_pre, rows_o = _rows(grad_pre), _rows(grad_o)
    grads = {
        "W": rows_pre.T @ _rows(tr.s[:-1]),
        "U": rows_pre.T @ _rows(tr.u),
        "b": rows_pre.sum(axis=0),
        "C__f": rows_pre.T @ _rows(tr.ctx_f),
        "C__b": rows_pre.T @ _rows(tr.ctx_b),
        "V": rows_o.T @ _rows(tr.s[1:]),
        "c": rows_o.sum(axis=0),
        "W_a": _rows(grad_E_pre.sum(axis=1)).T @ _rows(tr.s[:-1]),
        "v_a": np.einsum("tjb,tjba->a", grad_score, tr.E),
        "U_a__f": _rows(grad_keys).T @ _rows(Hf),
        "U_a__b": _rows(grad_keys).T @ _rows(Hb),
        "u": grad_pre @ params["U"],
        "s0": grad_s0,
    }
    grad_Hf = (np.einsum("tjb,tbn->jbn", tr.alpha, grad_pre @ params["C__f"])
               + grad_keys @ params["U_a__f"])
    grad_Hb = (np.einsum("tjb,tbn->jbn", tr.alpha, grad_pre @ params["C__b"])
               + grad_keys @ params["U_a__b"])
    forward_grads, grad_x_f = _encoder_grads(params, "1f", tr.hf, tr.x, grad_Hf, "h__1f0")
    backward_grads, grad_x_b = _encoder_grads(params, "1b", tr.hb, tr.x[::-1], grad_Hb[::-1],
                                              "h__1b0")
    return {**grads, **forward_grads, **backward_grads, "x": grad_x_f + grad_x_b[::-1]}
