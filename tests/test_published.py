"""The published derivations in symgrad/derivations/published/ against the derivation:
Greff et al.'s LSTM equations (plain-text transcription, and the paper's own notation) term
for term where the paper is exact, a shifted sum without the initial-state term where it is
not; Goodfellow et al.'s BPTT equations 10.17–10.28 in the book's own notation."""
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import symgrad
from symgrad.algebra import ckey, rebuild, timesum
from symgrad.check import example, rel_err
from symgrad.cli import main
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


# -- the sources in their own notation (issue 11) --------------------------------------------------

PUBLISHED = GREFF.parent


def _verify(path):
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    return result.exit_code, json.loads(result.output)


def test_greff_as_printed_in_the_papers_own_notation():
    """Superscript steps, steps 0…T, ⋆ templates. Wrong where the paper is: its δy line prints
    the gate deltas without bars, and its recurrent and peephole sums miss the first step."""
    code, report = _verify(PUBLISHED / "greff2017_lstm.tex")
    assert code == 1 and report["model"] == "lstm"
    wrong = {e["lhs"]: e["problems"] for e in report["equations"] if e["status"] == "wrong"}
    assert report["counts"]["right"] == 15 and set(wrong) == {"δyₜ"} | {"δ" + n for n in SHIFTED}
    assert wrong["δyₜ"] == [f"wrong symbol: R_{g}ᵀ δ{g}ₜ₊₁ has {g}ₜ₊₁ where {g}\u0304ₜ₊₁ belongs"
                            .replace("i\u0304", "ī").replace("o\u0304", "ō") for g in "zifo"]
    for name in SHIFTED:
        (problem,) = wrong["δ" + name]
        assert problem.startswith("the sum is shifted by +1 step") and problem.endswith(
            "without the term of the first step (1), where the initial state enters")
    assert report["not_checked"] == ["δy₀", "δc₀"]


def test_greff_with_the_bars_the_paper_means_is_right(tmp_path):
    text = (PUBLISHED / "greff2017_lstm.tex").read_text(encoding="utf-8")
    for gate in "zifo":
        text = text.replace(rf"\delta {gate}^{{t+1}}", rf"\delta \bar{{{gate}}}^{{t+1}}")
    path = tmp_path / "greff.tex"
    path.write_text(text, encoding="utf-8")
    code, report = _verify(path)
    assert {e["lhs"] for e in report["equations"] if e["status"] == "wrong"} == {"δ" + n for n in SHIFTED}


def test_greff_is_verified_quickly():
    start = time.process_time()
    _verify(PUBLISHED / "greff2017_lstm.tex")
    assert time.process_time() - start < 10


def test_goodfellow_10_17_to_10_28_in_the_books_own_notation():
    """Every form right, chain-rule forms and the entry-wise 10.18 included, but 10.21 as
    printed: matrix · vector · matrix."""
    code, report = _verify(PUBLISHED / "goodfellow2016_rnn.tex")
    assert code == 1 and report["counts"]["right"] == 16 and report["counts"]["wrong"] == 1
    (wrong,) = [e for e in report["equations"] if e["status"] == "wrong"]
    assert wrong["lhs"] == "δhₜ" and wrong["form"].startswith(r"\MW^\top (\nabla_{\Vh^{(t+1)}} L)")
    assert wrong["problems"] == ["shape: the factors do not chain: Wᵀ (n×n) · δhₜ₊₁ (n×1) · "
                                 "diag(1 − hₜ₊₁ ⊙ hₜ₊₁) (n×n)"]
    forms = {}
    for e in report["equations"]:
        forms.setdefault(e["lhs"], []).append(e["status"])
    assert forms == {"δℓₜ": ["right"], "δoₜ": ["right"] * 3, "δh_T": ["right"],
                     "δhₜ": ["right", "wrong"], "δc": ["right"] * 2, "δb": ["right"] * 2,
                     "δV": ["right"] * 2, "δW": ["right"] * 2, "δU": ["right"] * 2}
