"""Greff et al.'s published LSTM backward equations, transcribed in
symgrad/derivations/published/, against the derivation: term for term where the paper
is exact, and a shifted sum without the initial-state term where it is not."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import symgrad
from symgrad.algebra import ckey, rebuild, timesum
from symgrad.check import example, rel_err
from symgrad.derive import Equation
from symgrad.ops import TimeSum
from symgrad.hand import directives, read
from symgrad.render.printer import text
from symgrad.references import lstm as lstm_reference
from symgrad.symbols import shift

GREFF = Path(symgrad.__file__).parent / "derivations" / "published" / "greff2017_lstm.txt"
# the recurrent and peephole gradients the paper sums from t=0 to T-1 with δ⋆_{t+1}
SHIFTED = {"R_z", "R_i", "R_f", "R_o", "p_i", "p_f"}


@pytest.fixture(scope="module")
def greff():
    lines = GREFF.read_text(encoding="utf-8").splitlines()
    name, options, _ = directives(lines)
    assert (name, options) == ("lstm", [])
    d = symgrad.derive(symgrad.model(name))
    published = {text(eq.lhs): eq.forms[0].expr for eq in read(lines, d, str(GREFF))}
    derived = {str(eq.lhs): eq.rhs for eq in d.backward}
    return d, published, derived


def test_every_published_equation_is_there(greff):
    d, published, derived = greff
    assert len(published) == 6 + 1 + 4 * 3 + 3          # deltas, δx; W, R, b per gate; p
    assert set(published) <= set(derived)
    assert set(derived) - set(published) == {"δy₀", "δc₀"}   # the paper has no initial-state gradients


def test_deltas_and_exact_gradients_equal_the_paper_term_for_term(greff):
    d, published, derived = greff
    exact = [lhs for lhs in published if lhs[1:] not in SHIFTED]
    assert len(exact) == 16
    for lhs in exact:
        assert ckey(rebuild(published[lhs])) == ckey(rebuild(derived[lhs])), lhs


def _shifted_back(expr):
    """Σₜ f(t+1) written as Σₜ f(t): the same terms, one step earlier."""
    assert isinstance(expr, TimeSum)
    return timesum(shift(expr.x, -1))


def test_recurrent_sums_are_the_same_terms_one_step_shifted(greff):
    d, published, derived = greff
    for name in SHIFTED:
        lhs = "δ" + name
        assert ckey(published[lhs]) != ckey(derived[lhs])
        assert ckey(_shifted_back(published[lhs])) == ckey(derived[lhs]), lhs


def _published_gradients(greff, y0_c0_zero):
    """Gradients computed from the paper's parameter equations, and from the reference."""
    d, published, _ = greff
    params_eqs = [Equation(eq.lhs, published[str(eq.lhs)], "param") for eq in d.params]
    compiled = replace(d, params=params_eqs).compile()
    params, inputs, cot = example(compiled, {"m": 3, "n": 4}, T=5, B=2, seed=7)
    if y0_c0_zero:
        inputs["y0"], inputs["c0"] = np.zeros_like(inputs["y0"]), np.zeros_like(inputs["c0"])
    return compiled.vjp(params, inputs, cot), lstm_reference.vjp(params, inputs, cot)


def test_paper_gradients_are_exact_for_a_zero_initial_state(greff):
    ours, reference = _published_gradients(greff, y0_c0_zero=True)
    assert max(rel_err(ours[k], reference[k]) for k in reference) <= 1e-12


def test_paper_gradients_miss_the_initial_state_term_otherwise(greff):
    ours, reference = _published_gradients(greff, y0_c0_zero=False)
    wrong = {k for k in reference if rel_err(ours[k], reference[k]) > 1e-6}
    assert wrong == SHIFTED
