"""Tests of the hand-written attention, layer-norm, multi-head attention and
Transformer-block references: finite differences, plain loops, masking, PyTorch."""

import functools
import itertools
import math

import numpy as np
import pytest

from symgrad.references import attention, layernorm, mha, transformer
from test_references import B, T, central_difference, matvec, rel_err, replaced

D_K, D_V, D_MODEL, HEADS, D_FF = 3, 2, 4, 2, 5
LN_EPSILON = 1e-5
FLAGS = (False, True)
PAIRS = list(itertools.product(FLAGS, repeat=2))
QUADS = list(itertools.product(FLAGS, repeat=4))


def padding_mask(rng):
    """(B, T, T) additive mask hiding the last k keys of each batch element, k random in
    0..T−1 and distinct across the batch, so some element always hides at least one key."""
    mask = np.zeros((B, T, T))
    for b, k in enumerate(rng.permutation(T)[:B]):
        mask[b, :, T - k:] = -np.inf
    return mask


def with_padding(rng, inputs, padded):
    """inputs plus a random M_pad when padded."""
    return {**inputs, "M_pad": padding_mask(rng)} if padded else inputs


def attention_case(seed=0, padded=False, d_v=D_V):
    """Random Q, K, V, an optional padding mask and a cotangent."""
    rng = np.random.default_rng(seed)
    inputs = {"Q": rng.normal(size=(B, T, D_K)), "K": rng.normal(size=(B, T, D_K)),
              "V": rng.normal(size=(B, T, d_v))}
    return {}, with_padding(rng, inputs, padded), {"O": rng.normal(size=(B, T, d_v))}


def layernorm_case(seed=0):
    """Random γ, β, X and a cotangent."""
    rng = np.random.default_rng(seed)
    params = {"gamma": rng.normal(size=D_MODEL), "beta": rng.normal(size=D_MODEL)}
    return params, {"X": rng.normal(size=(B, T, D_MODEL))}, {"Y": rng.normal(size=(B, T, D_MODEL))}


def mha_params(rng, d_k, d_v):
    """Random W_Q, W_K, W_V, W_O for HEADS heads."""
    return {"W_Q": rng.normal(size=(HEADS, D_MODEL, d_k)),
            "W_K": rng.normal(size=(HEADS, D_MODEL, d_k)),
            "W_V": rng.normal(size=(HEADS, D_MODEL, d_v)),
            "W_O": rng.normal(size=(HEADS, d_v, D_MODEL))}


def mha_case(seed=0, padded=False, d_k=D_K, d_v=D_V):
    """Random head weights, X, an optional padding mask and a cotangent."""
    rng = np.random.default_rng(seed)
    params = mha_params(rng, d_k, d_v)
    inputs = with_padding(rng, {"X": rng.normal(size=(B, T, D_MODEL))}, padded)
    return params, inputs, {"Y": rng.normal(size=(B, T, D_MODEL))}


def transformer_case(seed=0, padded=False, d_k=D_K, d_v=D_V):
    """Random block parameters (γ near 1 and β near 0, LayerNorm's initial values), X, an
    optional padding mask and a cotangent."""
    rng = np.random.default_rng(seed)
    params = mha_params(rng, d_k, d_v)
    params.update({"W_1": rng.normal(size=(D_MODEL, D_FF)), "b_1": rng.normal(size=D_FF),
                   "W_2": rng.normal(size=(D_FF, D_MODEL)), "b_2": rng.normal(size=D_MODEL)})
    for k in (1, 2):
        params[f"gamma_{k}"] = 1.0 + 0.3 * rng.normal(size=D_MODEL)
        params[f"beta_{k}"] = 0.3 * rng.normal(size=D_MODEL)
    inputs = with_padding(rng, {"X": rng.normal(size=(B, T, D_MODEL))}, padded)
    return params, inputs, {"Y": rng.normal(size=(B, T, D_MODEL))}


def pairing(module, params, inputs, cotangents, options):
    """Σ ⟨cot, out⟩, the scalar whose gradient vjp returns."""
    (key, cot), = cotangents.items()
    return float((module.forward(params, inputs, **options)[key] * cot).sum())


def numeric_grad(module, params, inputs, cotangents, options, key):
    """Central differences of the pairing w.r.t. one array, found in params or inputs."""
    base = params[key] if key in params else inputs[key]
    return central_difference(lambda v: pairing(module, *replaced(params, inputs, key, v), cotangents, options), base)


def fd_cases():
    """pytest.param(module, zero-argument case, options) for every option combination."""
    def named(module, case, padded, **options):
        name = module.__name__.rsplit(".", 1)[1]
        flags = "".join(f"-{key}{int(value)}" for key, value in options.items())
        return pytest.param(module, functools.partial(case, padded=padded), options,
                            id=f"{name}-pad{int(padded)}{flags}")

    cases = [pytest.param(layernorm, layernorm_case, {}, id="layernorm")]
    for causal, padded in PAIRS:
        cases.append(named(attention, attention_case, padded, causal=causal))
        cases.append(named(mha, mha_case, padded, causal=causal))
    for causal, padded, pre_ln, gelu in QUADS:
        cases.append(named(transformer, transformer_case, padded,
                           causal=causal, pre_ln=pre_ln, gelu=gelu))
    return cases


@pytest.mark.parametrize("module,case,options", fd_cases())
def test_vjp_matches_finite_differences(module, case, options):
    params, inputs, cotangents = case()
    grads = module.vjp(params, inputs, cotangents, **options)
    assert sorted(grads) == sorted(key for key in [*params, *inputs] if key != "M_pad")
    for key in grads:
        expected = numeric_grad(module, params, inputs, cotangents, options, key)
        assert grads[key].shape == expected.shape, key
        assert rel_err(grads[key], expected) <= 1e-6, key


# Plain-Python forward passes on lists of rows, sharing no code or batching with NumPy.

def py_mask(inputs, b, causal):
    """The additive mask of batch element b as nested lists."""
    pad = inputs["M_pad"][b].tolist() if "M_pad" in inputs else [[0.0] * T] * T
    return [[pad[i][j] + (-math.inf if causal and j > i else 0.0) for j in range(T)]
            for i in range(T)]


def py_attention(qs, ks, vs, mask):
    """softmax(q·k/√d_k + m) weighted sums of the value rows, one query at a time."""
    out = []
    for q, mask_row in zip(qs, mask):
        scores = [sum(a * c for a, c in zip(q, k)) / math.sqrt(len(q)) + m
                  for k, m in zip(ks, mask_row)]
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        out.append([sum(w * v[c] for w, v in zip(weights, vs)) / total
                    for c in range(len(vs[0]))])
    return out


def py_mha(params, xs, mask):
    """Σ_i O_i W_O[i] with every product a plain matvec."""
    ys = [[0.0] * D_MODEL for _ in xs]
    for i in range(HEADS):
        q, k, v = ([matvec(params[key][i].T, x) for x in xs] for key in ("W_Q", "W_K", "W_V"))
        for y, o in zip(ys, py_attention(q, k, v, mask)):
            y[:] = [a + c for a, c in zip(y, matvec(params["W_O"][i].T, o))]
    return ys


def py_layernorm(row, gamma, beta):
    """One normalized row, biased variance."""
    mean = sum(row) / len(row)
    var = sum((v - mean) ** 2 for v in row) / len(row)
    return [g * (v - mean) / math.sqrt(var + LN_EPSILON) + c for v, g, c in zip(row, gamma, beta)]


def py_ffn(params, row, gelu):
    """act(row W_1 + b_1) W_2 + b_2 for one row."""
    pre = [a + c for a, c in zip(matvec(params["W_1"].T, row), params["b_1"])]
    if gelu:
        act = [0.5 * a * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a**3)))
               for a in pre]
    else:
        act = [max(a, 0.0) for a in pre]
    return [a + c for a, c in zip(matvec(params["W_2"].T, act), params["b_2"])]


def py_transformer(params, xs, mask, pre_ln, gelu):
    """The encoder block on one sequence, post-LN or pre-LN."""
    def ln(k, rows):
        return [py_layernorm(r, params[f"gamma_{k}"], params[f"beta_{k}"]) for r in rows]

    def add(rows_a, rows_b):
        return [[a + c for a, c in zip(ra, rb)] for ra, rb in zip(rows_a, rows_b)]

    def ffn(rows):
        return [py_ffn(params, r, gelu) for r in rows]

    if pre_ln:
        h = add(xs, py_mha(params, ln(1, xs), mask))
        return add(h, ffn(ln(2, h)))
    h = ln(1, add(xs, py_mha(params, xs, mask)))
    return ln(2, add(h, ffn(h)))


@pytest.mark.parametrize("causal,padded", PAIRS)
def test_attention_forward_matches_plain_loops(causal, padded):
    _, inputs, _ = attention_case(1, padded)
    got = attention.forward({}, inputs, causal=causal)["O"]
    assert got.shape == (B, T, D_V)
    for b in range(B):
        expected = py_attention(*(inputs[key][b].tolist() for key in ("Q", "K", "V")),
                                py_mask(inputs, b, causal))
        np.testing.assert_allclose(got[b], expected, rtol=1e-12, atol=1e-14)


def test_layernorm_forward_matches_plain_loops():
    params, inputs, _ = layernorm_case(1)
    got = layernorm.forward(params, inputs)["Y"]
    for b, t in np.ndindex(B, T):
        expected = py_layernorm(inputs["X"][b, t].tolist(), params["gamma"], params["beta"])
        np.testing.assert_allclose(got[b, t], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("causal,padded", PAIRS)
def test_mha_forward_matches_plain_loops(causal, padded):
    params, inputs, _ = mha_case(1, padded)
    got = mha.forward(params, inputs, causal=causal)["Y"]
    assert got.shape == (B, T, D_MODEL)
    for b in range(B):
        expected = py_mha(params, inputs["X"][b].tolist(), py_mask(inputs, b, causal))
        np.testing.assert_allclose(got[b], expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("causal,padded,pre_ln,gelu", QUADS)
def test_transformer_forward_matches_plain_loops(causal, padded, pre_ln, gelu):
    params, inputs, _ = transformer_case(1, padded)
    got = transformer.forward(params, inputs, causal=causal, pre_ln=pre_ln, gelu=gelu)["Y"]
    assert got.shape == (B, T, D_MODEL)
    for b in range(B):
        expected = py_transformer(params, inputs["X"][b].tolist(), py_mask(inputs, b, causal),
                                  pre_ln, gelu)
        np.testing.assert_allclose(got[b], expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("causal", FLAGS)
def test_masked_keys_get_exactly_zero_weight_and_gradient(causal):
    """With V = I (d_v = T) the output rows are the attention weights themselves, so a
    hidden key's weight must be exactly 0; then nothing flows back to its K and V rows,
    and changing those rows leaves the output bit-for-bit unchanged."""
    _, inputs, cotangents = attention_case(2, padded=True, d_v=T)
    inputs["V"] = np.broadcast_to(np.eye(T), (B, T, T)).copy()
    hidden = np.isneginf(inputs["M_pad"][:, 0, :])  # (B, T): the padded keys
    assert hidden.any()
    weights = attention.forward({}, inputs, causal=causal)["O"]
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-14)
    assert (weights.transpose(0, 2, 1)[hidden] == 0.0).all()
    assert (weights.transpose(0, 2, 1)[~hidden] != 0.0).any(axis=-1).all()
    grads = attention.vjp({}, inputs, cotangents, causal=causal)
    assert (grads["V"][hidden] == 0.0).all() and (grads["K"][hidden] == 0.0).all()
    assert (grads["V"][~hidden] != 0.0).any() and (grads["K"][~hidden] != 0.0).any()
    changed = {**inputs, "K": inputs["K"].copy(), "V": inputs["V"].copy()}
    changed["K"][hidden] += 10.0
    changed["V"][hidden] -= 3.0
    np.testing.assert_array_equal(attention.forward({}, changed, causal=causal)["O"], weights)


# PyTorch cross-checks in float64.

def torch_padding(torch, inputs):
    """The hide-last-k M_pad as torch's additive (B, T) key_padding_mask."""
    return torch.tensor(inputs["M_pad"][:, 0, :])


def causal_mask(torch):
    """torch's additive causal mask, −inf above the diagonal."""
    return torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)


def mha_to_torch(torch, params, attn):
    """Copy W_Q, W_K, W_V, W_O into a torch MultiheadAttention (d_k = d_v = d_model/h).

    in_proj_weight rows [j·d_model + i·d_k, j·d_model + (i+1)·d_k) hold W_⋆[i]ᵀ for
    ⋆ = Q, K, V (j = 0, 1, 2); out_proj.weight = (W^O)ᵀ, W^O's row block i = W_O[i].
    """
    in_proj = np.concatenate([params[key].transpose(0, 2, 1).reshape(D_MODEL, D_MODEL)
                              for key in ("W_Q", "W_K", "W_V")])
    with torch.no_grad():
        attn.in_proj_weight.copy_(torch.tensor(in_proj))
        attn.out_proj.weight.copy_(torch.tensor(params["W_O"].reshape(D_MODEL, D_MODEL).T))


def mha_grads_from_torch(attn):
    """The torch gradients mapped back to the reference's per-head layout."""
    in_grad = attn.in_proj_weight.grad.numpy()
    grads = {key: in_grad[j * D_MODEL:(j + 1) * D_MODEL].reshape(HEADS, -1, D_MODEL)
             .transpose(0, 2, 1) for j, key in enumerate(("W_Q", "W_K", "W_V"))}
    grads["W_O"] = attn.out_proj.weight.grad.numpy().T.reshape(HEADS, -1, D_MODEL)
    return grads


def assert_close(got, expected):
    """Every key of expected agrees with got to 1e-10 relative error."""
    for key, value in expected.items():
        value = value.detach().numpy() if hasattr(value, "detach") else value
        assert got[key].shape == value.shape, key
        assert rel_err(got[key], value) <= 1e-10, key
