"""The VJP table: for each operation, the cotangent each operand receives.

An entry takes the operation ``e``, the cotangent ``g`` arriving at it, and ``out``,
the name of the result (the node symbol when ``e`` is the whole right-hand side of a
definition, else ``e`` itself), and returns ``[(operand, cotangent), …]``.
Adding an operation is adding one entry here.
"""
import sympy as sp

from .algebra import (add, epow, fn, had, indicator, layernorm, matmul, neg, rowstd, rowsum, scale, smul,
                      spread, step_row, sum_all, transpose)
from .functions import lookup
from .ops import (Add, EPow, Fn, Had, HeadSum, Indicator, LayerNorm, MatMul, RowSoftmax, RowStd,
                  ScalarMul, Scale, Softmax, Stack, TimeSum, Transpose)
from .symbols import step_variable


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


def _row_softmax(e, g, out):
    # P ⊙ (G − rowsum(G ⊙ P) 1ᵀ), row by row (FlashAttention, App. B)
    return [(e.x, had(out, add(g, neg(spread(rowsum(had(g, out)), e.cols)))))]


def _layernorm(e, g, out):
    # (G − rowmean(G) 1ᵀ − X̂ ⊙ rowmean(G ⊙ X̂) 1ᵀ) ⊘ σ 1ᵀ, with X̂ = out and σ = √(var + ε)
    mean = lambda a: scale(sp.Rational(1) / e.cols, rowsum(a))  # noqa: E731
    centred = add(g, neg(spread(mean(g), e.cols)), neg(had(out, spread(mean(had(g, out)), e.cols))))
    return [(e.x, had(centred, epow(spread(rowstd(e.x, e.eps), e.cols), -1)))]


def _rowstd(e, g, out):
    # ∂σ/∂x_j = x̂_j / d: the normalised row, over the row length
    d = e.x.cols
    return [(e.x, scale(sp.Rational(1) / d, had(layernorm(e.x, e.eps), spread(g, d))))]


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
    RowSoftmax: _row_softmax,
    LayerNorm: _layernorm,
    RowStd: _rowstd,
    TimeSum: lambda e, g, out: [(e.x, g)],
    # stacking the steps h_j as rows: each step gets its own row of the cotangent back
    Stack: lambda e, g, out: [(e.x, step_row(g, step_variable(e.axis), e.axis))],
    HeadSum: lambda e, g, out: [(e.x, g)],
    # a term present at some steps only passes the cotangent back at those steps only
    Indicator: lambda e, g, out: [(e.x, indicator(g, e.cond))],
}
