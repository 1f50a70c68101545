"""The derived equations are the published ones, and the derivation never unrolls time."""
import numpy as np
import pytest

import symgrad
from symgrad.algebra import ckey
from symgrad.references import rnn as rnn_reference
from symgrad.check import example, rel_err
from symgrad.symbols import T, Delta, Seq, Sym, t


def printed(d):
    return {str(eq.lhs): str(eq.rhs) for eq in d.backward}


def test_rnn_is_goodfellow_10_18_to_10_28():
    """Goodfellow et al. (2016) §10.2, in symgrad's notation (δv = ∇_v L, a_t kept as a node):
    10.18 ∇_{o_t} L = ŷ_t − y_t (one-hot y); 10.20–10.21 ∇_{h_t} L = Wᵀ diag(1 − h_{t+1}²) ∇_{h_{t+1}} L
    + Vᵀ ∇_{o_t} L, i.e. δh_t = Vᵀ δo_t + Wᵀ δa_{t+1} with δa_t = δh_t ⊙ (1 − h_t²);
    10.22–10.28: ∇_c = Σ_t ∇_{o_t}, ∇_b = Σ_t diag(1 − h_t²) ∇_{h_t}, ∇_V = Σ_t ∇_{o_t} h_tᵀ,
    ∇_W = Σ_t diag(1 − h_t²) ∇_{h_t} h_{t-1}ᵀ, ∇_U = Σ_t diag(1 − h_t²) ∇_{h_t} x_tᵀ."""
    book = {
        "δoₜ": "ŷₜ − yₜ",
        "δhₜ": "Vᵀ δoₜ + Wᵀ δaₜ₊₁",
        "δaₜ": "δhₜ ⊙ (1 − hₜ ⊙ hₜ)",
        "δc": "Σₜ δoₜ",
        "δb": "Σₜ δaₜ",
        "δV": "Σₜ δoₜ hₜᵀ",
        "δW": "Σₜ δaₜ hₜ₋₁ᵀ",
        "δU": "Σₜ δaₜ xₜᵀ",
        # not in the book, which takes h₀ as fixed: the routes that reach back to it
        "δxₜ": "Uᵀ δaₜ",
        "δh₀": "Wᵀ δa₁",
    }
    assert printed(symgrad.derive(symgrad.model("rnn"))) == book


def test_rnn_derivative_style_writes_tanh_prime():
    d = symgrad.derive(symgrad.model("rnn"), style="derivative")
    assert printed(d)["δaₜ"] == "δhₜ ⊙ tanh′(aₜ)"


def test_dense_is_the_textbook_backprop():
    """δ_L = ŷ − y for softmax with cross-entropy; δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ σ′(z_l), σ′ = σ(1 − σ);
    ∂L/∂W_l = δ_l a_{l-1}ᵀ, ∂L/∂b_l = δ_l (Bishop §5.3.1, eqs. 5.53–5.56)."""
    assert printed(symgrad.derive(symgrad.model("dense"))) == {
        "δz₂": "ŷ − y",
        "δz₁": "(W₂ᵀ δz₂) ⊙ h ⊙ (1 − h)",
        "δx": "W₁ᵀ δz₁",
        "δW₁": "δz₁ xᵀ",
        "δb₁": "δz₁",
        "δW₂": "δz₂ hᵀ",
        "δb₂": "δz₂",
    }


def test_deltas_a_textbook_does_not_name_are_inlined():
    d = symgrad.derive(symgrad.model("rnn"))
    assert [eq.lhs.var.name for eq in d.deltas] == ["o", "h", "a"]
    assert set(d.inlined) == {"yhat", "ell", "L"}


def test_equation_order_is_reverse_dependency_order():
    d = symgrad.derive(symgrad.model("rnn"))
    names = [eq.lhs.var.name for eq in d.deltas]
    forward = [eq.lhs.name for eq in d.forward]
    assert names == sorted(names, key=forward.index, reverse=True)


def test_order_insensitive_key_sees_sums_as_equal():
    d = symgrad.derive(symgrad.model("rnn"))
    dh = next(eq for eq in d.deltas if eq.lhs.var.name == "h").rhs
    assert ckey(dh) == ckey(dh.func(*reversed(dh.args)))


def test_the_derivation_holds_no_sequence_length():
    """BPTT without unrolling: the equations are templates in t, free of T."""
    d = symgrad.derive(symgrad.model("rnn"))
    for eq in d.forward + d.backward:
        assert T not in eq.rhs.free_symbols
        times = {s.time for s in eq.rhs.atoms(Seq)}
        assert all(tau.free_symbols <= {t} for tau in times)


@pytest.mark.parametrize("steps", [1, 2, 7, 40])
def test_one_derivation_serves_every_sequence_length(steps):
    compiled = symgrad.derive(symgrad.model("rnn")).compile()
    params, inputs, cot = example(compiled, {"m": 3, "n": 4, "k": 3}, T=steps, B=2, seed=steps)
    ours = compiled.vjp(params, inputs, cot)
    theirs = rnn_reference.vjp(params, inputs, cot)
    assert max(rel_err(ours[k], theirs[k]) for k in theirs) <= 1e-12


def test_a_pure_delta_equation_has_a_delta_on_the_left():
    d = symgrad.derive(symgrad.model("dense"))
    assert all(isinstance(eq.lhs, Delta) for eq in d.backward)
    assert all(isinstance(eq.lhs.var, Sym) for eq in d.params)


def test_unknown_style_is_a_user_error():
    with pytest.raises(symgrad.SymgradError, match="unknown style 'fancy'"):
        symgrad.derive(symgrad.model("rnn"), style="fancy")


def test_loss_cotangent_scales_every_gradient():
    compiled = symgrad.derive(symgrad.model("dense")).compile()
    params, inputs, _ = example(compiled, {"m": 3, "n": 4, "k": 3}, B=2)
    one = compiled.vjp(params, inputs, {"L": 1.0})
    scaled = compiled.vjp(params, inputs, {"L": -2.5})
    for k in one:
        np.testing.assert_allclose(scaled[k], -2.5 * one[k], rtol=1e-14)
