"""The NumPy evaluator walks the equations as written; the generated code schedules and
vectorizes them. The two agree on every output, example by example, so each checks the other."""
import numpy as np
import pytest

import symgrad
from symgrad.check import example, rel_err
from symgrad.dsl import Model, tanh
from symgrad.errors import ModelError
from symgrad.evaluate import Evaluator

CASES = [
    ("rnn", {}, {"m": 3, "n": 4, "k": 3}),
    ("rnn", {"bidirectional": True, "layers": 2}, {"m": 3, "n": 4, "k": 3}),
    ("rnn", {"task": "many-to-one"}, {"m": 3, "n": 4, "k": 3}),
    ("rnn", {"task": "one-to-many"}, {"m": 3, "n": 4, "k": 3}),
    ("lstm", {}, {"m": 3, "n": 4}),
    ("lstm", {"variant": "FGR"}, {"m": 3, "n": 4}),
    ("gru", {"variant": "cudnn"}, {"m": 3, "n": 4}),
    ("dense", {}, {"m": 3, "n": 4, "k": 3}),
]


def one_example(compiled, inputs, b):
    """Example b of a batch: per-step arrays (T, B, …) and per-example arrays (B, …)."""
    return {k: v[:, b] if compiled.inputs.get(k, ("",))[0] == "T" else v[b] for k, v in inputs.items()}


@pytest.mark.parametrize("name, options, sizes", CASES)
def test_evaluator_agrees_with_the_compiled_forward(name, options, sizes):
    compiled = symgrad.derive(symgrad.model(name, **options)).compile()
    params, inputs, _ = example(compiled, sizes, T=5, B=2, seed=1)
    outputs = compiled.forward(params, inputs)
    model = compiled.derivation.model
    for b in range(2):
        values = Evaluator(model, params, one_example(compiled, inputs, b))
        for out, theirs in outputs.items():
            sym = model.declared[out]
            if model.sequence and hasattr(sym, "axis_name"):
                ours = np.array([values.node(out, t) for t in range(1, 6)]).reshape(theirs[:, b].shape)
                assert rel_err(ours, theirs[:, b]) <= 1e-12, out
            else:
                assert rel_err(values.node(out).reshape(theirs[b].shape), theirs[b]) <= 1e-12, out


def test_evaluator_matches_a_hand_written_recurrence():
    """h_t = tanh(W h_{t−1} + U x_t) from h_0, written out with NumPy."""
    M = Model("r", sequence=True)
    m, n = M.dims("m n")
    x, h = M.input("x", m), M.state("h", n)
    W, U = M.param("W", n, n), M.param("U", n, m)
    M.define(h, tanh(W @ h.prev + U @ x))
    M.output(h)
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 3)), "U": rng.standard_normal((3, 2))}
    data = {"x": rng.standard_normal((4, 2)), "h0": rng.standard_normal(3)}
    values = Evaluator(M, params, data)
    h = data["h0"]
    for t in range(1, 5):
        h = np.tanh(params["W"] @ h + params["U"] @ data["x"][t - 1])
        assert np.allclose(values.node("h", t)[:, 0], h, rtol=0, atol=1e-14)


def test_missing_values_are_clear_errors():
    M = symgrad.model("rnn")
    with pytest.raises(ModelError, match="no value for b"):
        Evaluator(M, {}, {"x": np.zeros((2, 3))})
    with pytest.raises(ModelError, match="no input gives the length of the axis t"):
        Evaluator(M, {}, {})
