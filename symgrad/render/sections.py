"""What a derivation shows, in what order, shared by every renderer."""
from ..ops import HeadSum, Indicator, MatMul, RowSoftmax
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
    if any(eq.rhs.atoms(Indicator) for eq in d.forward + d.backward):
        out.append("[P] is 1 at the steps where P holds and 0 at the others (Iverson's bracket): "
                   "[t = T] X is X at the last step only")
    if d.truncate:
        k, first = d.truncate, text_name(next(iter(m.states)), 0)
        out.append(f"truncated BPTT in chunks of {k} steps (1…{k}, {k + 1}…{2 * k}, …): [t mod {k} ≠ 0] is 0 "
                   f"where t ends a chunk, so no gradient flows from chunk j+1 back into chunk j; "
                   f"the states still flow forward, and δ{first} gets chunk 1's gradient"
                   + (f" (a state that runs backwards is cut by [t mod {k} ≠ 1])"
                      if any(o > 0 for o in m.states.values()) and k > 1 else ""))
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
