"""What a derivation shows, in what order, shared by every renderer."""
from ..symbols import T
from .names import text_name


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
    if m.sequence:
        out.append("steps t = 1…T; Σₜ sums over them; every δ at T+1 is zero")
        if m.states:
            init = ", ".join(text_name(s, 0 if d < 0 else T + 1) for s, d in m.states.items())
            out.append(f"initial state {init} is an input: its gradient is exact for any value")
    if m.loss_name:
        out.append(f"δv = ∂{m.loss_name}/∂v; the batch loss is the sum over examples")
    else:
        outs = ", ".join(text_name(o) for o in m.outputs)
        verb = "the outputs " + outs + " receive" if len(m.outputs) > 1 else f"the output {outs} receives"
        out.append(f"Δ is the delta {verb} from the layer above")
    out.append(f"style: {d.style} (f′ written {'as a derivative' if d.style == 'derivative' else 'in closed form'})")
    return out
