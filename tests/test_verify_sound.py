"""verify never calls a wrong equation right: the reported wrong verdicts, the random point's
shape, and every single-term mutation of every backward equation of the catalog."""
import collections
import functools
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

import symgrad
from symgrad.arithmetic import Reals
from symgrad.cli import main
from symgrad.render.printer import text
from symgrad.symbols import Sym
from symgrad.verify import Verifier, verify_lines

from mutations import KINDS, equation_mutations

RNN = symgrad.derive(symgrad.model("rnn"))


def judge(line, derivation=RNN):
    (verdict,) = verify_lines(["model: x", line], derivation, "hand.txt").verdicts
    return verdict


# -- the wrong verdicts reported in issue 9, each ✗ now with the right diagnosis -------------

def test_a_missing_transpose_of_a_square_matrix_is_wrong():
    v = judge("dh[t] = V.T @ do[t] + W @ da[t+1]")
    assert v.status == "wrong"
    assert v.problems == ["missing transpose: W δaₜ₊₁ has W where Wᵀ belongs"]


def test_a_step_past_a_short_sequence_is_still_judged():
    """dh[10] used to be compared at T = 3, where both sides are zero."""
    v = judge("dh[10] = -W @ da[11]")
    assert v.status == "wrong"
    assert v.problems == ["missing transpose: W δa₁₁ has W where Wᵀ belongs, and its sign is wrong",
                          "missing term: Vᵀ δo₁₀"]
    assert v.expected == "δh₁₀ = Vᵀ δo₁₀ + Wᵀ δa₁₁"


def test_the_readme_latex_example_without_its_transpose_is_wrong(tmp_path):
    right = (r"\nabla_{h^{(t)}} L = W^\top \operatorname{diag}(1 - (h^{(t+1)})^2) "
             r"\nabla_{h^{(t+1)}} L + V^\top \nabla_{o^{(t)}} L")
    for line, code in ((right, 0), (right.replace(r"W^\top", "W"), 1)):
        path = tmp_path / "mine.tex"
        path.write_text("% model: rnn\n" + line + "\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
        assert result.exit_code == code, result.output


@pytest.mark.parametrize("name, line", [
    ("lstm", "dy[0] = R_z.T @ dzbar[1] + R_i.T @ dibar[1] + R_f.T @ dfbar[1] + R_o.T @ dobar[1]"),
    ("lstm", "dc[0] = p_i * dibar[1] + p_f * dfbar[1] + dc[1] * f[1]"),
    ("gru", "dh[0] = U_r.T @ drbar[1] + U_z.T @ dzbar[1] + (U.T @ da[1]) * r[1] + dh[1] * z[1]"),
])
def test_symgrads_own_initial_state_gradients_are_right(name, line):
    """There is no delta from above at step 0: δy₀ is not the template δyₜ at t = 0."""
    assert judge(line, symgrad.derive(symgrad.model(name))).status == "right"


def test_an_initial_state_gradient_is_shown_its_own_right_form():
    v = judge("dh[0] = W @ da[1]")
    assert v.status == "wrong" and v.expected == "δh₀ = Wᵀ δa₁"


def test_a_free_step_on_one_side_only_is_wrong():
    v = judge("dh[0] = W.T @ da[1] + V.T @ do[t]")
    assert v.status == "wrong" and "reads step t" in v.problems[0]


def test_steps_named_far_away_are_judged_like_near_ones():
    """δh₁₀₀₀₀ needs no sequence of 10,000 steps: every step beyond the start is alike."""
    assert judge("dh[10000] = V.T @ do[10000] + W.T @ da[10001]").status == "right"
    assert judge("dh[10000] = V.T @ do[10000] + W.T @ da[10000]").status == "wrong"


def test_a_ten_thousand_line_file_is_judged_with_a_short_sequence():
    """Every line names other steps, up to 10,001; the sequence the identities are decided in
    stays as short as for one line, so the cost grows with the lines only."""
    lines = ["model: rnn"]
    for k in range(1, 10_001):
        lines.append(f"dh[{k}] = V.T @ do[{k}] + W.T @ da[{k + 1}]" if k % 100 else
                     f"dh[{k}] = V.T @ do[{k}] + W @ da[{k + 1}]")
    report = verify_lines(lines, RNN, "long.txt")
    assert report.counts["right"] == 9_900 and report.counts["wrong"] == 100
    assert Verifier(RNN, [(RNN.deltas[1].lhs, RNN.deltas[1].rhs)]).lengths == \
        Verifier(RNN, _pairs(lines[-3:])).lengths


def _pairs(lines):
    from symgrad import hand
    return [(eq.lhs, f.expr) for eq in hand.read(["model: rnn"] + lines, RNN) for f in eq.forms]


def test_the_verdict_does_not_depend_on_the_order_of_the_equations():
    greff = (Path(symgrad.__file__).parent / "derivations" / "published" / "greff2017_lstm.txt"
             ).read_text(encoding="utf-8").splitlines()
    lstm = symgrad.derive(symgrad.model("lstm"))
    equations = [x for x in greff if "=" in x and not x.startswith("#")]
    first = {v.lhs: v.status for v in verify_lines(greff, lstm, "a").verdicts}
    shuffled = [x for x in greff if x not in equations] + random.Random(3).sample(equations, len(equations))
    assert {v.lhs: v.status for v in verify_lines(shuffled, lstm, "b").verdicts} == first


# -- the random point -------------------------------------------------------------------------

@pytest.mark.parametrize("name", symgrad.catalog.names())
def test_every_dimension_gets_its_own_size_at_each_point(name):
    d = symgrad.derive(symgrad.model(name))
    verifier = Verifier(d)
    first, second = verifier.assignments
    lengths = set(d.model.axes.values())
    for sizes in (first, second):
        assert set(sizes) == set(d.model.dims_.values()) - lengths
        assert all(n >= 3 for n in sizes.values())
        assert len(set(sizes.values())) == len(sizes)                # distinct
        assert not set(sizes.values()) & set(verifier.lengths.values())
    assert first != second
    if "d_k" in map(str, first):                                     # 1/√d_k exactly
        assert all(int(n ** 0.5) ** 2 == n for s in (first, second) for k, n in s.items()
                   if str(k) == "d_k")
    # every template equation reaches at most one step away: the ends out of reach both ways
    assert all(n >= 2 * verifier.reach + 3 for n in verifier.lengths.values())


def test_each_verdict_carries_its_bound_far_below_one_in_a_billion(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("model: rnn\ndh[t] = V.T @ do[t] + W.T @ da[t+1]\ndW = sum_t(da[t] @ h[t-1].T)\n")
    report = json.loads(CliRunner().invoke(main, ["verify", str(path), "--format", "json"]).output)
    bounds = [e["bound"] for e in report["equations"]]
    assert all(0 < b < 1e-20 for b in bounds) and report["false_check_bound"] < 1e-9


# -- every single-term mutation of every backward equation ---------------------------------------

CONFIGURATIONS = (
    [("rnn", {}), ("rnn", {"layers": 2, "bidirectional": True}), ("dense", {}), ("layernorm", {}),
     ("seq2seq-attention", {})]
    + [("lstm", {"variant": v}) for v in symgrad.catalog.entry("lstm").VARIANTS]
    + [("lstm", {"layers": 2, "bidirectional": True})]
    + [("gru", {"variant": v}) for v in symgrad.catalog.entry("gru").VARIANTS]
    + [("gru", {"variant": "cudnn", "bidirectional": True})]
    + [(m, {"causal": c, "padding": p}) for m in ("attention", "mha") for c in (False, True)
       for p in (False, True)]
    + [("transformer", {"pre_ln": a, "causal": b, "gelu": c}) for a in (False, True)
       for b in (False, True) for c in (False, True)]
)
def _label(name, options):
    return name + "".join(f"-{k}={v}" for k, v in options.items())


@functools.lru_cache(maxsize=None)
def _mutated(name, options):
    d = symgrad.derive(symgrad.model(name, **dict(options)))
    return d, equation_mutations(d, seed=len(name))


@pytest.mark.parametrize("name, options", CONFIGURATIONS, ids=[_label(*c) for c in CONFIGURATIONS])
def test_every_mutation_is_wrong_and_every_equation_right(name, options):
    """Each mutant is ✗, unless it is truly the same equation: then it must be equal in float64
    with the real functions too (the checker checked by an independent arithmetic)."""
    d, cases = _mutated(name, tuple(options.items()))
    verifier = Verifier(d, [(eq.lhs, m) for eq, _, m in cases])
    reals = verifier.points_in(Reals)
    for eq in d.backward:
        verdict = verifier.check(0, "", eq.lhs, eq.rhs)
        assert verdict.status == "right" and verdict.bound < 1e-20, (str(eq), verdict.problems)
    same = []
    for eq, kind, mutant in cases:
        verdict = verifier.check(0, "", eq.lhs, mutant, explain=False)
        if verdict.status != "wrong":
            assert verdict.status == "right", (str(eq), kind, text(mutant), verdict.problems)
            derived = verifier.target(eq.lhs)[0]
            at_lhs, at_rhs = verifier.moved(eq.lhs, mutant)
            assert all(p.ar.equal(p.value(derived, env).a, p.value(at_rhs, env).a)
                       for p in reals for env in verifier.envs(at_lhs)), (str(eq), kind, text(mutant))
            same.append((str(eq.lhs), kind, text(mutant)))
    # the only true identities among the mutants: seq2seq's rowsum(W_aᵀ δEᵀ) is zero, as the
    # attention weights' gradient sums to zero over the encoder steps (softmax sums to one)
    assert all(name == "seq2seq-attention" and "δE" in m for _, _, m in same), same
    assert len(same) <= len(cases) // 20


def test_the_mutations_cover_every_kind():
    """Every kind of mistake is generated, thousands in all (the tests above judge each one)."""
    counts = collections.Counter(kind for name, options in CONFIGURATIONS
                                 for _, kind, _ in _mutated(name, tuple(options.items()))[1])
    assert set(counts) == set(KINDS), set(KINDS) - set(counts)
    assert sum(counts.values()) >= 5000, counts


def test_a_forward_equation_is_checked_against_the_model():
    """hₜ = tanh(U xₜ + W hₜ₋₁ + b), its terms in another order: the same value at every step
    (a function's value depends on its argument's value, not on how it is written)."""
    m = RNN.model
    x, h, W, U, b = (m.declared[k] for k in ("x", "h", "W", "U", "b"))
    tanh = symgrad.dsl.tanh
    verifier = Verifier(RNN)
    assert verifier.check_forward(1, "", h, tanh(U @ x + W @ h.prev + b)).status == "forward"
    wrong = verifier.check_forward(1, "", m.declared["a"], U @ x + W.T @ h.prev + b)
    assert wrong.status == "wrong" and wrong.expected == "aₜ = b + W hₜ₋₁ + U xₜ"
    assert wrong.problems == ["spurious transpose: Wᵀ hₜ₋₁ has Wᵀ where W belongs"]


def test_the_json_report_names_its_fields(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("model: rnn\ndh[t] = V.T @ do[t] + W @ da[t+1]\ndo[t] = yhat[t] - y[t]\n"
                    "db = sum_t(da[t] ?)\n")
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    report = json.loads(result.output)
    assert result.exit_code == 1                       # a wrong line wins over an unreadable one
    assert {"model", "counts", "not_checked"} <= set(report)
    assert report["counts"] == {"right": 1, "wrong": 1, "unreadable": 1, "forward": 0,
                                "defined": 0, "not checkable": 0}
    for entry in report["equations"]:
        assert {"line", "source", "status", "lhs", "problems", "expected"} <= set(entry)
        assert isinstance(entry["problems"], list)
    assert [e["status"] for e in report["equations"]] == ["wrong", "right", "unreadable"]


@pytest.mark.parametrize("name, options", [("rnn", {}), ("lstm", {}), ("lstm", {"variant": "FGR"}),
                                           ("lstm", {"variant": "CIFG"}), ("gru", {}),
                                           ("gru", {"variant": "cudnn"})])
def test_every_printed_jacobian_block_is_judged_right_and_a_transposed_one_wrong(name, options):
    """The Jacobians symgrad prints (read off the VJP as matrices, route by route) against the
    judge's own (the pullback of each unit vector through the step's equations)."""
    model = symgrad.model(name, **options)
    d = symgrad.derive(model)
    verifier = Verifier(d)
    blocks = symgrad.jacobians(model).blocks
    assert blocks
    for block in blocks:
        assert verifier.check(0, "", block.lhs, block.total).status == "right", str(block.lhs)
    square = [b for b in blocks if b.of.rows == b.wrt.rows          # through a recurrent matrix,
              and any(p.role == "param" and p.rows == p.cols != 1 for p in b.total.atoms(Sym))]
    wrong = verifier.check(0, "", square[0].lhs, symgrad.algebra.transpose(square[0].total))
    assert wrong.status == "wrong" and wrong.expected.startswith(text(square[0].lhs) + " = ")


def test_an_inlined_delta_of_a_node_without_steps_has_a_target():
    """Layer norm's δX̂ is inlined, never printed, yet a hand derivation may give it."""
    d = symgrad.derive(symgrad.model("layernorm"))
    verifier = Verifier(d)
    lhs = symgrad.symbols.Delta(d.model.declared["Xhat"])
    assert verifier.check(0, "", lhs, d.inlined["Xhat"]).status == "right"


def test_the_readmes_verify_example_is_right(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Checking your own derivation"):]
    block = section[section.index("```\n") + 4:section.index("\n```", section.index("```\n") + 4)]
    path = tmp_path / "mine.tex"
    path.write_text(block + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["right"] == 2
