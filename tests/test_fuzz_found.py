"""The bugs the model fuzzer found, each as the smallest model that shows it, checked against
central finite differences of the compiled forward (symgrad.check) at a length past every
size, so a value indexed by step where it should not be cannot pass by luck.

Engine bugs (derive, algebra, symbols, graph, dsl) and code-generation bugs (codegen) are
marked as such: the generated code is being rewritten, and these models are its test too."""
from fractions import Fraction

import numpy as np
import pytest

import symgrad
from symgrad.check import check, example
from symgrad.dsl import (Model, cross_entropy, ones, rowsum, sigma, softmax, squared_error, sum_all,
                         sum_heads, sum_t, tanh)
from symgrad.errors import ModelError


def proved(model, sizes, T=6, B=2, style=None):
    """Every gradient agrees with finite differences (at T steps and B examples)."""
    report = check(symgrad.derive(model, style), sizes, T=T, B=B)
    assert report.passed, report.problems
    return report


def two_axes(name):
    """A model over steps t with a second axis j (an encoder's), and its size n."""
    M = Model(name, sequence=True)
    return M, M.dims("n"), M.axis("j", "T_x")


def sequence(name="m"):
    M = Model(name, sequence=True)
    n = M.dims("n")
    return M, n, M.input("x", n)


# -- the engine ---------------------------------------------------------------------------

def test_a_parameter_read_inside_a_sum_over_the_steps_collects_every_step():
    """L = Σₜ −yₜᵀ log softmax(W): δW came out as softmax(W) − yₜ, a parameter gradient
    with a free t, instead of Σₜ (softmax(W) − yₜ)."""
    M, n, x = sequence()
    y, W = M.target("y", n, onehot=True), M.param("W", n)
    M.loss(M.define("L", sum_t(cross_entropy(softmax(W), y))))
    assert str(symgrad.derive(M).params[0]) == "δW = Σₜ (softmax(W) − yₜ)"
    proved(M, {"n": 3})


def test_a_sum_over_the_steps_inside_a_per_step_equation():
    """aₜ = tanh(xₜ + Σₜ W xₜ): every step reads the whole sum; δW was summed three times."""
    M, n, x = sequence()
    W = M.param("W", n, n)
    M.output(M.define("a", tanh(x + sum_t(W @ x))))
    proved(M, {"n": 3})


def test_nested_sums_over_the_same_steps_do_not_capture_each_others_t():
    """L = Σₜ ½‖Σₜ W xₜ − yₜ‖²: the inner sum's xₜ received the outer yₜ's term."""
    M, n, x = sequence()
    y, W = M.target("y", n), M.param("W", n, n)
    M.loss(M.define("L", sum_t(squared_error(sum_t(W @ x), y))))
    proved(M, {"n": 3})


def test_shifting_a_step_leaves_the_t_of_a_sum_alone():
    """sₜ = tanh(W sₜ₋₁ + (Σₜ xₜ) ⊙ xₜ): δsₜ read Σₜ xₜ₊₁ and δs₀ read Σₜ x₁."""
    M, n, x = sequence()
    s, W = M.state("s", n), M.param("W", n, n)
    M.define(s, tanh(W @ s.prev + sum_t(x) * x))
    M.output(s)
    proved(M, {"n": 3}, style="derivative")
    text = str(symgrad.derive(M, "derivative"))
    assert "Σₜ xₜ₊₁" not in text and "δs₀ = Wᵀ (δs₁ ⊙ tanh′((Σₜ xₜ) ⊙ x₁ + W s₀))" in text


def test_a_constant_delta_read_one_step_later_is_not_inlined():
    """L = Σₜ sum_all(aₜ), aₜ = sₜ₋₁: δaₜ = 1 inlined into δsₜ = … + 1 added a term
    after the last step, so δW was not zero at T = 1."""
    M, n, x = sequence()
    s, W = M.state("s", n), M.param("W", n, n)
    M.define(s, tanh(W @ s.prev + x))
    M.loss(M.define("L", sum_t(sum_all(M.define("a", s.prev)))))
    proved(M, {"n": 3}, T=1)
    proved(M, {"n": 3}, T=5)


def test_a_sum_of_what_no_step_changes_is_t_times_it():
    """Σₜ W compiled as np.sum(W, axis=0), a sum over W's rows."""
    M, n, x = sequence()
    W = M.param("W", n, n)
    L = M.define("L", sum_all(sum_t(W)) + sum_t(sum_all(x)))
    M.loss(L)
    assert "T" in str(symgrad.derive(M).forward[0])
    proved(M, {"n": 3})


def test_a_stack_whose_delta_is_zero():
    """The encoder's states stacked into a node nobody reads: the route back through the
    stack was a row of a zero matrix, compiled without the batch axis (a broadcast error)."""
    M, n, j = two_axes("enc")
    with M.along(j):
        x = M.input("x", n)
        h = M.state("h", n, reverse=True)
    u = M.input("u", n)
    M.define(h, tanh(M.param("W", n, n) @ h.next + x))
    M.define("H", M.stack(h))
    M.output(h, M.define("a", tanh(u)))
    proved(M, {"n": 2, "T_x": 2}, T=5, B=3)


def test_a_sum_over_the_steps_of_two_axes_is_an_error_not_a_guess():
    M, n, j = two_axes("two")
    with M.along(j):
        h = M.input("h", n)
    u = M.input("u", n)
    with pytest.raises(ModelError, match="reads the steps of two time axes"):
        sum_t(h * u)


def test_a_sum_that_reads_a_state_at_another_step_is_refused():
    """Σₜ f(sₜ₋₁) in a static equation: its first and last terms were wrong (the terms of a
    static equation do not vanish after the last step as a node's δ does)."""
    M, n, x = sequence()
    s, W = M.state("s", n), M.param("W", n, n)
    M.define(s, tanh(W @ s.prev + x))
    M.loss(M.define("L", sum_t(sum_all(tanh(s.prev)))))
    with pytest.raises(ModelError, match="equation L: a sum over the steps reads sₜ₋₁, another step; "
                                         "define the summand as a node"):
        symgrad.derive(M)


def test_a_fractional_power_of_a_positive_multiple():
    M = Model("root")
    n = M.dims("n")
    x = M.input("x", n)
    M.output(M.define("a", x * (ones(n) + (Fraction(1, 2) * ones(n)) ** 2) ** Fraction(1, 2)))
    assert "√(5)" in str(symgrad.derive(M))


def test_losses_of_matrices_are_scalars():
    """cross_entropy and squared_error of matrices were matrices: 'loss must be 1×1'."""
    M = Model("rows")
    T, k = M.dims("T k")
    X, Y, Z = M.input("X", T, k), M.target("Y", T, k, onehot=True), M.target("Z", T, k)
    M.loss(M.define("L", cross_entropy(M.define("P", dsl_softmax_rows(X)), Y) + squared_error(X, Z)))
    proved(M, {"T": 3, "k": 4})


def dsl_softmax_rows(X):
    from symgrad.dsl import softmax_rows
    return softmax_rows(X)


def test_a_symbolic_coefficient_of_unknown_sign_prints():
    """1 − Σₜ ½ is (1 − T/2): printing asked whether it is negative and raised TypeError."""
    M, n, x = sequence()
    M.output(M.define("a", tanh(x * (1 - sum_t(Fraction(1, 2) * ones(n))))))
    d = symgrad.derive(M)
    assert "T/2" in str(d) and "T}{2}" in d.to_latex().replace(" ", "")


# -- code generation (codegen.py) -----------------------------------------------------------

def test_codegen_a_weight_penalty_counts_once_per_example_in_a_sequence_model():
    """L = Σₜ ℓₜ + ‖W‖²/10 is the loss of each example: the forward counted the penalty B
    times, the vjp once."""
    M, n, x = sequence()
    y, W = M.target("y", n, onehot=True), M.param("W", n, n)
    M.loss(M.define("L", sum_t(cross_entropy(softmax(W @ x), y)) + Fraction(1, 10) * sum_all(W * W)))
    proved(M, {"n": 3}, B=3)


def test_codegen_a_constant_term_of_a_recurrence_is_the_same_at_every_step():
    """The CIFG bug: f = 1 − i hoisted its constant as a (n, 1) array indexed by step."""
    proved(symgrad.model("lstm", variant="CIFG"), {"m": 2, "n": 3}, T=7)
    M, n, x = sequence()
    s, W, b = M.state("s", n), M.param("W", n, n), M.param("b", n)
    M.define(s, tanh(W @ s.prev + sigma(b) - ones(n) + x))
    M.output(s)
    proved(M, {"n": 3})


def test_codegen_a_difference_of_a_sum_keeps_its_parentheses():
    """a − (b + c) was written a - b + c."""
    M = Model("paren")
    n = M.dims("n")
    x, b = M.input("x", n), M.param("b", n)
    M.output(M.define("a", sigma(x - (3 * ones(n) + b))))
    proved(M, {"n": 3})


def test_codegen_an_output_the_same_for_every_example():
    M, n, x = sequence()
    W = M.param("W", n, n)
    M.output(M.define("a", tanh(x)), M.define("c", W @ ones(n)))
    proved(M, {"n": 3})


def test_codegen_an_output_on_the_encoders_axis():
    """Its cotangent was reshaped to the decoder's T steps instead of the encoder's T_x."""
    M, n, j = two_axes("enc")
    with M.along(j):
        x = M.input("x", n)
        h = M.state("h", n)
    M.input("u", n)
    M.define(h, tanh(M.param("W", n, n) @ h.prev + x))
    M.output(h)
    compiled = symgrad.derive(M).compile()
    params, inputs, cot = example(compiled, {"n": 3, "T_x": 4}, T=2, B=2)
    assert compiled.vjp(params, inputs, cot)["x"].shape == (4, 2, 3)
    proved(M, {"n": 3, "T_x": 4}, T=2)


def heads_model():
    M = Model("heads")
    T, d = M.dims("T d")
    X = M.input("X", T, d)
    M.heads("h")
    P, W = M.param("P", T, d, per_head=True), M.param("W", d, d)
    return M, X, P, W


def test_codegen_a_per_head_output_has_the_heads_axis():
    M, X, P, W = heads_model()
    M.output(M.define("A", P * (X @ W)))
    compiled = symgrad.derive(M).compile()
    params, inputs, cot = example(compiled, {"T": 3, "d": 2, "h": 4}, B=2)
    assert compiled.forward(params, inputs)["A"].shape == (2, 4, 3, 2)
    proved(M, {"T": 3, "d": 2, "h": 4})


def test_codegen_a_sum_over_the_heads_of_a_shared_value_is_h_times_it():
    M, X, P, W = heads_model()
    M.output(M.define("Y", sum_heads(X @ W)))
    compiled = symgrad.derive(M).compile()
    params, inputs, _ = example(compiled, {"T": 3, "d": 2, "h": 4}, B=2)
    np.testing.assert_allclose(compiled.forward(params, inputs)["Y"], 4 * inputs["X"] @ params["W"], rtol=1e-13)
    proved(M, {"T": 3, "d": 2, "h": 4})


def test_codegen_a_negated_sum_in_a_per_head_gradient_keeps_its_parentheses():
    """δPᵢ = −(δa ⊙ a − (aᵀ δa) a) was written -1.0 * δa * a - (aᵀ δa) a."""
    M, X, P, W = heads_model()
    p = M.param("p", X.rows, 1, per_head=True)
    M.output(M.define("a", softmax(M.param("w", X.rows, 1) - sum_heads(p))), M.define("b", tanh(X @ W)))
    proved(M, {"T": 3, "d": 2, "h": 2})


def test_codegen_a_power_of_a_sum_over_the_heads():
    """(Σᵢ W)^⊙2 of a shared W was written h * W ** 2, not (h * W) ** 2."""
    M, X, P, W = heads_model()
    M.loss(M.define("L", sum_all(sum_heads(W) ** 2) + sum_all(sum_heads(P) * (X @ W))))
    proved(M, {"T": 3, "d": 2, "h": 3})


def test_codegen_a_parameter_only_loss_term_in_a_heads_model_counts_per_example():
    """Σᵢ Pᵢ ⊙ V has a heads axis of size 1, which was taken for the batch: δV was not
    multiplied by B."""
    M, X, P, W = heads_model()
    V = M.param("V", *X.shape)
    M.loss(M.define("L", sum_all(sum_heads(P) * V) + sum_all(X @ W)))
    proved(M, {"T": 3, "d": 2, "h": 2}, B=3)


def test_codegen_a_size_no_array_has_is_a_clear_error():
    """It was a KeyError inside the generated code."""
    M = Model("free")
    n, k = M.dims("n k")
    x = M.input("x", n)
    M.output(M.define("a", ones(k, 1) @ (ones(1, n) @ x)))
    with pytest.raises(ModelError, match="the size k is the size of no input or parameter"):
        symgrad.derive(M).compile()


def test_codegen_a_delta_that_reads_two_steps_ahead():
    """In the derivative style, tanh′ of a pre-activation that reads the next state puts
    sₜ₊₂ in δ equations; the arrays were padded by one step only."""
    M, n, x = sequence()
    s, g = M.state("s", n), M.state("g", n, reverse=True)
    W = M.param("W", n, n)
    M.define(s, tanh(W @ s.prev + x))
    M.define(g, tanh(W @ g.next + s.prev))
    M.output(g)
    proved(M, {"n": 3}, T=1, style="derivative")
    proved(M, {"n": 3}, T=5, style="derivative")


def test_codegen_the_number_of_steps_in_a_coefficient():
    """T in a coefficient (Σₜ of a constant) was written T, a NameError; it is T_."""
    M, n, x = sequence()
    M.output(M.define("a", x * sum_t(ones(n))))
    compiled = symgrad.derive(M).compile()
    params, inputs, _ = example(compiled, {"n": 3}, T=5, B=1)
    np.testing.assert_allclose(compiled.forward(params, inputs)["a"], 5 * inputs["x"], rtol=1e-14)


def test_codegen_a_sum_over_the_steps_of_a_step_free_value_in_a_recurrence():
    """sₜ = tanh(W sₜ₋₁ + Σₜ Σₜ xₜ) is T Σₜ xₜ at every step: the code indexed that one value
    by step (an IndexError past the first step)."""
    M, n, x = sequence()
    s, W = M.state("s", n), M.param("W", n, n)
    M.output(M.define(s, tanh(W @ s.prev + sum_t(sum_t(x)))))
    proved(M, {"n": 2}, T=4, style="derivative")


def test_codegen_a_term_past_the_last_step_is_zero_not_nan():
    """δsₜ reads δaₜ₊₁ times 1 ⊘ σ(tanh(sₜ)), a value the code keeps per step as aₜ₊₁'s
    input. At t = T that step is padding (0) and 0 · (1 ⊘ 0) was NaN; a delta past the
    sequence end is zero, and so is the term."""
    M, n, x = sequence()
    s, W = M.state("s", n), M.param("W", n, n)
    M.define(s, sigma(W @ s.prev + x))
    M.output(M.define("a", x / sigma(tanh(s.prev))))
    for T in (1, 4):
        report = proved(M, {"n": 2}, T=T, style="derivative")
        assert all(np.isfinite(r.fd) for r in report.rows)


def test_codegen_a_term_past_the_end_of_a_second_axis_is_zero_not_nan():
    """The same on an encoder's axis j: only the axis t was cut at its ends."""
    M, n, j = two_axes("j")
    with M.along(j):
        x = M.input("x", n)
        s = M.state("s", n)
    W = M.param("W", n, n)
    M.define(s, tanh(W @ s.prev + (1 - x) / sigma(tanh(s.prev))))
    M.output(s)
    M.output(M.define("u", tanh(M.input("y", n))))     # the steps t, which compiled code needs
    for T in (1, 3):
        report = proved(M, {"n": 2, "T_x": T}, T=2, style="derivative")
        assert all(np.isfinite(r.fd) for r in report.rows)


def test_codegen_a_kept_value_with_a_sum_over_the_steps_is_one_value():
    """σ(Σₜ xₜ − b), kept by the forward pass for the backward one, was stored as a value per
    step and read by step (an IndexError past the number of examples)."""
    M, n, x = sequence()
    s, b, W = M.state("s", n, reverse=True), M.param("b", n), M.param("W", n, n)
    gate = sigma(sum_t(x) - b)
    M.define(s, gate * s.next + (1 - gate) * tanh(W @ x + b))
    M.loss(M.define("L", sum_t(squared_error(s, M.target("y", n)))))
    proved(M, {"n": 2}, T=3, style="derivative")


def test_codegen_a_row_repeated_by_a_one_keeps_its_parentheses():
    """𝟏 (softmax(u)ᵀ − yⱼᵀ) ⊙ Wᵀ, the row repeated over one row: the code dropped the 𝟏 and
    the parentheses with it, softmax(u)ᵀ − yⱼᵀ ⊙ Wᵀ (δW off by 100%)."""
    M, n, j = two_axes("row")
    with M.along(j):
        x, y = M.input("x", n), M.target("y", n, onehot=True)
        s = M.state("s", n, reverse=True)
    W = M.param("W", n, n)
    M.define(s, tanh(W @ s.next + x))
    M.loss(M.define("L", sum_t(cross_entropy(softmax(rowsum(W.T * W)), y))))
    M.output(M.define("u", tanh(M.input("z", n))))     # the steps t, which compiled code needs
    proved(M, {"n": 2, "T_x": 3}, T=2, style="derivative")
