"""Tests of the hand-written references: finite differences, plain loops, PyTorch."""

import math

import numpy as np
import pytest

from symgrad.references import dense, rnn

M, N, K, T, B = 3, 4, 3, 4, 2
EPS = 1e-6


def rel_err(a, b):
    """max|a−b| over the larger magnitude, so the bound does not depend on scale."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-300)
    return np.abs(a - b).max() / scale


def one_hot(rng, shape, k):
    """Random one-hot targets of the given leading shape."""
    return np.eye(k)[rng.integers(0, k, size=shape)]


def dense_case(seed=0):
    """Random dense parameters and a batch, reproducible per seed."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(N, M)),
        "b1": rng.normal(size=N),
        "W2": rng.normal(size=(K, N)),
        "b2": rng.normal(size=K),
    }
    inputs = {"x": rng.normal(size=(B, M)), "y": one_hot(rng, B, K)}
    return params, inputs


def rnn_case(seed=0):
    """Random RNN parameters and a batch with non-zero h0; W halved so tanh stays unsaturated."""
    rng = np.random.default_rng(seed)
    params = {
        "U": rng.normal(size=(N, M)),
        "W": 0.5 * rng.normal(size=(N, N)),
        "V": rng.normal(size=(K, N)),
        "b": rng.normal(size=N),
        "c": rng.normal(size=K),
    }
    inputs = {
        "x": rng.normal(size=(T, B, M)),
        "y": one_hot(rng, (T, B), K),
        "h0": rng.uniform(-0.9, 0.9, size=(B, N)),
    }
    return params, inputs


def replaced(params, inputs, key, value):
    """(params, inputs) with one array swapped, wherever that key lives."""
    if key in params:
        return {**params, key: value}, inputs
    return params, {**inputs, key: value}


def central_difference(objective, base):
    """Central differences of a scalar function of one array, entry by entry."""
    grad = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        totals = []
        for step in (EPS, -EPS):
            shifted = base.copy()
            shifted[idx] += step
            totals.append(objective(shifted))
        grad[idx] = (totals[0] - totals[1]) / (2 * EPS)
    return grad


def numeric_grad(module, params, inputs, key, s):
    """Central differences of s·Σ_b L_b w.r.t. one array, found in params or inputs."""
    base = params[key] if key in params else inputs[key]
    return central_difference(
        lambda v: s * module.forward(*replaced(params, inputs, key, v))["L"].sum(), base)


@pytest.mark.parametrize("s", [1.0, -0.7])
@pytest.mark.parametrize("module,case,keys", [
    (dense, dense_case, ["W1", "b1", "W2", "b2", "x"]),
    (rnn, rnn_case, ["U", "W", "V", "b", "c", "x", "h0"]),
])
def test_vjp_matches_finite_differences(module, case, keys, s):
    params, inputs = case()
    grads = module.vjp(params, inputs, {"L": s})
    assert sorted(grads) == sorted(keys)
    for key in keys:
        expected = numeric_grad(module, params, inputs, key, s)
        assert grads[key].shape == expected.shape, key
        assert rel_err(grads[key], expected) <= 1e-6, key


def softmax_xent(logits, target):
    """−log softmax(logits)[target] for one example, in plain Python."""
    top = max(logits)
    log_total = top + math.log(sum(math.exp(v - top) for v in logits))
    return log_total - logits[target]


def matvec(matrix, vector):
    """Matrix times vector on Python lists, so the check shares no NumPy batching."""
    return [sum(a * v for a, v in zip(row, vector)) for row in matrix.tolist()]


def test_dense_forward_matches_plain_loops():
    params, inputs = dense_case(1)
    got = dense.forward(params, inputs)["L"]
    assert got.shape == (B,)
    for i in range(B):
        z1 = [z + b for z, b in zip(matvec(params["W1"], inputs["x"][i].tolist()), params["b1"])]
        h = [1.0 / (1.0 + math.exp(-z)) for z in z1]
        z2 = [z + b for z, b in zip(matvec(params["W2"], h), params["b2"])]
        assert got[i] == pytest.approx(softmax_xent(z2, int(inputs["y"][i].argmax())), rel=1e-12)


def test_rnn_forward_matches_plain_loops():
    params, inputs = rnn_case(1)
    got = rnn.forward(params, inputs)["L"]
    assert got.shape == (B,)
    for i in range(B):
        h = inputs["h0"][i].tolist()
        loss = 0.0
        for t in range(T):
            wh = matvec(params["W"], h)
            ux = matvec(params["U"], inputs["x"][t, i].tolist())
            h = [math.tanh(b + p + q) for b, p, q in zip(params["b"], wh, ux)]
            o = [c + v for c, v in zip(params["c"], matvec(params["V"], h))]
            loss += softmax_xent(o, int(inputs["y"][t, i].argmax()))
        assert got[i] == pytest.approx(loss, rel=1e-12)


def test_zero_output_weights_give_uniform_loss():
    """With V, c (resp. W2, b2) zero, yhat is uniform, so each step costs log k."""
    params, inputs = rnn_case(2)
    params.update(V=np.zeros((K, N)), c=np.zeros(K))
    np.testing.assert_allclose(rnn.forward(params, inputs)["L"], T * math.log(K), rtol=1e-14)
    params, inputs = dense_case(2)
    params.update(W2=np.zeros((K, N)), b2=np.zeros(K))
    np.testing.assert_allclose(dense.forward(params, inputs)["L"], math.log(K), rtol=1e-14)


def test_rnn_missing_h0_means_zeros():
    params, inputs = rnn_case(3)
    zero_start = {**inputs, "h0": np.zeros((B, N))}
    without = {key: value for key, value in inputs.items() if key != "h0"}
    np.testing.assert_array_equal(rnn.forward(params, without)["L"],
                                  rnn.forward(params, zero_start)["L"])
    grads, expected = rnn.vjp(params, without, {"L": 1.0}), rnn.vjp(params, zero_start, {"L": 1.0})
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key])
