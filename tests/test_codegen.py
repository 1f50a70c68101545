"""The generated module: standalone (NumPy only), readable, and the same numbers."""
import ast
import json
import subprocess
import sys

import numpy as np
import pytest

import symgrad
from symgrad import catalog
from symgrad.check import example, rel_err
from symgrad.codegen import module_source


@pytest.mark.parametrize("name", catalog.names())
def test_generated_module_imports_only_numpy(name):
    tree = ast.parse(module_source(symgrad.derive(symgrad.model(name))))
    imported = {a.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported == {"numpy"}


def test_generated_module_shows_the_equations_it_computes():
    src = module_source(symgrad.derive(symgrad.model("rnn")))
    assert "# δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁" in src
    # only the recurrent part runs step by step; Vᵀ δoₜ is computed for all steps at once
    assert "_in_δh = _mm(_T(V), δo[1:1+T_])" in src
    assert "δh[_t] = _in_δh[_t - 1] + _mm(_T(W), δa[_t+1])" in src


@pytest.mark.parametrize("name", ["rnn", "mha", "seq2seq-attention"])
def test_standalone_file_gives_the_same_numbers(tmp_path, name):
    """Run the written module in a separate interpreter, outside the project."""
    d = symgrad.derive(symgrad.model(name))
    compiled = d.compile()
    params, inputs, cot = example(compiled, catalog.entry(name).CHECK_SIZES, T=5, B=2, seed=3)
    path = tmp_path / "rnn_generated.py"
    path.write_text(module_source(d), encoding="utf-8")
    data = tmp_path / "data.npz"
    np.savez(data, **{"p_" + k: v for k, v in params.items()}, **{"i_" + k: v for k, v in inputs.items()},
             **{"c_" + k: v for k, v in cot.items() if k != compiled.loss})
    script = (
        "import json, sys, numpy as np\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import rnn_generated as g\n"
        f"z = np.load({str(data)!r})\n"
        "P = {k[2:]: z[k] for k in z if k.startswith('p_')}\n"
        "I = {k[2:]: z[k] for k in z if k.startswith('i_')}\n"
        f"C = {{k[2:]: z[k] for k in z if k.startswith('c_')}}\n"
        "out = g.vjp(P, I, {**C, 'L': 1.0} if not C else C)\n"
        "assert 'symgrad' not in sys.modules\n"
        "print(json.dumps({k: v.tolist() for k, v in out.items()}))\n"
    )
    run = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    theirs = json.loads(run.stdout)
    ours = compiled.vjp(params, inputs, cot)
    assert set(theirs) == set(ours)
    assert max(rel_err(ours[k], theirs[k]) for k in ours) == 0.0


def test_missing_initial_state_means_zero():
    compiled = symgrad.derive(symgrad.model("rnn")).compile()
    params, inputs, cot = example(compiled, {"m": 2, "n": 3, "k": 2}, T=3, B=2)
    inputs["h0"] = np.zeros_like(inputs["h0"])
    with_zero = compiled.vjp(params, inputs, cot)
    del inputs["h0"]
    without = compiled.vjp(params, inputs, cot)
    for k in with_zero:
        np.testing.assert_array_equal(with_zero[k], without[k])


def test_arrays_keep_math_shapes_and_batch_layout():
    compiled = symgrad.derive(symgrad.model("rnn")).compile()
    params = compiled.init_params({"m": 3, "n": 5, "k": 2}, seed=1)
    assert {k: v.shape for k, v in params.items()} == {
        "U": (5, 3), "W": (5, 5), "V": (2, 5), "b": (5,), "c": (2,)}
    _, inputs, cot = example(compiled, {"m": 3, "n": 5, "k": 2}, T=6, B=4)
    assert compiled.forward(params, inputs)["L"].shape == (4,)
    grads = compiled.vjp(params, inputs, cot)
    assert grads["x"].shape == (6, 4, 3) and grads["h0"].shape == (4, 5)
    assert all(grads[k].shape == params[k].shape for k in params)


def test_init_params_names_missing_sizes():
    compiled = symgrad.derive(symgrad.model("rnn")).compile()
    with pytest.raises(symgrad.SymgradError, match="sizes: missing k"):
        compiled.init_params({"m": 3, "n": 5})
