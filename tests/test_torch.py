"""PyTorch autograd agrees with the hand-written references and with symgrad's derivation.

Skipped only where torch is not installed (.ci/run installs the CPU build)."""
import importlib

import pytest

import symgrad
from symgrad.check import rel_err
from test_references import B, K, M, N, T, dense_case, rnn_case  # noqa: F401


def implement(name, implementation):
    """The hand-written reference module, or the compiled derivation (same interface)."""
    if implementation == "reference":
        return importlib.import_module(f"symgrad.references.{name}")
    return symgrad.derive(symgrad.model(name)).compile()


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
