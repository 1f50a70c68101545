"""An LSTM layer written the way a deep-learning course writes it, for checking
assert_gradients_match on code symgrad did not write: row vectors (x @ Wx), the four
gates packed in one matrix in the order i, f, o, g, the batch first (N, T, D), a cell
state that always starts at zero, and a step-by-step backward pass from caches.

``dtype`` runs the same code in float32, as code written for a GPU would.
``bug`` plants one mistake a student makes, for the diagnosis tests."""
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    return o * tanh_c, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    do = dnext_h * tanh_c
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    di, df, dg, dprev_c = dc * g, dc * prev_c, dc * i, dc * f
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b, dtype=np.float64):
    """x (N, T, D), h0 (N, H) → h (N, T, H) and the caches of the backward pass."""
    x, h0, Wx, Wh, b = (np.asarray(a, dtype=dtype) for a in (x, h0, Wx, Wh, b))
    N, T, _ = x.shape
    h, prev_h, prev_c, caches = np.zeros((N, T, h0.shape[1]), dtype=dtype), h0, np.zeros_like(h0), []
    for t in range(T):
        prev_h, prev_c, cache = step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(cache)
    return h, caches


def lstm_backward(dh, caches, bug=None):
    """dh (N, T, H) from above → dx, dh0, dWx, dWh, db."""
    dtype = caches[0][0].dtype
    dh = np.asarray(dh, dtype=dtype)
    N, T, H = dh.shape
    x0, _, _, Wx, Wh = caches[0][:5]
    dx = np.zeros((N, T, x0.shape[1]), dtype=dtype)
    dprev_h, dprev_c = np.zeros((N, H), dtype=dtype), np.zeros((N, H), dtype=dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H, dtype=dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])
        dWx += dWx_t
        db += db_t
        if not (bug == "first step of dWh" and t == 0):   # h0 @ … is only zero when h0 is
            dWh += dWh_t
    if bug == "no dh0":
        dprev_h = np.zeros_like(dprev_h)
    return dx, dprev_h, dWx, dWh, db
