"""Gradient clipping: torch's clip_grad_norm_ and clip_grad_value_ in float64, and values
worked out by hand (what torch's source computes: coef = max_norm / (‖g‖ + 1e-6), at most 1)."""
import ast
import inspect

import numpy as np
import pytest

import symgrad
from symgrad import clip
from symgrad.clip import ClipError


def grads(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(4), "s": np.array(2.5),
            "h0": rng.standard_normal((2, 4))}


def _torch_parameters(torch, g):
    params = []
    for value in g.values():
        p = torch.nn.Parameter(torch.zeros(np.shape(value), dtype=torch.float64))
        p.grad = torch.tensor(np.array(value, dtype=float))
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm", [0.3, 2.0, 1e6])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf")])
def test_clip_by_norm_is_torchs_clip_grad_norm(max_norm, norm_type):
    torch = pytest.importorskip("torch")
    g = grads()
    params = _torch_parameters(torch, g)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ours = symgrad.clip_by_norm(g, max_norm, norm_type)
    assert symgrad.global_norm(g, norm_type) == pytest.approx(total.item(), rel=1e-14)
    for (name, value), p in zip(ours.items(), params):
        assert np.allclose(value, p.grad.numpy(), rtol=1e-14, atol=0), name


@pytest.mark.parametrize("limit", [0.1, 1.0, 10.0])
def test_clip_by_value_is_torchs_clip_grad_value(limit):
    torch = pytest.importorskip("torch")
    g = grads(1)
    params = _torch_parameters(torch, g)
    torch.nn.utils.clip_grad_value_(params, limit)
    for (name, value), p in zip(symgrad.clip_by_value(g, limit).items(), params):
        assert np.array_equal(value, p.grad.numpy()), name


def test_by_hand():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[-4.0]])}        # ‖g‖ = 5
    clipped = symgrad.clip_by_norm(g, 1.0)
    assert clipped["a"][0] == 3.0 / (5.0 + 1e-6) and clipped["b"][0, 0] == -4.0 / (5.0 + 1e-6)
    assert np.array_equal(symgrad.clip_by_norm(g, 10.0)["a"], g["a"])          # under the threshold
    assert np.array_equal(symgrad.clip_by_norm(g, 5.0)["a"], g["a"] * (5.0 / (5.0 + 1e-6)))
    assert symgrad.global_norm(g, float("inf")) == 4.0 and symgrad.global_norm(g, 1) == 7.0
    zero = symgrad.clip_by_norm({"z": np.zeros(3)}, 1.0)                     # 1 / 1e-6, capped at 1
    assert np.array_equal(zero["z"], np.zeros(3))
    assert np.array_equal(symgrad.clip_by_value({"v": np.array([-3.0, 1.0, 5.0])}, 2)["v"], [-2.0, 1.0, 2.0])
    assert symgrad.clip_by_norm({}, 1.0) == {} and symgrad.global_norm({}) == 0.0


def test_given_arrays_are_left_unchanged():
    g = grads()
    before = {k: np.copy(v) for k, v in g.items()}
    symgrad.clip_by_norm(g, 0.1)
    symgrad.clip_by_value(g, 0.1)
    assert all(np.array_equal(g[k], before[k]) for k in g)


@pytest.mark.parametrize("call, message", [
    (lambda: symgrad.clip_by_norm(grads(), 0), "max_norm must be a positive finite number, not 0"),
    (lambda: symgrad.clip_by_norm(grads(), -1.0), "not -1.0"),
    (lambda: symgrad.clip_by_norm(grads(), float("nan")), "not nan"),
    (lambda: symgrad.clip_by_norm(grads(), True), "not True"),
    (lambda: symgrad.clip_by_norm(grads(), 1.0, norm_type=0), "norm_type must be a positive number or inf"),
    (lambda: symgrad.clip_by_value(grads(), "1"), "limit must be a positive finite number"),
    (lambda: symgrad.clip_by_norm([np.ones(2)], 1.0), "must be a dict of name → array, not list"),
    (lambda: symgrad.clip_by_norm({"w": np.array(["a"])}, 1.0), "gradient 'w' is not an array of numbers"),
])
def test_bad_arguments_are_clear_errors(call, message):
    with pytest.raises(ClipError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_the_module_imports_numpy_only():
    """So its source can be embedded into a standalone generated module."""
    tree = ast.parse(inspect.getsource(clip))
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported == {"numpy"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
