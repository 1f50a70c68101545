"""The LSTM family and the GRU: each variant's forward change shows up in the backward
equations exactly as the chain rule says, and every configuration passes the check."""
import pytest

import symgrad
from symgrad.catalog import entry, reference
from symgrad.check import check
from symgrad.derivations.lstm import VARIANTS


def printed(name, style=None, **options):
    d = symgrad.derive(symgrad.model(name, **options), style)
    return {str(eq.lhs): str(eq.rhs) for eq in d.backward}


def test_vanilla_lstm_prints_greffs_deltas():
    eqs = printed("lstm")
    assert eqs["δcₜ"] == ("p_o ⊙ δōₜ + δyₜ ⊙ oₜ ⊙ h′(cₜ) + p_i ⊙ δīₜ₊₁ + p_f ⊙ δf̄ₜ₊₁"
                          " + δcₜ₊₁ ⊙ fₜ₊₁")
    assert eqs["δyₜ"] == "Δₜ + R_zᵀ δz̄ₜ₊₁ + R_iᵀ δīₜ₊₁ + R_fᵀ δf̄ₜ₊₁ + R_oᵀ δōₜ₊₁"
    assert eqs["δc₀"] == "p_i ⊙ δī₁ + p_f ⊙ δf̄₁ + δc₁ ⊙ f₁"


def test_expanded_style_writes_sigma_prime_as_o_times_one_minus_o():
    eqs = printed("lstm", style="expanded")
    assert eqs["δōₜ"] == "δyₜ ⊙ h(cₜ) ⊙ oₜ ⊙ (1 − oₜ)"
    assert eqs["δz̄ₜ"] == "δcₜ ⊙ iₜ ⊙ (1 − zₜ ⊙ zₜ)"


def test_cifg_couples_the_gates_into_one_factor():
    """f = 1 − i: ∂c/∂i = z − c_{t-1}, the two routes through i and f in one factor."""
    eqs = printed("lstm", variant="CIFG")
    assert eqs["δīₜ"] == "δcₜ ⊙ (zₜ − cₜ₋₁) ⊙ σ′(īₜ)"
    assert "δf̄ₜ" not in eqs and "δW_f" not in eqs


@pytest.mark.parametrize("variant, absent, changed", [
    ("NIG", ["δīₜ", "δW_i", "δp_i"], ("δz̄ₜ", "δcₜ ⊙ g′(z̄ₜ)")),
    ("NFG", ["δf̄ₜ", "δW_f", "δp_f"], ("δcₜ", "p_o ⊙ δōₜ + δyₜ ⊙ oₜ ⊙ h′(cₜ) + p_i ⊙ δīₜ₊₁ + δcₜ₊₁")),
    ("NOG", ["δōₜ", "δW_o", "δp_o"], ("δcₜ", "δyₜ ⊙ h′(cₜ) + p_i ⊙ δīₜ₊₁ + p_f ⊙ δf̄ₜ₊₁ + δcₜ₊₁ ⊙ fₜ₊₁")),
    ("NIAF", [], ("δz̄ₜ", "δcₜ ⊙ iₜ")),
    ("NOAF", [], ("δōₜ", "δyₜ ⊙ cₜ ⊙ σ′(ōₜ)")),
    ("NP", ["δp_i", "δp_f", "δp_o"], ("δc₀", "δc₁ ⊙ f₁")),
])
def test_each_variant_changes_what_its_forward_change_implies(variant, absent, changed):
    eqs = printed("lstm", variant=variant)
    for lhs in absent:
        assert lhs not in eqs
    lhs, rhs = changed
    assert eqs[lhs] == rhs


def test_full_gate_recurrence_makes_the_gates_states():
    eqs = printed("lstm", variant="FGR")
    assert eqs["δoₜ"] == "δyₜ ⊙ h(cₜ) + R_ioᵀ δīₜ₊₁ + R_foᵀ δf̄ₜ₊₁ + R_ooᵀ δōₜ₊₁"
    assert {"δi₀", "δf₀", "δo₀"} <= set(eqs)
    assert sum(lhs.startswith("δR_") and len(lhs) == 5 for lhs in eqs) == 9


def test_gru_forms():
    cho, cudnn = printed("gru"), printed("gru", variant="cudnn")
    assert cho["δhₜ"] == ("Δₜ + U_rᵀ δr̄ₜ₊₁ + U_zᵀ δz̄ₜ₊₁ + (Uᵀ δaₜ₊₁) ⊙ rₜ₊₁"
                          " + δhₜ₊₁ ⊙ zₜ₊₁")
    assert cho["δz̄ₜ"] == "δhₜ ⊙ (hₜ₋₁ − h̃ₜ) ⊙ σ′(z̄ₜ)"
    # reset after the product: the candidate's recurrent matrix sees r in its gradient
    assert cudnn["δW_hn"] == "Σₜ (δaₜ ⊙ rₜ) hₜ₋₁ᵀ"
    assert cudnn["δb_hn"] == "Σₜ δaₜ ⊙ rₜ" and cudnn["δb_in"] == "Σₜ δaₜ"


def test_layers_and_directions_pass_deltas_to_each_other():
    eqs = printed("lstm", layers=2, bidirectional=True)
    lower = eqs["δyₜ⁽¹→⁾"]
    for upper in ("W_z⁽²→→⁾ᵀ δz̄ₜ⁽²→⁾", "W_z⁽²←→⁾ᵀ δz̄ₜ⁽²←⁾", "R_z⁽¹→⁾ᵀ δz̄ₜ₊₁⁽¹→⁾"):
        assert upper in lower
    assert "Δ" not in lower                        # only the top layer gets a delta from above
    assert eqs["δyₜ⁽¹←⁾"].count("ₜ₋₁⁽¹←⁾") == 4    # the backward layer's recurrence lands at t-1
    assert "δy_{T+1}⁽¹←⁾" in eqs


CONFIGS = [("lstm", {"variant": v}) for v in VARIANTS] + [
    ("gru", {"variant": "cho"}), ("gru", {"variant": "cudnn"}),
    ("lstm", {"layers": 2}), ("lstm", {"bidirectional": True}),
    ("gru", {"variant": "cudnn", "layers": 2, "bidirectional": True}),
    ("rnn", {"layers": 2, "bidirectional": True}),
]


@pytest.mark.parametrize("name, options", CONFIGS, ids=lambda c: str(c))
def test_every_configuration_passes_the_check(name, options):
    report = check(symgrad.derive(symgrad.model(name, **options)), entry(name).CHECK_SIZES,
                   reference(name, options), T=4, B=2)
    assert report.passed, report.problems
    arrays = {r.array for r in report.rows}
    assert {"x"} <= arrays and any(a.endswith("0") for a in arrays)   # initial states are checked


@pytest.mark.parametrize("options, module", [
    ({}, "symgrad.references.lstm"), ({"variant": "NP"}, "symgrad.references.lstm"),
    ({"variant": "CIFG"}, None), ({"layers": 2}, None)])
def test_reference_is_used_where_it_applies(options, module):
    assert reference("lstm", options) == module


def test_unknown_variant_lists_the_choices():
    with pytest.raises(symgrad.SymgradError, match="option variant: unknown choice 'XYZ'; choose one of: vanilla, NIG"):
        symgrad.model("lstm", variant="XYZ")
    with pytest.raises(symgrad.SymgradError, match="option layers must be ≥ 1, not 0"):
        symgrad.model("gru", layers=0)
