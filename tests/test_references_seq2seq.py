"""Tests of the hand-written encoder–decoder with additive attention: finite
differences, a plain-Python loop, the attention weights, zero initial states, PyTorch."""

import math

import numpy as np
import pytest

from symgrad.references import rnn, seq2seq_attention as s2s
from test_references import B, matvec, numeric_grad, one_hot, rel_err, softmax_xent

M, N, K, A, T_X, T = 2, 3, 3, 2, 3, 4  # T_X ≠ T, so source and target axes cannot be swapped
STATES = ("h__1f0", "h__1b0", "s0")
GRAD_KEYS = ["b__1f", "W__1f", "U__1f", "b__1b", "W__1b", "U__1b",
             "W_a", "v_a", "U_a__f", "U_a__b",
             "W", "U", "b", "C__f", "C__b", "V", "c",
             "x", "u", *STATES]


def seq2seq_case(seed=0):
    """Random parameters, sequences and non-zero initial states; recurrent matrices
    halved so tanh stays unsaturated."""
    rng = np.random.default_rng(seed)
    params = {}
    for d in ("1f", "1b"):
        params.update({f"b__{d}": rng.normal(size=N), f"W__{d}": 0.5 * rng.normal(size=(N, N)),
                       f"U__{d}": rng.normal(size=(N, M))})
    params.update({"W_a": rng.normal(size=(A, N)), "v_a": rng.normal(size=A),
                   "U_a__f": rng.normal(size=(A, N)), "U_a__b": rng.normal(size=(A, N)),
                   "W": 0.5 * rng.normal(size=(N, N)), "U": rng.normal(size=(N, M)),
                   "b": rng.normal(size=N), "C__f": rng.normal(size=(N, N)),
                   "C__b": rng.normal(size=(N, N)), "V": rng.normal(size=(K, N)),
                   "c": rng.normal(size=K)})
    inputs = {"x": rng.normal(size=(T_X, B, M)), "u": rng.normal(size=(T, B, M)),
              "y": one_hot(rng, (T, B), K)}
    inputs.update({key: rng.uniform(-0.9, 0.9, size=(B, N)) for key in STATES})
    return params, inputs


@pytest.mark.parametrize("s", [1.0, -0.6])
def test_vjp_matches_finite_differences(s):
    params, inputs = seq2seq_case()
    grads = s2s.vjp(params, inputs, {"L": s})
    assert sorted(grads) == sorted(GRAD_KEYS)
    for key in GRAD_KEYS:
        expected = numeric_grad(s2s, params, inputs, key, s)
        assert grads[key].shape == expected.shape, key
        assert np.abs(expected).max() > 1e-3, key  # every route carries signal
        assert rel_err(grads[key], expected) <= 1e-6, key


def plain_encoder(params, inputs, b):
    """H→ and H← of example b as lists of Python lists, in source order j = 1..T_x."""
    def step(direction, h, x):
        return [math.tanh(c + p + q) for c, p, q in zip(
            params[f"b__{direction}"], matvec(params[f"W__{direction}"], h),
            matvec(params[f"U__{direction}"], x))]

    xs = [inputs["x"][j, b].tolist() for j in range(T_X)]
    forward_states, h = [], inputs["h__1f0"][b].tolist()
    for x in xs:
        h = step("1f", h, x)
        forward_states.append(h)
    backward_states, h = [], inputs["h__1b0"][b].tolist()
    for x in reversed(xs):
        h = step("1b", h, x)
        backward_states.insert(0, h)
    return forward_states, backward_states


def plain_decoder(params, inputs, b, Hf, Hb):
    """Loss of example b and its attention weights α[t][j], in plain Python."""
    s, loss, weights = inputs["s0"][b].tolist(), 0.0, []
    for t in range(T):
        query = matvec(params["W_a"], s)
        scores = []
        for hf, hb in zip(Hf, Hb):
            e = [math.tanh(q + p + r) for q, p, r in zip(
                query, matvec(params["U_a__f"], hf), matvec(params["U_a__b"], hb))]
            scores.append(sum(v * ei for v, ei in zip(params["v_a"], e)))
        top = max(scores)
        exps = [math.exp(v - top) for v in scores]
        alpha = [v / sum(exps) for v in exps]
        weights.append(alpha)
        ctx_f = [sum(a * h[i] for a, h in zip(alpha, Hf)) for i in range(N)]
        ctx_b = [sum(a * h[i] for a, h in zip(alpha, Hb)) for i in range(N)]
        s = [math.tanh(sum(terms)) for terms in zip(
            matvec(params["W"], s), matvec(params["U"], inputs["u"][t, b].tolist()),
            matvec(params["C__f"], ctx_f), matvec(params["C__b"], ctx_b), params["b"])]
        o = [c + v for c, v in zip(params["c"], matvec(params["V"], s))]
        loss += softmax_xent(o, int(inputs["y"][t, b].argmax()))
    return loss, weights


def test_forward_matches_plain_loops():
    params, inputs = seq2seq_case(1)
    got = s2s.forward(params, inputs)["L"]
    alpha = s2s.attention_weights(params, inputs)
    assert got.shape == (B,) and alpha.shape == (T, T_X, B)
    for b in range(B):
        loss, weights = plain_decoder(params, inputs, b, *plain_encoder(params, inputs, b))
        assert got[b] == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(alpha[:, :, b], weights, rtol=1e-12)


def test_attention_weights_sum_to_one_over_the_source():
    params, inputs = seq2seq_case(2)
    params["v_a"] = 5.0 * params["v_a"]  # sharp alignments, far from uniform
    alpha = s2s.attention_weights(params, inputs)
    assert (alpha > 0).all()
    assert np.abs(alpha - 1.0 / T_X).max() > 0.1
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_zero_attention_weights_reduce_the_decoder_to_the_plain_rnn():
    """W_a = U_a = 0 makes E_t = 0, so α_t = 1/T_x and c_t is the mean annotation for
    every t: the decoder is then rnn.py's RNN over u from s_0, its bias shifted by
    C→ mean_j h→_j + C← mean_j h←_j."""
    params, inputs = seq2seq_case(3)
    params.update(W_a=np.zeros((A, N)), U_a__f=np.zeros((A, N)), U_a__b=np.zeros((A, N)))
    np.testing.assert_allclose(s2s.attention_weights(params, inputs), 1.0 / T_X, rtol=1e-15)
    got = s2s.forward(params, inputs)["L"]
    for b in range(B):
        Hf, Hb = plain_encoder(params, inputs, b)
        shift = params["C__f"] @ np.mean(Hf, axis=0) + params["C__b"] @ np.mean(Hb, axis=0)
        rnn_params = {key: params[key] for key in ("U", "W", "V", "c")}
        rnn_params["b"] = params["b"] + shift
        rnn_inputs = {"x": inputs["u"][:, b:b + 1], "y": inputs["y"][:, b:b + 1],
                      "h0": inputs["s0"][b:b + 1]}
        assert got[b] == pytest.approx(rnn.forward(rnn_params, rnn_inputs)["L"][0], rel=1e-12)


def test_missing_initial_states_mean_zeros():
    params, inputs = seq2seq_case(4)
    without = {key: value for key, value in inputs.items() if key not in STATES}
    zero_start = {**without, **{key: np.zeros((B, N)) for key in STATES}}
    np.testing.assert_array_equal(s2s.forward(params, without)["L"],
                                  s2s.forward(params, zero_start)["L"])
    grads = s2s.vjp(params, without, {"L": 1.0})
    expected = s2s.vjp(params, zero_start, {"L": 1.0})
    assert sorted(grads) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key])


def test_matches_torch_autograd():
    """The same model from torch.nn.RNN (bidirectional encoder), torch.nn.RNNCell (decoder,
    input [u_t; c→_t; c←_t]) and torch.softmax attention, differentiated by autograd."""
    torch = pytest.importorskip("torch")
    params, inputs = seq2seq_case(5)
    s = -0.6
    leaves = {key: torch.tensor(params[key], requires_grad=True)
              for key in ("W_a", "v_a", "U_a__f", "U_a__b", "V", "c")}
    leaves.update({key: torch.tensor(inputs[key], requires_grad=True)
                   for key in ("x", "u", *STATES)})
    tensors = {key: torch.tensor(value) for key, value in params.items()}
    encoder = torch.nn.RNN(M, N, nonlinearity="tanh", bidirectional=True).double()
    decoder = torch.nn.RNNCell(M + 2 * N, N, nonlinearity="tanh").double()
    with torch.no_grad():
        for suffix, d in (("", "1f"), ("_reverse", "1b")):
            getattr(encoder, f"weight_ih_l0{suffix}").copy_(tensors[f"U__{d}"])
            getattr(encoder, f"weight_hh_l0{suffix}").copy_(tensors[f"W__{d}"])
            getattr(encoder, f"bias_ih_l0{suffix}").copy_(tensors[f"b__{d}"])
            getattr(encoder, f"bias_hh_l0{suffix}").zero_()
        decoder.weight_ih.copy_(torch.cat([tensors[k] for k in ("U", "C__f", "C__b")], dim=1))
        decoder.weight_hh.copy_(tensors["W"])
        decoder.bias_ih.copy_(tensors["b"])
        decoder.bias_hh.zero_()
    annotations, _ = encoder(leaves["x"], torch.stack([leaves["h__1f0"], leaves["h__1b0"]]))
    Hf, Hb = annotations[..., :N], annotations[..., N:]
    keys = Hf @ leaves["U_a__f"].T + Hb @ leaves["U_a__b"].T
    targets = torch.tensor(inputs["y"].argmax(axis=-1))
    state, loss = leaves["s0"], 0.0
    for t in range(T):
        alpha = torch.softmax(torch.tanh(state @ leaves["W_a"].T + keys) @ leaves["v_a"], dim=0)
        contexts = [(alpha[..., None] * H).sum(dim=0) for H in (Hf, Hb)]
        state = decoder(torch.cat([leaves["u"][t], *contexts], dim=1), state)
        logits = state @ leaves["V"].T + leaves["c"]
        loss = loss + torch.nn.functional.cross_entropy(logits, targets[t], reduction="sum")
    (s * loss).backward()
    torch_grads = {key: leaf.grad for key, leaf in leaves.items()}
    for suffix, d in (("", "1f"), ("_reverse", "1b")):
        torch_grads[f"U__{d}"] = getattr(encoder, f"weight_ih_l0{suffix}").grad
        torch_grads[f"W__{d}"] = getattr(encoder, f"weight_hh_l0{suffix}").grad
        torch_grads[f"b__{d}"] = getattr(encoder, f"bias_ih_l0{suffix}").grad
    U, C_f, C_b = decoder.weight_ih.grad.split([M, N, N], dim=1)
    torch_grads.update(U=U, C__f=C_f, C__b=C_b, W=decoder.weight_hh.grad, b=decoder.bias_ih.grad)
    assert loss.item() == pytest.approx(s2s.forward(params, inputs)["L"].sum(), rel=1e-12)
    grads = s2s.vjp(params, inputs, {"L": s})
    assert sorted(torch_grads) == sorted(GRAD_KEYS)
    for key, expected in torch_grads.items():
        assert rel_err(grads[key], expected.numpy()) <= 1e-10, key
