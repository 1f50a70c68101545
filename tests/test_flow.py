"""Measured gradient flow: the closed form of a linear recurrence, torch autograd with the
states' gradients retained, the bound of Pascanu et al., the plot, and the errors."""
import numpy as np
import pytest
from click.testing import CliRunner

import symgrad
from symgrad.cli import main
from symgrad.dsl import Model
from symgrad.errors import ModelError


def linear_rnn():
    M = Model("linear", sequence=True)
    m, n = M.dims("m n")
    x, h = M.input("x", m), M.state("h", n)
    M.define(h, M.param("W", n, n) @ h.prev + M.param("U", n, m) @ x)
    M.output(h)
    return M


def test_linear_recurrence_follows_the_matrix_power():
    """h_t = W h_{t−1} + U x_t: ∂L_T/∂h_k = (W^(T−k))ᵀ g, exactly; ‖∂hₜ/∂hₜ₋₁‖₂ = ‖W‖₂; and the
    bound with γ = 1 is ‖g‖ ‖W‖₂^(T−k)."""
    T = 9
    f = symgrad.gradient_flow(linear_rnn(), steps=T, radius=0.9, size=4, batch=3, seed=1)
    W, g = f.params["W"], f.cotangent["h"]
    assert max(abs(np.linalg.eigvals(W))) == pytest.approx(0.9, rel=1e-12)
    expected = [np.linalg.norm(g @ np.linalg.matrix_power(W, T - k)) for k in range(1, T + 1)]
    assert np.allclose(f.grad_norms, expected, rtol=1e-12, atol=0)
    assert np.allclose(f.jacobian_norms, np.linalg.norm(W, 2), rtol=1e-12)
    assert np.allclose(f.bound, np.linalg.norm(g) * np.linalg.norm(W, 2) ** np.arange(T - 1, -1, -1))
    assert np.all(f.grad_norms <= f.bound * (1 + 1e-12))


def _torch_state_gradients(torch, name, f):
    """‖∂L_T/∂s_k‖ per state from torch autograd: the model's cell run step by step, every
    state's gradient retained, L_T = Σ_b ⟨g_b, top state at T⟩."""
    p = {key: torch.tensor(value) for key, value in f.params.items()}
    x = torch.tensor(f.inputs["x"])
    T, B = x.shape[:2]
    n = p["W" if name == "rnn" else "R_z" if name == "lstm" else "W_hn"].shape[0]
    states = {s: torch.zeros(B, n, dtype=torch.float64, requires_grad=True) for s in f.state_norms}
    kept = {s: [] for s in states}
    for t in range(T):
        if name == "rnn":
            states["h"] = torch.tanh(x[t] @ p["U"].T + states["h"] @ p["W"].T + p["b"])
        elif name == "gru":
            h = states["h"]
            r = torch.sigmoid(x[t] @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
            z = torch.sigmoid(x[t] @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
            cand = torch.tanh(x[t] @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
            states["h"] = (1 - z) * cand + z * h
        else:
            y, c = states["y"], states["c"]
            pre = lambda q, peep=None: (x[t] @ p[f"W_{q}"].T + y @ p[f"R_{q}"].T + p[f"b_{q}"]  # noqa: E731
                                        + (peep * p[f"p_{q}"] if peep is not None else 0))
            c = torch.tanh(pre("z")) * torch.sigmoid(pre("i", c)) + c * torch.sigmoid(pre("f", c))
            states["c"], states["y"] = c, torch.tanh(c) * torch.sigmoid(pre("o", c))
        for s, value in states.items():
            value.retain_grad()
            kept[s].append(value)
    top, g = next(iter(f.cotangent.items()))
    (torch.tensor(g) * kept[top][-1]).sum().backward()
    return {s: np.array([np.linalg.norm(v.grad.numpy()) for v in values]) for s, values in kept.items()}


@pytest.mark.parametrize("name, options", [("rnn", {}), ("lstm", {}), ("gru", {"variant": "cudnn"})])
def test_measured_flow_matches_torch_autograd(name, options):
    torch = pytest.importorskip("torch")
    f = symgrad.gradient_flow(symgrad.model(name, **options), steps=12, radius=1.2, size=5, batch=2, seed=3)
    theirs = _torch_state_gradients(torch, name, f)
    for s, norms in f.state_norms.items():
        assert np.allclose(norms, theirs[s], rtol=1e-10, atol=1e-300), s


@pytest.mark.parametrize("radius", [0.9, 1.5])
def test_the_simple_rnn_stays_under_pascanus_bound(radius):
    f = symgrad.gradient_flow(symgrad.model("rnn"), steps=30, radius=radius, size=16)
    assert f.bound is not None and np.all(f.grad_norms <= f.bound * (1 + 1e-12))
    assert f.bound_factor == pytest.approx(np.linalg.norm(f.params["W"], 2))   # γ = 1 for tanh


def test_every_recurrent_matrix_is_scaled_to_the_radius():
    f = symgrad.gradient_flow(symgrad.model("gru"), steps=5, radius=1.3, size=6)
    assert f.recurrent == ["U_r", "U_z", "U"]
    for name in f.recurrent:
        assert max(abs(np.linalg.eigvals(f.params[name]))) == pytest.approx(1.3, rel=1e-12)


def test_the_forget_gate_near_one_keeps_the_cell_gradient():
    model = symgrad.model("lstm", variant="NP")
    near_one = symgrad.gradient_flow(model, steps=40, radius=0.9, forget_bias=4.0, size=8)
    near_zero = symgrad.gradient_flow(model, steps=40, radius=0.9, forget_bias=-4.0, size=8)
    assert near_one.forget_bias == 4.0 and np.all(near_one.params["b_f"] == 4.0)
    assert near_one.state_norms["c"][0] / near_one.grad_norms[-1] > 1e-2
    assert near_one.ratio > 1e10 * near_zero.ratio


def test_the_simple_rnn_vanishes_faster_at_a_smaller_radius():
    small, large = (symgrad.gradient_flow(symgrad.model("rnn"), radius=r) for r in (0.9, 1.5))
    assert small.ratio < 1e-10 and large.ratio > 1e3 * small.ratio


@pytest.mark.parametrize("make, message", [
    (lambda: symgrad.model("dense"), "one time axis"),
    (lambda: symgrad.model("rnn", bidirectional=True), "drop --bidirectional"),
    (lambda: symgrad.model("seq2seq-attention"), "one time axis t"),
])
def test_models_flow_cannot_follow(make, message):
    with pytest.raises(ModelError, match=message):
        symgrad.gradient_flow(make(), steps=5)


def test_cli_table_and_plot(tmp_path):
    plot = tmp_path / "flow.png"
    result = CliRunner().invoke(main, ["flow", "rnn", "lstm", "--variant", "NP", "gru", "--steps", "20",
                                       "--radius", "0.9", "--size", "8", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "rnn" in result.output and "lstm --variant NP" in result.output and "▁" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    svg = tmp_path / "flow.svg"
    assert CliRunner().invoke(main, ["flow", "rnn", "--steps", "5", "--plot", str(svg)]).exit_code == 0
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


@pytest.mark.parametrize("args, message", [
    (["flow", "rnn", "--plot", "flow.txt"], "PNG, SVG or PDF"),
    (["flow", "--steps", "5"], "name at least one model"),
    (["flow", "--variant", "NP", "lstm"], "expected a model name first"),
    (["flow", "rnn", "--steps", "1"], "--steps"),
    (["flow", "dense"], "one time axis"),
])
def test_cli_errors_are_one_line(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
