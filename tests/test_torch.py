"""PyTorch autograd agrees with the hand-written references and with symgrad's derivation.

Skipped only where torch is not installed (.ci/run installs the CPU build)."""
import importlib

import numpy as np
import pytest

import symgrad
from symgrad.check import rel_err
from test_references import B, K, M, N, T, dense_case, rnn_case  # noqa: F401
from test_references_lstm_gru import gru_cudnn_case, lstm_case


# reference module → the catalog model (and options) it implements
DERIVED = {"rnn": ("rnn", {}), "dense": ("dense", {}), "lstm": ("lstm", {"variant": "NP"}),
           "gru_cudnn": ("gru", {"variant": "cudnn"})}


def implement(reference, implementation):
    """The hand-written reference module, or the compiled derivation (same interface)."""
    if implementation == "reference":
        return importlib.import_module(f"symgrad.references.{reference}")
    name, options = DERIVED[reference]
    return symgrad.derive(symgrad.model(name, **options)).compile()


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
    for key, expected in torch_grads.items():
        assert rel_err(grads[key], expected.numpy()) <= 1e-10, key


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
    for key, expected in torch_grads.items():
        assert rel_err(grads[key], expected.numpy()) <= 1e-10, key


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
    assert rel_err(lstm.forward(params, inputs)["y"], out.detach().numpy()) <= 1e-10
    expected = {"x": x.grad, "y0": y0.grad, "c0": c0.grad}
    for prefix, stacked in (("W", cell.weight_ih_l0), ("R", cell.weight_hh_l0),
                            ("b", cell.bias_ih_l0)):
        expected.update(zip((f"{prefix}_{g}" for g in torch_order), stacked.grad.chunk(4)))
    grads = lstm.vjp(params, inputs, cotangents)
    assert sorted(grads) == sorted(expected)
    for key, value in expected.items():
        assert rel_err(grads[key], value.numpy()) <= 1e-10, key


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
    assert rel_err(gru_cudnn.forward(params, inputs)["h"], out.detach().numpy()) <= 1e-10
    expected = {"x": x.grad, "h0": h0.grad}
    for name, keys in stacks.items():
        expected.update(zip(keys, getattr(cell, name).grad.chunk(3)))
    grads = gru_cudnn.vjp(params, inputs, cotangents)
    assert sorted(grads) == sorted(expected)
    for key, value in expected.items():
        assert rel_err(grads[key], value.numpy()) <= 1e-10, key
