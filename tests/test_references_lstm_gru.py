"""Tests of the hand-written LSTM and GRU references: finite differences, plain
loops, PyTorch, and a single GRU step worked out by hand."""

import math

import numpy as np
import pytest

from symgrad.references import gru, gru_cudnn, lstm
from test_references import B, M, N, T, central_difference, matvec, rel_err, replaced

LSTM_GATES = ("z", "i", "f", "o")
CUDNN_KEYS = ("W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn",
              "b_ir", "b_iz", "b_in", "b_hr", "b_hz", "b_hn")


def sigmoid(v):
    """Plain-Python logistic function for the loop checks."""
    return 1.0 / (1.0 + math.exp(-v))


def lstm_case(seed=0, peepholes=True):
    """Random LSTM parameters, non-zero y0/c0 and a cotangent; R halved to stay unsaturated."""
    rng = np.random.default_rng(seed)
    params = {}
    for gate in LSTM_GATES:
        params[f"W_{gate}"] = rng.normal(size=(N, M))
        params[f"R_{gate}"] = 0.5 * rng.normal(size=(N, N))
        params[f"b_{gate}"] = rng.normal(size=N)
    if peepholes:
        params.update({key: rng.normal(size=N) for key in ("p_i", "p_f", "p_o")})
    inputs = {"x": rng.normal(size=(T, B, M)), "y0": rng.uniform(-0.9, 0.9, size=(B, N)),
              "c0": rng.normal(size=(B, N))}
    return params, inputs, {"y": rng.normal(size=(T, B, N))}


def gru_case(seed=0):
    """Random Cho-GRU parameters, non-zero h0 and a cotangent."""
    rng = np.random.default_rng(seed)
    params = {key: rng.normal(size=(N, M)) for key in ("W_r", "W_z", "W")}
    params.update({key: 0.5 * rng.normal(size=(N, N)) for key in ("U_r", "U_z", "U")})
    inputs = {"x": rng.normal(size=(T, B, M)), "h0": rng.uniform(-0.9, 0.9, size=(B, N))}
    return params, inputs, {"h": rng.normal(size=(T, B, N))}


def gru_cudnn_case(seed=0):
    """Random cuDNN-GRU parameters, non-zero h0 and a cotangent."""
    rng = np.random.default_rng(seed)
    params = {key: rng.normal(size=(N, M)) for key in CUDNN_KEYS[:3]}
    params.update({key: 0.5 * rng.normal(size=(N, N)) for key in CUDNN_KEYS[3:6]})
    params.update({key: rng.normal(size=N) for key in CUDNN_KEYS[6:]})
    inputs = {"x": rng.normal(size=(T, B, M)), "h0": rng.uniform(-0.9, 0.9, size=(B, N))}
    return params, inputs, {"h": rng.normal(size=(T, B, N))}


def pairing(module, params, inputs, cotangents):
    """Σ_{t,b} ⟨cot_t, out_t⟩, the scalar whose gradient vjp returns."""
    (key, cot), = cotangents.items()
    return float((module.forward(params, inputs)[key] * cot).sum())


def numeric_grad(module, params, inputs, cotangents, key):
    """Central differences of the pairing w.r.t. one array, found in params or inputs."""
    base = params[key] if key in params else inputs[key]
    return central_difference(lambda v: pairing(module, *replaced(params, inputs, key, v), cotangents), base)


@pytest.mark.parametrize("module,case", [
    (lstm, lstm_case),
    (lstm, lambda: lstm_case(peepholes=False)),
    (gru, gru_case),
    (gru_cudnn, gru_cudnn_case),
], ids=["lstm", "lstm-no-peepholes", "gru", "gru_cudnn"])
def test_vjp_matches_finite_differences(module, case):
    params, inputs, cotangents = case()
    grads = module.vjp(params, inputs, cotangents)
    assert sorted(grads) == sorted([*params, *inputs])
    for key in grads:
        expected = numeric_grad(module, params, inputs, cotangents, key)
        assert grads[key].shape == expected.shape, key
        assert rel_err(grads[key], expected) <= 1e-6, key


def test_lstm_forward_matches_plain_loops():
    params, inputs, _ = lstm_case(1)
    got = lstm.forward(params, inputs)["y"]
    assert got.shape == (T, B, N)
    p = {key: params[key].tolist() for key in ("p_i", "p_f", "p_o")}
    for b in range(B):
        y, c = inputs["y0"][b].tolist(), inputs["c0"][b].tolist()
        for t in range(T):
            x = inputs["x"][t, b].tolist()
            pre = {gate: [w + r + bias for w, r, bias in zip(
                matvec(params[f"W_{gate}"], x), matvec(params[f"R_{gate}"], y),
                params[f"b_{gate}"])] for gate in LSTM_GATES}
            z = [math.tanh(v) for v in pre["z"]]
            i = [sigmoid(v + pi * cj) for v, pi, cj in zip(pre["i"], p["p_i"], c)]
            f = [sigmoid(v + pf * cj) for v, pf, cj in zip(pre["f"], p["p_f"], c)]
            c = [zj * ij + cj * fj for zj, ij, cj, fj in zip(z, i, c, f)]
            o = [sigmoid(v + po * cj) for v, po, cj in zip(pre["o"], p["p_o"], c)]
            y = [math.tanh(cj) * oj for cj, oj in zip(c, o)]
            assert got[t, b].tolist() == pytest.approx(y, rel=1e-12, abs=1e-14)


def test_gru_forward_matches_plain_loops():
    params, inputs, _ = gru_case(1)
    got = gru.forward(params, inputs)["h"]
    assert got.shape == (T, B, N)
    for b in range(B):
        h = inputs["h0"][b].tolist()
        for t in range(T):
            x = inputs["x"][t, b].tolist()
            r = [sigmoid(a + u)
                 for a, u in zip(matvec(params["W_r"], x), matvec(params["U_r"], h))]
            z = [sigmoid(a + u)
                 for a, u in zip(matvec(params["W_z"], x), matvec(params["U_z"], h))]
            reset_h = [rj * hj for rj, hj in zip(r, h)]
            cand = [math.tanh(a + u) for a, u in zip(matvec(params["W"], x),
                                                     matvec(params["U"], reset_h))]
            h = [zj * hj + (1.0 - zj) * cj for zj, hj, cj in zip(z, h, cand)]
            assert got[t, b].tolist() == pytest.approx(h, rel=1e-12, abs=1e-14)


def test_gru_cudnn_forward_matches_plain_loops():
    params, inputs, _ = gru_cudnn_case(1)
    got = gru_cudnn.forward(params, inputs)["h"]
    assert got.shape == (T, B, N)

    def affine(weight, bias, vector):
        return [v + c for v, c in zip(matvec(params[weight], vector), params[bias])]

    for b in range(B):
        h = inputs["h0"][b].tolist()
        for t in range(T):
            x = inputs["x"][t, b].tolist()
            r = [sigmoid(a + u)
                 for a, u in zip(affine("W_ir", "b_ir", x), affine("W_hr", "b_hr", h))]
            z = [sigmoid(a + u)
                 for a, u in zip(affine("W_iz", "b_iz", x), affine("W_hz", "b_hz", h))]
            new = [math.tanh(a + rj * u) for a, rj, u in zip(
                affine("W_in", "b_in", x), r, affine("W_hn", "b_hn", h))]
            h = [(1.0 - zj) * nj + zj * hj for zj, nj, hj in zip(z, new, h)]
            assert got[t, b].tolist() == pytest.approx(h, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("module,case,states", [
    (lstm, lstm_case, ("y0", "c0")),
    (gru, gru_case, ("h0",)),
    (gru_cudnn, gru_cudnn_case, ("h0",)),
])
def test_missing_initial_states_mean_zeros(module, case, states):
    params, inputs, cotangents = case(3)
    without = {key: value for key, value in inputs.items() if key not in states}
    zero_start = {**without, **{key: np.zeros((B, N)) for key in states}}
    (out_key, _), = cotangents.items()
    np.testing.assert_array_equal(module.forward(params, without)[out_key],
                                  module.forward(params, zero_start)[out_key])
    grads = module.vjp(params, without, cotangents)
    expected = module.vjp(params, zero_start, cotangents)
    assert sorted(grads) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key])


def cudnn_params_from_cho(params):
    """The cuDNN-GRU parameters with the same weights as a Cho GRU and zero biases."""
    mapped = {"W_ir": params["W_r"], "W_iz": params["W_z"], "W_in": params["W"],
              "W_hr": params["U_r"], "W_hz": params["U_z"], "W_hn": params["U"]}
    mapped.update({key: np.zeros(N) for key in CUDNN_KEYS[6:]})
    return mapped


def test_gru_forms_differ_for_a_full_reset_matrix():
    """Reset before vs after U: r ⊙ (U h) ≠ U (r ⊙ h) for a general U, so the two
    references must disagree; if they agreed, one would implement the other's form."""
    params, inputs, _ = gru_case(5)
    cho = gru.forward(params, inputs)["h"]
    cudnn = gru_cudnn.forward(cudnn_params_from_cho(params), inputs)["h"]
    assert rel_err(cho, cudnn) > 1e-3


def test_gru_forms_agree_for_a_diagonal_reset_matrix():
    """For diagonal U, U (r ⊙ h) = r ⊙ (U h): outputs and all gradients coincide,
    except U's off-diagonal entries, where the forms weight h_j by r_j vs r_i."""
    params, inputs, cotangents = gru_case(6)
    params["U"] = np.diag(np.diag(params["U"]))
    mapped = cudnn_params_from_cho(params)
    np.testing.assert_allclose(gru.forward(params, inputs)["h"],
                               gru_cudnn.forward(mapped, inputs)["h"], rtol=1e-13, atol=1e-15)
    cho = gru.vjp(params, inputs, cotangents)
    cudnn = gru_cudnn.vjp(mapped, inputs, cotangents)
    for key, mapped_key in (("W_r", "W_ir"), ("W_z", "W_iz"), ("W", "W_in"), ("U_r", "W_hr"),
                            ("U_z", "W_hz"), ("x", "x"), ("h0", "h0")):
        assert rel_err(cho[key], cudnn[mapped_key]) <= 1e-12, key
    assert rel_err(np.diag(cho["U"]), np.diag(cudnn["W_hn"])) <= 1e-12
    off_diagonal = ~np.eye(N, dtype=bool)
    assert rel_err(cho["U"][off_diagonal], cudnn["W_hn"][off_diagonal]) > 1e-3


def test_gru_single_step_worked_by_hand():
    """n = m = 1, x = h0 = 1, chosen so r = σ(−ln 3) = 1/4, z = σ(ln 3) = 3/4 and
    h̃ = tanh(1/2 + 2 · 1/4) = tanh 1; with s = 1 − tanh² 1 and cotangent 1:
    δh̃̄ = s/4, δ(r h) = U δh̃̄ = s/2, δr̄ = (s/2) h0 r(1−r) = 3s/32,
    δz̄ = (h0 − tanh 1) z(1−z) = 3(1 − tanh 1)/16."""
    ln3, th = math.log(3.0), math.tanh(1.0)
    s = 1.0 - th**2
    params = {"W_r": [[0.0]], "U_r": [[-ln3]], "W_z": [[0.0]], "U_z": [[ln3]],
              "W": [[0.5]], "U": [[2.0]]}
    params = {key: np.array(value) for key, value in params.items()}
    inputs = {"x": np.ones((1, 1, 1)), "h0": np.ones((1, 1))}
    assert gru.forward(params, inputs)["h"].item() == pytest.approx(0.75 + 0.25 * th, rel=1e-15)
    d_cand, d_r, d_z = s / 4, 3 * s / 32, 3 * (1.0 - th) / 16
    expected = {"W": d_cand, "U": d_cand / 4, "W_r": d_r, "U_r": d_r, "W_z": d_z, "U_z": d_z,
                "x": 0.5 * d_cand,
                "h0": 0.75 + (s / 2) * 0.25 + d_r * (-ln3) + d_z * ln3}
    grads = gru.vjp(params, inputs, {"h": np.ones((1, 1, 1))})
    assert sorted(grads) == sorted(expected)
    for key, value in expected.items():
        assert grads[key].item() == pytest.approx(value, rel=1e-14), key
