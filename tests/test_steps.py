"""A loss read at the last step (many-to-one) and an input fed at the first step only
(one-to-many): the equations a hand derivation gives, finite differences, torch autograd,
and the errors of the DSL.

By hand (Goodfellow et al. §10.2, Fig. 10.5 with one output at the end): o = c + V h_T
depends on h at step T only, so ∂L/∂h_t gets Vᵀ δo at t = T and nothing at the other steps;
δV = δo h_Tᵀ and δc = δo, no sum over t. With a_t = b + W h_{t-1} + [t = 1] U x, x and U
meet the chain only at step 1: δx = Uᵀ δa₁, δU = δa₁ xᵀ.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import symgrad
from symgrad.check import check, rel_err
from symgrad.cli import main
from symgrad.dsl import Model, cross_entropy, softmax, tanh
from symgrad.errors import ModelError

SIZES = {"m": 3, "n": 4, "k": 3}


def equations(d):
    return {str(eq.lhs): str(eq.rhs) for eq in d.forward + d.backward}


def test_many_to_one_has_the_output_term_at_the_last_step_only():
    eqs = equations(symgrad.derive(symgrad.model("rnn", task="many-to-one")))
    assert eqs["o"] == "c + V h_T"
    assert eqs["δhₜ"] == "[t = T] Vᵀ δo + Wᵀ δaₜ₊₁"
    assert eqs["δV"] == "δo h_Tᵀ" and eqs["δc"] == "δo"
    assert eqs["δh₀"] == "Wᵀ δa₁" and eqs["δW"] == "Σₜ δaₜ hₜ₋₁ᵀ"


def test_one_to_many_feeds_the_input_at_the_first_step():
    eqs = equations(symgrad.derive(symgrad.model("rnn", task="one-to-many")))
    assert eqs["aₜ"] == "b + W hₜ₋₁ + [t = 1] U x"
    assert eqs["δx"] == "Uᵀ δa₁" and eqs["δU"] == "δa₁ xᵀ"
    assert eqs["δhₜ"] == "Vᵀ δoₜ + Wᵀ δaₜ₊₁"


def test_a_bidirectional_classifier_reads_each_direction_where_it_ends():
    eqs = equations(symgrad.derive(symgrad.model("rnn", task="many-to-one", bidirectional=True)))
    assert eqs["o"] == "c + V⁽→⁾ h_T⁽¹→⁾ + V⁽←⁾ h₁⁽¹←⁾"
    assert eqs["δhₜ⁽¹←⁾"] == "[t = 1] V⁽←⁾ᵀ δo + W⁽¹←⁾ᵀ δaₜ₋₁⁽¹←⁾"


@pytest.mark.parametrize("options", [
    {"task": "many-to-one"}, {"task": "one-to-many"},
    {"task": "many-to-one", "layers": 2, "bidirectional": True}, {"task": "one-to-many", "layers": 2},
])
def test_tasks_agree_with_finite_differences(options):
    report = check(symgrad.derive(symgrad.model("rnn", **options)), SIZES, T=5, B=2, seed=4)
    assert report.passed, report.problems
    assert {"x", "c", "V" if not options.get("bidirectional") else "V__b"} <= {r.array for r in report.rows}


def _torch_rnn(torch, params, x, h0):
    """torch.nn.RNN with symgrad's U, W, b; x is (T, B, m)."""
    m, n = params["U"].shape[1], params["U"].shape[0]
    cell = torch.nn.RNN(m, n, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor(params["U"]))
        cell.weight_hh_l0.copy_(torch.tensor(params["W"]))
        cell.bias_ih_l0.copy_(torch.tensor(params["b"]))
        cell.bias_hh_l0.zero_()
    states, _ = cell(x, h0.unsqueeze(0))
    return cell, states


def _case(task, T=5, B=3, seed=2):
    compiled = symgrad.derive(symgrad.model("rnn", task=task)).compile()
    rng = np.random.default_rng(seed)
    params = compiled.init_params(SIZES, seed)
    x_shape = (B, SIZES["m"]) if task == "one-to-many" else (T, B, SIZES["m"])
    labels = rng.integers(0, SIZES["k"], (B,) if task == "many-to-one" else (T, B))
    inputs = {"x": rng.standard_normal(x_shape), "y": np.eye(SIZES["k"])[labels],
              "h0": 0.5 * rng.standard_normal((B, SIZES["n"]))}
    return compiled, params, inputs, labels


def test_many_to_one_matches_torch():
    torch = pytest.importorskip("torch")
    compiled, params, inputs, labels = _case("many-to-one")
    x, h0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h0"))
    cell, states = _torch_rnn(torch, params, x, h0)
    readout = torch.nn.Linear(SIZES["n"], SIZES["k"]).double()
    with torch.no_grad():
        readout.weight.copy_(torch.tensor(params["V"]))
        readout.bias.copy_(torch.tensor(params["c"]))
    loss = torch.nn.functional.cross_entropy(readout(states[-1]), torch.tensor(labels), reduction="sum")
    loss.backward()
    ours = compiled.vjp(params, inputs, {"L": 1.0})
    theirs = {"U": cell.weight_ih_l0.grad, "W": cell.weight_hh_l0.grad, "b": cell.bias_ih_l0.grad,
              "V": readout.weight.grad, "c": readout.bias.grad, "x": x.grad, "h0": h0.grad}
    assert compiled.forward(params, inputs)["L"].sum() == pytest.approx(loss.item(), rel=1e-12)
    for key, value in theirs.items():
        assert rel_err(ours[key], value.numpy()) <= 1e-10, key


def test_one_to_many_matches_torch_fed_zeros_after_the_first_step():
    """torch.nn.RNN reading x at step 1 and zeros after is the same network."""
    torch = pytest.importorskip("torch")
    compiled, params, inputs, labels = _case("one-to-many")
    x, h0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h0"))
    sequence = torch.cat([x.unsqueeze(0), torch.zeros(labels.shape[0] - 1, *x.shape, dtype=x.dtype)])
    cell, states = _torch_rnn(torch, params, sequence, h0)
    readout = torch.nn.Linear(SIZES["n"], SIZES["k"]).double()
    with torch.no_grad():
        readout.weight.copy_(torch.tensor(params["V"]))
        readout.bias.copy_(torch.tensor(params["c"]))
    logits = readout(states)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, SIZES["k"]),
                                             torch.tensor(labels).reshape(-1), reduction="sum")
    loss.backward()
    ours = compiled.vjp(params, inputs, {"L": 1.0})
    theirs = {"U": cell.weight_ih_l0.grad, "W": cell.weight_hh_l0.grad, "b": cell.bias_ih_l0.grad,
              "V": readout.weight.grad, "x": x.grad, "h0": h0.grad}
    for key, value in theirs.items():
        assert rel_err(ours[key], value.numpy()) <= 1e-10, key


def _sequence_model():
    M = Model("reads", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    W, U = M.param("W", n, n), M.param("U", n, m)
    h = M.state("h", n)
    M.define(h, tanh(W @ h.prev + U @ x))
    return M, x, h


def test_reading_h_at_T_relative_to_t_is_a_clear_error():
    M, x, h = _sequence_model()
    M.loss(M.define("L", h.at(symgrad.symbols.T).T @ h.at(symgrad.symbols.T)))
    with pytest.raises(ModelError, match=r"neither read relative to t nor at a step 1…T; "
                                         r"read the last step with M.last\(h\)"):
        M.build()


def test_a_fixed_step_inside_an_equation_of_every_step_is_a_clear_error():
    M, x, h = _sequence_model()
    with pytest.raises(ModelError, match="reads h_T at a fixed step inside an equation of every step"):
        M.define("e", h * M.last(h))


@pytest.mark.parametrize("make, message", [
    (lambda M, x, h: M.at_step(h, 0), "steps are counted from 1"),
    (lambda M, x, h: M.at_step(M.last(h), 2), "read at the current step"),
    (lambda M, x, h: M.only_at(1, x, axis="j"), "no time axis 'j'"),
    (lambda M, x, h: M.only_at(0, x), "an int from 1"),
])
def test_bad_step_arguments_are_clear_errors(make, message):
    M, x, h = _sequence_model()
    with pytest.raises(ModelError, match=message):
        make(M, x, h)


def test_a_classifier_of_a_users_sequence_model():
    """The same read in a model written with the DSL: a sequence classifier."""
    M, x, h = _sequence_model()
    k = M.dims("k")
    y = M.target("y", k, onehot=True, per_step=False)
    V = M.param("V", k, M.dims_["n"])
    yhat = M.define("yhat", softmax(V @ M.last(h)))
    M.loss(M.define("L", cross_entropy(yhat, y)))
    d = symgrad.derive(M)
    delta = equations(d)["δhₜ"]      # the readout's route at T only, the recurrent one at every t
    assert delta.startswith("[t = T] Vᵀ ") and delta.count("[") == 1 and "Wᵀ" in delta
    report = check(d, {"m": 2, "n": 3, "k": 2}, T=4, B=2)
    assert report.passed, report.problems


def test_cli_task_option():
    runner = CliRunner()
    ok = runner.invoke(main, ["derive", "rnn", "--task", "many-to-one", "--format", "text"])
    assert ok.exit_code == 0 and "δhₜ = [t = T] Vᵀ δo + Wᵀ δaₜ₊₁" in ok.output
    bad = runner.invoke(main, ["derive", "rnn", "--task", "sideways"])
    assert bad.exit_code == 2 and "option --task: unknown choice 'sideways'" in bad.output
    both = runner.invoke(main, ["derive", "rnn", "--task", "one-to-many", "--bidirectional"])
    assert both.exit_code == 2 and "cannot run backwards" in both.output


def test_verify_judges_a_hand_derivation_of_the_classifier(tmp_path):
    """The readout's term belongs at t = T only: δh_T = Vᵀ δo is right (δa_{T+1} = 0), and a
    δh_t without [t = T] Vᵀ δo is wrong at t = T."""
    hand = tmp_path / "mine.txt"
    hand.write_text("model: rnn\ndh[T] = V.T @ do\ndh[t] = W.T @ da[t+1]\ndV = do @ h[T].T\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(hand), "--task", "many-to-one", "--format", "json"])
    verdicts = {v["source"]: v["status"] for v in json.loads(result.output)["equations"]}
    assert verdicts == {"dh[T] = V.T @ do": "right", "dh[t] = W.T @ da[t+1]": "wrong",
                        "dV = do @ h[T].T": "right"}
