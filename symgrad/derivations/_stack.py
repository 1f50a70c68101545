"""Stacked and bidirectional layers of any recurrent cell.

Layer l reads the layer below through one input matrix per direction below, as in
Graves, Mohamed & Hinton, "Speech recognition with deep recurrent neural networks"
(ICASSP 2013), eqs. 11–12. So every equation stays in textbook form, with no
concatenation. A cell is ``cell(M, inputs, tag, reverse) -> output``. ``inputs`` is
``[(symbol, suffix)]`` and each input gets its own matrix, named base + tag + suffix.
Tags are ``__1``, ``__2`` for layers and ``__1f``, ``__1b`` for directions. They print as
superscripts: y⁽²⁾, y⁽¹←⁾.
"""
from functools import reduce
from operator import add

from symgrad.dsl import Option
from symgrad.errors import ModelError

LAYER_OPTIONS = {
    "layers": Option(minimum=1, help="layers stacked, each reading the one below (Graves et al. 2013)"),
    "bidirectional": Option(help="each layer also runs backwards in time; the next reads both directions"),
}


def stack(M, cell, x, layers, bidirectional):
    """``layers`` layers of ``cell`` over x; returns the top layer's outputs as [(symbol, suffix)]."""
    if not isinstance(layers, int) or layers < 1:
        raise ModelError(f"model {M.name}: --layers must be a whole number ≥ 1, not {layers!r}")
    directions = ("f", "b") if bidirectional else ("",)
    inputs = [(x, "")]
    for layer in range(1, layers + 1):
        tag = f"__{layer}" if layers > 1 or bidirectional else ""
        inputs = [(cell(M, inputs, tag + d, d == "b"), d) for d in directions]
    M.options.update(layers=layers, bidirectional=bidirectional)
    return inputs


def input_terms(M, base, tag, inputs, rows, transpose=False):
    """Σ over inputs of W_src src, one matrix per input (W_z x, or W_z⁽²→→⁾ y⁽¹→⁾ + W_z⁽²→←⁾ y⁽¹←⁾);
    with ``transpose``, src W_srcᵀ for inputs whose rows are positions."""
    if transpose:
        return total(src @ M.param(f"{base}{tag}{suffix}", rows, src.cols).T for src, suffix in inputs)
    return total(M.param(f"{base}{tag}{suffix}", rows, src.rows) @ src for src, suffix in inputs)


def total(terms):
    return reduce(add, terms)


def previous(state, reverse):
    """The state the step reads: h_{t-1}, or h_{t+1} for a layer that runs backwards."""
    return state.next if reverse else state.prev


def pick(kind, value, choices):
    """A variant name, case-insensitive, or a clear error listing the choices."""
    for name in choices:
        if str(value).lower() == name.lower():
            return name
    raise ModelError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")
