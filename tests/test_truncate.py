"""Truncated BPTT, printed with the cut written out, and the printed equations compiled
against torch autograd with the state detached between chunks.

The semantics (k steps a chunk: 1…k, k+1…2k, …): no gradient flows from chunk j+1 back into
chunk j; the forward pass is unchanged; the initial state gets chunk 1's gradient. In torch
that is a loop over the steps that detaches the state it carries into a new chunk.
"""
import pytest
from click.testing import CliRunner

import symgrad
from symgrad.check import check, example, rel_err
from symgrad.cli import main
from symgrad.errors import ModelError


def delta(d, lhs):
    return str(d.equation(lhs).rhs)


def test_the_route_from_the_next_chunk_carries_the_bracket():
    d = symgrad.derive(symgrad.model("rnn"), truncate=3)
    assert delta(d, "δhₜ") == "Vᵀ δoₜ + [t mod 3 ≠ 0] Wᵀ δaₜ₊₁"
    assert delta(d, "δh₀") == "Wᵀ δa₁"                      # the initial state is never cut off
    assert delta(d, "δW") == "Σₜ δaₜ hₜ₋₁ᵀ"


def test_every_recurrent_route_of_the_lstm_is_cut_together():
    d = symgrad.derive(symgrad.model("lstm"), truncate=2)
    assert delta(d, "δyₜ") == "Δₜ + [t mod 2 ≠ 0] (R_zᵀ δz̄ₜ₊₁ + R_iᵀ δīₜ₊₁ + R_fᵀ δf̄ₜ₊₁ + R_oᵀ δōₜ₊₁)"
    assert delta(d, "δcₜ") == ("p_o ⊙ δōₜ + δyₜ ⊙ oₜ ⊙ h′(cₜ) "
                               "+ [t mod 2 ≠ 0] (p_i ⊙ δīₜ₊₁ + p_f ⊙ δf̄ₜ₊₁ + δcₜ₊₁ ⊙ fₜ₊₁)")
    assert delta(d, "δc₀") == "p_i ⊙ δī₁ + p_f ⊙ δf̄₁ + δc₁ ⊙ f₁"


def test_a_state_running_backwards_is_cut_where_it_enters_a_chunk():
    d = symgrad.derive(symgrad.model("rnn", bidirectional=True), truncate=2)
    assert delta(d, "δhₜ⁽¹←⁾") == "V⁽←⁾ᵀ δoₜ + [t mod 2 ≠ 1] W⁽¹←⁾ᵀ δaₜ₋₁⁽¹←⁾"
    assert "chunks of 2 steps" in str(d) and "[t mod 2 ≠ 1]" in str(d)


def _chunk(t, k):
    return (t - 1) // k


def _rnn_loss(torch, p, x, y, h0, k, backward=None):
    """Σₜ cross-entropy of the simple RNN; the carried state detached where a chunk starts.
    ``backward``: (W, U, b, V, h_{T+1}) of a layer running backwards, added to the output."""
    T = x.shape[0]
    forward, h = [], h0
    for t in range(1, T + 1):
        if t > 1 and _chunk(t - 1, k) != _chunk(t, k):
            h = h.detach()
        h = torch.tanh(h @ p["W"].T + x[t - 1] @ p["U"].T + p["b"])
        forward.append(h)
    logits = [p["c"] + h @ p["V"].T for h in forward]
    if backward is not None:
        W, U, b, V, h = backward
        for t in range(T, 0, -1):
            if t < T and _chunk(t + 1, k) != _chunk(t, k):
                h = h.detach()
            h = torch.tanh(h @ W.T + x[t - 1] @ U.T + b)
            logits[t - 1] = logits[t - 1] + h @ V.T
    return sum(torch.nn.functional.cross_entropy(o, yt.argmax(-1), reduction="sum")
               for o, yt in zip(logits, y))


@pytest.mark.parametrize("k", [1, 3, 7])
def test_truncated_rnn_matches_torch_detaching_every_k_steps(k):
    torch = pytest.importorskip("torch")
    compiled = symgrad.derive(symgrad.model("rnn"), truncate=k).compile()
    params, inputs, cot = example(compiled, {"m": 3, "n": 4, "k": 3}, T=7, B=2, seed=5)
    p = {key: torch.tensor(v, requires_grad=True) for key, v in params.items()}
    x, h0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h0"))
    _rnn_loss(torch, p, x, torch.tensor(inputs["y"]), h0, k).backward()
    ours = compiled.vjp(params, inputs, cot)
    for key, value in {**p, "x": x, "h0": h0}.items():
        assert rel_err(ours[key], value.grad.numpy()) <= 1e-10, (key, k)


def test_truncated_bidirectional_rnn_matches_torch():
    torch = pytest.importorskip("torch")
    compiled = symgrad.derive(symgrad.model("rnn", bidirectional=True), truncate=3).compile()
    params, inputs, cot = example(compiled, {"m": 3, "n": 4, "k": 3}, T=8, B=2, seed=6)
    p = {key: torch.tensor(v, requires_grad=True) for key, v in params.items()}
    x, h0, hT = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "h__1f0", "h__1b0"))
    forward = {"W": p["W__1f"], "U": p["U__1f"], "b": p["b__1f"], "V": p["V__f"], "c": p["c"]}
    backward = (p["W__1b"], p["U__1b"], p["b__1b"], p["V__b"], hT)
    _rnn_loss(torch, forward, x, torch.tensor(inputs["y"]), h0, 3, backward).backward()
    ours = compiled.vjp(params, inputs, cot)
    for key, value in {**p, "x": x, "h__1f0": h0, "h__1b0": hT}.items():
        assert rel_err(ours[key], value.grad.numpy()) <= 1e-10, key


def test_truncated_lstm_with_peepholes_matches_torch():
    """Greff's LSTM written out in torch, both states (c, y) detached between chunks."""
    torch = pytest.importorskip("torch")
    k = 2
    compiled = symgrad.derive(symgrad.model("lstm"), truncate=k).compile()
    params, inputs, cot = example(compiled, {"m": 3, "n": 4}, T=5, B=2, seed=7)
    p = {key: torch.tensor(v, requires_grad=True) for key, v in params.items()}
    x, y0, c0 = (torch.tensor(inputs[key], requires_grad=True) for key in ("x", "y0", "c0"))
    y, c, total = y0, c0, 0
    for t in range(1, x.shape[0] + 1):
        if t > 1 and _chunk(t - 1, k) != _chunk(t, k):
            y, c = y.detach(), c.detach()

        def pre(q, peep=None):
            out = x[t - 1] @ p[f"W_{q}"].T + y @ p[f"R_{q}"].T + p[f"b_{q}"]
            return out + peep * p[f"p_{q}"] if peep is not None else out

        z, i, f = torch.tanh(pre("z")), torch.sigmoid(pre("i", c)), torch.sigmoid(pre("f", c))
        c = z * i + c * f
        y = torch.tanh(c) * torch.sigmoid(pre("o", c))
        total = total + (torch.tensor(cot["y"][t - 1]) * y).sum()
    total.backward()
    ours = compiled.vjp(params, inputs, cot)
    for key, value in {**p, "x": x, "y0": y0, "c0": c0}.items():
        assert rel_err(ours[key], value.grad.numpy()) <= 1e-10, key


def test_chunks_longer_than_the_sequence_give_the_full_gradient():
    """With k ≥ T nothing is cut: finite differences of the untruncated loss agree."""
    report = check(symgrad.derive(symgrad.model("gru"), truncate=4), {"m": 3, "n": 4}, T=4, B=2)
    assert report.passed, report.problems


def test_truncation_errors_are_one_line():
    with pytest.raises(ModelError, match="needs a state that runs along t"):
        symgrad.derive(symgrad.model("dense"), truncate=2)
    with pytest.raises(ModelError, match="whole number of steps ≥ 1"):
        symgrad.derive(symgrad.model("rnn"), truncate=0)
    result = CliRunner().invoke(main, ["derive", "rnn", "--truncate", "0"])
    assert result.exit_code == 2 and "--truncate" in result.output


def test_cli_prints_the_cut_in_text_and_latex():
    runner = CliRunner()
    text = runner.invoke(main, ["derive", "rnn", "--truncate", "3", "--format", "text"])
    assert text.exit_code == 0 and "δhₜ = Vᵀ δoₜ + [t mod 3 ≠ 0] Wᵀ δaₜ₊₁" in text.output
    latex = runner.invoke(main, ["derive", "rnn", "--truncate", "3", "--format", "latex"])
    assert r"\left[t \bmod 3 \neq 0\right] {W}^{\top} \delta a_{t+1}" in latex.output
