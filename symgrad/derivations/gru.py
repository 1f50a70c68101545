"""The gated recurrent unit, as a layer whose output h receives the delta Δ_t from above.

``cho``: Cho et al., "Learning Phrase Representations using RNN Encoder–Decoder for
Statistical Machine Translation" (EMNLP 2014, arXiv:1406.1078v3), eqs. 5–8, with the reset
gate applied before the product U (r ⊙ h_{t-1}) and no biases, as in the paper.
``cudnn``: the form of torch.nn.GRU and cuDNN, with the reset gate applied after the
product r ⊙ (W_hn h_{t-1} + b_hn) and two biases per gate.
In both, z weighs the previous state: h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t. The candidate
h̃ is PyTorch's n_t; ā is its pre-activation.
"""
from symgrad.dsl import Model, Option, sigma, tanh

from ._stack import LAYER_OPTIONS, input_terms, pick, previous, stack

SUMMARY = "GRU: Cho et al. (reset before the product) or PyTorch/cuDNN (after), as a layer"
SOURCE = ("Cho et al. Learning Phrase Representations using RNN Encoder–Decoder for "
          "Statistical Machine Translation. EMNLP 2014, arXiv:1406.1078v3, eqs. 5–8; "
          "variant cudnn: PyTorch torch.nn.GRU documentation")
CHECK_SIZES = {"m": 3, "n": 4}

VARIANTS = {
    "cho": "Cho et al. 2014: reset before the product, no biases",
    "cudnn": "PyTorch / cuDNN: reset after the product, two biases per gate",
}
OPTIONS = {"variant": Option(choices=VARIANTS, help="where the reset gate applies"), **LAYER_OPTIONS}


def reference(variant="cho", layers=1, bidirectional=False):
    """One hand-written reference per form, for a single layer."""
    if layers != 1 or bidirectional:
        return None
    return "symgrad.references." + {"cho": "gru", "cudnn": "gru_cudnn"}[pick("GRU variant", variant, VARIANTS)]


def build(variant="cho", layers=1, bidirectional=False):
    variant = pick("GRU variant", variant, VARIANTS)
    M = Model("gru", sequence=True, title=f"GRU: {VARIANTS[variant]}", source=SOURCE,
              options={"variant": variant})
    m, n = M.dims("m n")
    x = M.input("x", m)
    cell = cho_cell if variant == "cho" else cudnn_cell
    outs = stack(M, lambda M, inputs, tag, reverse: cell(M, inputs, tag, reverse, n),
                 x, layers, bidirectional)
    M.output(*(h for h, _ in outs))
    return M


def cho_cell(M, inputs, tag, reverse, n):
    h = M.state("h" + tag, n, reverse=reverse)
    h_prev = previous(h, reverse)
    P = lambda name: M.param(name + tag, n, n)  # noqa: E731
    r = sigma(M.define("rbar" + tag, input_terms(M, "W_r", tag, inputs, n) + P("U_r") @ h_prev))
    z = M.define("z" + tag, sigma(M.define("zbar" + tag, input_terms(M, "W_z", tag, inputs, n)
                                           + P("U_z") @ h_prev)))
    r = M.define("r" + tag, r)
    a = M.define("a" + tag, input_terms(M, "W", tag, inputs, n) + P("U") @ (r * h_prev))
    htilde = M.define("htilde" + tag, tanh(a))
    return M.define(h, z * h_prev + (1 - z) * htilde)


def cudnn_cell(M, inputs, tag, reverse, n):
    h = M.state("h" + tag, n, reverse=reverse)
    h_prev = previous(h, reverse)
    W = lambda name: M.param(name + tag, n, n)  # noqa: E731
    b = lambda name: M.param(name + tag, n)  # noqa: E731
    r = M.define("r" + tag, sigma(M.define(
        "rbar" + tag, input_terms(M, "W_ir", tag, inputs, n) + b("b_ir") + W("W_hr") @ h_prev + b("b_hr"))))
    z = M.define("z" + tag, sigma(M.define(
        "zbar" + tag, input_terms(M, "W_iz", tag, inputs, n) + b("b_iz") + W("W_hz") @ h_prev + b("b_hz"))))
    a = M.define("a" + tag, input_terms(M, "W_in", tag, inputs, n) + b("b_in")
                 + r * (W("W_hn") @ h_prev + b("b_hn")))
    htilde = M.define("htilde" + tag, tanh(a))
    return M.define(h, (1 - z) * htilde + z * h_prev)
