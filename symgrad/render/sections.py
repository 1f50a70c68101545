"""What a derivation shows, in what order, shared by every renderer."""
from ..ops import HeadSum, MatMul, RowSoftmax
from ..symbols import Ones
from .names import text_name, text_sub


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


def notes(d):
    """Conventions a reader needs to read the equations right."""
    m = d.model
    out = []
    for axis, length in m.axes.items():
        sub = text_sub(axis)
        out.append(f"steps {axis} = 1…{length}; Σ{sub} sums over them; every δ at {length}+1 is zero")
    if m.states:
        init = ", ".join(text_name(s) for s in m.states)
        out.append(f"the states {init} start from given values (h₀, or the step after the last for a "
                   "state that runs backwards): their gradients are exact for any value")
    forward = [eq.rhs for eq in d.forward]
    if any(e.atoms(RowSoftmax) for e in forward):
        out.append("rows are positions; softmax of a matrix is taken row by row")
    if any(isinstance(f, Ones) for e in forward for mm in e.atoms(MatMul) for f in mm.args):
        out.append("1 is a column of ones: 1 b repeats the row vector b on every row; "
                   "rowsum(X) = X 1, colsum(X) = 1ᵀ X")
    if any(e.atoms(HeadSum) for e in forward):
        out.append(f"i indexes the {m.head_dim} heads; Σᵢ sums over them")
    if m.loss_name:
        out.append(f"δv = ∂{m.loss_name}/∂v; the batch loss is the sum over examples")
    else:
        outs = ", ".join(text_name(o) for o in m.outputs)
        verb = "the outputs " + outs + " receive" if len(m.outputs) > 1 else f"the output {outs} receives"
        out.append(f"Δ is the delta {verb} from the layer above")
    out.append(f"style: {d.style} (f′ written {'as a derivative' if d.style == 'derivative' else 'in closed form'})")
    return out
