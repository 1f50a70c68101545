"""Pullbacks within one step: the transpose of ∂u/∂v applied to a cotangent of u.

∂u/∂v is the derivative of u's value with respect to v through the forward equations of u's
step, every route summed, every other quantity held fixed (the other states of the previous
step, the inputs, the parameters). Pulling a cotangent δu back through those equations in
reverse order, with the VJP table, gives (∂u/∂v)ᵀ δu: a Jacobian as the deltas see it.
"""
from .algebra import add
from .derive import pullback
from .errors import ModelError
from .symbols import Delta, Seq, Sym, Zero


def local_vjp(model, of, wrt):
    """(expression, seed): (∂of/∂wrt)ᵀ δof as an expression in the seed leaf δof, with ``of``
    at its template step (the axis' step variable) and ``wrt`` at the same offset from it."""
    defs = {d.name: d for d in model.definitions}
    if of.name not in defs:
        raise ModelError(f"∂{of}/∂{wrt}: {of.name} is not a node of the model {model.name}")
    template = defs[of.name].symbol
    offset = 0
    if isinstance(of, Seq) and isinstance(wrt, Seq):
        k = wrt.time - of.time
        if not k.is_Integer:
            raise ModelError(f"∂{of}/∂{wrt}: the two steps must differ by a fixed number")
        offset = int(k)
    seed = Delta(template)
    cotangents = {of.name: seed}
    found = []
    for d in reversed(model.definitions):
        g = cotangents.pop(d.name, None)
        if g is None:
            continue
        for leaf, c in pullback(d.rhs, g, d.symbol):
            if leaf.name == wrt.name and _offset(leaf) == offset:
                found.append(c)
            elif leaf.name in defs and _offset(leaf) == 0 and not (
                    leaf.name == wrt.name and isinstance(leaf, Sym)):
                cotangents[leaf.name] = add(cotangents[leaf.name], c) if leaf.name in cotangents else c
    total = add(*found) if found else Zero(wrt.rows, 1)
    return total, seed


def _offset(leaf):
    return leaf.offset if isinstance(leaf, Seq) else 0
