"""Printed names: one subscript group for a step after the last (T+1), upright subscript words."""
import symgrad
from symgrad.render.names import latex_name, text_name


def test_a_reverse_state_after_the_last_step_is_one_subscript_group():
    """The initial state of a backward layer sits at T+1: h_{T+1}⁽¹←⁾, never h_T+1⁽¹←⁾."""
    text = str(symgrad.derive(symgrad.model("rnn", bidirectional=True)))
    assert "δh_{T+1}⁽¹←⁾ = W⁽¹←⁾ᵀ δa_T⁽¹←⁾" in text
    assert "_T+1" not in text
    latex = symgrad.derive(symgrad.model("rnn", bidirectional=True)).to_latex()
    assert r"\delta h_{T+1}^{(1\leftarrow)} &= {W^{(1\leftarrow)}}^{\top} \delta a_{T}^{(1\leftarrow)}" in latex


def test_a_second_time_axis_keeps_its_length_in_one_group():
    text = str(symgrad.derive(symgrad.model("seq2seq-attention")))
    assert "δh_{T_x+1}⁽¹←⁾ = W⁽¹←⁾ᵀ δa_{T_x}⁽¹←⁾" in text and "_T_x" not in text
    assert latex_name("h", symgrad.symbols.T + 1) == "h_{T+1}"


def test_subscript_words_are_upright_and_letters_stay_math():
    assert latex_name("d_model") == r"d_{\text{model}}"
    assert latex_name("W_z") == "W_{z}" and latex_name("T_x") == "T_{x}"
    assert latex_name("W_ir") == "W_{ir}"          # PyTorch's two-letter indices are math, as its docs print them
    assert text_name("d_model") == "d_model" and text_name("W_z") == "W_z" and text_name("h", 0) == "h₀"
