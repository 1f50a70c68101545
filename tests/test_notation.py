"""verify reads derivations the way books, papers and blogs print them (issue 11).

Each notation is pasted as a source writes it: Goodfellow et al.'s chapter 10 LaTeX (its
\\Vh macros, (t) superscripts, ∇ and Jacobians, entries), Greff et al.'s LSTM paper (y^t
superscripts, R_z^T), FlashAttention's backward (dV = Pᵀ dO, D = rowsum(dO ∘ O)), layer-norm
derivations (μ, σ², x̂), blog-style LSTM deltas (δc_j^t), plain text. A correct line must
be right; a line corrupted by one known mistake must be wrong with that mistake named.
The correct lines are transcriptions of equations known right (the sources, checked
against finite differences elsewhere in the suite); each corruption is a single
mutation whose diagnosis names exactly that mutation.
"""
import json

import pytest
from click.testing import CliRunner

import symgrad
from symgrad import catalog
from symgrad.cli import main
from symgrad.verify import verify_lines

_DERIVED = {}


def derivation(name, **options):
    key = (name, tuple(sorted(options.items())))
    if key not in _DERIVED:
        _DERIVED[key] = symgrad.derive(catalog.model(name, **options))
    return _DERIVED[key]


def judge(name, *lines, aliases=None, **options):
    """The verdicts on the lines of a file (one per right-hand side)."""
    return verify_lines(["% model: " + name] + list(lines), derivation(name, **options),
                        "hand.tex", aliases).verdicts


def statuses(verdicts):
    return [v.status for v in verdicts]


def only(verdicts):
    (v,) = verdicts
    return v


# -- 1. equals chains ---------------------------------------------------------------------------

GOODFELLOW_10_18 = (r"(\nabla_{\boldsymbol{o}^{(t)}} L)_i = \frac{\partial L}{\partial o_i^{(t)}} "
                    r"= \frac{\partial L}{\partial L^{(t)}} \frac{\partial L^{(t)}}{\partial o_i^{(t)}} "
                    r"= \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}")


def test_each_form_of_a_chain_gets_its_own_verdict():
    assert statuses(judge("rnn", GOODFELLOW_10_18)) == ["right", "right", "right"]
    corrupted = judge("rnn", GOODFELLOW_10_18.replace(r"y^{(t)}}", r"y^{(t+1)}}"))
    assert statuses(corrupted) == ["right", "right", "wrong"]
    assert corrupted[2].problems == ["wrong time step: yₜ₊₁ has yₜ₊₁ where yₜ belongs"]
    assert [v.form for v in corrupted] == [r"\frac{\partial L}{\partial o_i^{(t)}}",
                                           r"\frac{\partial L}{\partial L^{(t)}} \frac{\partial L^{(t)}}{\partial o_i^{(t)}}",
                                           r"\hat y_i^{(t)} - \mathbf{1}_{i,y^{(t+1)}}"]


def test_an_align_row_starting_with_equals_is_another_form_of_the_equation_above():
    verdicts = judge("rnn", r"\begin{align}",
                     r"  \nabla_{\boldsymbol{V}} L &= \sum_t \sum_i \Big( \frac{\partial L}{\partial o_i^{(t)}} \Big) \nabla_{\boldsymbol{V}} o_i^{(t)} \\",
                     r"  &= \sum_t (\nabla_{\boldsymbol{o}^{(t)}} L) \boldsymbol{h}^{(t)^\top} ,",
                     r"\end{align}")
    assert statuses(verdicts) == ["right", "right"] and {v.lhs for v in verdicts} == {"δV"}


def test_an_equation_wrapped_over_rows_is_one_equation():
    verdicts = judge("lstm", r"\begin{align*}",
                     r"\delta c_t &= \delta y_t \odot o_t \odot h'(c_t) + p_o \odot \delta\bar{o}_t \\",
                     r"  &\quad + p_i \odot \delta\bar{i}_{t+1} + p_f \odot \delta\bar{f}_{t+1}",
                     r"  + \delta c_{t+1} \odot f_{t+1}",
                     r"\end{align*}")
    assert statuses(verdicts) == ["right"] and verdicts[0].line == 3


# -- 2. steps written every way -------------------------------------------------------------------

RNN_DH = {
    "y^t (Greff)": r"\delta h^t = V^\top \delta o^t + W^\top \delta a^{t+1}",
    "h^{(t)} (Goodfellow)": r"\nabla_{h^{(t)}} L = V^\top \nabla_{o^{(t)}} L + W^\top \nabla_{a^{(t+1)}} L",
    "h^<t> (Ng)": r"\delta h^{\langle t \rangle} = V^\top \delta o^{\langle t \rangle} + W^\top \delta a^{\langle t+1 \rangle}",
    "h_t": r"\delta h_t = V^\top \delta o_t + W^\top \delta a_{t+1}",
    "h_{t-1}": r"\delta W = \sum_t \delta a_t h_{t-1}^\top",
    "h[t]": r"\delta h[t] = V^\top \delta o[t] + W^\top \delta a[t+1]",
    "omitted": r"\delta h = V^\top \delta o + W^\top \delta a_{t+1}",
    "plain text": "dh[t] = V.T @ do[t] + W.T @ da[t+1]",
}


@pytest.mark.parametrize("line", RNN_DH.values(), ids=RNN_DH.keys())
def test_steps_written_every_way(line):
    assert statuses(judge("rnn", line)) == ["right"]


def test_a_step_written_with_angle_brackets_one_off_is_wrong():
    v = only(judge("rnn", RNN_DH["h^<t> (Ng)"].replace(r"a^{\langle t+1 \rangle}", r"a^{\langle t \rangle}")))
    assert v.status == "wrong" and v.problems == ["wrong time step: Wᵀ δaₜ has δaₜ where δaₜ₊₁ belongs"]


@pytest.mark.parametrize("last", [r"\tau", "T"])
def test_tau_or_T_is_the_last_step(last):
    line = rf"\nabla_{{h^{{({last})}}}} L = V^\top \nabla_{{o^{{({last})}}}} L"
    assert statuses(judge("rnn", line)) == ["right"]
    v = only(judge("rnn", line + rf" + W^\top \nabla_{{a^{{({last})}}}} L"))
    assert v.problems == ["wrong time step: Wᵀ δa_T has δa_T where δa_{T+1} belongs"]


def test_greff_writes_the_step_as_a_superscript_and_R_z_T_as_the_transpose():
    line = (r"\delta y^t = \Delta^t + R_z^T \delta\bar{z}^{t+1} + R_i^T \delta\bar{i}^{t+1} "
            r"+ R_f^T \delta\bar{f}^{t+1} + R_o^T \delta\bar{o}^{t+1}")
    assert statuses(judge("lstm", line)) == ["right"]


# -- 3. bold, fonts and macros -----------------------------------------------------------------

@pytest.mark.parametrize("font", [r"\mathbf", r"\boldsymbol", r"\bm", r"\vec", r"\mathit", r"\mathrm",
                                  r"\textrm", r"\text"])
def test_fonts_around_names_also_inside_nabla_and_partial(font):
    line = (rf"\frac{{\partial}}{{\partial {font}{{c}}}} L = \sum_t \nabla_{{{font}{{o}}^{{(t)}}}} L")
    assert statuses(judge("rnn", line)) == ["right"]
    line = rf"\nabla_{{{font}{{V}}}} L = \sum_t \nabla_{{{font}{{o}}^{{(t)}}}} L \, {font}{{h}}^{{(t)\top}}"
    assert statuses(judge("rnn", line)) == ["right"]


def test_the_files_own_macros_are_expanded():
    verdicts = judge("rnn", r"\newcommand{\Vh}{\boldsymbol{\mathit{h}}}", r"\def\vo{{\bm{o}}}",
                     r"\newcommand{\MW}{\mathbf{W}}", r"\renewcommand{\MV}{\mathbf{V}}",
                     r"\DeclareMathOperator{\diag}{diag}",
                     r"\nabla_{\Vh^{(t)}} L = \MW^\top \diag(1 - (\Vh^{(t+1)})^2) \nabla_{\Vh^{(t+1)}} L"
                     r" + \MV^\top \nabla_{\vo^{(t)}} L")
    assert statuses(verdicts) == ["right"]


def test_a_macro_that_never_ends_is_one_unreadable_line():
    v = only(judge("rnn", r"\def\a{\b}\def\b{\a}", r"\delta h_t = \a"))
    assert v.status == "unreadable" and v.problems == ["macro \\a expands without end"]


# -- 4. derivative notations -------------------------------------------------------------------

DERIVATIVES = [r"\frac{\partial L}{\partial c} = \sum_t \frac{\partial L}{\partial o_t}",
               r"\frac{dL}{dc} = \sum_t \frac{dL}{do_t}",
               r"dL/dc = \sum_t dL/do_t",
               r"\partial_{c} L = \sum_t \partial_{o_t} L",
               r"\nabla_c L = \sum_t \nabla_{o_t} L",
               r"\delta c = \sum_t \delta o_t",
               "dc = sum_t(do[t])",
               r"\frac{\partial \mathcal{L}}{\partial c} = \sum_t \frac{\partial \mathcal{L}}{\partial o_t}",
               r"\nabla_c E = \sum_t \nabla_{o_t} E",
               r"\nabla_c J = \sum_t \nabla_{o_t} J",
               r"\frac{\partial \ell}{\partial c} = \sum_t \frac{\partial \ell}{\partial o_t}",
               r"\frac{\mathrm{d} L}{\mathrm{d} c} = \sum_t \frac{\mathrm{d} L}{\mathrm{d} o_t}"]


@pytest.mark.parametrize("line", DERIVATIVES)
def test_derivative_notations_and_loss_names(line):
    assert statuses(judge("rnn", line)) == ["right"]


def test_a_wrong_sign_in_a_derivative_notation():
    v = only(judge("rnn", r"\frac{\partial L}{\partial c} = -\sum_t \frac{\partial L}{\partial o_t}"))
    assert v.problems == ["wrong sign: −(Σₜ δoₜ) should be Σₜ δoₜ"]


def test_d_gamma_and_an_alias_for_a_loss_that_is_not_guessable():
    assert statuses(judge("layernorm", r"d\gamma = \operatorname{colsum}(dY \odot \hat{X})",
                          r"d\beta = \mathbf{1}^\top dY")) == ["right", "right"]
    verdicts = judge("rnn", r"\frac{\partial C}{\partial c} = \sum_t \frac{\partial C}{\partial o_t}",
                     r"\frac{\partial Q}{\partial c} = \sum_t \frac{\partial Q}{\partial o_t}", aliases={"Q": "L"})
    assert statuses(verdicts) == ["right", "right"]


# -- 5. products and powers ----------------------------------------------------------------------

def test_cdot_between_two_vectors_is_read_element_wise_and_says_so():
    v = only(judge("lstm", r"\delta \bar{z}_t = \delta c_t \cdot i_t \cdot (1 - \text{tanh}^2(\bar{z}_t))"))
    assert v.status == "right"
    assert v.notes[0] == ("· between the vectors δcₜ and iₜ read as the element-wise product ⊙ "
                          "(a dot product would be a number)")


@pytest.mark.parametrize("line", [
    r"\delta \bar{z}_t = \delta c_t \circ i_t \circ (1 - z_t^2)",
    r"\delta \bar{z}_t = \delta c_t \odot i_t \odot (1 - \tanh^2 \bar{z}_t)",
    r"\delta \bar{z}_t = \delta c_t * i_t * (1 - \tanh^2(\bar{z}_t))",
    "δz̄ₜ = δcₜ ⊙ iₜ ⊙ g′(z̄ₜ)",
    r"\delta W_z = \sum_t \delta\bar{z}_t \cdot x_t^{\top}",
    r"\delta x_t = W_z^{\mathsf T} \delta\bar{z}_t + W_i^\intercal \delta\bar{i}_t + W_f^{T} \delta\bar{f}_t + W_o' \delta\bar{o}_t",
])
def test_products_powers_and_transposes_written_every_way(line):
    assert statuses(judge("lstm", line)) == ["right"]


def test_tanh_without_its_square_is_found():
    v = only(judge("lstm", r"\delta \bar{z}_t = \delta c_t \odot i_t \odot (1 - \tanh(\bar{z}_t))"))
    assert v.problems == ["missing term: −δcₜ ⊙ iₜ ⊙ zₜ ⊙ zₜ", "extra term: −δcₜ ⊙ iₜ ⊙ tanh(z̄ₜ)"]


@pytest.mark.parametrize("line", [r"dQ = 1/\sqrt{d_k} \, dS K", r"dQ = \frac{1}{\sqrt{D}} dS\, K",
                                  r"dK = \frac{dS^\top Q}{\sqrt{d_k}}"])
def test_scale_factors_written_every_way(line):
    assert statuses(judge("attention", line, aliases={"D": "d_k"})) == ["right"]


def test_one_over_D_where_one_over_root_D_belongs():
    v = only(judge("attention", r"dQ = \frac{1}{D} dS\, K", aliases={"D": "d_k"}))
    assert v.problems == ["wrong factor: 1/d_k δS K should be 1/√(d_k) δS K"]


def test_goodfellows_transposed_superscript_keeps_its_transpose():
    """h^{(t)^\\top} (issue 9): with it the line is right, without it the shapes do not chain."""
    right = r"\nabla_{V} L = \sum_t (\nabla_{o^{(t)}} L) h^{(t)^\top}"
    assert statuses(judge("rnn", right)) == ["right"]
    v = only(judge("rnn", right.replace(r"^\top", "")))
    assert v.problems == ["shape: the product of δoₜ (k×1) and hₜ (n×1) does not chain"]


# -- 6. sums with bounds -------------------------------------------------------------------------

@pytest.mark.parametrize("line", [r"\delta R_z = \sum_{t=1}^{T} \delta\bar{z}_t y_{t-1}^\top",
                                  r"\delta R_z = \sum_{t=0}^{T-1} \delta\bar{z}_{t+1} y_{t}^\top",
                                  r"\delta R_z = \sum_{s=1}^{T} \delta\bar{z}_s y_{s-1}^\top",
                                  r"\delta b_z = \sum_{t=1}^{\tau} \delta\bar{z}_t"])
def test_sums_over_steps_with_their_bounds(line):
    assert statuses(judge("lstm", line)) == ["right"]


def test_a_sum_that_starts_a_step_late_misses_the_initial_state():
    v = only(judge("lstm", r"\delta p_i = \sum_{t=1}^{T-1} c_t \odot \delta\bar{i}_{t+1}"))
    assert v.problems == ["the sum is shifted by +1 step: Σₜ cₜ ⊙ δīₜ₊₁ is Σₜ δīₜ ⊙ cₜ₋₁ without the "
                          "term of the first step (1), where the initial state enters"]
    assert "the term at t = T is zero (every δ after the last step is)" in v.notes


def test_sums_over_the_heads_and_over_a_second_time_axis():
    heads = (r"\delta X = \sum_{i} \delta Q_i (W_i^Q)^\top + \sum_i \delta K_i (W^K_i)^\top "
             r"+ \sum_{i=1}^{h} \delta V_i W_i^{V\top}")
    assert statuses(judge("mha", heads)) == ["right"]
    v = only(judge("mha", heads.replace(r"\sum_{i} ", "", 1)))
    assert v.problems == ["the right-hand side reads one head i, but δX is not per head: sum it over the heads (Σᵢ)"]
    encoder = (r"\delta h^{(1\rightarrow)}_j = (\delta H^{(\rightarrow)})_{j,:}^\top "
               r"+ W^{(1\rightarrow)\top} \delta a_{j+1}^{(1\rightarrow)}")
    assert statuses(judge("seq2seq-attention", encoder)) == ["right"]


# -- 7. reductions, ones and broadcasting ---------------------------------------------------------

@pytest.mark.parametrize("line", [
    r"dS = P \odot (dP - \operatorname{rowsum}(dP \odot P) \mathbf{1}^\top)",
    "dS = P ⊙ (dP − rowsum(dO ⊙ O) 𝟏ᵀ)",
    r"dS = P \circ (dP - \mathrm{rowsum}(dO \circ O))",
])
def test_rowsum_and_ones_sized_by_the_context(line):
    assert statuses(judge("attention", line)) == ["right"]


def test_a_column_broadcast_over_the_columns_says_so():
    v = only(judge("attention", r"dS = P \circ (dP - \mathrm{rowsum}(dO \circ O))"))
    assert v.notes == ["the column −rowsum(δO ⊙ O) is repeated over the columns (as −rowsum(δO ⊙ O) 1ᵀ)"]


def test_colsum_and_mean_for_layer_norm():
    verdicts = judge("layernorm", r"d\gamma = \operatorname{colsum}(dY \odot \hat{X})",
                     r"\frac{\partial L}{\partial X} = \frac{1}{\sigma} \odot \left(\frac{\partial L}{\partial "
                     r"\hat{X}} - \operatorname{mean}\left(\frac{\partial L}{\partial \hat{X}}\right) - \hat{X} "
                     r"\odot \operatorname{mean}\left(\frac{\partial L}{\partial \hat{X}} \odot \hat{X}\right)\right)")
    assert statuses(verdicts) == ["right", "right"]
    v = only(judge("layernorm", r"d\gamma = \mathbf{1}^\top (dY \odot X)"))
    assert v.problems == ["missing term: colsum(δY ⊙ X̂)", "extra term: colsum(δY ⊙ X)"]


# -- 8. auxiliary definitions ---------------------------------------------------------------------

FLASH = [r"D = \operatorname{rowsum}(dO \circ O)", r"dS_{ij} = P_{ij}(dP_{ij} - D_i)",
         r"\tau = 1/\sqrt{d_k}", r"dQ = \tau\, dS K", r"dK = \tau\, dS^\top Q", r"dV = P^\top dO"]


def test_flashattention_backward_with_its_own_names():
    assert statuses(judge("attention", *FLASH)) == ["defined", "right", "defined", "right", "right", "right"]
    v = judge("attention", *FLASH[:-1], r"dV = P dO")[-1]
    assert v.problems == ["missing transpose: P δO has P where Pᵀ belongs"]


def test_layer_norms_standard_names_and_the_classic_derivation():
    verdicts = judge("layernorm", r"\mu = \frac{1}{N}\sum_j x_j",
                     r"\hat{x} = (x - \mu)/\sqrt{\sigma^2 + \epsilon}",
                     r"dx = \frac{1}{N\sqrt{\sigma^2+\epsilon}}\left(N\, d\hat{x} - \sum_j d\hat{x}_j "
                     r"- \hat{x} \sum_j d\hat{x}_j \hat{x}_j\right)", aliases={"N": "d_model", "x": "X"})
    assert statuses(verdicts) == ["defined", "forward", "right"]
    assert "σ² read as the variance of the rows of X" in verdicts[2].notes


# -- 9. Jacobians ------------------------------------------------------------------------------------

def test_the_textbook_chain_rule_with_jacobians_and_its_layouts():
    v = only(judge("rnn", r"\nabla_{h^{(t)}} L = \left(\frac{\partial h^{(t+1)}}{\partial h^{(t)}}\right)^\top "
                          r"\nabla_{h^{(t+1)}} L + (\partial o^{(t)}/\partial h^{(t)})^\top \nabla_{o^{(t)}} L"))
    assert v.status == "right"
    assert v.notes == ["∂hₜ₊₁/∂hₜ read in numerator layout: it is square, so the shapes cannot decide "
                       "(write layout: denominator to change)",
                       "∂oₜ/∂hₜ read in numerator layout (rows of oₜ): the shapes decide"]


def test_without_transposes_the_shapes_decide_the_denominator_layout_for_the_whole_form():
    v = only(judge("rnn", r"\nabla_{h^{(t)}} L = \frac{\partial h^{(t+1)}}{\partial h^{(t)}} \nabla_{h^{(t+1)}} L "
                          r"+ \frac{\partial o^{(t)}}{\partial h^{(t)}} \nabla_{o^{(t)}} L"))
    assert v.status == "right"
    assert v.notes == ["∂hₜ₊₁/∂hₜ read in denominator layout, as the form's other Jacobians, whose shapes decide",
                       "∂oₜ/∂hₜ read in denominator layout (rows of hₜ): the shapes decide"]


def test_a_layout_directive_decides_a_square_jacobian():
    line = r"\nabla_{h^{(t)}} L = \frac{\partial h^{(t+1)}}{\partial h^{(t)}} \nabla_{h^{(t+1)}} L + V^\top \nabla_{o^{(t)}} L"
    assert statuses(judge("rnn", "% layout: denominator", line)) == ["right"]
    v = only(judge("rnn", line))
    assert v.problems == ["missing term: Wᵀ δaₜ₊₁", "extra term: ∂hₜ₊₁/∂hₜ δhₜ₊₁"]


def test_a_jacobian_forgetting_its_transpose_is_wrong():
    v = only(judge("rnn", r"\nabla_{h^{(t)}} L = \left(\frac{\partial h^{(t+1)}}{\partial h^{(t)}}\right)^\top "
                          r"\nabla_{h^{(t+1)}} L"))
    assert v.problems == ["missing term: Vᵀ δoₜ", "missing term: Wᵀ δaₜ₊₁", "extra term: ∂hₜ₊₁/∂hₜᵀ δhₜ₊₁"]


@pytest.mark.parametrize("line", [
    r"\nabla_{c} L = \sum_t \Big( \frac{\partial o^{(t)}}{\partial c} \Big)^\top \nabla_{o^{(t)}} L",
    r"\nabla_{b} L = \sum_t \Big( \frac{\partial h^{(t)}}{\partial b^{(t)}} \Big)^\top \nabla_{h^{(t)}} L",
    r"\nabla_{b} L = \sum_t \operatorname{diag}\Big(1 - \big(h^{(t)}\big)^2\Big) \nabla_{h^{(t)}} L",
    r"\nabla_{W} L = \sum_t \sum_i \Big( \frac{\partial L}{\partial h_i^{(t)}} \Big) \nabla_{W^{(t)}} h_i^{(t)}",
])
def test_goodfellows_parameter_gradients_through_jacobians_and_step_copies(line):
    assert statuses(judge("rnn", line)) == ["right"]


def test_the_misprinted_product_is_wrong_and_names_its_shapes():
    """Goodfellow's 10.21 (issue 9): matrix · vector · matrix."""
    v = only(judge("rnn", r"\nabla_{h^{(t)}} L = W^\top (\nabla_{h^{(t+1)}} L) \operatorname{diag}(1 - "
                          r"(h^{(t+1)})^2) + V^\top (\nabla_{o^{(t)}} L)"))
    assert v.status == "wrong"
    assert v.problems == ["shape: the factors do not chain: Wᵀ (n×n) · δhₜ₊₁ (n×1) · "
                          "diag(1 − hₜ₊₁ ⊙ hₜ₊₁) (n×n)"]
    assert v.expected == "δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁"


# -- 10. entry by entry -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, line", [
    ("lstm", r"\delta c_j^t = \delta y_j^t o_j^t h'(c_j^t) + p_{o,j} \delta\bar{o}_j^t + p_{i,j} "
             r"\delta\bar{i}_j^{t+1} + p_{f,j} \delta\bar{f}_j^{t+1} + \delta c_j^{t+1} f_j^{t+1}"),
    ("lstm", r"\delta y_j^t = \Delta_j^t + \sum_k R_{z,kj} \delta\bar{z}_k^{t+1} + \sum_k R_{i,kj} "
             r"\delta\bar{i}_k^{t+1} + \sum_k R_{f,kj} \delta\bar{f}_k^{t+1} + \sum_k R_{o,kj} \delta\bar{o}_k^{t+1}"),
    ("lstm", r"\frac{\partial L}{\partial W_{z,ij}} = \sum_t \delta\bar{z}_i^t x_j^t"),
    ("rnn", r"\delta h_j^{t} = \sum_k V_{kj} \delta o_k^{t} + \sum_k W_{kj}\, \delta a_k^{t+1}"),
    ("rnn", r"(\nabla_{o^{(t)}} L)_i = \hat{y}^{(t)}_i - \mathbf{1}_{i = y^{(t)}}"),
    ("rnn", r"(\nabla_{o^{(t)}} L)_i = \hat{y}^{(t)}_i - \mathbf{1}_{i,y^{(t)}}"),
])
def test_index_notation_reads_as_the_vector_equation(name, line):
    assert statuses(judge(name, line)) == ["right"]


def test_index_notation_with_the_indices_swapped_is_a_missing_transpose():
    v = only(judge("rnn", r"\delta h_j^{t} = \sum_k V_{kj} \delta o_k^{t} + \sum_k W_{jk}\, \delta a_k^{t+1}"))
    assert v.problems == ["missing transpose: W δaₜ₊₁ has W where Wᵀ belongs"]


def test_an_entry_equation_missing_the_peephole_terms():
    v = only(judge("lstm", r"\delta c_j^t = \delta y_j^t o_j^t h'(c_j^t) + \delta c_j^{t+1} f_j^{t+1}"))
    assert v.problems == ["missing term: p_o ⊙ δōₜ", "missing term: p_i ⊙ δīₜ₊₁", "missing term: p_f ⊙ δf̄ₜ₊₁"]


# -- 11. closed forms over time -------------------------------------------------------------------------

CLOSED = r"\nabla_{h_t} L = \sum_{i=t}^{T} (W^\top)^{T-i} V^\top \nabla_{o_{T+t-i}} L"


def test_a_closed_form_over_time_is_not_checkable_never_wrong():
    v = only(judge("rnn", CLOSED))
    assert v.status == "not checkable"
    assert v.problems == ["the sum from t to T has a range that depends on a step: a closed form over "
                          "time, not checked (symgrad checks recurrences one step at a time)"]


def test_a_closed_form_after_a_recurrence_leaves_the_recurrence_judged():
    verdicts = judge("rnn", r"\nabla_{h_t} L = V^\top \nabla_{o_t} L + W^\top \operatorname{diag}(1-h_{t+1}^2)"
                            r"\nabla_{h_{t+1}} L = \sum_{k=t}^{T} (W^\top)^{k-t} V^\top \nabla_{o_{k}} L")
    assert statuses(verdicts) == ["right", "not checkable"]


def test_a_matrix_power_with_a_symbolic_exponent_is_not_checkable():
    v = only(judge("rnn", r"\nabla_{h_t} L = (W^\top)^{T-t} V^\top \nabla_{o_T} L"))
    assert v.status == "not checkable" and v.problems[0].startswith("(Wᵀ)^{T-t} is a matrix power")


# -- 12. a model file beside the derivation ------------------------------------------------------------

MODEL_FILE = '''from symgrad.dsl import Model, tanh


def build():
    M = Model("mine", sequence=True)
    m, n = M.dims("m n")
    x, W, U = M.input("x", m), M.param("W", n, n), M.param("U", n, m)
    h = M.state("h", n)
    M.define(h, tanh(W @ h.prev + U @ x))
    M.output(h)
    return M
'''


def test_model_file_is_found_beside_the_derivation(tmp_path, monkeypatch):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "mine.py").write_text(MODEL_FILE, encoding="utf-8")
    (folder / "bptt.tex").write_text("% model: mine.py\n"
                                     r"\delta h_t = \Delta_t + W^\top (\delta h_{t+1} \odot (1 - h_{t+1}^2))" "\n",
                                     encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["verify", "notes/bptt.tex", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model"] == "mine"


# -- unknown symbols ---------------------------------------------------------------------------------

def test_an_unknown_symbol_names_the_closest_and_the_models_symbols():
    v = only(judge("rnn", r"\nabla_{\Vo^{(t)}} L = \hat{y}^{(t)} - y^{(t)}"))
    assert v.status == "unreadable"
    assert v.problems == [r"unknown symbol \Vo; did you mean o? (the model has x, y, b, W, h, U, a, c, V, o, ŷ, ℓ, L)"]
    v = only(judge("rnn", r"\delta h_t = V^\top \delta o_t + W^\top \delta a_{t+1} + Z"))
    assert v.problems == ["unknown symbol Z (the model has x, y, b, W, h, U, a, c, V, o, ŷ, ℓ, L)"]


@pytest.mark.parametrize("lhs", ["δy_T+1⁽¹←⁾", "δy_{T+1}⁽¹←⁾", "δy_(T+1)⁽¹←⁾", r"\delta y_{T+1}^{(1\leftarrow)}"])
def test_the_step_after_the_last_of_a_layer_that_runs_backwards_written_every_way(lhs):
    """The initial-state gradient of a backward layer, as symgrad prints it and as people would."""
    rhs = " + ".join(f"R_{g}⁽¹←⁾ᵀ δ{b}_T⁽¹←⁾" for g, b in zip("zifo", ["z̄", "ī", "f̄", "ō"]))
    assert statuses(judge("lstm", f"{lhs} = {rhs}", layers=2, bidirectional=True)) == ["right"]


# -- 13. Iverson's bracket: a loss at the last step, an input at the first, truncated BPTT ---------

M2O = {"task": "many-to-one"}
DH_LAST = {        # δh_t of a sequence classifier: V's route only at the last step (Goodfellow §10.2.1)
    "symgrad's text": "δhₜ = [t = T] Vᵀ δo + Wᵀ δaₜ₊₁",
    "symgrad's LaTeX": r"\delta h_{t} &= \left[t = T\right] {V}^{\top} \delta o + {W}^{\top} \delta a_{t+1}",
    "𝟙[·] (ML papers)": r"\nabla_{h^{(t)}} L = \mathbb{1}[t = \tau]\, V^\top \nabla_{o} L + W^\top "
                        r"\operatorname{diag}\big(1 - (h^{(t+1)})^2\big) \nabla_{h^{(t+1)}} L",
    "1 with a subscript (textbooks)": r"\delta h_t = \mathbf{1}_{t=T} V^\top \delta o + W^\top \delta a_{t+1}",
    "[\\![·]\\!] (Concrete Mathematics)": r"\delta h_t = [\![t = T]\!]\, V^\top \delta o + W^\top \delta a_{t+1}",
    "⟦·⟧ (stmaryrd)": r"\delta h_t = \llbracket t = T \rrbracket V^\top \delta o + W^\top \delta a_{t+1}",
    "𝟙{·} (statistics)": r"\delta h_t = \mathbb{1}\{t = T\}\, V^\top \delta o + W^\top \delta a_{t+1}",
    "Kronecker's δ": r"\delta h_t = \delta_{t\tau} V^\top \delta o + W^\top \delta a_{t+1}",
    "after the term": r"\delta h_t = V^\top \delta o \, \mathbb{1}(t = T) + W^\top \delta a_{t+1}",
    "code": "dh[t] = V.T @ do * (t == T) + W.T @ da[t+1]",
}


@pytest.mark.parametrize("line", DH_LAST.values(), ids=DH_LAST.keys())
def test_iverson_brackets_written_every_way(line):
    assert statuses(judge("rnn", line, **M2O)) == ["right"]


def test_a_bracket_at_the_first_step_where_the_last_belongs_is_wrong():
    v = only(judge("rnn", DH_LAST["1 with a subscript (textbooks)"].replace("t=T", "t=1"), **M2O))
    assert v.problems == ["missing term: [t = T] Vᵀ δo", "extra term: [t = 1] Vᵀ δo"]
    assert v.expected == "δhₜ = [t = T] Vᵀ δo + Wᵀ δaₜ₊₁"


def test_the_bracket_of_an_input_fed_at_the_first_step_only():
    """One-to-many (captioning): x enters a₁ only."""
    line = r"a^{(t)} = b + W h^{(t-1)} + \mathbb{1}[t = 1]\, U x"
    assert statuses(judge("rnn", line, task="one-to-many")) == ["forward"]
    v = only(judge("rnn", line.replace("t = 1", "t = T"), task="one-to-many"))
    assert v.status == "wrong" and v.expected == "aₜ = b + W hₜ₋₁ + [t = 1] U x"


def test_kronecker_delta_of_entries_is_no_step_condition():
    v = only(judge("rnn", r"\delta h_t = \delta_{ij} V^\top \delta o + W^\top \delta a_{t+1}", **M2O))
    assert v.status == "unreadable"
    assert v.problems == ["δ_{ij} is read as Kronecker's delta of two steps (δ_{tT} is [t = T]): "
                          "a step is t, t+1, t-1, a number, T or T+1, not 'i'"]


TRUNCATED_DH = r"\delta h_t = V^\top \delta o_t + \mathbb{1}[t \bmod 2 \neq 0]\, W^\top \delta a_{t+1}"


def judge_truncated(*lines):
    """Verdicts through the command, with the file's own 'truncate:' line if it has one."""
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tbptt.tex"
        path.write_text("\n".join(("% model: rnn",) + lines) + "\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["verify", str(path), "--format", "json"])
    return json.loads(result.output)["equations"]


def test_truncated_bptt_written_as_a_paper_writes_it():
    """Williams & Peng's truncated BPTT with chunks of 2 steps: no gradient across a chunk's end."""
    (v,) = judge_truncated("% truncate: 2", TRUNCATED_DH)
    assert v["status"] == "right"
    (v,) = judge_truncated("% truncate: 2", r"\delta h_t = V^\top \delta o_t + [(t+1) \operatorname{mod} 2 \neq 1]\, "
                                            r"W^\top \delta a_{t+1}")
    assert v["status"] == "right"


def test_a_cut_at_the_wrong_phase_is_wrong():
    (v,) = judge_truncated("% truncate: 2", TRUNCATED_DH.replace(r"\neq 0", r"\neq 1"))
    assert v["problems"] == ["missing term: [t mod 2 ≠ 0] Wᵀ δaₜ₊₁", "extra term: [t mod 2 ≠ 1] Wᵀ δaₜ₊₁"]


def test_a_cut_judged_without_truncation_says_how_to_ask_for_it():
    (v,) = judge_truncated(TRUNCATED_DH)
    assert v["problems"] == ["missing term: Wᵀ δaₜ₊₁", "extra term: [t mod 2 ≠ 0] Wᵀ δaₜ₊₁"]
    assert v["notes"] == ["[t mod 2 ≠ 0] reads as truncated BPTT's cut, but the derivation is not "
                          "truncated: add 'truncate: 2' to the file (or --truncate 2) to judge against "
                          "truncated BPTT"]


# -- 14. a Jacobian on the left-hand side --------------------------------------------------------------

SQUARE = ("read in numerator layout: it is square, so the shapes cannot decide "
          "(write layout: denominator to change)")


@pytest.mark.parametrize("line", [
    "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W",                                          # symgrad jacobian rnn
    r"\frac{\partial h^{(t)}}{\partial h^{(t-1)}} = \operatorname{diag}\big(1 - (h^{(t)})^2\big) W",
    r"\frac{\partial h_{t+1}}{\partial h_{t}} = \operatorname{diag}(1 - h_{t+1}^2)\, W",
])
def test_the_one_step_jacobian_of_the_rnn(line):
    v = only(judge("rnn", line))
    assert v.status == "right" and v.notes[0].endswith("on the left " + SQUARE)


def test_a_jacobian_with_a_spurious_transpose_is_wrong():
    v = only(judge("rnn", "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) Wᵀ"))
    assert v.problems == ["spurious transpose: diag(1 − hₜ ⊙ hₜ) Wᵀ has Wᵀ where W belongs"]
    assert v.expected == "∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W"


def test_the_denominator_layout_of_a_square_jacobian_is_the_files_to_say():
    """Pascanu et al. (2013) write ∂xₜ/∂xₜ₋₁ = W_recᵀ diag(σ′(xₜ₋₁)): the denominator layout."""
    line = r"\frac{\partial h_t}{\partial h_{t-1}} = W^\top \operatorname{diag}(1 - h_t^2)"
    v = only(judge("rnn", line))
    assert v.problems == ["product in the wrong order: Wᵀ diag(1 − hₜ ⊙ hₜ) is the transpose of "
                          "diag(1 − hₜ ⊙ hₜ) W"]
    v = only(judge("rnn", "% layout: denominator", line))
    assert v.status == "right"
    assert v.notes == ["∂hₜ/∂hₜ₋₁ on the left read in denominator layout: it is square, so the shapes cannot decide"]


@pytest.mark.parametrize("rhs, layout", [("V", "numerator layout (rows of oₜ)"),
                                         ("V^\\top", "denominator layout (rows of hₜ)")])
def test_the_shapes_decide_the_layout_of_a_jacobian_that_is_not_square(rhs, layout):
    v = only(judge("rnn", rf"\frac{{\partial o_t}}{{\partial h_t}} = {rhs}"))
    assert v.status == "right" and v.notes == [f"∂oₜ/∂hₜ on the left read in {layout}: the shapes decide"]


def test_the_lstm_cell_highway_alone_is_a_partial_derivative():
    """∂cₜ/∂cₜ₋₁ = diag(fₜ) is the route through cₜ's own equation; with peepholes the gates
    depend on cₜ₋₁ too (Greff et al.), and the total derivative adds their routes."""
    line = r"\frac{\partial c^t}{\partial c^{t-1}} = \operatorname{diag}(f^t)"
    v = only(judge("lstm", line))
    assert v.problems == ["missing term: diag(p_i ⊙ zₜ ⊙ σ′(īₜ))", "missing term: diag(p_f ⊙ cₜ₋₁ ⊙ σ′(f̄ₜ))"]
    assert statuses(judge("lstm", line, variant="NP")) == ["right"]


def test_a_jacobian_within_the_step_and_a_chain_of_jacobians():
    v = only(judge("lstm", "∂yₜ/∂cₜ = diag(oₜ ⊙ h′(cₜ))"))
    assert v.problems == ["missing term: diag(p_o ⊙ h(cₜ) ⊙ σ′(ōₜ))"]
    assert v.expected == "∂yₜ/∂cₜ = diag(oₜ ⊙ h′(cₜ)) + diag(p_o ⊙ h(cₜ) ⊙ σ′(ōₜ))"
    assert statuses(judge("lstm", "∂yₜ/∂cₜ₋₁ = ∂yₜ/∂cₜ ∂cₜ/∂cₜ₋₁")) == ["right"]


def test_a_jacobian_across_several_steps_is_not_checkable_never_wrong():
    v = only(judge("rnn", r"\frac{\partial h_t}{\partial h_{t-2}} = \frac{\partial h_t}{\partial h_{t-1}} "
                          r"\frac{\partial h_{t-1}}{\partial h_{t-2}}"))
    assert v.status == "not checkable"
    assert v.problems == ["∂hₜ/∂hₜ₋₂ spans 2 steps: a product of one-step Jacobians, a closed form over "
                          "time, not checked (symgrad checks recurrences one step at a time)"]
    v = only(judge("rnn", r"\frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}(1 - h_k^2) W"))
    assert v.status == "not checkable"
    assert v.problems == ["a product over steps (∏): a closed form over time, not checked (symgrad "
                          "checks recurrences one step at a time)"]


def test_a_jacobian_on_the_left_entry_by_entry_in_either_layout():
    """(∂hₜ/∂hₜ₋₁)_{ij} = ∂h_{t,i}/∂h_{t-1,j} in numerator layout, ∂h_{t,j}/∂h_{t-1,i} in denominator."""
    numerator = r"(\partial h_t/\partial h_{t-1})_{ij} = (1 - h_{t,i}^2)\, W_{ij}"
    denominator = r"(\partial h_t/\partial h_{t-1})_{ij} = W_{ji} (1 - h_{t,j}^2)"
    assert statuses(judge("rnn", numerator)) == ["right"]
    assert statuses(judge("rnn", "% layout: denominator", denominator)) == ["right"]
    assert statuses(judge("rnn", denominator)) == ["wrong"]
