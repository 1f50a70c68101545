"""One-step Jacobians: the printed blocks against finite differences of the compiled forward,
the forms the sources print, the routes, and the errors.

The finite differences perturb one initial state s₀ (the others held, as a block holds
them) and read the states of step 1 from the compiled forward of the state probe (every
state an output); s₀ and x₁ are random, so step 1 is as general a point as any. The
printed block is evaluated at the same point by the NumPy evaluator (symgrad.evaluate),
its ∂yₜ/∂cₜ-style factors by their own printed blocks.
"""
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

import symgrad
from symgrad.cli import main
from symgrad.derive import derive
from symgrad.dsl import Model, tanh
from symgrad.errors import ModelError
from symgrad.evaluate import Evaluator
from symgrad.flow import state_probe
from symgrad.jacobian import jacobians
from symgrad.ops import Jacobian
from symgrad.render.latex import standalone
from symgrad.render.printer import text

STEPS, SIZE = 3, 3


def user_model():
    """A recurrence written by a user: a leaky tanh unit with a gate that reads the state."""
    M = Model("leaky", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    W, U, G = M.param("W", n, n), M.param("U", n, m), M.param("G", n, n)
    h = M.state("h", n)
    g = M.define("g", symgrad.dsl.sigma(G @ h.prev))
    M.define(h, g * h.prev + (1 - g) * tanh(W @ h.prev + U @ x))
    M.output(h)
    return M


MODELS = {
    "rnn": lambda: symgrad.model("rnn"),
    "rnn-2-layers": lambda: symgrad.model("rnn", layers=2),
    "lstm": lambda: symgrad.model("lstm"),
    "lstm-FGR": lambda: symgrad.model("lstm", variant="FGR"),
    "lstm-CIFG": lambda: symgrad.model("lstm", variant="CIFG"),
    "gru": lambda: symgrad.model("gru"),
    "gru-cudnn": lambda: symgrad.model("gru", variant="cudnn"),
    "user": user_model,
}


def evaluate_printed(jac, block, values, step, memo=None):
    """The printed block's value: its right-hand side, each ∂u/∂v in it replaced by the value of
    its own printed block."""
    memo = {} if memo is None else memo
    if block.lhs not in memo:
        env = {}
        for leaf in block.total.atoms(Jacobian):
            inner = next(b for b in jac.blocks if b.lhs == leaf)
            env[leaf] = evaluate_printed(jac, inner, values, step, memo)
        memo[block.lhs] = values.value(block.total, step, env)
    return memo[block.lhs]


def finite_difference_block(compiled, params, inputs, of, wrt, eps=1e-6):
    """∂of₁/∂wrt₀ by central differences of the compiled forward (one example)."""
    columns = []
    for j in range(inputs[wrt + "0"].shape[-1]):
        outs = []
        for sign in (1, -1):
            bumped = {**inputs, wrt + "0": inputs[wrt + "0"].copy()}
            bumped[wrt + "0"][0, j] += sign * eps
            outs.append(compiled.forward(params, bumped)[of][0, 0])
        columns.append((outs[0] - outs[1]) / (2 * eps))
    return np.array(columns).T


@pytest.mark.parametrize("name", MODELS)
def test_printed_jacobians_match_finite_differences_of_the_compiled_forward(name):
    model = MODELS[name]()
    probe, _ = state_probe(model)
    compiled = derive(probe).compile()
    sizes = {d: SIZE for d in compiled.sizes}
    params = compiled.init_params(sizes, seed=2)
    rng = np.random.default_rng(2)
    inputs = {key: (0.0 if key.startswith("inject_") else 1.0)
              * rng.standard_normal(tuple({"T": STEPS, "B": 1}.get(d, SIZE) for d in shape))
              for key, shape in compiled.inputs.items()}
    for key, shape in compiled.initial.items():
        inputs[key] = 0.5 * rng.standard_normal((1, SIZE))
    jac = jacobians(model)
    values = Evaluator(probe, params, {k: v[:, 0] if v.ndim == 3 else v[0] for k, v in inputs.items()})
    assert jac.shown
    for block in jac.shown:
        printed = evaluate_printed(jac, block, values, 1)
        fd = finite_difference_block(compiled, params, inputs, block.of.name, block.wrt.name)
        assert np.abs(printed - fd).max() <= 1e-7 * max(1.0, np.abs(fd).max()), text(block.lhs)


def test_the_simple_rnn_is_diag_of_tanh_prime_times_w():
    """The form the issue and Pascanu et al. write: ∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W."""
    jac = jacobians(symgrad.model("rnn"), "h")
    (block,) = jac.shown
    assert text(block.lhs) == "∂hₜ/∂hₜ₋₁" and text(block.total) == "diag(1 − hₜ ⊙ hₜ) W"
    assert jac.bound.gamma == 1 and text(jac.bound.matrix) == "W"
    derivative = jacobians(symgrad.model("rnn"), "h", style="derivative")
    assert text(derivative.shown[0].total) == "diag(tanh′(aₜ)) W"


def routes(block):
    return [(text(r.through), text(r.term)) for r in block.routes]


def test_lstm_cell_block_has_the_highway_and_the_peephole_routes():
    """Greff et al.'s δcₜ = … + p_i ⊙ δīₜ₊₁ + p_f ⊙ δf̄ₜ₊₁ + δcₜ₊₁ ⊙ fₜ₊₁ is (∂cₜ₊₁/∂cₜ)ᵀ δcₜ₊₁ route
    by route: the highway diag(fₜ), and the two peepholes through īₜ and f̄ₜ."""
    jac = jacobians(symgrad.model("lstm"), "c")
    block = jac.block("c", "c")
    assert routes(block) == [("cₜ", "diag(fₜ)"), ("īₜ", "diag(p_i ⊙ zₜ ⊙ σ′(īₜ))"),
                             ("f̄ₜ", "diag(p_f ⊙ cₜ₋₁ ⊙ σ′(f̄ₜ))")]
    assert routes(jac.block("c", "y")) == [("z̄ₜ", "diag(iₜ ⊙ g′(z̄ₜ)) R_z"), ("īₜ", "diag(zₜ ⊙ σ′(īₜ)) R_i"),
                                          ("f̄ₜ", "diag(cₜ₋₁ ⊙ σ′(f̄ₜ)) R_f")]
    product, factors = block.partial
    assert text(product) == "cₜ₋₁ ⊙ fₜ" and [(text(f), list(map(text, t))) for f, t in factors] == [
        ("fₜ", ["f̄ₜ"])]


def test_lstm_output_goes_through_the_cell_of_the_same_step():
    jac = jacobians(symgrad.model("lstm"), "y")
    assert routes(jac.block("y", "y")) == [("cₜ", "∂yₜ/∂cₜ ∂cₜ/∂yₜ₋₁"), ("ōₜ", "diag(h(cₜ) ⊙ σ′(ōₜ)) R_o")]
    within = next(b for b in jac.used if text(b.lhs) == "∂yₜ/∂cₜ")
    assert routes(within) == [("yₜ", "diag(oₜ ⊙ h′(cₜ))"), ("ōₜ", "diag(p_o ⊙ h(cₜ) ⊙ σ′(ōₜ))")]
    assert {text(b.lhs) for b in jac.used} >= {"∂cₜ/∂cₜ₋₁", "∂cₜ/∂yₜ₋₁"}


def test_without_peepholes_the_partial_derivative_is_the_total_one():
    jac = jacobians(symgrad.model("lstm", variant="NP"), "c", "c")
    assert routes(jac.shown[0]) == [("cₜ", "diag(fₜ)")]
    assert "does not depend on cₜ₋₁, so here the partial derivative is the total one" in str(jac)


def test_gru_routes():
    """h = z ⊙ h₋₁ + (1 − z) ⊙ h̃: the route through hₜ keeps zₜ fixed, z̄ₜ varies it (h₋₁ − h̃)."""
    block = jacobians(symgrad.model("gru"), "h").block("h", "h")
    assert [t for t, _ in routes(block)] == ["hₜ", "r̄ₜ", "z̄ₜ", "aₜ"]
    assert dict(routes(block))["hₜ"] == "diag(zₜ)"
    assert dict(routes(block))["z̄ₜ"] == "diag((hₜ₋₁ − h̃ₜ) ⊙ σ′(z̄ₜ)) U_z"
    assert jacobians(symgrad.model("gru")).bound is None


def test_linear_recurrence_is_its_matrix():
    M = Model("linear", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    h = M.state("h", n)
    M.define(h, M.param("W", n, n) @ h.prev + M.param("U", n, m) @ x)
    M.output(h)
    jac = jacobians(M)
    assert text(jac.shown[0].total) == "W" and jac.bound.gamma == 1 and jac.bound.function is None
    assert "‖∂h_T/∂hₖ‖ ≤ (‖W‖ γ)^(T−k), γ = 1 (no activation)" in str(jac)


def test_text_output_has_the_product_and_the_bound():
    out = str(jacobians(symgrad.model("rnn")))
    assert "∂h_T/∂hₖ = ∏_{t=k+1…T} ∂hₜ/∂hₜ₋₁" in out
    assert "= ∏_{t=k+1…T} diag(1 − hₜ ⊙ hₜ) W" in out
    assert "γ = max |tanh′| = 1 (Pascanu, Mikolov & Bengio 2013)" in out
    lstm = str(jacobians(symgrad.model("lstm")))
    assert "∂sₜ/∂sₜ₋₁ = [∂cₜ/∂cₜ₋₁  ∂cₜ/∂yₜ₋₁; ∂yₜ/∂cₜ₋₁  ∂yₜ/∂yₜ₋₁],  sₜ = (cₜ, yₜ)" in lstm


@pytest.mark.parametrize("args, message", [
    (["jacobian", "dense", "z1"], "no state read at another step"),
    (["jacobian", "rnn", "q"], "rnn has no node of step t 'q'"),
    (["jacobian", "lstm", "c", "--wrt", "zbar"], "zbar is not a state of lstm"),
    (["jacobian", "rnn", "L"], "L is not a column vector at each step"),
    (["jacobian", "lstm", "--variant", "XY"], "option --variant: unknown choice 'XY'"),
    (["jacobian", "seq2seq-attention", "s"], "cannot write ∂sₜ/∂sₜ₋₁ as a matrix: the cotangent enters a matmul"),
])
def test_errors_are_one_line(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_cli_formats(tmp_path):
    runner = CliRunner()
    plain = runner.invoke(main, ["jacobian", "lstm", "c", "--format", "text"])
    assert plain.exit_code == 0 and "1. through cₜ, its own equation: diag(fₜ)" in plain.output
    options = runner.invoke(main, ["jacobian", "lstm", "--variant", "NP", "--format", "text"])
    assert options.exit_code == 0 and "∂yₜ/∂yₜ₋₁" in options.output and "p_i" not in options.output
    rich = runner.invoke(main, ["jacobian", "rnn", "h"])
    assert rich.exit_code == 0 and "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W" in rich.output
    out = tmp_path / "lstm.tex"
    assert runner.invoke(main, ["jacobian", "lstm", "--format", "latex", "-o", str(out)]).exit_code == 0
    tex = out.read_text(encoding="utf-8")
    assert r"\frac{\partial c_{t}}{\partial c_{t-1}} &= \operatorname{diag}\left(f_{t}\right)" in tex
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is not installed; .ci/run installs it")
    (tmp_path / "doc.tex").write_text(standalone(tex), encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_users_model_route_by_route():
    """By hand, h = g ⊙ h₋₁ + (1 − g) ⊙ tanh(W h₋₁ + U x), g = σ(G h₋₁): h₋₁ is read twice in h's
    own equation and once by g; the three routes are diag(g), diag((1 − g) ⊙ tanh′(·)) W and
    diag((h₋₁ − tanh(·)) ⊙ σ′(G h₋₁)) G."""
    block = jacobians(user_model()).block("h", "h")
    assert routes(block) == [("hₜ", "diag(gₜ)"), ("hₜ", "diag((1 − gₜ) ⊙ tanh′(U xₜ + W hₜ₋₁)) W"),
                             ("gₜ", "diag((hₜ₋₁ − tanh(U xₜ + W hₜ₋₁)) ⊙ σ′(G hₜ₋₁)) G")]
    with pytest.raises(ModelError, match="no state read at another step"):
        jacobians(symgrad.model("dense"))
