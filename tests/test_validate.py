"""Input validation at the compiled model's boundary: every wrong array is named in one line
(name, expected shape in the model's dimension names, shape given), never a raw NumPy error
and never a silently wrong gradient. The shapes come from the compiled signature."""
import ast
import inspect

import numpy as np
import pytest

import symgrad
from symgrad import validate
from symgrad.check import example
from symgrad.errors import InputError, SymgradError

SIZES = {"rnn": {"m": 3, "n": 4, "k": 3}, "lstm": {"m": 3, "n": 4},
         "attention": {"T": 4, "d_k": 3, "d_v": 2}}


def compiled(name, **options):
    return symgrad.derive(symgrad.model(name, **options)).compile()


def call(name, T=5, B=3, **options):
    c = compiled(name, **options)
    return (c, *example(c, SIZES[name], T=T, B=B, seed=1))


def test_a_non_one_hot_target_is_refused_because_its_gradient_would_be_wrong():
    c, params, inputs, cot = call("rnn")
    inputs["y"] = 2 * inputs["y"]
    # why: the derived δo = ŷ − y assumes Σy = 1; unvalidated (the generated module's
    # functions behind its checks), the vjp disagrees with central differences of its forward
    m = c.module
    forward = lambda p, i: m._outputs(m._forward_values(p, i))  # noqa: E731
    vjp = lambda p, i, g: m._backward(m._forward_values(p, i, outputs=False), g, None)  # noqa: E731
    eps, base = 1e-6, params["c"].copy()
    fd = np.zeros_like(base)
    for j in range(base.size):
        vals = []
        for s in (eps, -eps):
            params["c"] = base.copy()
            params["c"][j] += s
            vals.append(np.sum(forward(params, inputs)["L"]))
        fd[j] = (vals[0] - vals[1]) / (2 * eps)
    params["c"] = base
    assert not np.allclose(vjp(params, inputs, cot)["c"], fd, rtol=1e-3)
    with pytest.raises(InputError, match=r"^y: not one-hot at \(0, 0\): \[\d\. \d\. \d\.\]; "):
        c.vjp(params, inputs, cot)
    with pytest.raises(InputError, match="a single 1 and 0 elsewhere"):
        c.forward(params, inputs)


def test_a_soft_target_row_is_named():
    c, params, inputs, cot = call("rnn")
    inputs["y"][2, 1] = [0.5, 0.5, 0.0]
    with pytest.raises(InputError, match=r"y: not one-hot at \(2, 1\)"):
        c.vjp(params, inputs, cot)


def test_an_unbatched_sequence_says_what_a_sequence_is():
    c, params, inputs, cot = call("rnn")
    inputs["x"] = inputs["x"][:, 0, :]
    with pytest.raises(InputError) as err:
        c.forward(params, inputs)
    expected = "(" + ", ".join(c.inputs["x"]) + ")"
    assert str(err.value) == f"x: expected {expected} — got (5, 3); a sequence is (steps, batch, features)"


@pytest.mark.parametrize("store, key, message", [
    ("params", "V", "params: missing V (this model takes: b, W, U, c, V)"),
    ("inputs", "x", "inputs: missing x (this model takes: x, y, h0)"),
])
def test_a_missing_array_is_named_with_what_the_model_takes(store, key, message):
    c, params, inputs, cot = call("rnn")
    del {"params": params, "inputs": inputs}[store][key]
    with pytest.raises(InputError) as err:
        c.vjp(params, inputs, cot)
    assert str(err.value) == message


def test_an_extra_input_is_an_error_not_ignored():
    c, params, inputs, cot = call("rnn")
    inputs["h_0"] = inputs["h0"]
    with pytest.raises(InputError, match=r"inputs: unknown 'h_0' \(this model takes: x, y, h0\)"):
        c.forward(params, inputs)


def test_a_padding_mask_given_to_a_model_built_without_one_is_refused():
    c, params, inputs, cot = call("attention")
    mask_model = compiled("attention", padding=True)
    _, with_mask, _ = example(mask_model, SIZES["attention"], T=5, B=3, seed=1)
    with pytest.raises(InputError, match=r"inputs: unknown 'M_pad' \(this model takes: Q, K, V\)"):
        c.vjp(params, with_mask, cot)


def test_a_cotangent_for_a_node_that_is_not_an_output_is_refused():
    c, params, inputs, cot = call("lstm")
    cot["c"] = cot["y"]
    with pytest.raises(InputError, match=r"cotangents: unknown 'c' \(this model takes: y\)"):
        c.vjp(params, inputs, cot)


def test_a_missing_cotangent_is_named():
    c, params, inputs, _ = call("lstm")
    with pytest.raises(InputError, match=r"cotangents: missing y"):
        c.vjp(params, inputs, {})


def test_a_cotangent_of_the_wrong_shape_is_named_with_the_output_shape():
    c, params, inputs, cot = call("lstm")
    cot["y"] = cot["y"][:, :, :2]
    with pytest.raises(InputError, match=r"^cotangent y: expected \(T, B, n\) — got \(5, 3, 2\), "
                                         r"but n is 4 in W_z \(4, 3\)$"):
        c.vjp(params, inputs, cot)


def test_sizes_must_agree_across_arrays():
    c, params, inputs, cot = call("rnn")
    inputs["h0"] = inputs["h0"][:2]
    with pytest.raises(InputError, match=r"^h0: expected \(B, n\) — got \(2, 4\), but B is 3 in x \(5, 3, 3\)$"):
        c.vjp(params, inputs, cot)


def test_the_loss_cotangent_is_one_number():
    c, params, inputs, cot = call("rnn")
    with pytest.raises(InputError, match="L is the loss, its cotangent is one number"):
        c.vjp(params, inputs, {"L": np.ones(3)})
    assert c.vjp(params, inputs, {})["W"].shape == (4, 4)   # absent: 1, the loss itself


def test_two_layouts_mixed_in_one_call_are_caught():
    """Q in the model's layout, K with the steps and the batch swapped: reshaped silently
    before, since (4, 3, d) and (3, 4, d) hold the same number of entries."""
    c, params, inputs, cot = call("attention", T=4, B=3)
    inputs["K"] = np.swapaxes(inputs["K"], 0, 1)
    lead = c.inputs["K"][:2]
    with pytest.raises(InputError, match=rf"^K: expected \({lead[0]}, {lead[1]}, d_k\) — got"):
        c.forward(params, inputs)


@pytest.mark.parametrize("value, message", [
    (True, "a boolean mask; give the additive one"),
    (1.0, "1.0 at (0, 0, 0); an additive mask holds 0 (keep) or -inf (hide)"),
])
def test_a_mask_must_be_additive(value, message):
    c = compiled("attention", padding=True)
    params, inputs, cot = example(c, SIZES["attention"], T=4, B=3, seed=1)
    inputs["M_pad"] = np.full(np.shape(inputs["M_pad"]), value)
    with pytest.raises(InputError) as err:
        c.vjp(params, inputs, cot)
    assert message in str(err.value)


@pytest.mark.parametrize("bad, message", [
    (np.nan, r"x: nan at \(1, 2, 0\); every entry must be finite"),
    ("text", r"x: expected real numbers, got dtype <U"),
    (1j, r"x: expected real numbers, got complex numbers"),
])
def test_entries_must_be_finite_real_numbers(bad, message):
    c, params, inputs, cot = call("rnn")
    x = inputs["x"].astype(object if isinstance(bad, str) else complex if isinstance(bad, complex) else float)
    x[1, 2, 0] = bad
    inputs["x"] = x.astype(str) if isinstance(bad, str) else x
    with pytest.raises(InputError, match=message):
        c.forward(params, inputs)


def test_a_ragged_list_and_a_list_instead_of_a_dict():
    c, params, inputs, cot = call("rnn")
    with pytest.raises(InputError, match="params: expected a dict of arrays by name, got list"):
        c.forward(list(params.values()), inputs)
    inputs["h0"] = [[1.0, 2.0], [3.0]]
    with pytest.raises(InputError, match=r"h0: not an array \(rows of different lengths\?\)"):
        c.forward(params, inputs)


def test_a_bias_of_the_wrong_rank_is_named():
    c, params, inputs, cot = call("rnn")
    params["b"] = params["b"][:, None]
    with pytest.raises(InputError, match=r"^b: expected \(n,\) — got \(4, 1\); a bias vector is 1-D$"):
        c.vjp(params, inputs, cot)


def test_a_zero_length_sequence_is_refused():
    c, params, inputs, cot = call("rnn")
    inputs["x"], inputs["y"] = inputs["x"][:0], inputs["y"][:0]
    with pytest.raises(InputError, match=r"x: expected \(T, B, m\) — got \(0, 3, 3\): T must be at least 1"):
        c.forward(params, inputs)


@pytest.mark.parametrize("sizes, seed, message", [
    ({"m": 3, "n": 4, "k": 0}, 0, "sizes: k must be a whole number ≥ 1, not 0"),
    ({"m": 3, "n": "4", "k": 2}, 0, "sizes: n must be a whole number ≥ 1, not '4'"),
    ({"m": 3, "n": True, "k": 2}, 0, "sizes: n must be a whole number ≥ 1, not True"),
    ({"m": 3, "n": 4, "k": 2, "q": 1}, 0, r"sizes: unknown 'q' \(this model takes: m, n, k\)"),
    ({"m": 3, "n": 4, "k": 2}, -5, "seed must be a whole number ≥ 0, not -5"),
])
def test_init_params_checks_sizes_and_seed(sizes, seed, message):
    with pytest.raises(InputError, match=message):
        compiled("rnn").init_params(sizes, seed=seed)


def test_input_errors_are_symgrad_errors_and_value_errors():
    assert issubclass(InputError, SymgradError) and issubclass(InputError, ValueError)


def test_the_checks_run_on_a_signature_alone_raising_the_class_given():
    """What the standalone generated module needs: a plain signature and its own error class."""
    class GeneratedError(Exception):
        pass
    sig = {"SIZES": ("m", "n"), "PARAMS": {"W": ("n", "m")}, "INPUTS": {"x": ("T", "B", "m")},
           "ONEHOT": (), "MASKS": (), "INITIAL": {"h0": ("B", "n")}, "OUTPUTS": {"h": ("T", "B", "n")},
           "LOSS": None}
    W, x, h0 = np.zeros((4, 3)), np.zeros((6, 2, 3)), np.zeros((2, 4))
    assert validate.check_call(sig, {"W": W}, {"x": x, "h0": h0}, {"h": np.zeros((6, 2, 4))},
                               error=GeneratedError) == {"n": 4, "m": 3, "T": 6, "B": 2}
    with pytest.raises(GeneratedError, match=r"h: expected \(T, B, n\) — got \(6, 2, 5\), but n is 4 in W"):
        validate.check_call(sig, {"W": W}, {"x": x}, {"h": np.zeros((6, 2, 5))}, error=GeneratedError)


def test_validate_imports_only_numpy():
    tree = ast.parse(inspect.getsource(validate))
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert imported == {"numpy"} and not any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
