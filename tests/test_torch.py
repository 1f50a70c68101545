"""PyTorch autograd agrees with the hand-written references and with symgrad's derivation.

Skipped only where torch is not installed (.ci/run installs the CPU build)."""
import importlib

import numpy as np
import pytest

import symgrad
from symgrad.check import position_arrays, swapped
from test_references import B, K, M, N, T, dense_case, rnn_case  # noqa: F401
from test_references_lstm_gru import gru_cudnn_case, lstm_case
from test_references_attention import (D_FF, D_MODEL, HEADS, LN_EPSILON, PAIRS, QUADS, attention_case,
                                       causal_mask, layernorm_case, mha_case, mha_grads_from_torch,
                                       mha_to_torch, assert_close, torch_padding,
                                       transformer_case)


# reference module → the catalog model (and options) it implements
DERIVED = {"rnn": ("rnn", {}), "dense": ("dense", {}), "lstm": ("lstm", {"variant": "NP"}),
           "gru_cudnn": ("gru", {"variant": "cudnn"}), "attention": ("attention", {}),
           "layernorm": ("layernorm", {}), "mha": ("mha", {}), "transformer": ("transformer", {})}


class Derived:
    """A catalog model, compiled for the options of each call, behind a reference's interface
    (a padding mask in the inputs turns the model's padding option on). These tests build
    the attention models' data batch-first, as torch's batch_first=True takes it; the
    compiled model takes (T, B, d), so those arrays are swapped explicitly."""

    def __init__(self, name, options):
        self.name, self.options = name, options

    def compiled(self, inputs, options):
        options = {**self.options, **options, **({"padding": True} if "M_pad" in inputs else {})}
        compiled = symgrad.derive(symgrad.model(self.name, **options)).compile()
        return swapped(compiled, position_arrays(compiled))

    def forward(self, params, inputs, **options):
        return self.compiled(inputs, options).forward(params, inputs)

    def vjp(self, params, inputs, cotangents, **options):
        return self.compiled(inputs, options).vjp(params, inputs, cotangents)


def implement(reference, implementation):
    """The hand-written reference module, or the derivation compiled (same interface)."""
    if implementation == "reference":
        return importlib.import_module(f"symgrad.references.{reference}")
    return Derived(*DERIVED[reference])


@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_rnn_matches_torch_autograd(implementation):
    torch = pytest.importorskip("torch")
    rnn = implement("rnn", implementation)
    params, inputs = rnn_case(4)
    x, h0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h0"))
    cell = torch.nn.RNN(M, N, nonlinearity="tanh").double()
    readout = torch.nn.Linear(N, K).double()
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor(params["U"]))
        cell.weight_hh_l0.copy_(torch.tensor(params["W"]))
        cell.bias_ih_l0.copy_(torch.tensor(params["b"]))
        cell.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor(params["V"]))
        readout.bias.copy_(torch.tensor(params["c"]))
    states, _ = cell(x, h0.unsqueeze(0))
    logits = readout(states)
    targets = torch.tensor(inputs["y"].argmax(axis=-1))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, K), targets.reshape(-1),
                                             reduction="sum")
    loss.backward()
    torch_grads = {"U": cell.weight_ih_l0.grad, "W": cell.weight_hh_l0.grad,
                   "b": cell.bias_ih_l0.grad, "V": readout.weight.grad, "c": readout.bias.grad,
                   "x": x.grad, "h0": h0.grad}
    assert loss.item() == pytest.approx(rnn.forward(params, inputs)["L"].sum(), rel=1e-12)
    grads = rnn.vjp(params, inputs, {"L": 1.0})
    assert_close(grads, torch_grads)


@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_dense_matches_torch_autograd(implementation):
    torch = pytest.importorskip("torch")
    dense = implement("dense", implementation)
    params, inputs = dense_case(4)
    x = torch.tensor(inputs["x"], requires_grad=True)
    first, second = torch.nn.Linear(M, N).double(), torch.nn.Linear(N, K).double()
    with torch.no_grad():
        for layer, weight, bias in ((first, "W1", "b1"), (second, "W2", "b2")):
            layer.weight.copy_(torch.tensor(params[weight]))
            layer.bias.copy_(torch.tensor(params[bias]))
    logits = second(torch.sigmoid(first(x)))
    targets = torch.tensor(inputs["y"].argmax(axis=-1))
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
    loss.backward()
    torch_grads = {"W1": first.weight.grad, "b1": first.bias.grad,
                   "W2": second.weight.grad, "b2": second.bias.grad, "x": x.grad}
    assert loss.item() == pytest.approx(dense.forward(params, inputs)["L"].sum(), rel=1e-12)
    grads = dense.vjp(params, inputs, {"L": 1.0})
    assert_close(grads, torch_grads)


@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_lstm_without_peepholes_matches_torch(implementation):
    torch = pytest.importorskip("torch")
    lstm = implement("lstm", implementation)
    params, inputs, cotangents = lstm_case(4, peepholes=False)
    torch_order = ("i", "f", "z", "o")  # torch stacks (i, f, g, o); g is Greff's z
    cell = torch.nn.LSTM(M, N).double()
    with torch.no_grad():
        for prefix, stacked in (("W", cell.weight_ih_l0), ("R", cell.weight_hh_l0),
                                ("b", cell.bias_ih_l0)):
            stacked.copy_(torch.tensor(np.concatenate([params[f"{prefix}_{g}"]
                                                       for g in torch_order])))
        cell.bias_hh_l0.zero_()
    x, y0, c0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "y0", "c0"))
    out, _ = cell(x, (y0.unsqueeze(0), c0.unsqueeze(0)))
    (out * torch.tensor(cotangents["y"])).sum().backward()
    assert_close(lstm.forward(params, inputs), {"y": out})
    expected = {"x": x.grad, "y0": y0.grad, "c0": c0.grad}
    for prefix, stacked in (("W", cell.weight_ih_l0), ("R", cell.weight_hh_l0),
                            ("b", cell.bias_ih_l0)):
        expected.update(zip((f"{prefix}_{g}" for g in torch_order), stacked.grad.chunk(4)))
    grads = lstm.vjp(params, inputs, cotangents)
    assert sorted(grads) == sorted(expected)
    assert_close(grads, expected)


@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_gru_cudnn_matches_torch(implementation):
    torch = pytest.importorskip("torch")
    gru_cudnn = implement("gru_cudnn", implementation)
    params, inputs, cotangents = gru_cudnn_case(4)
    cell = torch.nn.GRU(M, N).double()
    stacks = {"weight_ih_l0": ("W_ir", "W_iz", "W_in"), "weight_hh_l0": ("W_hr", "W_hz", "W_hn"),
              "bias_ih_l0": ("b_ir", "b_iz", "b_in"), "bias_hh_l0": ("b_hr", "b_hz", "b_hn")}
    with torch.no_grad():
        for name, keys in stacks.items():
            getattr(cell, name).copy_(torch.tensor(np.concatenate([params[k] for k in keys])))
    x, h0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h0"))
    out, _ = cell(x, h0.unsqueeze(0))
    (out * torch.tensor(cotangents["h"])).sum().backward()
    assert_close(gru_cudnn.forward(params, inputs), {"h": out})
    expected = {"x": x.grad, "h0": h0.grad}
    for name, keys in stacks.items():
        expected.update(zip(keys, getattr(cell, name).grad.chunk(3)))
    grads = gru_cudnn.vjp(params, inputs, cotangents)
    assert sorted(grads) == sorted(expected)
    assert_close(grads, expected)


@pytest.mark.parametrize("causal,padded", PAIRS)
@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_attention_matches_torch(causal, padded, implementation):
    torch = pytest.importorskip("torch")
    attention = implement("attention", implementation)
    _, inputs, cotangents = attention_case(3, padded)
    q, k, v = (torch.tensor(inputs[key], requires_grad=True) for key in ("Q", "K", "V"))
    if padded:  # torch rejects is_causal with an explicit mask, so build the sum here
        mask = torch.tensor(inputs["M_pad"]) + (causal_mask(torch) if causal else 0.0)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    else:
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out.backward(torch.tensor(cotangents["O"]))
    assert_close(attention.forward({}, inputs, causal=causal), {"O": out})
    assert_close(attention.vjp({}, inputs, cotangents, causal=causal),
                 {"Q": q.grad, "K": k.grad, "V": v.grad})


@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_layernorm_matches_torch(implementation):
    torch = pytest.importorskip("torch")
    layernorm = implement("layernorm", implementation)
    params, inputs, cotangents = layernorm_case(3)
    norm = torch.nn.LayerNorm(D_MODEL, eps=LN_EPSILON).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(params["gamma"]))
        norm.bias.copy_(torch.tensor(params["beta"]))
    x = torch.tensor(inputs["X"], requires_grad=True)
    out = norm(x)
    out.backward(torch.tensor(cotangents["Y"]))
    assert_close(layernorm.forward(params, inputs), {"Y": out})
    assert_close(layernorm.vjp(params, inputs, cotangents),
                 {"gamma": norm.weight.grad, "beta": norm.bias.grad, "X": x.grad})


@pytest.mark.parametrize("causal,padded", PAIRS)
@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_mha_matches_torch(causal, padded, implementation):
    torch = pytest.importorskip("torch")
    mha = implement("mha", implementation)
    d_head = D_MODEL // HEADS
    params, inputs, cotangents = mha_case(3, padded, d_k=d_head, d_v=d_head)
    attn = torch.nn.MultiheadAttention(D_MODEL, HEADS, bias=False, batch_first=True).double()
    mha_to_torch(torch, params, attn)
    x = torch.tensor(inputs["X"], requires_grad=True)
    out, _ = attn(x, x, x, need_weights=False, is_causal=causal,
                  attn_mask=causal_mask(torch) if causal else None,
                  key_padding_mask=torch_padding(torch, inputs) if padded else None)
    out.backward(torch.tensor(cotangents["Y"]))
    assert_close(mha.forward(params, inputs, causal=causal), {"Y": out})
    assert_close(mha.vjp(params, inputs, cotangents, causal=causal),
                 {**mha_grads_from_torch(attn), "X": x.grad})


@pytest.mark.parametrize("causal,padded,pre_ln,gelu", QUADS)
@pytest.mark.parametrize("implementation", ["reference", "derived"])
def test_transformer_matches_torch(causal, padded, pre_ln, gelu, implementation):
    """torch.nn.TransformerEncoderLayer with zero attention biases; GELU-tanh goes in as a
    callable, since the string "gelu" means the exact erf form."""
    torch = pytest.importorskip("torch")
    transformer = implement("transformer", implementation)
    d_head = D_MODEL // HEADS
    params, inputs, cotangents = transformer_case(3, padded, d_k=d_head, d_v=d_head)
    activation = (lambda a: torch.nn.functional.gelu(a, approximate="tanh")) if gelu else "relu"
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=D_FF, dropout=0.0,
                                             activation=activation, batch_first=True,
                                             norm_first=pre_ln).double()
    mha_to_torch(torch, params, layer.self_attn)
    with torch.no_grad():
        layer.self_attn.in_proj_bias.zero_()
        layer.self_attn.out_proj.bias.zero_()
        for linear, k in ((layer.linear1, 1), (layer.linear2, 2)):
            linear.weight.copy_(torch.tensor(params[f"W_{k}"].T))
            linear.bias.copy_(torch.tensor(params[f"b_{k}"]))
        for norm, k in ((layer.norm1, 1), (layer.norm2, 2)):
            norm.weight.copy_(torch.tensor(params[f"gamma_{k}"]))
            norm.bias.copy_(torch.tensor(params[f"beta_{k}"]))
    x = torch.tensor(inputs["X"], requires_grad=True)
    out = layer(x, src_mask=causal_mask(torch) if causal else None, is_causal=causal,
                src_key_padding_mask=torch_padding(torch, inputs) if padded else None)
    out.backward(torch.tensor(cotangents["Y"]))
    options = {"causal": causal, "pre_ln": pre_ln, "gelu": gelu}
    expected = {**mha_grads_from_torch(layer.self_attn), "X": x.grad}
    for k in (1, 2):
        expected.update({f"W_{k}": getattr(layer, f"linear{k}").weight.grad.T,
                         f"b_{k}": getattr(layer, f"linear{k}").bias.grad,
                         f"gamma_{k}": getattr(layer, f"norm{k}").weight.grad,
                         f"beta_{k}": getattr(layer, f"norm{k}").bias.grad})
    assert_close(transformer.forward(params, inputs, **options), {"Y": out})
    assert_close(transformer.vjp(params, inputs, cotangents, **options), expected)
