"""Every VJP rule, each in a small model of its own, against central finite differences.

A rule that is wrong makes its model's check fail (test_check.py shows that for two
rules); here every entry of the table is exercised, and a test makes sure none is missed."""
import pytest

import symgrad
from symgrad import rules
from symgrad.check import check
from symgrad.dsl import (Model, cross_entropy, exp, gelu, layernorm, log, ones, relu, rowstd, sigma,
                         softmax, softmax_rows, squared_error, sum_all, sum_heads, sum_t, tanh)
from symgrad.ops import (Add, EPow, Fn, Had, HeadSum, Indicator, LayerNorm, MatMul, RowSoftmax, RowStd,
                         ScalarMul, Scale, Softmax, Stack, TimeSum, Transpose)

SIZES = {"m": 3, "n": 4}


def feed_forward(body):
    """A model with input x (m), parameters W (n×m) and v (n), target y (n), loss L = body(...)."""
    M = Model("rule")
    m, n = M.dims("m n")
    x, y = M.input("x", m), M.target("y", n)
    W, v = M.param("W", n, m), M.param("v", n)
    M.loss(M.define("L", body(M, x, y, W, v)))
    return M


MODELS = {
    "matrix product, sum, transpose": lambda M, x, y, W, v: squared_error(W @ x + v, y),
    "scalar multiple, difference": lambda M, x, y, W, v: squared_error(3 * (W @ x) - v / 2, y),
    "Hadamard product": lambda M, x, y, W, v: squared_error((W @ x) * v * y, y),
    "relu": lambda M, x, y, W, v: squared_error(relu(W @ x + v), y),
    "exp and log": lambda M, x, y, W, v: sum_all(log(exp(W @ x) + v * v + 1)),
    "sigma and tanh": lambda M, x, y, W, v: sum_all(sigma(W @ x) * tanh(v)),
    "power and reciprocal": lambda M, x, y, W, v: sum_all((W @ x) ** 3 + 1 / (v * v + 1)),
    "scalar times vector": lambda M, x, y, W, v: squared_error(v @ (x.T @ W.T @ y), y),
    "softmax and cross-entropy, soft target": lambda M, x, y, W, v: cross_entropy(softmax(W @ x + v), y * y),
}


@pytest.mark.parametrize("name", MODELS)
def test_rule_against_finite_differences(name):
    report = check(symgrad.derive(feed_forward(MODELS[name])), SIZES, T=1, B=3, seed=1)
    assert report.passed, report.problems
    assert {r.array for r in report.rows} == {"W", "v", "x"}


def matrix_model(body):
    """Rows are positions: X (T×d) input, W (d×d) and row vectors g, b (1×d), target R (T×d)."""
    M = Model("rows")
    T, d = M.dims("T d")
    X, R = M.input("X", T, d), M.target("R", T, d)
    W, g, b = M.param("W", d, d), M.param("g", 1, d), M.param("b", 1, d)
    M.loss(M.define("L", body(M, X, R, W, g, b, T)))
    return M


MATRIX_MODELS = {
    "row softmax": lambda M, X, R, W, g, b, T: sum_all(softmax_rows(X @ W) * R),
    "row softmax under a causal mask": lambda M, X, R, W, g, b, T: sum_all(
        softmax_rows(X @ W @ X.T + M.causal_mask("C", T)) @ X * R),
    "row softmax under a padding mask": lambda M, X, R, W, g, b, T: sum_all(
        softmax_rows(X @ W @ X.T + M.mask("P", T, T)) @ X * R),
    "layer norm, broadcast rows": lambda M, X, R, W, g, b, T: sum_all(
        (layernorm(X @ W) * (ones(T) @ g) + ones(T) @ b) * R),
    "row std and GELU": lambda M, X, R, W, g, b, T: sum_all(
        (rowstd(X @ W) @ g + gelu(X @ W)) * R),
}


@pytest.mark.parametrize("name", MATRIX_MODELS)
def test_matrix_rule_against_finite_differences(name):
    report = check(symgrad.derive(matrix_model(MATRIX_MODELS[name])), {"T": 3, "d": 4}, B=2, seed=2)
    assert report.passed, report.problems
    assert {"W", "X"} <= {r.array for r in report.rows}


def test_sum_over_heads():
    """Per-head parameters get per-head gradients; the shared input gets Σᵢ over the heads."""
    M = Model("heads")
    T, d, k = M.dims("T d k")
    M.heads("h")
    X, R = M.input("X", T, d), M.target("R", T, d)
    A, C = M.param("A", d, k, per_head=True), M.param("C", k, d, per_head=True)
    Z = M.define("Z", tanh(X @ A))
    M.loss(M.define("L", sum_all(sum_heads(Z @ C) * R)))
    report = check(symgrad.derive(M), {"T": 3, "d": 4, "k": 2, "h": 3}, B=2)
    assert report.passed and {r.array for r in report.rows} == {"A", "C", "X"}


def test_stacked_steps_of_another_axis():
    """A decoder step reads all encoder states as a matrix H: H's delta sums the decoder steps,
    each encoder step gets its row back; a gradient of a decoder term times H sums correctly."""
    M = Model("two-axes", sequence=True)
    m, n = M.dims("m n")
    j = M.axis("j", "T_x")
    with M.along(j):
        x = M.input("x", m)
        g = M.state("g", n)
        M.define(g, tanh(M.param("A", n, m) @ x + g.prev))
    H = M.define("H", M.stack(g))
    u, y = M.input("u", n), M.target("y", n)
    P = M.param("P", n, n)
    s = M.define("s", tanh(P @ (H.T @ softmax(H @ u))))
    M.loss(M.define("L", sum_t(squared_error(s, y))))
    report = check(symgrad.derive(M), {"m": 2, "n": 3, "T_x": 4}, T=3, B=2)
    assert report.passed, report.problems
    assert {r.array for r in report.rows} == {"A", "P", "x", "u", "g0"}


def test_sum_over_time():
    M = Model("time", sequence=True)
    m, n = M.dims("m n")
    x, y = M.input("x", m), M.target("y", n)
    W = M.param("W", n, m)
    h = M.state("h", n)
    M.define(h, tanh(W @ x + h.prev * 0.5))
    M.loss(M.define("L", sum_t(squared_error(h, y))))
    report = check(symgrad.derive(M), SIZES, T=3, B=2)
    assert report.passed and {r.array for r in report.rows} == {"W", "x", "h0"}


def test_terms_at_one_step():
    """An input fed at the first step only, [t = 1] U u, and a loss that reads h_T alone: the
    bracket passes the cotangent back at its one step (δu = Uᵀ δa₁, δh gets [t = T] …)."""
    M = Model("steps", sequence=True)
    m, n = M.dims("m n")
    x, u = M.input("x", m), M.input("u", m, per_step=False)
    y = M.target("y", n, per_step=False)
    W, U = M.param("W", n, m), M.param("U", n, m)
    h = M.state("h", n)
    a = M.define("a", W @ x + M.only_at(1, U @ u) + h.prev / 2)
    M.define(h, tanh(a))
    M.loss(M.define("L", squared_error(M.last(h), y)))
    d = symgrad.derive(M)
    assert str(d.equation("δu").rhs) == "Uᵀ δa₁"
    assert str(d.equation("δhₜ").rhs) == "[t = T] (h_T − y) + 1/2 δaₜ₊₁"
    report = check(d, SIZES, T=4, B=2)
    assert report.passed and {r.array for r in report.rows} == {"W", "U", "x", "u", "h0"}


def test_every_rule_is_exercised_here():
    used = set()
    models = [feed_forward(b) for b in MODELS.values()] + [matrix_model(b) for b in MATRIX_MODELS.values()]
    for model in models:
        for d in model.build().definitions:
            used |= {type(e) for e in _walk(d.rhs)}
    used |= {TimeSum, HeadSum, Stack, Indicator}  # the tests over time, heads, axes, one step
    assert set(rules.VJP) <= used, set(rules.VJP) - used
    assert set(rules.VJP) == {Add, Scale, MatMul, Had, Transpose, ScalarMul, Fn, EPow, Softmax,
                              RowSoftmax, LayerNorm, RowStd, TimeSum, HeadSum, Stack, Indicator}


def _walk(e):
    yield e
    for a in e.args:
        if hasattr(a, "shape"):
            yield from _walk(a)
