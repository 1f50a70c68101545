"""Attention, layer norm, multi-head attention, the transformer block and the attentional
encoder–decoder: the printed forms are the published ones, no equation expands the softmax's
Jacobian, and every configuration passes the check (finite differences and references)."""
import itertools

import pytest

import symgrad
from symgrad.catalog import entry, reference
from symgrad.check import check
from symgrad.ops import Had, MatMul, RowSoftmax, Softmax, Transpose


def printed(name, **options):
    d = symgrad.derive(symgrad.model(name, **options))
    return {str(eq.lhs): str(eq.rhs) for eq in d.backward}


def test_attention_is_flashattention_appendix_b():
    """dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P) 1ᵀ), dQ = τ dS K, dK = τ dSᵀ Q."""
    assert printed("attention", causal=True) == {
        "δO": "Δ",
        "δP": "δO Vᵀ",
        "δS": "P ⊙ (δP − rowsum(δP ⊙ P) 1ᵀ)",
        "δQ": "1/√(d_k) δS K",
        "δK": "1/√(d_k) δSᵀ Q",
        "δV": "Pᵀ δO",
    }


def test_multi_head_attention_is_written_once_with_the_head_index():
    eqs = printed("mha")
    assert eqs["δSᵢ"] == "Pᵢ ⊙ (δPᵢ − rowsum(δPᵢ ⊙ Pᵢ) 1ᵀ)"
    assert eqs["δOᵢ"] == "δY Wᵢ^Oᵀ"
    assert eqs["δX"] == "Σᵢ δQᵢ Wᵢ^Qᵀ + Σᵢ δKᵢ Wᵢ^Kᵀ + Σᵢ δVᵢ Wᵢ^Vᵀ"
    assert eqs["δWᵢ^Q"] == "Xᵀ δQᵢ" and eqs["δWᵢ^O"] == "Oᵢᵀ δY"


def test_layer_norm_input_gradient_is_the_compact_form():
    """∇_x = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / √(σ² + ε), g = ∇_y ⊙ γ (REFERENCES.md)."""
    eqs = printed("layernorm")
    g = "δY ⊙ (1 γ)"
    assert eqs["δX"] == (f"({g} − rowmean({g}) 1ᵀ − (rowmean({g} ⊙ X̂) 1ᵀ) ⊙ X̂)"
                         " ⊘ (std(X) 1ᵀ)")
    assert eqs["δγ"] == "colsum(δY ⊙ X̂)" and eqs["δβ"] == "colsum(δY)"


def test_transformer_routes_through_both_residuals():
    post, pre = printed("transformer"), printed("transformer", pre_ln=True)
    assert post["δH"] == "δZ W₁ᵀ + δR₂" and post["δA"] == "δR₁"
    assert pre["δH"].endswith(" + δY")              # the residual around the FFN
    assert pre["δX"].endswith(" + δH")              # the residual around the attention


def test_attention_over_the_encoder_sums_the_decoder_steps():
    eqs = printed("seq2seq-attention")
    assert eqs["δH⁽→⁾"] == "Σₜ ((δEₜ ⊙ (1 1ᵀ − Eₜ ⊙ Eₜ)) U_a⁽→⁾ + αₜ δcₜ⁽→⁾ᵀ)"
    assert eqs["δhⱼ⁽¹→⁾"] == "rowⱼ(δH⁽→⁾)ᵀ + W⁽¹→⁾ᵀ δaⱼ₊₁⁽¹→⁾"
    assert eqs["δαₜ"] == "H⁽→⁾ δcₜ⁽→⁾ + H⁽←⁾ δcₜ⁽←⁾"


MODELS = ["attention", "mha", "layernorm", "transformer", "seq2seq-attention"]


@pytest.mark.parametrize("name", MODELS)
def test_no_equation_expands_the_softmax(name):
    """No Jacobian diag(p) − p pᵀ and no outer product p pᵀ of a softmax's output."""
    d = symgrad.derive(symgrad.model(name))
    softmaxes = {eq.lhs for eq in d.forward if isinstance(eq.rhs, (Softmax, RowSoftmax))}
    for eq in d.backward:
        assert "diag" not in str(eq.rhs)
        for product in eq.rhs.atoms(MatMul):
            for a, b in zip(product.args, product.args[1:]):
                assert not (a in softmaxes and isinstance(b, Transpose) and b.args[0] == a), eq
        for h in eq.rhs.atoms(Had):
            assert not any(isinstance(f, MatMul) and f.args[0] in softmaxes for f in h.args[1:]), eq


FLAGS = (False, True)
CONFIGS = (
    [("attention", dict(causal=c, padding=p)) for c, p in itertools.product(FLAGS, FLAGS)]
    + [("mha", dict(causal=c, padding=p)) for c, p in itertools.product(FLAGS, FLAGS)]
    + [("layernorm", {})]
    + [("transformer", dict(pre_ln=pre, causal=c, gelu=g))
       for pre, c, g in itertools.product(FLAGS, FLAGS, FLAGS)]
    + [("transformer", dict(padding=True)), ("seq2seq-attention", {})]
)


@pytest.mark.parametrize("name, options", CONFIGS, ids=lambda c: str(c))
def test_every_configuration_passes_the_check(name, options):
    ref = reference(name, options)
    assert ref is not None
    report = check(symgrad.derive(symgrad.model(name, **options)), entry(name).CHECK_SIZES, ref,
                   T=3, B=2, seed=5)
    assert report.passed, report.problems
    assert report.worst_ref is not None and report.worst_ref <= 1e-10


def test_two_time_axes_of_different_lengths():
    compiled = symgrad.derive(symgrad.model("seq2seq-attention")).compile()
    assert compiled.inputs["x"][0] == "T_x" and compiled.inputs["u"][0] == "T"
    assert compiled.initial == {"h__1f0": ("B", "n"), "h__1b0": ("B", "n"), "s0": ("B", "n")}
