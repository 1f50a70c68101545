"""Truncated BPTT in the compiled code: vjp(..., truncate=k) cuts the chain every k steps.

Two independent checks. Without torch: central differences of a forward pass run chunk by
chunk, each chunk starting from the (constant) state the full forward pass reached, which
is what truncation differentiates. With torch: autograd through hand-written cells with
the state detached after steps k, 2k, … (float64)."""
import numpy as np
import pytest

import symgrad
from symgrad.check import central_differences, example, rel_err

MODELS = [("rnn", {}), ("lstm", {}), ("lstm", {"variant": "NP"}), ("gru", {"variant": "cudnn"}),
          ("gru", {}), ("rnn", {"bidirectional": True}), ("lstm", {"layers": 2})]
SIZES = {"m": 2, "n": 3, "k": 2}


def compiled(name, options):
    return symgrad.derive(symgrad.model(name, **options)).compile()


def chunked_objective(f, params, inputs, cot, k, starts):
    """Σ over chunks of ⟨cot, outputs⟩ of the chunk run alone, from the given start states
    (forward states enter a chunk at its first step, reverse ones at its last)."""
    T = np.shape(inputs["x"])[0]
    total = 0.0
    for lo in range(0, T, k):
        hi = min(lo + k, T)
        part = {name: v[lo:hi] for name, v in inputs.items() if name not in f.initial}
        for name in f.initial:
            part[name] = starts[name][lo if f.derivation.model.states[name[:-1]] < 0 else hi + 1]
        out = f.forward(params, part)
        for key, value in out.items():
            weight = cot[key] if key == f.loss else cot[key][lo:hi]
            total += float(np.sum(np.asarray(weight) * value))
    return total


def state_trajectories(f, params, inputs):
    """name0 → each state at the padded steps 0…T+1, from the full forward pass: a chunk of
    steps lo+1…hi starts from step lo (a state running forwards) or hi+1 (backwards)."""
    values = f.module._forward_values(params, inputs)
    return {name + "0": np.asarray(values[name])[..., 0] for name in f.derivation.model.states}


def assert_truncated_vjp_matches_chunks(f, params, inputs, cot, k):
    """vjp(truncate=k) equals central differences of the chunked forward, for every array."""
    grads = f.vjp(params, inputs, cot, truncate=k)
    starts = state_trajectories(f, params, inputs)
    # a state's value at the start of every chunk is a constant; the initial states are not
    objective = lambda: chunked_objective(f, params, inputs, cot, k, {  # noqa: E731
        n: np.concatenate([[inputs[n]], s[1:-1], [inputs[n]]]) for n, s in starts.items()})
    for key in list(params) + ["x"] + list(f.initial):
        store = params if key in params else inputs
        assert rel_err(grads[key], central_differences(objective, store, key)) < 1e-6, key


@pytest.mark.parametrize("name, options", MODELS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_vjp_matches_differences_of_the_chunked_forward(name, options, k):
    f = compiled(name, options)
    params, inputs, cot = example(f, SIZES, T=7, B=2, seed=4)
    assert_truncated_vjp_matches_chunks(f, params, inputs, cot, k)


@pytest.mark.parametrize("name, options", MODELS[:4])
def test_truncating_at_the_sequence_length_or_more_changes_nothing(name, options):
    f = compiled(name, options)
    params, inputs, cot = example(f, SIZES, T=5, B=2, seed=1)
    full = f.vjp(params, inputs, cot)
    for k in (5, 9):
        cut = f.vjp(params, inputs, cot, truncate=k)
        assert all(np.array_equal(full[key], cut[key]) for key in full)
    one = f.vjp(params, inputs, cot, truncate=2)
    assert max(rel_err(full[key], one[key]) for key in full) > 1e-3   # the cut is real


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_a_bad_truncation_is_a_clear_error(bad):
    f = compiled("rnn", {})
    params, inputs, cot = example(f, SIZES, T=3, B=1)
    with pytest.raises(symgrad.SymgradError, match="truncate must be a whole number"):
        f.vjp(params, inputs, cot, truncate=bad)


def test_a_model_without_steps_cannot_be_truncated():
    f = compiled("dense", {})
    params, inputs, cot = example(f, {"m": 2, "n": 3, "k": 2}, B=2)
    with pytest.raises(symgrad.SymgradError, match="no steps to cut"):
        f.vjp(params, inputs, cot, truncate=2)


# -- PyTorch: the state detached after steps k, 2k, … ---------------------------------

def torch_run(torch, name, P, inputs, cot, k):
    """The model's objective in torch, states detached after every k-th step."""
    x = inputs["x"]
    total, T = 0.0, x.shape[0]
    if name == "rnn":
        h = inputs["h0"]
        for t in range(T):
            h = torch.tanh(P["b"] + h @ P["W"].T + x[t] @ P["U"].T)
            logp = torch.log_softmax(P["c"] + h @ P["V"].T, dim=-1)
            total = total - (inputs["y"][t] * logp).sum()
            if (t + 1) % k == 0:
                h = h.detach()
    elif name == "lstm":     # Greff's NP variant (no peepholes)
        y, c = inputs["y0"], inputs["c0"]
        for t in range(T):
            pre = {q: x[t] @ P[f"W_{q}"].T + y @ P[f"R_{q}"].T + P[f"b_{q}"] for q in "zifo"}
            c = torch.tanh(pre["z"]) * torch.sigmoid(pre["i"]) + c * torch.sigmoid(pre["f"])
            y = torch.tanh(c) * torch.sigmoid(pre["o"])
            total = total + (cot["y"][t] * y).sum()
            if (t + 1) % k == 0:
                y, c = y.detach(), c.detach()
    else:                    # PyTorch's own GRU form
        h = inputs["h0"]
        for t in range(T):
            r = torch.sigmoid(x[t] @ P["W_ir"].T + P["b_ir"] + h @ P["W_hr"].T + P["b_hr"])
            z = torch.sigmoid(x[t] @ P["W_iz"].T + P["b_iz"] + h @ P["W_hz"].T + P["b_hz"])
            n = torch.tanh(x[t] @ P["W_in"].T + P["b_in"] + r * (h @ P["W_hn"].T + P["b_hn"]))
            h = (1 - z) * n + z * h
            total = total + (cot["h"][t] * h).sum()
            if (t + 1) % k == 0:
                h = h.detach()
    return total


@pytest.mark.parametrize("name, options", [("rnn", {}), ("lstm", {"variant": "NP"}),
                                           ("gru", {"variant": "cudnn"})])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_truncated_vjp_matches_torch_with_detached_states(name, options, k):
    torch = pytest.importorskip("torch")
    f = compiled(name, options)
    params, inputs, cot = example(f, {"m": 3, "n": 4, "k": 3}, T=9, B=2, seed=7)
    grads = f.vjp(params, inputs, cot, truncate=k)
    P = {key: torch.tensor(v, requires_grad=True) for key, v in params.items()}
    X = {key: torch.tensor(v, requires_grad=key not in ("y",) or name != "rnn")
         for key, v in inputs.items()}
    C = {key: torch.tensor(v) for key, v in cot.items() if key != f.loss}
    torch_run(torch, name, P, X, C, k).backward()
    expected = {**{key: t.grad for key, t in P.items()},
                **{key: X[key].grad for key in ["x"] + list(f.initial)}}
    for key, value in expected.items():
        assert rel_err(grads[key], value.numpy()) < 1e-10, key


LAGGED = """
from symgrad.dsl import Model, tanh
def build():
    M = Model("lagged", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    U, W, V = M.param("U", n, m), M.param("W", n, n), M.param("V", n, n)
    z = M.state("z", n)                       # read at t-1, but no recurrence of its own
    M.define(z, tanh(U @ x))
    h = M.state("h", n)
    M.define(h, tanh(W @ z.prev + V @ h.prev))
    M.output(h)
    return M
"""


@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncation_cuts_a_lagged_read_outside_any_recurrence(tmp_path, k):
    """δzₜ = Wᵀ δaₜ₊₁ is computed for all steps at once (z has no recurrence); its term from
    step t+1 must be cut at the chunk ends all the same."""
    path = tmp_path / "lagged.py"
    path.write_text(LAGGED, encoding="utf-8")
    f = symgrad.derive(symgrad.model(str(path))).compile()
    assert "_cut(" in f.source.split("def _backward")[1]
    params, inputs, cot = example(f, SIZES, T=7, B=2, seed=5)
    assert_truncated_vjp_matches_chunks(f, params, inputs, cot, k)
