"""Building a model checks its definitions; every user mistake is a SymgradError naming it."""
import pytest

from symgrad.dsl import Model, sigma, softmax, sum_t, tanh
from symgrad.errors import ModelError, ShapeError, SymgradError


def rnn_like():
    M = Model("toy", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    W, U = M.param("W", n, n), M.param("U", n, m)
    return M, m, n, x, W, U


def test_wrong_shape_in_a_product_names_both_operands():
    M, m, n, x, W, U = rnn_like()
    with pytest.raises(ShapeError, match=r"matrix product of W \(n×n\) and xₜ \(m×1\)"):
        W @ x


def test_wrong_shape_in_a_sum_names_the_operands():
    M, m, n, x, W, U = rnn_like()
    with pytest.raises(ShapeError, match="sum of operands of different shapes"):
        U @ x + x


def test_state_defined_with_another_shape_names_the_equation():
    M, m, n, x, W, U = rnn_like()
    h = M.state("h", n)
    with pytest.raises(ShapeError, match="equation h: state h is declared n×1 but defined as m×1"):
        M.define(h, tanh(x))


def test_node_defined_twice():
    M, m, n, x, W, U = rnn_like()
    M.define("a", U @ x)
    with pytest.raises(ModelError, match="equation a: a is defined twice"):
        M.define("a", U @ x)


def test_undefined_symbol_from_another_model():
    M, m, n, x, W, U = rnn_like()
    other = Model("other", sequence=True)
    q = other.input("q", other.dims("m"))
    M.define("a", tanh(U @ q))
    M.output(M.declared["a"])
    with pytest.raises(ModelError, match="equation a: unknown symbol q"):
        M.build()


def test_cycle_within_one_step_is_refused_but_through_t_minus_1_is_fine():
    M, m, n, x, W, U = rnn_like()
    h = M.state("h", n)
    g = M.state("g", n)
    M.define(h, tanh(W @ g + U @ x))
    M.define(g, tanh(W @ h))
    M.output(h)
    with pytest.raises(ModelError, match=r"cycle within one time step \(.*h.*g.*\)"):
        M.build()

    M2, m, n, x, W, U = rnn_like()
    h = M2.state("h", n)
    M2.define(h, tanh(W @ h.prev + U @ x))
    M2.output(h)
    assert M2.build().states == {"h": -1}


def test_reading_a_later_step_is_refused():
    M, m, n, x, W, U = rnn_like()
    h = M.state("h", n)
    M.define(h, tanh(W @ h.at(1) + U @ x))
    M.output(h)
    with pytest.raises(ModelError, match="reads a later step, .* reverse=True"):
        M.build()


def test_state_declared_but_never_defined():
    M, m, n, x, W, U = rnn_like()
    M.state("h", n)
    M.output(M.define("a", tanh(U @ x)))
    with pytest.raises(ModelError, match="state h is declared but never defined"):
        M.build()


def test_names_must_be_identifiers_and_not_reserved():
    M = Model("toy")
    with pytest.raises(ModelError, match="must be an identifier"):
        M.param("W z", 2, 2)
    with pytest.raises(ModelError, match="must be an identifier"):
        M.param("np", 2, 2)


def test_no_output_is_an_error():
    M = Model("toy")
    n = M.dims("n")
    x = M.input("x", n)
    M.define("h", sigma(x))
    with pytest.raises(ModelError, match="no output or loss"):
        M.build()


def test_loss_must_be_scalar_and_softmax_takes_a_vector():
    M = Model("toy")
    n = M.dims("n")
    x = M.input("x", n)
    with pytest.raises(ShapeError, match="loss h must be a scalar"):
        M.loss(M.define("h", sigma(x)))
    with pytest.raises(ShapeError, match="softmax takes a column vector"):
        softmax(x @ x.T)


def test_every_error_is_a_symgrad_error():
    assert issubclass(ShapeError, SymgradError) and issubclass(ModelError, SymgradError)


def test_sum_over_t_makes_a_static_node():
    M, m, n, x, W, U = rnn_like()
    a = M.define("a", U @ x)
    L = M.define("L", sum_t(a.T @ a))
    M.loss(L)
    M.build()
    assert type(L).__name__ == "Sym" and type(a).__name__ == "Seq"


def test_a_reverse_state_is_read_at_t_plus_1_only():
    M, m, n, x, W, U = rnn_like()
    g = M.state("g", n, reverse=True)
    M.define(g, tanh(W @ g.next + U @ x))
    M.output(g)
    assert M.build().states == {"g": 1}

    M2, m, n, x, W, U = rnn_like()
    g = M2.state("g", n, reverse=True)
    M2.define(g, tanh(W @ g.prev + U @ x))
    M2.output(g)
    with pytest.raises(ModelError, match=r"gₜ₋₁ reads a different step, but state g is read at t\+1"):
        M2.build()


def test_an_input_is_read_at_its_own_step_only():
    M, m, n, x, W, U = rnn_like()
    h = M.state("h", n)
    M.define(h, tanh(W @ h.prev + U @ x.prev))
    M.output(h)
    with pytest.raises(ModelError, match="input xₜ₋₁ is read at another step"):
        M.build()
