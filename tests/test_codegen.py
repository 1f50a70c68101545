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
    assert "_in_δh = _mm(_T(V), δo)" in src   # δo is computed for all steps, unpadded
    # δhₜ lives in one buffer reused by every step (only δaₜ reads it), computed in place;
    # the term from step t+1 is added where truncated BPTT lets the gradient flow
    assert "δh = np.empty((B_, n, 1,), dtype=DTYPE)" in src
    assert ("        δh[...] = _in_δh[_t - 1]\n        if _flows:\n"
            "            δh += _mm(_T(W), δa[_t+1])\n") in src
    assert "np.multiply(δh, (1.0 - h[_t] ** 2), out=δa[_t])" in src


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


def test_cifg_constant_is_not_a_per_step_input_when_T_exceeds_n():
    """f = 1 − i: the 1 is a constant, not a sequence; indexing it by step failed once T > n."""
    from symgrad.check import check
    d = symgrad.derive(symgrad.model("lstm", variant="CIFG"))
    report = check(d, {"m": 2, "n": 3}, T=7, B=2)
    assert report.passed, report.problems
    assert "_in_f" not in d.compile().source


HOSTILE = 'ends with a quote" and \\N{BULLET} and """ then\nimport os; os.mkdir("PWNED")\n\x00'


def test_user_strings_are_escaped_in_the_generated_module(tmp_path):
    """A title and source holding \\N, triple quotes, a newline and a NUL byte give a module
    that imports, keeps the text as text, and runs none of it."""
    model_file = tmp_path / "hostile.py"
    model_file.write_text(
        "from symgrad.dsl import Model, tanh\n"
        f"SOURCE = {HOSTILE!r}\n"
        "def build():\n"
        f"    M = Model('mine', sequence=True, title={HOSTILE!r}, source=SOURCE)\n"
        "    m, n = M.dims('m n')\n"
        "    x = M.input('x', m)\n"
        "    W, U = M.param('W', n, n), M.param('U', n, m)\n"
        "    h = M.state('h', n)\n"
        "    M.define(h, tanh(W @ h.prev + U @ x))\n"
        "    M.output(h)\n"
        "    return M\n", encoding="utf-8")
    source = module_source(symgrad.derive(symgrad.model(str(model_file))))
    out = tmp_path / "generated_hostile.py"
    out.write_text(source, encoding="utf-8")
    script = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
              "import generated_hostile as g\n"
              "print(repr(g.__doc__))\n")
    run = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    doc = ast.literal_eval(run.stdout.strip())
    assert HOSTILE.replace("\x00", "") in doc.replace("\x00", "")
    assert 'import os; os.mkdir("PWNED")' in doc
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", catalog.names())
def test_float32_code_stays_float32_and_agrees_with_float64(name):
    from symgrad.check import check
    report = check(symgrad.derive(symgrad.model(name)), catalog.entry(name).CHECK_SIZES,
                   catalog.reference(name, {}), T=5, B=2, seed=2, dtype="float32")
    assert report.passed, report.problems
    assert all(r.f32 is not None and 1e-9 < r.f32 <= 1e-4 for r in report.rows)   # rounded, not float64


def test_float32_of_a_hand_built_case_has_float32_rounding():
    """tanh of a value in float32 differs from float64 by float32 rounding, not more or less."""
    d = symgrad.derive(symgrad.model("rnn"))
    f64, f32 = d.compile(), d.compile("float32")
    params, inputs, cot = example(f64, {"m": 3, "n": 4, "k": 2}, T=3, B=2, seed=1)
    ours = f64.forward(params, inputs)["L"]
    single = f32.forward({k: v.astype(np.float32) for k, v in params.items()},
                         {k: v.astype(np.float32) for k, v in inputs.items()})["L"]
    assert single.dtype == np.float32
    assert 0 < np.max(np.abs(single - ours) / np.abs(ours)) < 50 * np.finfo(np.float32).eps


def test_value_and_grad_is_forward_and_vjp_in_one_pass():
    for name in ("lstm", "transformer"):
        f = symgrad.derive(symgrad.model(name)).compile()
        params, inputs, cot = example(f, catalog.entry(name).CHECK_SIZES, T=4, B=2, seed=0)
        outputs, grads = f.value_and_grad(params, inputs, cot)
        expected_out, expected_grads = f.forward(params, inputs), f.vjp(params, inputs, cot)
        assert set(outputs) == set(expected_out) and set(grads) == set(expected_grads)
        for k in outputs:
            np.testing.assert_array_equal(outputs[k], expected_out[k])
        for k in grads:
            np.testing.assert_array_equal(grads[k], expected_grads[k])


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(symgrad.SymgradError, match="unknown dtype 'float16'"):
        symgrad.derive(symgrad.model("rnn")).compile("float16")


@pytest.mark.parametrize("name, options", [("attention", {"padding": True}), ("mha", {"causal": True}),
                                           ("layernorm", {}), ("transformer", {"padding": True})])
def test_position_data_is_step_first_batch_second(name, options):
    """Every data array is (T, B, …): each example b, run alone as x[:, b:b+1], gives the
    same outputs and input gradients as inside the batch (mixing up the axes would not)."""
    f = symgrad.derive(symgrad.model(name, **options)).compile()
    sizes = {**catalog.entry(name).CHECK_SIZES, "T": 5}
    params, inputs, cot = example(f, sizes, B=3, seed=0)
    assert all(dims[:2] == ("T", "B") for dims in {**f.inputs, **f.outputs}.values())
    outputs, grads = f.value_and_grad(params, inputs, cot)
    for b in range(3):
        alone = {k: v[:, b:b + 1] for k, v in inputs.items()}
        out_b, grads_b = f.value_and_grad(params, alone, {k: v[:, b:b + 1] for k, v in cot.items()})
        for k in out_b:
            np.testing.assert_allclose(out_b[k][:, 0], outputs[k][:, b], rtol=1e-12, atol=1e-12)
        for k in inputs:
            if k in grads:
                np.testing.assert_allclose(grads_b[k][:, 0], grads[k][:, b], rtol=1e-12, atol=1e-12)


def test_codegen_command_writes_a_float32_module(tmp_path):
    from click.testing import CliRunner
    from symgrad.cli import main
    path = tmp_path / "gru32.py"
    result = CliRunner().invoke(main, ["codegen", "gru", "--variant", "cudnn", "-o", str(path),
                                       "--dtype", "float32"])
    assert result.exit_code == 0, result.output
    namespace = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # our own output
    assert namespace["DTYPE"] is np.float32
    params = namespace["init_params"]({"m": 2, "n": 3}, seed=0)
    x = np.ones((4, 2, 2), dtype=np.float32)
    grads = namespace["vjp"](params, {"x": x}, {"h": np.ones((4, 2, 3), dtype=np.float32)})
    assert all(g.dtype == np.float32 for g in grads.values())


def test_constant_and_parameter_only_terms_of_a_recurrence_at_T_beyond_n(tmp_path):
    """The same class as the CIFG bug: terms of a recurrent sum that hold no step (a
    constant, a parameter product) stay static; per-step ones are indexed by step."""
    model_file = tmp_path / "consts.py"
    model_file.write_text(
        "from symgrad.dsl import Model, tanh, sigma\n"
        "CHECK_SIZES = {'m': 2, 'n': 3}\n"
        "def build():\n"
        "    M = Model('consts', sequence=True)\n"
        "    m, n = M.dims('m n')\n"
        "    x = M.input('x', m)\n"
        "    W, U, b = M.param('W', n, n), M.param('U', n, m), M.param('b', n)\n"
        "    h = M.state('h', n)\n"
        "    g = M.define('g', 1 - sigma(b))\n"
        "    M.define(h, tanh(W @ h.prev + U @ x) * g + b * b + 1)\n"
        "    M.output(h)\n"
        "    return M\n", encoding="utf-8")
    from symgrad.check import check
    d = symgrad.derive(symgrad.model(str(model_file)))
    report = check(d, {"m": 2, "n": 3}, T=8, B=2, dtype="float32")
    assert report.passed, report.problems


def test_vjp_does_not_compute_what_only_the_outputs_need():
    """The rnn's backward pass reads ŷ, not the loss: vjp skips ℓ and L, forward computes them."""
    f = symgrad.derive(symgrad.model("rnn")).compile()
    params, inputs, cot = example(f, {"m": 2, "n": 3, "k": 2}, T=3, B=2)
    skipped = f.module._forward_values(params, inputs, outputs=False)
    assert "yhat" in skipped and "L" not in skipped and "ell" not in skipped
    assert "L" in f.module._forward_values(params, inputs)
    assert "if outputs:" in f.source


def test_a_standalone_module_checks_its_arrays_and_clips_as_symgrad_does(tmp_path):
    """The generated file carries symgrad's input checks and clipping: no symgrad needed."""
    import importlib.util
    path = tmp_path / "rnn_module.py"
    path.write_text(module_source(symgrad.derive(symgrad.model("rnn"))), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rnn_module", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    params = mod.init_params({"m": 3, "n": 4, "k": 3}, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    y = np.eye(3)[np.random.default_rng(1).integers(0, 3, (5, 2))]
    with pytest.raises(mod.InputError, match=r"^x: expected \(T, B, m\)"):
        mod.forward(params, {"x": x[:, :, :2], "y": y})
    with pytest.raises(mod.InputError, match="not one-hot"):
        mod.vjp(params, {"x": x, "y": 2 * y}, {"L": 1.0})
    with pytest.raises(mod.InputError, match="truncate"):
        mod.vjp(params, {"x": x, "y": y}, {"L": 1.0}, truncate=0)
    grads = mod.vjp(params, {"x": x, "y": y}, {"L": 1.0})
    ours, theirs = symgrad.clip_by_norm(grads, 0.5), mod.clip_by_norm(grads, 0.5)
    assert all(np.array_equal(ours[k], theirs[k]) for k in grads)
    assert mod.global_norm(theirs) < 0.5
