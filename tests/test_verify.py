"""symgrad verify: published derivations, each kind of mistake found where it is, correct
equations in other forms accepted, unreadable input refused cleanly."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symgrad
from symgrad.cli import main
from symgrad.errors import SymgradError
from symgrad.parse import Scope, parse_equation
from symgrad.parse_latex import parse_latex_equation
from symgrad.verify import verify_lines

PUBLISHED = Path(symgrad.__file__).parent / "derivations" / "published"
GREFF = PUBLISHED / "greff2017_lstm.txt"
LSTM = symgrad.derive(symgrad.model("lstm"))
RNN = symgrad.derive(symgrad.model("rnn"))
SHIFTED = {"δR_z", "δR_i", "δR_f", "δR_o", "δp_i", "δp_f"}


def run(*args):
    result = CliRunner().invoke(main, ["verify", *map(str, args)])
    return result.exit_code, result.output


def verdicts(lines, derivation=LSTM, aliases=None):
    return verify_lines(["model: x"] + list(lines), derivation, "hand.txt", aliases).verdicts


def test_greff_verifies_except_the_sums_without_the_initial_state():
    """The paper's recurrent and peephole gradients start one step late: exact only for
    y₀ = c₀ = 0 (REFERENCES.md); everything else is right, term for term."""
    code, out = run(GREFF, "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["model"] == "lstm"
    wrong = {e["lhs"]: e["problems"] for e in report["equations"] if e["status"] != "right"}
    assert set(wrong) == SHIFTED
    assert all(p == [p[0]] and "shifted by +1 step" in p[0] and "initial state" in p[0]
               for p in wrong.values())
    assert report["counts"]["right"] == 16 and report["counts"]["wrong"] == 6
    assert report["not_checked"] == ["δy₀", "δc₀"]


GREFF_DC = ("dc[t] = dy[t] * o[t] * h'(c[t]) + p_o * dobar[t] + p_i * dibar[t+1]"
            " + p_f * dfbar[t+1] + dc[t+1] * f[t+1]")
MISTAKES = [
    ("missing term", GREFF_DC.replace(" + dc[t+1] * f[t+1]", ""),
     "missing term: δcₜ₊₁ ⊙ fₜ₊₁"),
    ("extra term", GREFF_DC + " + p_o * dobar[t+1]",
     "extra term: p_o ⊙ δōₜ₊₁"),
    ("wrong time step", GREFF_DC.replace("p_i * dibar[t+1]", "p_i * dibar[t]"),
     "wrong time step: p_i ⊙ δīₜ has δīₜ where δīₜ₊₁ belongs"),
    ("missing transpose", "dy[t] = Delta[t] + R_z @ dzbar[t+1] + R_i.T @ dibar[t+1]"
     " + R_f.T @ dfbar[t+1] + R_o.T @ dobar[t+1]",
     "missing transpose: R_z δz̄ₜ₊₁ has R_z where R_zᵀ belongs"),
    ("spurious transpose", "dx[t] = W_z @ dzbar[t] + W_i.T @ dibar[t] + W_f.T @ dfbar[t] + W_o.T @ dobar[t]",
     "shape: matrix product of W_z (n×m) and δz̄ₜ (n×1)"),
    ("wrong sign", "dfbar[t] = -dc[t] * c[t-1] * sigma'(fbar[t])",
     "wrong sign: −δcₜ ⊙ cₜ₋₁ ⊙ σ′(f̄ₜ) should be δcₜ ⊙ cₜ₋₁ ⊙ σ′(f̄ₜ)"),
    ("wrong factor", "dibar[t] = 2 * dc[t] * z[t] * sigma'(ibar[t])",
     "wrong factor: 2 δcₜ ⊙ zₜ ⊙ σ′(īₜ) should be δcₜ ⊙ zₜ ⊙ σ′(īₜ)"),
    ("wrong order, square", "dR_z = sum_t(y[t-1] @ dzbar[t].T)",
     "product in the wrong order: Σₜ yₜ₋₁ δz̄ₜᵀ is the transpose of Σₜ δz̄ₜ yₜ₋₁ᵀ"),
    ("wrong order, a shape error", "dW_z = sum_t(x[t].T @ dzbar[t])",
     "shape: matrix product of xₜᵀ (1×m) and δz̄ₜ (n×1): inner sizes m and n differ"),
]


@pytest.mark.parametrize("kind, line, problem", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_found_in_that_equation(kind, line, problem):
    (verdict,) = verdicts([line])
    assert not verdict.correct
    assert any(p.startswith(problem) for p in verdict.problems), verdict.problems
    if not kind.startswith(("wrong order, a shape", "spurious")):
        assert len(verdict.problems) == 1, verdict.problems
        assert verdict.expected.startswith(verdict.lhs + " = ")


@pytest.mark.parametrize("line", [
    r"\delta c_t = \delta y_t \odot o_t \odot h'(c_t) + p_o \odot \delta\bar{o}_t + p_i \odot "
    r"\delta\bar{i}_{t+1} + p_f \odot \delta\bar{f}_{t+1} + \delta c_{t+1} \odot f_{t+1}",
    r"$\delta\bar{o}_t = \delta y_t \circ h(c_t) \circ o_t \circ (1 - o_t)$",          # σ′ written out
    "δx[t] = W_zᵀ @ δzbar[t] + W_i.T @ dibar[t] + (W_f.T @ dfbar[t] + W_o.T @ dobar[t])",
    r"\delta W_z = \sum_{t=1}^{T} \langle \delta\bar{z}_t, x_t \rangle",
    r"\delta\bar{z}_t = \operatorname{diag}(i_t) \operatorname{diag}(g'(\bar{z}_t)) \delta c_t",
    "dzbar[t] = dc[t] * i[t] * (1 - z[t] * z[t])",                                     # g′ = 1 − g²
    r"\frac{\partial L}{\partial \bar{f}_t} = \delta c_t \odot c_{t-1} \odot f_t \odot (1 - f_t)",
])
def test_correct_equations_in_other_forms_pass(line):
    (verdict,) = verdicts([line])
    assert verdict.correct, verdict.problems


def test_a_file_can_name_its_own_symbols():
    (verdict,) = verdicts(["dm[t] = dy[t] * o[t] * h'(m[t]) + p_o * dobar[t] + p_i * dibar[t+1]"
                           " + p_f * dfbar[t+1] + dm[t+1] * f[t+1]"], aliases={"m": "c"})
    assert verdict.correct, verdict.problems


def test_unknown_equation_and_unchecked_ones():
    report = verify_lines(["dzbar[t] = dc[t] * i[t] * g'(zbar[t])"], LSTM, "hand.txt")
    assert report.exit_code == 0 and len(report.unchecked) == len(LSTM.backward) - 1


@pytest.mark.parametrize("text, col, message", [
    ("dc[t] = dy[t] * o[t] * (", 25, "the line ends in the middle of an expression"),
    ("dq[t] = dy[t]", 1, "unknown symbol dq"),
    ("dc[t] = dy[t] ? o[t]", 15, "unexpected character '?'"),
    ("\\delta c_t = \\delta y_{t+} \\odot o_t", 24, "a step is t, t+1, t-1, a number, T or T+1, not 't+'"),
])
def test_an_unreadable_line_is_reported_with_its_column_beside_the_others(tmp_path, text, col, message):
    """One bad line never hides the verdicts on the others; exit 2 when nothing is wrong."""
    path = tmp_path / "hand.txt"
    path.write_text("model: lstm\n" + text + "\ndzbar[t] = dc[t] * i[t] * g'(zbar[t])\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.output)
    bad, good = report["equations"]
    assert bad["status"] == "unreadable" and bad["line"] == 2 and message in bad["problems"][0]
    assert col is None or bad["col"] == col
    assert good["status"] == "right" and report["counts"]["unreadable"] == 1


@pytest.mark.parametrize("text, message", [
    ("dc[t] = dy[t]", "no 'model:' line"),
    ("model: nosuch\ndc[t] = dy[t]", "unknown model 'nosuch'"),
    ("model: lstm\n% only a comment\n", "no equation found"),
    ("", "no 'model:' line"),
])
def test_a_file_that_cannot_be_judged_is_one_line_and_exit_2(tmp_path, text, message):
    path = tmp_path / "hand.txt"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and message in result.output


def test_model_option_from_the_command_line(tmp_path):
    path = tmp_path / "cifg.txt"
    path.write_text("dibar[t] = dc[t] * (z[t] - c[t-1]) * sigma'(ibar[t])\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["verify", str(path), "--model", "lstm", "--variant", "CIFG"]).exit_code == 0
    vanilla = CliRunner().invoke(main, ["verify", str(path), "--model", "lstm"])
    assert vanilla.exit_code == 1 and "extra term" in vanilla.output     # f is no 1 − i there


SCOPE = Scope(LSTM)
TOKENS = ["dc[t]", "dy[t+1]", "o[t]", "@", "*", "+", "-", "(", ")", ".T", "=", "h'(", "sigma'(",
          "sum_t(", "W_z", "[", "]", "t", "1", r"\delta", r"\bar{o}_t", "_{t+1}", "^\\top", r"\odot",
          "{", "}", r"\frac", r"\partial", "^{(t)}", r"\nabla_", "L", r"\sum_t", ",", r"\langle"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=14) | st.text(max_size=40))
def test_fuzzed_text_gives_only_clean_errors(pieces):
    line = pieces if isinstance(pieces, str) else " ".join(pieces)
    for parse in (parse_equation, parse_latex_equation):
        try:
            parse(line, SCOPE, "fuzz:1")
        except SymgradError:
            pass


VALID = [GREFF_DC, r"\delta y_t = \Delta_t + R_z^\top \delta\bar{z}_{t+1} + R_i^\top \delta\bar{i}_{t+1}"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_lines_give_only_clean_errors_or_verdicts(line, data):
    """Delete, insert or swap characters of a valid line: a verdict or a SymgradError, no crash."""
    chars = list(line)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars)))
        op = data.draw(st.sampled_from(["del", "ins", "swap"]))
        if op == "del" and i < len(chars):
            del chars[i]
        elif op == "ins":
            chars.insert(i, data.draw(st.sampled_from(list("()[]{}_^+-*@.'\\t1 =,T"))))
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    try:
        verify_lines(["model: lstm", "".join(chars)], LSTM, "mut.txt")
    except SymgradError:
        pass
