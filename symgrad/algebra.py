"""Canonical forms: the constructors every expression is built with, and the rewrites.

A canonical expression has its scalar coefficient outside (``Scale``), transposes on
leaves only, sums and Hadamard products flattened with their terms sorted, like terms
collected, equal Hadamard bases merged into powers, and 1×1 factors of a matrix product
pulled out as scalars (so ``ŷ (ŷᵀ g)`` never becomes the outer product ``ŷ ŷᵀ g``).
Two facts about values are used: ``1ᵀ y = 1`` for a one-hot target and
``uᵀ (v ⊙ w) = 1ᵀ (u ⊙ v ⊙ w)`` when that lets a Hadamard power cancel.
"""
from fractions import Fraction
from collections import Counter
from functools import lru_cache

import sympy as sp

from .errors import ModelError, ShapeError
from .ops import (Add, Diag, EPow, Fn, Had, HeadSum, Indicator, Jacobian, LayerNorm, MatMul, RowSoftmax,
                  RowStd, ScalarMul, Scale, Softmax, Stack, StepRow, TimeSum, Transpose)
from .symbols import T, Cotangent, Delta, Ones, Seq, Sym, Zero, at_time, step_variable
from .tensor import Tensor

ONE = sp.Integer(1)
LEAVES = (Sym, Seq, Delta, Cotangent, Ones, Zero, Jacobian)


def as_coef(c):
    """A Python or SymPy number as a SymPy scalar (never parses text)."""
    if isinstance(c, sp.Basic) and not isinstance(c, Tensor):
        return c
    if isinstance(c, bool):
        raise TypeError("a boolean is not a coefficient")
    if isinstance(c, int):
        return sp.Integer(c)
    if isinstance(c, Fraction):
        return sp.Rational(c.numerator, c.denominator)
    if isinstance(c, float):
        return sp.Float(c)
    raise TypeError(f"not a scalar coefficient: {c!r}")


def lift(x, like):
    """A Python number in a DSL expression stands for that number times ones."""
    return x if isinstance(x, Tensor) else scale(x, Ones(*like.shape))


def shape_str(shape):
    return "×".join(str(d) for d in shape)


def _same_shapes(op, xs):
    first = xs[0]
    for x in xs[1:]:
        if x.shape != first.shape:
            raise ShapeError(f"{op} of operands of different shapes: {first} is "
                             f"{shape_str(first.shape)}, {x} is {shape_str(x.shape)}")


def split_coef(x):
    return (x.coef, x.x) if isinstance(x, Scale) else (ONE, x)


@lru_cache(maxsize=None)
def ckey(e):
    """An order-insensitive key: equal for a + b and b + a, and for a ⊙ b and b ⊙ a.

    Sums and Hadamard products keep the order they were written in (so a model's
    equations print as written); like terms and equal factors are found by this key.
    """
    if not isinstance(e, Tensor):
        return e
    keys = tuple(ckey(a) for a in e.args)
    if isinstance(e, (Add, Had)):
        return (type(e).__name__, frozenset(Counter(keys).items()))
    return (type(e).__name__, keys)


def _flatten(cls, factors):
    """Coefficient and flat factor list of a product, nested products of ``cls`` opened."""
    coef, flat = ONE, []
    for f in factors:
        c, core = split_coef(f)
        coef *= c
        opens = isinstance(core, cls) and not (cls is MatMul and core.shape == (ONE, ONE))
        flat.extend(core.args if opens else (core,))
    return coef, flat


def scale(c, x):
    c = as_coef(c)
    if c == 0 or isinstance(x, Zero):
        return Zero(*x.shape)
    if c == 1:
        return x
    if isinstance(x, Scale):
        return scale(c * x.coef, x.x)
    return Scale(c, x)


def neg(x):
    return scale(-1, x)


def add(*terms):
    flat = []
    for x in terms:
        flat.extend(x.args if isinstance(x, Add) else (x,))
    _same_shapes("sum", flat)
    coefs = {}
    for x in flat:
        if not isinstance(x, Zero):
            c, core = split_coef(x)
            first, total = coefs.get(ckey(core), (core, 0))
            coefs[ckey(core)] = (first, total + c)
    kept = [scale(c, core) for core, c in coefs.values() if c != 0]
    if not kept:
        return Zero(*flat[0].shape)
    return kept[0] if len(kept) == 1 else Add(*kept)


def _brackets_out(factors, build):
    """A product with every bracket [P] pulled in front of it: A ([P] B) = [P] (A B)."""
    conds, plain = [], []
    for f in factors:
        c, core = split_coef(f)
        while isinstance(core, Indicator):
            conds.append(core.cond)
            core = core.x
        plain.append(scale(c, core))
    out = build(*plain)
    for cond in conds:
        out = indicator(out, cond)
    return out


def smul(s, x):
    """A 1×1 expression ``s`` times ``x``."""
    if any(isinstance(split_coef(f)[1], Indicator) for f in (s, x)):
        return _brackets_out((s, x), smul)
    c, s = split_coef(s)
    if isinstance(s, Zero) or isinstance(x, Zero):
        return Zero(*x.shape)
    if isinstance(s, Ones):
        return scale(c, x)
    if x.shape == (ONE, ONE):
        return scale(c, had(s, x))
    if isinstance(x, ScalarMul):
        return scale(c, ScalarMul(had(s, x.s), x.x))
    cx, x = split_coef(x)
    return scale(c * cx, ScalarMul(s, x))


def matmul(*factors):
    if any(isinstance(split_coef(f)[1], Indicator) for f in factors):
        return _brackets_out(factors, matmul)
    coef, flat = _flatten(MatMul, factors)
    for a, b in zip(flat, flat[1:]):
        if a.cols != b.rows:
            raise ShapeError(f"matrix product of {a} ({shape_str(a.shape)}) and "
                             f"{b} ({shape_str(b.shape)}): inner sizes {a.cols} and {b.rows} differ")
    shape = (flat[0].rows, flat[-1].cols)
    if any(isinstance(f, Zero) for f in flat):
        return Zero(*shape)
    cores = flat
    if shape == (ONE, ONE) and all(f.shape == (ONE, ONE) for f in cores):
        return scale(coef, had(*cores))
    scalars = [f for f in cores if f.shape == (ONE, ONE)]
    chain = _contract(f for f in cores if f.shape != (ONE, ONE))
    c, chain = split_coef(chain)
    for s in scalars:
        chain = smul(s, chain)
    return scale(coef * c, chain)


def _contract(factors):
    """The product of a chain without 1×1 factors, applying the value facts pairwise."""
    coef, out = ONE, []
    for f in factors:
        out.append(f)
        while len(out) >= 2:
            fact = _pair_fact(out[-2], out[-1])
            if fact is None:
                break
            c, core = split_coef(fact)      # 1ᵀ 1 1ᵀ 1 counts twice
            coef, out[-2:] = coef * c, [core]
    if len(out) == 1:
        return scale(coef, out[0])
    return scale(coef, MatMul(*out) if len(out) > 1 else Ones(ONE, ONE))


def _pair_fact(a, b):
    """A simpler form of ``a b`` from a value fact, or None."""
    if isinstance(a, Ones) and isinstance(b, Ones):  # 1 1ᵀ is ones; 1ᵀ 1 counts
        return scale(a.cols, Ones(a.rows, b.cols))
    if isinstance(a, Ones):  # 1ᵀ v is already a sum; a one-hot v sums to one
        return Ones(ONE, ONE) if a.rows == 1 and _is_onehot(b) else None
    if a.rows == 1 and b.cols == 1 and (isinstance(b, Had) or isinstance(a, Transpose)):
        u = transpose(a)
        parts = b.args if isinstance(b, Had) else (b,)
        merged = had(u, *parts)
        c, core = split_coef(merged)
        if len(core.args if isinstance(core, Had) else (core,)) < 1 + len(parts):
            return scale(c, matmul(Ones(ONE, a.cols), core))
    return None


def _is_onehot(x):
    return isinstance(x, (Sym, Seq)) and x.role == "onehot"


def had(*factors):
    if any(isinstance(split_coef(f)[1], Indicator) for f in factors):
        return _brackets_out(factors, had)
    coef, flat = _flatten(Had, factors)
    _same_shapes("Hadamard product", flat)
    shape = flat[0].shape
    scalars, powers = [], {}
    for core in flat:
        if isinstance(core, ScalarMul):
            scalars.append(core.s)
            c, core = split_coef(core.x)
            coef *= c
        if isinstance(core, Zero):
            return Zero(*shape)
        if isinstance(core, Ones):
            continue
        b, p = (core.x, core.p) if isinstance(core, EPow) else (core, 1)
        first, total = powers.get(ckey(b), (b, 0))
        powers[ckey(b)] = (first, total + p)
    kept = [epow(b, p) for b, p in powers.values() if p != 0]
    core = Ones(*shape) if not kept else kept[0] if len(kept) == 1 else Had(*kept)
    for s in scalars:
        core = smul(s, core)
    return scale(coef, core)


def epow(x, p):
    p = sp.Rational(p)
    if p == 0 or isinstance(x, Ones):
        return Ones(*x.shape)
    if p == 1:
        return x
    if isinstance(x, Zero):
        if p < 0:
            raise ShapeError(f"element-wise power {p} of a zero matrix")
        return x
    if isinstance(x, EPow):
        return epow(x.x, x.p * p)
    c, core = split_coef(x)
    if c != 1 and not p.is_integer and not c.is_positive:
        raise ShapeError(f"a fractional power of a matrix scaled by {c}: {x}")
    return scale(c ** p, EPow(core, p) if not isinstance(core, Ones) else core)


def transpose(x):
    if isinstance(x, Transpose):
        return x.args[0]
    if isinstance(x, (Ones, Zero)):
        return type(x)(x.cols, x.rows)
    if x.shape == (ONE, ONE):
        return x
    if isinstance(x, Add):
        return add(*map(transpose, x.args))
    if isinstance(x, Scale):
        return scale(x.coef, transpose(x.x))
    if isinstance(x, MatMul):
        return matmul(*map(transpose, reversed(x.args)))
    if isinstance(x, Had):
        return had(*map(transpose, x.args))
    if isinstance(x, Fn):
        return fn(x.name, x.impl, transpose(x.x), x.order)
    if isinstance(x, EPow):
        return epow(transpose(x.x), x.p)
    if isinstance(x, ScalarMul):
        return smul(x.s, transpose(x.x))
    if isinstance(x, TimeSum):
        return timesum(transpose(x.x), x.axis)
    if isinstance(x, HeadSum):
        return headsum(transpose(x.x))
    if isinstance(x, Diag):
        return x
    if isinstance(x, Indicator):
        return indicator(transpose(x.x), x.cond)
    return Transpose(x)


def row_softmax(x):
    return RowSoftmax(x)


def layernorm(x, eps):
    return LayerNorm(x, as_coef(eps))


def rowstd(x, eps):
    return RowStd(x, as_coef(eps))


def rowsum(x):
    """X 1: the column of row sums."""
    return matmul(x, Ones(x.cols, ONE))


def spread(column, cols):
    """u 1ᵀ: a column repeated across ``cols`` columns (a per-row quantity, broadcast)."""
    return matmul(column, Ones(ONE, cols))


def fn(name, impl, x, order=0):
    from .functions import lookup
    lookup(impl)
    return Fn(name, impl, x, order)


def softmax(x):
    if x.cols != 1:
        raise ShapeError(f"softmax of {x} ({shape_str(x.shape)}): softmax takes a column vector")
    return Softmax(x)


def timesum(x, axis=None):
    """Σ over the steps of x's time axis (the one its time-indexed symbols read); what no step
    changes is summed T times over; a term that holds at one step only, [t = τ] X, is that
    step's X (Σₜ [t = 1] Uᵀ δaₜ = Uᵀ δa₁)."""
    c, core = split_coef(x)
    if isinstance(core, Zero):
        return core
    if axis is None:
        axes = free_axes(core)
        if len(axes) > 1:
            raise ModelError(f"Σₜ of {x}: it reads the steps of two time axes "
                             f"({', '.join(sorted(axes))}); sum over one of them first")
        if not axes:
            return scale(c * T, core)
        axis = axes.pop()
    terms = core.args if isinstance(core, Add) else (core,)
    fixed = [_fixed_step_value(term, axis) for term in terms]
    if all(f is None for f in fixed):
        return scale(c, TimeSum(core, axis))
    rest = [term for term, f in zip(terms, fixed) if f is None]
    kept = [f for f in fixed if f is not None] + ([TimeSum(add(*rest), axis)] if rest else [])
    return scale(c, add(*kept))


def _fixed_step_value(term, axis):
    """X_τ if term is a multiple of [t = τ] X (τ free of t), else None."""
    c, core = split_coef(term)
    if not isinstance(core, Indicator) or not isinstance(core.cond, sp.Eq):
        return None
    var = step_variable(axis)
    diff = sp.expand(core.cond.lhs - core.cond.rhs)
    slope, rest = diff.coeff(var), diff - diff.coeff(var) * var
    if slope not in (1, -1) or rest.has(var):
        return None
    return scale(c, rebuild(at_time(core.x, -rest / slope, var)))


def indicator(x, cond):
    """[cond] x; a condition that is decided (at a concrete step) gives x or zero."""
    if cond is sp.true:
        return x
    c, core = split_coef(x)
    if cond is sp.false or isinstance(core, Zero):
        return Zero(*x.shape)
    if isinstance(core, Indicator):
        return indicator(scale(c, core.x), sp.And(core.cond, cond))
    return scale(c, Indicator(core, cond))


def free_axes(expr):
    """The time axes whose steps expr reads outside a Σ over them or a stack of them
    (δaₜ reads t; Σₜ δaₜ reads none; a row of a stack's cotangent is read at its step)."""
    if isinstance(expr, Seq):
        return {expr.axis_name}
    if isinstance(expr, Stack):
        return set()
    if isinstance(expr, StepRow):
        return free_axes(expr.g) | {expr.axis}
    axes = set().union(*(free_axes(a) for a in expr.args if isinstance(a, Tensor)))
    if isinstance(expr, Indicator):     # [t = T] X reads the step t through its condition
        axes |= {s.name for s in expr.cond.free_symbols if s == step_variable(s.name)}
    return axes - {expr.axis} if isinstance(expr, TimeSum) else axes


def stack(x, axis, length):
    if x.cols != 1:
        raise ShapeError(f"stacking {x} ({shape_str(x.shape)}): only column vectors stack into rows")
    return Stack(x, axis, length)


def step_row(g, time, axis):
    if isinstance(g, Zero):
        return Zero(g.cols, ONE)
    return StepRow(g, time, axis)


def diag(v):
    """diag(v) for a column vector v (a scaled v gives a scaled diag)."""
    if v.cols != 1:
        raise ShapeError(f"diag of {v} ({shape_str(v.shape)}): diag takes a column vector")
    c, core = split_coef(v)
    if isinstance(core, Zero):
        return Zero(v.rows, v.rows)
    return scale(c, Diag(core))


def jacobian(of, wrt):
    """∂of/∂wrt for two column-vector nodes (numerator layout)."""
    for x in (of, wrt):
        if x.cols != 1:
            raise ShapeError(f"a Jacobian ∂{of}/∂{wrt} needs column vectors; {x} is {shape_str(x.shape)}")
    return Jacobian(of, wrt)


def headsum(x):
    c, core = split_coef(x)
    if isinstance(core, Zero):
        return core
    return scale(c, HeadSum(core))


def sum_all(x):
    """Σ of all entries of x, as 1ᵀ x 1."""
    return matmul(Ones(ONE, x.rows), x, Ones(x.cols, ONE))


# -- rewrites ---------------------------------------------------------------

def rebuild(expr, memo=None):
    """The canonical form of a tree whose parts may have been replaced (bottom-up)."""
    memo = {} if memo is None else memo
    if isinstance(expr, LEAVES):
        return expr
    if expr in memo:
        return memo[expr]
    r = lambda e: rebuild(e, memo)  # noqa: E731
    if isinstance(expr, Add):
        out = add(*map(r, expr.args))
    elif isinstance(expr, MatMul):
        out = matmul(*map(r, expr.args))
    elif isinstance(expr, Had):
        out = had(*map(r, expr.args))
    elif isinstance(expr, Transpose):
        out = transpose(r(expr.args[0]))
    elif isinstance(expr, Scale):
        out = scale(expr.coef, r(expr.x))
    elif isinstance(expr, ScalarMul):
        out = smul(r(expr.s), r(expr.x))
    elif isinstance(expr, Fn):
        out = fn(expr.name, expr.impl, r(expr.x), expr.order)
    elif isinstance(expr, EPow):
        out = epow(r(expr.x), expr.p)
    elif isinstance(expr, Softmax):
        out = softmax(r(expr.x))
    elif isinstance(expr, TimeSum):
        out = timesum(r(expr.x), expr.axis)
    elif isinstance(expr, Stack):
        out = stack(r(expr.x), expr.axis, expr.length)
    elif isinstance(expr, StepRow):
        out = step_row(r(expr.g), expr.time, expr.axis)
    elif isinstance(expr, HeadSum):
        out = headsum(r(expr.x))
    elif isinstance(expr, Diag):
        out = diag(r(expr.x))
    elif isinstance(expr, Indicator):
        out = indicator(r(expr.x), expr.cond)
    elif isinstance(expr, (RowSoftmax, LayerNorm, RowStd)):
        out = expr.func(r(expr.x), *expr.args[1:])
    else:
        raise TypeError(f"no canonical form for {type(expr).__name__}")
    memo[expr] = out
    return out


def substitute(expr, mapping):
    """Replace whole subtrees, then restore the canonical form (a tree where nothing was
    replaced is already canonical)."""
    if not mapping:
        return expr
    replaced = expr.xreplace(mapping)
    return expr if replaced is expr else rebuild(replaced)


def expand_derivatives(expr):
    """f'(x) written out in closed form (σ' → σ ⊙ (1 − σ)), where the function has one."""
    from .functions import lookup
    derivs = [e for e in sp.preorder_traversal(expr) if isinstance(e, Fn) and e.order == 1]
    mapping = {}
    for d in derivs:
        rule = lookup(d.impl).deriv
        if rule is not None:
            mapping[d] = rule(fn(d.name, d.impl, d.x), d.x)
    return substitute(expr, mapping)


def factor_common(expr):
    """Pull Hadamard factors shared by every term of a sum out of it: a⊙b + a⊙c → a⊙(b + c)."""
    if isinstance(expr, LEAVES):
        return expr
    args = [factor_common(a) if isinstance(a, Tensor) else a for a in expr.args]
    expr = expr.func(*args)
    if not isinstance(expr, Add):
        return expr
    split = [split_coef(term) for term in expr.args]
    factor_lists = [list(core.args) if isinstance(core, Had) else [core] for _, core in split]
    key_lists = [[ckey(f) for f in fl] for fl in factor_lists]
    common = [f for f in factor_lists[0] if all(ckey(f) in kl for kl in key_lists[1:])]
    if not common:
        return expr
    rests = []
    for (c, _), fl in zip(split, factor_lists):
        rest = list(fl)
        for f in common:
            rest = [g for g in rest if ckey(g) != ckey(f)]
        rests.append(scale(c, had(*rest) if rest else Ones(*expr.shape)))
    return had(*common, add(*rests))
