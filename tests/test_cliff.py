"""The cliff (Goodfellow et al. Fig. 10.17) from Pascanu et al.'s one-unit RNN."""
import numpy as np
from click.testing import CliRunner

import symgrad
from symgrad import cliff
from symgrad.cli import main


def test_the_unclipped_run_jumps_far_and_the_clipped_one_does_not():
    plain = cliff.descend()
    clipped = cliff.descend(threshold=cliff.THRESHOLD)
    assert plain.gradient_norms.max() > 100                        # it meets the wall
    assert plain.steps.max() > 10                                  # and is thrown off
    assert clipped.steps.max() <= cliff.RATE * cliff.THRESHOLD * (1 + 1e-9)
    assert clipped.losses[-1] < 0.05 < plain.losses[-1]
    assert plain.losses.max() > 10 * plain.losses[0]               # the throw lands high up


def test_the_gradients_descent_uses_agree_with_finite_differences():
    """At the start and where the unclipped run meets the wall (a gradient of norm ~500)."""
    compiled = symgrad.derive(cliff.cliff_model()).compile()
    data = {"u": np.zeros((cliff.STEPS, 1)), "y": np.array([cliff.TARGET]), "h0": np.array([cliff.H0])}
    wall = cliff.descend().path[int(np.argmax(cliff.descend().steps))]
    for point in (cliff.START, tuple(wall)):
        params = {"w": np.array(point[0]), "b": np.array(point[1])}
        grads = compiled.vjp(params, data, {"L": 1.0})
        for name in params:
            loss = [compiled.forward({**params, name: params[name] + e}, data)["L"][0] for e in (1e-7, -1e-7)]
            assert abs(grads[name] - (loss[0] - loss[1]) / 2e-7) <= 1e-5 * abs(grads[name]), (point, name)


def test_one_step_of_descent_by_hand():
    """h_t = w σ(h_{t−1}) + b from 0.5; ∂L/∂b = (h_T − 0.7) Σ_k Π_{j>k} w σ′(h_{j−1})."""
    w, b, T = cliff.START[0], cliff.START[1], cliff.STEPS
    h = [cliff.H0]
    for _ in range(T):
        h.append(w / (1 + np.exp(-h[-1])) + b)
    g, dw, db = h[-1] - cliff.TARGET, 0.0, 0.0
    for t in range(T, 0, -1):
        s = 1 / (1 + np.exp(-h[t - 1]))
        dw, db, g = dw + g * s, db + g, g * w * s * (1 - s)
    run = cliff.descend(iterations=1)
    assert np.allclose(run.path[1], [w - cliff.RATE * dw, b - cliff.RATE * db], rtol=1e-12, atol=0)
    assert run.losses[0] == 0.5 * (h[-1] - cliff.TARGET) ** 2


def test_the_surface_has_a_wall():
    """Between two neighbouring grid points (0.025 apart in w) the loss changes by 0.05 as a
    rule, but by more than 5 across the wall; the valley beside it reaches almost zero."""
    w, b, loss = cliff.surface()
    steps = np.abs(np.diff(loss, axis=1))
    assert np.median(steps) < 0.1 and steps.max() > 5
    assert loss.min() < 1e-3


def test_cli_writes_the_figure(tmp_path):
    out = tmp_path / "cliff.png"
    result = CliRunner().invoke(main, ["cliff", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "without clipping: largest step 25.4" in result.output
    assert "clipped to ‖g‖ ≤ 4: largest step 0.2 " in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(main, ["cliff", "-o", str(tmp_path / "cliff.jpg")])
    assert bad.exit_code == 2 and "PNG, SVG or PDF" in bad.output
