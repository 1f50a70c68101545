"""Reading a hand derivation (issue 9, the reading half): every line gets its own reading;
a bad line is one unreadable equation with its column, never the end of the file; a whole
LaTeX document is read for its math only; deep or huge input is a clean error or a linear
read, never a RecursionError or a hang."""
import json
import time

import pytest
import sympy as sp
from click.testing import CliRunner

import symgrad
from symgrad.cli import main
from symgrad.hand import read
from symgrad.verify import verify_lines
from symgrad import algebra
from symgrad.symbols import T, Seq

RNN = symgrad.derive(symgrad.model("rnn"))

DOCUMENT = r"""\documentclass{article}
\usepackage{amsmath,bm}
\newcommand{\Vh}{\bm{h}}
\newcommand{\Vo}{\bm{o}}
\DeclareMathOperator{\diag}{diag}
% model: rnn
\title{Back-propagation through time}
\begin{document}
\maketitle
\section{The gradients}
For all $i, t$, the gradient on the outputs at time step $t$ is
\begin{equation}
  \nabla_{\Vo^{(t)}} L = \hat{\bm{y}}^{(t)} - \bm{y}^{(t)} .
\end{equation}
At the last step $\tau$ we have $\nabla_{\Vh^{(\tau)}} L = \bm{V}^\top \nabla_{\Vo^{(\tau)}} L$, and we
iterate backwards from $t = \tau - 1$ down to $t = 1$:
\begin{align}
  \nabla_{\Vh^{(t)}} L &= \bm{W}^\top \diag\left(1 - \left(\Vh^{(t+1)}\right)^2\right) (\nabla_{\Vh^{(t+1)}} L) \nonumber \\
     &\quad + \bm{V}^\top (\nabla_{\Vo^{(t)}} L) , \label{eq:dh}
\end{align}
where $\diag(1 - (\Vh^{(t+1)})^2)$ is a diagonal matrix. The biases follow:
\[ \nabla_{\bm{c}} L = \sum_t \nabla_{\Vo^{(t)}} L \]
$$\nabla_{\bm{V}} L = \sum_t (\nabla_{\Vo^{(t)}} L)\, \Vh^{(t)^\top}$$
\end{document}
"""


def test_a_latex_document_is_read_for_its_math_only(tmp_path):
    path = tmp_path / "paper.tex"
    path.write_text(DOCUMENT, encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    report = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert [(e["line"], e["lhs"], e["status"]) for e in report["equations"]] == [
        (13, "δoₜ", "right"), (15, "δh_T", "right"), (18, "δhₜ", "right"),
        (22, "δc", "right"), (23, "δV", "right")]


def test_one_bad_line_never_hides_the_others():
    lines = ["model: rnn",
             "dh[t] = V.T @ do[t] + W.T @ (da[t+1]",
             r"\delta a_t = \delta h_t \odot (1 - h_t \odot h_t)",
             "dx[t] = U.T @ da[t] ?",
             "h[t] = tanh(a[t])",
             r"D = \operatorname{rowsum}(h_t)"]
    eqs = read(lines, RNN, "hand.txt")
    assert [(e.line, e.kind) for e in eqs] == [(2, "backward"), (3, "backward"), (4, "unreadable"),
                                              (5, "forward"), (6, "definition")]
    (form,) = eqs[0].forms           # the left-hand side reads, so only this form is unreadable
    assert (form.col, form.error) == (37, "expected ')', found the end of the line (to close the '(')")
    assert (eqs[2].col, eqs[2].error) == (21, "21: unexpected character '?'")
    assert isinstance(eqs[3].lhs, Seq) and eqs[3].lhs.name == "h" and eqs[3].lhs_text == "hₜ"


def test_a_product_that_does_not_chain_is_a_form_with_its_shapes():
    (eq,) = read([r"\nabla_{h^{(t)}} L = W^\top (\nabla_{h^{(t+1)}} L) \operatorname{diag}(1 - (h^{(t+1)})^2)"],
                 RNN, "hand.tex")
    (form,) = eq.forms
    assert eq.kind == "backward" and form.expr is None and form.error is None
    assert form.problem == "the factors do not chain: Wᵀ (n×n) · δhₜ₊₁ (n×1) · diag(1 − hₜ₊₁ ⊙ hₜ₊₁) (n×n)"


def test_ones_is_a_vector_sized_by_its_context_never_the_number_one():
    (eq,) = read([r"\delta a_t = \delta h_t \odot (\mathbf{1} - h_t \odot h_t)"], RNN, "hand.tex")
    assert str(eq.forms[0].expr) == "δhₜ ⊙ (1 − hₜ ⊙ hₜ)" and eq.forms[0].expr.shape == RNN.deltas[2].lhs.shape
    (eq,) = read([r"\delta c = \sum_t \delta o_t \mathbf{1}^\top \mathbf{1}"], RNN, "hand.tex")
    assert eq.forms[0].problem is None and eq.forms[0].expr.shape == (RNN.model.declared["c"].shape)


def test_a_one_before_a_row_of_ones_is_a_column_of_ones():
    """symgrad's text prints the all-ones matrix as 1 1ᵀ: the 1 there is a column, not the number."""
    (eq,) = read(["dW = 1 1ᵀ"], RNN, "hand.txt")
    W = RNN.model.declared["W"]
    assert eq.forms[0].problem is None and eq.forms[0].expr.shape == W.shape
    (eq,) = read(["dW = 2 * 1ᵀ"], RNN, "hand.txt")
    assert eq.forms[0].problem is not None     # 2 times a row of ones is a row: the shape is wrong


def test_equation_wrapped_with_an_open_bracket_is_one_equation():
    eqs = read(["model: rnn", "dh[t] = V.T @ do[t] + W.T @ (da[t+1]", "  + 0 * da[t+1])"], RNN, "hand.txt")
    assert [(e.kind, len(e.forms)) for e in eqs] == [("backward", 1)]


@pytest.mark.parametrize("opening, closing", [("(", ")"), (r"\left(", r"\right)"), ("{", "}"),
                                              (r"\sqrt{", "}"), ("-", ""), (r"W^{T", "}")])
def test_500_levels_of_nesting_are_a_clean_error(opening, closing):
    line = r"\delta h_t = " + opening * 500 + r"W^\top \delta a_{t+1}" + closing * 500
    start = time.process_time()
    (eq,) = read([line], RNN, "deep.tex")
    assert time.process_time() - start < 2
    messages = [eq.error or ""] + [f.error or f.problem or "" for f in eq.forms]
    assert any("nested too deeply" in m or "matrix power" in m for m in messages), messages


def test_a_macro_that_expands_itself_stops():
    (eq,) = read([r"\newcommand{\a}{\a x}", r"\delta h_t = \a"], RNN, "loop.tex")
    assert eq.kind == "unreadable" and eq.error == "14: macro \\a expands without end"


def _document(equations):
    """A LaTeX document of 10 lines per equation: one display equation, nine lines of prose."""
    lines = [r"\documentclass{article}", "% model: rnn", r"\begin{document}"]
    for k in range(equations):
        lines.append(r"\begin{equation} \delta h_t = V^\top \delta o_t + W^\top \delta a_{t+1} \end{equation}"
                     if k % 2 else r"\[ \delta a_t = \delta h_t \odot (1 - h_t \odot h_t) \]")
        lines += [f"Paragraph {k}: the step $t$ runs from $1$ to $\\tau$, the state has $n$ entries,"] * 9
    return lines + [r"\end{document}"]


def test_a_10000_line_file_is_read_in_linear_time():
    small, large = _document(100), _document(1000)
    assert len(large) > 10000
    start = time.process_time()          # this process's CPU time: other load does not count
    assert len(read(small, RNN, "small.tex")) == 100
    middle = time.process_time()
    assert len(read(large, RNN, "large.tex")) == 1000
    end = time.process_time()
    ratio = (end - middle) / (middle - start)
    assert ratio < 20, f"ten times the file took {ratio:.1f} times as long"


def test_a_clause_after_a_comma_ends_the_equation_but_a_comma_before_the_relation_does_not():
    """symgrad jacobian lstm prints ∂sₜ/∂sₜ₋₁ = [blocks],  sₜ = (cₜ, yₜ): the clause names s."""
    (eq,) = read(["dh[t] = V.T @ do[t] + W.T @ da[t+1],  a[t] = b + W @ h[t-1]"], RNN, "hand.txt")
    assert eq.kind == "backward" and len(eq.forms) == 1 and eq.forms[0].error is None
    (eq,) = read(["dW, db = 0"], RNN, "hand.txt")
    assert eq.kind == "unreadable"


def test_a_numbered_list_of_routes_is_prose():
    lines = ["## ∂hₜ/∂hₜ₋₁", "  1. through aₜ: diag(1 − hₜ ⊙ hₜ) W", "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W"]
    assert [(e.line, e.kind) for e in read(lines, RNN, "jacobian.txt")] == [(3, "backward")]


@pytest.mark.parametrize("line", [r"\frac{\partial s_{t}}{\partial s_{t-1}} = \begin{pmatrix} A & B \\ C & D "
                                  r"\end{pmatrix}", "∂sₜ/∂sₜ₋₁ = [A  B; C  D]"])
def test_a_block_matrix_is_not_checkable_whatever_its_left_hand_side(line):
    (eq,) = read([line], RNN, "blocks.tex")
    assert eq.kind == "uncheckable"
    assert eq.error == "a block matrix: symgrad checks each block as an equation of its own"


def test_iverson_bracket_on_a_row_of_its_own_continues_the_equation():
    """A row ending in + goes on; the = inside [t = T] makes no equation of the next row."""
    d = symgrad.derive(symgrad.model("rnn", task="many-to-one"))
    eqs = read([r"\begin{align*}", r"\delta h_t &= W^\top \delta a_{t+1} + \\",
                r"  &\qquad \left[t = T\right] V^\top \delta o",
                r"\end{align*}"], d, "m2o.tex")
    assert [(e.kind, str(e.forms[0].expr)) for e in eqs] == [("backward", "Wᵀ δaₜ₊₁ + [t = T] Vᵀ δo")]


@pytest.mark.parametrize("line, message", [("% truncate: 0", "line 2: write 'truncate: K' with K a whole "
                                                             "number of steps ≥ 1, not '0'"),
                                           ("% truncate: 2", "model dense: truncated BPTT needs a state "
                                                             "that runs along t")])
def test_a_bad_truncation_is_one_line_and_exit_2(tmp_path, line, message):
    path = tmp_path / "dense.txt"
    path.write_text(f"model: dense\n{line}\ndW1 = 0\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 2 and result.output == f"symgrad: error: {message}\n"


def test_the_gradient_of_one_entry_on_the_left_is_one_clear_error():
    (eq,) = read([r"\nabla_{W} h_i^{(t)} = 0"], RNN, "hand.tex")
    assert eq.kind == "unreadable"
    assert eq.error == ("1: ∇_W u_i on the left-hand side: write it inside a chain rule, as "
                        "∇_W L = Σ_i (∂L/∂u_i) ∇_W u_i")


@pytest.mark.parametrize("power", ["^⊙-2", "^{⊙-2}", "^{⊙ -2}", "^⊙(-2)"])
def test_a_hadamard_power_reads_braced_or_not(power):
    """symgrad's text prints h^⊙-2 unbraced; books brace it. Either way it is the power −2:
    with h^⊙2 beside it the product is δaₜ₊₁, and a power −1 would leave an h."""
    for p, right in ((power, True), (power.replace("2", "1"), False)):
        (eq,) = read([f"dh[t] = V.T @ do[t] + W.T @ (da[t+1] ⊙ h[t+1]^⊙2 ⊙ h[t+1]{p})"], RNN, "hand.txt")
        assert eq.forms[0].expr is not None, eq.forms[0]
        assert (str(eq.forms[0].expr) == "Vᵀ δoₜ + Wᵀ δaₜ₊₁") is right, str(eq.forms[0].expr)


@pytest.mark.parametrize("written, power", [("T", 1), ("T^2", 2), ("T^(-2)", -2), ("T^-1", -1),
                                            ("T^{1/2}", sp.Rational(1, 2))])
def test_the_number_of_steps_and_its_powers_read_as_sizes(written, power):
    """Σₜ of what no step changes is T times it; symgrad prints T^2, m^(-2) in coefficients."""
    (eq,) = read([f"dW = {written} * W"], RNN, "hand.txt")
    assert eq.forms[0].expr == algebra.scale(T ** power, RNN.model.declared["W"]), eq.forms[0]


@pytest.mark.parametrize("extra, right", [("", True), (" + 0 (tanh(1/2 1)) h[t]", True),
                                          (" + (tanh(1/2 1)) h[t]", False)])
def test_a_function_of_ones_beside_a_vector_is_a_number_times_it(extra, right):
    """(tanh(½ 𝟏)) hₜ: the ones, sized by nothing else, are 1×1, a number times hₜ."""
    (verdict,) = verify_lines([f"dh[t] = V.T @ do[t] + W.T @ da[t+1]{extra}"], RNN).verdicts
    assert verdict.status == ("right" if right else "wrong"), verdict
    assert not any(p.startswith("shape") for p in verdict.problems), verdict


def test_a_sum_over_the_heads_of_a_number_is_the_number_of_heads_times_it():
    """Σᵢ 1 = h (symgrad prints a model's constant summed over the heads so)."""
    mha = symgrad.derive(symgrad.model("mha"))
    (eq,) = read(["dV_i = (Σ_i 1/2) P_i^T dO_i"], mha, "hand.txt")
    h = mha.model.head_dim
    dV = next(e for e in mha.deltas if str(e.lhs) == "δVᵢ")
    assert eq.forms[0].expr == algebra.scale(h / 2, dV.rhs), eq.forms[0]
