"""What each symbol of a model is (shape, role, short definition), for sheets and web pages.

Cells are LaTeX text with ``$…$`` math; the page decides how to set them.
"""
from ..symbols import Seq, Sym
from .names import latex_name
from .printer import latex
from .width import math_width

ROLES = {"param": "parameter", "input": "input", "target": "target", "onehot": "one-hot target",
         "mask": r"additive mask, each entry $0$ or $-\infty$", "causal": "causal mask (constant)"}
SHORT = 12.0     # em: a definition this short is shown beside its symbol


def symbol_rows(d):
    """[(symbol, shape, meaning)] for every declared symbol, in declaration order."""
    m = d.model
    rows = []
    for sym in m.declared.values():
        shape = "$" + r" \times ".join(str(x) if str(x).isdigit() else latex_name(str(x)) for x in sym.shape) + "$"
        role = "state, read at the next step" if sym.name in m.states else \
            "node" if sym.role == "node" else ROLES.get(sym.role, sym.role)
        if getattr(sym, "per_head", False):
            role += ", one per head $i$"
        definition = next((df for df in m.definitions if df.name == sym.name), None)
        if definition is not None and math_width(latex(definition.rhs)) <= SHORT:
            role += f": ${latex(definition.symbol)} = {latex(definition.rhs)}$"
        rows.append((f"${latex(sym)}$", shape, role))
    return rows


def sizes_sentence(d):
    """The sizes, and what δ means for this model."""
    m = d.model
    sizes = ", ".join(f"${latex_name(n)}$" for n in m.dims_)
    of = "loss" if m.loss_name else r"outputs' pairing with their deltas $\Delta$"
    return f"Sizes: {sizes}. $\\delta v$ is the gradient of the {of} with respect to $v$."


def plain_symbol(sym):
    """A symbol without its step (y for yₜ), as graphs and tables name arrays."""
    return Sym(sym.name, *sym.shape, sym.role, getattr(sym, "per_head", False)) if isinstance(sym, Seq) else sym
