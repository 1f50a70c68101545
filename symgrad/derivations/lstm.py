"""The LSTM of Greff et al., "LSTM: A Search Space Odyssey" (IEEE TNNLS 28(10), 2017,
arXiv:1503.04069), §II: the vanilla LSTM with peepholes, as a layer. Its input from above
is the delta Δ_t. The eight variants of §III change the forward equations only; their
backward equations come out of the engine.
"""
from symgrad.dsl import Model, Option, activation, sigma

from ._stack import LAYER_OPTIONS, input_terms, pick, previous, stack, total

SUMMARY = "LSTM with peepholes (Greff et al.) and its eight variants, as a layer"
SOURCE = ("Greff, Srivastava, Koutník, Steunebrink, Schmidhuber. LSTM: A Search Space "
          "Odyssey. IEEE TNNLS 28(10), 2017, arXiv:1503.04069, §II (vanilla), §III (variants)")
CHECK_SIZES = {"m": 3, "n": 4}

VARIANTS = {
    "vanilla": "vanilla, with peepholes",
    "NIG": "no input gate (i = 1)",
    "NFG": "no forget gate (f = 1)",
    "NOG": "no output gate (o = 1)",
    "NIAF": "no input activation function (g(x) = x)",
    "NOAF": "no output activation function (h(x) = x)",
    "NP": "no peepholes",
    "CIFG": "coupled input and forget gate (f = 1 − i)",
    "FGR": "full gate recurrence (gates also read i, f, o of the previous step)",
}
GATES = "ifo"
OPTIONS = {"variant": Option(choices=VARIANTS, help="the variant of Greff et al. §III"), **LAYER_OPTIONS}


def reference(variant="vanilla", layers=1, bidirectional=False):
    """Greff's vanilla LSTM written by hand; without peepholes it is also the NP variant."""
    plain = layers == 1 and not bidirectional
    return "symgrad.references.lstm" if plain and pick("LSTM variant", variant, VARIANTS) in ("vanilla", "NP") else None


def build(variant="vanilla", layers=1, bidirectional=False):
    variant = pick("LSTM variant", variant, VARIANTS)
    M = Model("lstm", sequence=True, title=f"LSTM: {VARIANTS[variant]}", source=SOURCE,
              options={"variant": variant})
    m, n = M.dims("m n")
    x = M.input("x", m)
    outs = stack(M, lambda M, inputs, tag, reverse: cell(M, inputs, tag, reverse, variant, n),
                 x, layers, bidirectional)
    M.output(*(y for y, _ in outs))
    return M


def cell(M, inputs, tag, reverse, variant, n):
    """One LSTM layer of the given variant; returns its output y."""
    g = (lambda v: v) if variant == "NIAF" else activation("g", "tanh")
    h = (lambda v: v) if variant == "NOAF" else activation("h", "tanh")
    y, c = M.state("y" + tag, n, reverse=reverse), M.state("c" + tag, n, reverse=reverse)
    y_prev, c_prev = previous(y, reverse), previous(c, reverse)
    gates = [q for q in GATES if not (variant == f"N{q.upper()}G" or (variant == "CIFG" and q == "f"))]
    fed_back = {q: M.state(q + tag, n, reverse=reverse) for q in GATES} if variant == "FGR" else {}

    def pre(q, peephole=None):
        terms = [input_terms(M, f"W_{q}", tag, inputs, n), M.param(f"R_{q}{tag}", n, n) @ y_prev]
        if fed_back and q in GATES:
            terms += [M.param(f"R_{q}{s}{tag}", n, n) @ previous(fed_back[s], reverse) for s in GATES]
        if peephole is not None and variant != "NP":
            terms.append(M.param(f"p_{q}{tag}", n) * peephole)
        return M.define(f"{q}bar{tag}", total(terms + [M.param(f"b_{q}{tag}", n)]))

    def gate(q, peephole):
        return M.define(fed_back.get(q, q + tag), sigma(pre(q, peephole)))

    zbar = pre("z")
    z = zbar if variant == "NIAF" else M.define("z" + tag, g(zbar))
    i = gate("i", c_prev) if "i" in gates else None
    f = gate("f", c_prev) if "f" in gates else M.define("f" + tag, 1 - i) if variant == "CIFG" else None
    M.define(c, (z * i if i is not None else z) + (c_prev * f if f is not None else c_prev))
    o = gate("o", c) if "o" in gates else None
    return M.define(y, h(c) * o if o is not None else h(c))
