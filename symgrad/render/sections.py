"""What a derivation shows, in what order, shared by every renderer."""
from ..ops import HeadSum, MatMul, RowSoftmax
from ..symbols import Ones
from .names import latex_name, text_name, text_sub
from .notation import plain_symbol
from .printer import latex, text


def sections(d):
    """[(title, equations)] in reading order; empty sections are left out."""
    parts = [
        ("Forward pass", d.forward),
        ("Deltas", d.deltas),
        ("Input gradients", d.inputs),
        ("Initial-state gradients", d.initial),
        ("Parameter gradients", d.params),
    ]
    return [(title, eqs) for title, eqs in parts if eqs]


def notes(d, tex=False):
    """Conventions a reader needs to read the equations right: unicode text, or with ``tex``
    LaTeX text with ``$…$`` math (for sheets and Markdown pages)."""
    def math(plain, latex_form):
        return "$" + latex_form + "$" if tex else plain

    def names(syms):
        return ", ".join(math(text(s), latex(s)) for s in syms)

    m = d.model
    delta = math("δ", r"\delta")
    out = []
    for axis, length in m.axes.items():
        size = latex_name(str(length))
        steps = math(f"{axis} = 1…{length}", axis + r" = 1, \dots, " + size)
        total = math("Σ" + text_sub(axis), r"\sum_{" + axis + "}")
        after = math(f"{length}+1", size + "+1")
        out.append(f"steps {steps}; {total} sums over them; every {delta} at {after} is zero")
    if d.initial:
        states = names(plain_symbol(eq.lhs.var) for eq in d.initial)
        values = names(eq.lhs.var for eq in d.initial)
        backwards = any(eq.lhs.var.time != 0 for eq in d.initial)
        out.append(f"the states {states} start from given values {values}"
                   + (" (a state that runs backwards starts after the last step)" if backwards else "")
                   + ": their gradients are exact for any value")
    forward = [eq.rhs for eq in d.forward]
    if any(e.atoms(RowSoftmax) for e in forward):
        out.append("rows are positions; softmax of a matrix is taken row by row")
    if any(isinstance(f, Ones) for e in forward for mm in e.atoms(MatMul) for f in mm.args):
        ones, repeat = math("1", r"\mathbf{1}"), math("1 b", r"\mathbf{1} b")
        rowsum = math("rowsum(X) = X 1", r"\operatorname{rowsum}(X) = X \mathbf{1}")
        colsum = math("colsum(X) = 1ᵀ X", r"\operatorname{colsum}(X) = \mathbf{1}^{\top} X")
        out.append(f"{ones} is a column of ones: {repeat} repeats the row vector {math('b', 'b')} "
                   f"on every row; {rowsum}, {colsum}")
    if any(e.atoms(HeadSum) for e in forward):
        heads = math(str(m.head_dim), latex_name(str(m.head_dim)))
        out.append(f"{math('i', 'i')} indexes the {heads} heads; " + math("Σᵢ", r"\sum_{i}") + " sums over them")
    if m.loss_name:
        loss = math(f"δv = ∂{text_name(m.loss_name)}/∂v",
                    r"\delta v = \partial " + latex_name(m.loss_name) + r" / \partial v")
        out.append(f"{loss}; the batch loss is the sum over examples")
    else:
        outs = names(plain_symbol(m.declared[o]) for o in m.outputs)
        verb = f"the outputs {outs} receive" if len(m.outputs) > 1 else f"the output {outs} receives"
        out.append(math("Δ", r"\Delta") + f" is the delta {verb} from the layer above")
    written = "as a derivative" if d.style == "derivative" else "in closed form"
    out.append(f"style: {d.style}, with " + math("f′", "f'") + f" written {written}")
    return out
