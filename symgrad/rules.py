"""The VJP table: for each operation, the cotangent each operand receives.

An entry takes the operation ``e``, the cotangent ``g`` arriving at it, and ``out``,
the name of the result (the node symbol when ``e`` is the whole right-hand side of a
definition, else ``e`` itself), and returns ``[(operand, cotangent), …]``.
Adding an operation is adding one entry here.
"""
from .algebra import (add, epow, fn, had, matmul, neg, scale, smul, sum_all, transpose)
from .functions import lookup
from .ops import Add, EPow, Fn, Had, MatMul, ScalarMul, Scale, Softmax, TimeSum, Transpose


def _matmul(e, g, out):
    fs = e.args
    pairs = []
    for i, f in enumerate(fs):
        parts = ([transpose(matmul(*fs[:i]))] if i else []) + [g] \
            + ([transpose(matmul(*fs[i + 1:]))] if i < len(fs) - 1 else [])
        pairs.append((f, matmul(*parts) if len(parts) > 1 else parts[0]))
    return pairs


def _had(e, g, out):
    fs = e.args
    return [(f, had(g, *fs[:i], *fs[i + 1:])) for i, f in enumerate(fs)]


def _fn(e, g, out):
    if e.order:
        raise NotImplementedError("second derivatives are not derived")
    entry = lookup(e.impl)
    primed = entry.primed or e.name != e.impl
    return [(e.x, had(g, fn(e.name, e.impl, e.x, 1) if primed else entry.deriv(out, e.x)))]


def _softmax(e, g, out):
    # s ⊙ (g − (sᵀ g) 1): the compact form, never the Jacobian diag(s) − s sᵀ
    return [(e.x, add(had(out, g), neg(matmul(out, matmul(transpose(out), g)))))]


VJP = {
    Add: lambda e, g, out: [(a, g) for a in e.args],
    Scale: lambda e, g, out: [(e.x, scale(e.coef, g))],
    MatMul: _matmul,
    Had: _had,
    Transpose: lambda e, g, out: [(e.args[0], transpose(g))],
    ScalarMul: lambda e, g, out: [(e.s, sum_all(had(g, e.x))), (e.x, smul(e.s, g))],
    Fn: _fn,
    EPow: lambda e, g, out: [(e.x, scale(e.p, had(g, epow(e.x, e.p - 1))))],
    Softmax: _softmax,
    TimeSum: lambda e, g, out: [(e.x, g)],
}
