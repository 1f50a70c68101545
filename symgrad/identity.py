"""Exact evaluation of a model's expressions at a random point, for identity testing.

A ✓ from ``verify`` claims that two expressions are equal as functions of every symbol, for
every size and every step. It is decided like polynomial identity testing (Schwartz–Zippel):
both sides are evaluated exactly in the prime field F_P, P = 2¹²⁷ − 1, at a random point.

The point. Every free quantity gets an independent uniform value in F_P: the parameters,
the inputs at every step, the initial states, the cotangents Δ from above. Everything else
is computed from them as the model computes it: the forward pass gives every node at every
step, the derived backward equations give every delta (zero after the last step). The
element-wise functions (σ, tanh, exp, …) are uninterpreted: f(v) is a uniform value drawn
afresh for every distinct argument value v, the same for the same v wherever it occurs, so
the result never depends on the order of evaluation. Only the facts a textbook uses hold:
derivatives in closed form (σ′ = σ(1 − σ), tanh′ = 1 − tanh²), a softmax is exp over its sum
(so it sums to one), a layer norm is (x − mean) over the row's scale (so it sums to zero),
a one-hot target is one-hot. Whatever holds for these uninterpreted functions holds for the
real ones, so an identity found here is a true identity.

The bound. Write D for the difference of the two sides, a rational function of all the
variables above (a function value counts as one variable). Its numerator has degree at
most ``d`` (tracked during evaluation: a variable has degree 1, products and sums add
degrees, a sum over n entries multiplies by n). If D ≢ 0 it vanishes at a uniform point with
probability at most d/P (Schwartz–Zippel), and two distinct arguments of a function coincide
there with probability at most d/P per pair, so with N function applications the chance that
a point fails to expose a wrong equation is at most ε = (1 + N²/2)·d/P. A file's ✓s are
decided at two independent points with different sizes; the larger ε of the two is reported
with each ✓ (``Verdict.bound``), and a ✓ whose ε is not below 10⁻⁹ is refused ("not
checkable") rather than claimed. Across the catalog's equations and all their mutations ε
stays below 10⁻²⁰ (d is at most about 10⁶ and N a few thousand, against P ≈ 1.7·10³⁸).

Sizes and steps. Every dimension gets its own size, at least 3 and distinct from the others
(so a transpose of a non-square matrix cannot hide), a different assignment at each point;
dimensions under a square root are perfect squares, so 1/√d_k is exact. A sequence is long
enough that every step an equation names lies inside it with a margin of more than the
longest reach in time on both sides, and a template equation (at step t) is checked at every
step, the first and last included, so each way the ends of the sequence can cut an equation
is seen. The bound is conditional on these sizes: a difference that vanishes at both size
assignments yet not at some other size would need a size-specific identity (as
Cayley–Hamilton is for 2×2 matrices), which products, transposes, Hadamard products and
sums of matrices of at least 3 rows cannot form.
"""
import sys
from contextlib import contextmanager
from fractions import Fraction
from functools import reduce

import numpy as np
import sympy as sp

from .arithmetic import P, Field, rng_for
from .functions import lookup
from .ops import (Add, Diag, EPow, Fn, Had, HeadSum, Indicator, Jacobian, LayerNorm, MatMul,
                  RowSoftmax, RowStd, ScalarMul, Scale, Softmax, Stack, StepRow, TimeSum, Transpose)
from .symbols import Cotangent, Delta, Ones, Seq, Sym, Zero

class NotEvaluable(Exception):
    """An expression this evaluator cannot give an exact value (e.g. an irrational coefficient)."""


class Value:
    """An array (over F_P, or float64) with the degrees of its entries as rational functions
    of the point's variables: every entry is p/q with deg p ≤ ``num`` and one common q of
    deg q ≤ ``den``."""
    __slots__ = ("a", "num", "den")

    def __init__(self, a, num=1, den=0):
        self.a, self.num, self.den = a, num, den


def _summed(values):
    """Degrees of a sum: over a common denominator, the numerators' degrees grow by the others'
    denominators."""
    dens = [v.den for v in values]
    total = sum(dens)
    return max(v.num + total - v.den for v in values), total


def _product(values):
    return sum(v.num for v in values), sum(v.den for v in values)


def _inverted(v, entries):
    """Degrees of the entry-wise inverse of ``entries`` distinct entries p_i/q: q/p_i, over the
    common denominator Π p_i."""
    return v.den + (entries - 1) * v.num, entries * v.num


def coefficient(c, sizes):
    """A SymPy scalar in the sizes as a Fraction (exact: rational values only)."""
    c = c.xreplace(sizes) if isinstance(c, sp.Basic) and c.free_symbols else c
    if isinstance(c, sp.Basic):
        c = sp.nsimplify(c) if isinstance(c, sp.Float) else c
        if not c.is_Rational:
            raise NotEvaluable(f"the coefficient {c} is not rational at the sizes tried")
        return Fraction(int(c.p), int(c.q))
    return Fraction(c)


class Point:
    """One random point of a model: sizes, the length of each time axis, and the value of
    every expression of the model's symbols there.

    ``salt`` makes the point: two points with different salts are independent. Values are
    drawn by hashing what they stand for (a symbol at a step, a function at an argument),
    so they do not depend on the order in which they are asked for. ``arithmetic`` is
    ``Field`` (exact, the verdicts) or ``Reals`` (float64 with the real functions)."""

    def __init__(self, derivation, sizes, lengths, salt, arithmetic=Field):
        self.d, self.model = derivation, derivation.model
        self.sizes = {d: sp.Integer(n) for d, n in sizes.items()}   # dimension symbol → size
        self.lengths = dict(lengths)             # axis name → int
        self.ar = arithmetic(salt)
        self.heads = int(self.sizes[self.model.head_dim]) if self.model.head_dim is not None else 1
        self._nodes = {d.name: d for d in self.model.definitions}
        self._deltas = {}
        for eq in derivation.deltas + derivation.inputs + derivation.params:
            self._deltas[eq.lhs.var.name] = eq.rhs
        for name, rhs in derivation.inlined.items():
            self._deltas.setdefault(name, rhs)
        self._initial = {eq.lhs.var.name: eq.rhs for eq in derivation.initial}
        self._memo = {}
        self._values = {}
        self._jacobians = {}
        for axis, length in self.model.axes.items():    # T, T_x: the length of each time axis
            self.sizes[length] = sp.Integer(self.lengths[axis])

    @property
    def applications(self):
        """How many distinct arguments the uninterpreted functions have been applied to."""
        return len(self.ar.applied)

    def random(self, shape, *key):
        return self.ar.random(shape, key)

    def onehot(self, shape, *key):
        out = self.ar.full(shape)
        rng = rng_for(self.ar.salt, key)
        for j in range(shape[1]):
            out[rng.randrange(shape[0]), j] = 1
        return out

    # -- shapes and steps ----------------------------------------------------------------------
    def shape(self, expr):
        return tuple(self.size(x) for x in expr.shape)

    def size(self, dim):
        """A shape entry (an int, or a SymPy expression in the sizes) at this point's sizes."""
        return dim if isinstance(dim, int) else int(dim.xreplace(self.sizes))

    def length(self, axis):
        return self.lengths[axis]

    def step(self, time, env):
        """A time expression at the steps of ``env`` ({axis name: step}) as an int."""
        value = time.xreplace({sp.Symbol(a, integer=True): sp.Integer(k) for a, k in env.items()
                               if isinstance(a, str) and isinstance(k, int)})
        value = value.xreplace(self.sizes)
        if not value.is_Integer:
            raise NotEvaluable(f"the step {time} is not fixed here")
        return int(value)

    def inside(self, sym, k):
        return 1 <= k <= self.length(sym.axis_name)

    def boundary(self, name):
        """The step of a state's initial value: 0, or the step after the last if it runs backwards."""
        sym = self.model.declared[name]
        return 0 if self.model.direction.get(name, -1) < 0 else self.length(sym.axis_name) + 1

    # -- evaluation --------------------------------------------------------------------------
    def value(self, expr, env=None):
        """The exact value of ``expr`` at this point; ``env`` gives the steps of free axes
        ({"t": 3}), the head ({"head": 2}) and values standing in for leaves ({leaf: Value})."""
        with _deep():
            return self._v(expr, env or {})

    def _v(self, e, env):
        over = env.get("leaves")
        if over is not None:
            if e in over:
                return over[e]
            return self._compute(e, env)
        key = (e, tuple(sorted(env.items())))
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = self._compute(e, env)
        return found

    def _compute(self, e, env):
        if isinstance(e, (Sym, Seq)):
            return self.symbol(e, env)
        if isinstance(e, Delta):
            return self.delta(e.var, env)
        if isinstance(e, Cotangent):
            return self.cotangent(e.var, env)
        ar = self.ar
        if isinstance(e, Ones):
            return Value(ar.full(self.shape(e), 1), 0)
        if isinstance(e, Zero):
            return Value(ar.full(self.shape(e)), 0)
        v = lambda x: self._v(x, env)  # noqa: E731
        if isinstance(e, Add):
            parts = [v(a) for a in e.args]
            return Value(reduce(ar.add, (p.a for p in parts)), *_summed(parts))
        if isinstance(e, Scale):
            x = v(e.x)
            return Value(ar.mul(x.a, ar.number(coefficient(e.coef, self.sizes))), x.num, x.den)
        if isinstance(e, MatMul):
            out = v(e.args[0])
            for f in e.args[1:]:
                x = v(f)
                out = Value(ar.dot(out.a, x.a), *_product([out, x]))
            return out
        if isinstance(e, Had):
            parts = [v(a) for a in e.args]
            return Value(reduce(ar.mul, (p.a for p in parts)), *_product(parts))
        if isinstance(e, ScalarMul):
            s, x = v(e.s), v(e.x)
            return Value(ar.mul(x.a, s.a[0, 0]), *_product([s, x]))
        if isinstance(e, Transpose):
            x = v(e.args[0])
            return Value(x.a.T.copy(), x.num, x.den)
        if isinstance(e, Diag):
            x = v(e.x)
            out = ar.full((x.a.shape[0],) * 2)
            for i in range(x.a.shape[0]):
                out[i, i] = x.a[i, 0]
            return Value(out, x.num, x.den)
        if isinstance(e, EPow):
            return self.power(e, v(e.x))
        if isinstance(e, Fn):
            return self.fn(e, env)
        if isinstance(e, Softmax):
            return self.softmax(v(e.x), rows=False)
        if isinstance(e, RowSoftmax):
            return self.softmax(v(e.x), rows=True)
        if isinstance(e, LayerNorm):
            x = v(e.x)
            centred = ar.sub(x.a, ar.mean_rows(x.a))
            s = ar.rowstd(e.eps, x.a)
            inverse = _inverted(Value(s), s.shape[0])
            return Value(ar.mul(centred, ar.inv(s)), x.num + inverse[0], x.den + inverse[1])
        if isinstance(e, RowStd):
            return Value(ar.rowstd(e.eps, v(e.x).a), 1)
        if isinstance(e, TimeSum):
            n = self.length(e.axis)
            parts = [self._v(e.x, {**env, e.axis: k}) for k in range(1, n + 1)]
            return Value(reduce(ar.add, (p.a for p in parts)), *_summed(parts))
        if isinstance(e, Stack):
            n = self.length(e.axis)
            rows = [self._v(e.x, {**env, e.axis: k}) for k in range(1, n + 1)]
            return Value(np.vstack([r.a.T for r in rows]), *_summed(rows))
        if isinstance(e, StepRow):
            g = v(e.g)
            k = self.step(e.time, env)
            return Value(g.a[k - 1:k, :].T.copy(), g.num, g.den)
        if isinstance(e, HeadSum):
            parts = [self._v(e.x, {**env, "head": i}) for i in range(1, self.heads + 1)]
            return Value(reduce(ar.add, (p.a for p in parts)), *_summed(parts))
        if isinstance(e, Jacobian):
            return self.jacobian(e, env)
        if isinstance(e, Indicator):     # Iverson's bracket: the term where P holds at these steps
            steps = {sp.Symbol(a, integer=True): sp.Integer(k) for a, k in env.items() if isinstance(a, str)}
            holds = e.cond.xreplace(steps).xreplace(self.sizes)
            if holds not in (sp.true, sp.false):
                raise NotEvaluable(f"the condition {e.cond} is not decided here")
            return v(e.x) if holds is sp.true else Value(ar.full(self.shape(e)), 0)
        raise NotEvaluable(f"cannot evaluate {type(e).__name__}")

    def power(self, e, x):
        p = e.p
        if p.is_integer:
            k = int(p)
            base = Value(None, *_inverted(x, x.a.size)) if k < 0 else x
            return Value(self.ar.power(x.a, k), abs(k) * base.num, abs(k) * base.den)
        return Value(self.ar.fractional_power(p, x.a), 1)

    def fn(self, e, env):
        entry = lookup(e.impl)
        if e.order == 1 and entry.deriv is not None:      # f′ in closed form: σ(1 − σ), 1 − tanh²
            from .algebra import fn
            return self._v(entry.deriv(fn(e.name, e.impl, e.x), e.x), env)
        x = self._v(e.x, env)
        return Value(self.ar.fn(e.impl, e.order, x.a), 1)

    def softmax(self, x, rows):
        """exp over its sum: a column's entries (or each row's) sum to one."""
        e = self.ar.exp(x.a)
        total = e.sum(axis=1 if rows else 0, keepdims=True)
        inverse = _inverted(Value(total), total.size)
        return Value(self.ar.mul(e, self.ar.inv(total)), 1 + inverse[0], inverse[1])

    # -- leaves --------------------------------------------------------------------------------
    def head(self, sym, env):
        return env.get("head", 1) if getattr(sym, "per_head", False) else None

    def symbol(self, sym, env):
        """A symbol's value: drawn if it is free (parameter, input, initial state), computed by
        the forward pass if it is a node."""
        if isinstance(sym, Seq):
            k = self.step(sym.time, env)
            if sym.role != "node":
                key = (sym.role, sym.name, k)
                if sym.role == "onehot":
                    return Value(self.onehot(self.shape(sym), *key), 0)
                return Value(self.random(self.shape(sym), *key), 1)
            if sym.name in self.model.direction and k == self.boundary(sym.name):
                return Value(self.random(self.shape(sym), "initial", sym.name), 1)
            if not self.inside(sym, k):
                return Value(self.random(self.shape(sym), "outside", sym.name, k), 1)
            return self.node(sym.name, sym.axis_name, k, env)
        if sym.role == "node":
            return self.node(sym.name, None, None, env)
        key = (sym.role, sym.name, self.head(sym, env))
        if sym.role == "onehot":
            return Value(self.onehot(self.shape(sym), *key), 0)
        return Value(self.random(self.shape(sym), *key), 1)

    def node(self, name, axis, k, env):
        d = self._nodes[name]
        head = env.get("head", 1) if isinstance(d.symbol, Sym) and d.symbol.per_head else None
        key = ("node", name, k, head)
        if key not in self._memo:
            if axis is not None and self.model.direction.get(name) is not None:
                self._warm(name, axis, k, self.node)
            inner = {axis: k} if axis is not None else {}
            if head is not None:
                inner["head"] = head
            self._memo[key] = self._v(d.rhs, inner)
        return self._memo[key]

    def delta(self, var, env):
        """δvar: zero after the last step (or before the first), the initial-state gradient at a
        state's boundary, else the derived equation evaluated."""
        name = var.name
        if isinstance(var, Seq):
            k = self.step(var.time, env)
            if not self.inside(var, k):
                if name in self._initial and k == self.boundary(name):
                    return self._v(self._initial[name], {})
                return Value(self.ar.full(self.shape(var)), 0)
            head = None
            key = ("delta", name, k, None)
            inner = {var.axis_name: k}
        else:
            k = None
            head = self.head(self.model.declared.get(name, var), env)
            key = ("delta", name, None, head)
            inner = {} if head is None else {"head": head}
        if key not in self._memo:
            rhs = self._deltas.get(name)
            if rhs is None:
                raise NotEvaluable(f"δ{name} is not a gradient of the model")
            if k is not None and self.model.direction.get(name) is not None:
                self._warm(name, var.axis_name, k, lambda n, a, j, _: self.delta(
                    Seq(n, j, *var.shape, var.role, a), {}))
            self._memo[key] = self._v(rhs, inner)
        return self._memo[key]

    def _warm(self, name, axis, k, compute):
        """Fill a recurrence's values from the far end towards step k in a loop, so that asking
        for one step does not recurse through every other."""
        forward = compute == self.node
        direction = self.model.direction[name]
        if forward:
            steps = range(1, k) if direction < 0 else range(self.length(axis), k, -1)
        else:
            steps = range(self.length(axis), k, -1) if direction < 0 else range(1, k)
        for j in steps:
            memo_key = ("node" if forward else "delta", name, j, None)
            if memo_key not in self._memo:
                compute(name, axis, j, {})

    def cotangent(self, var, env):
        if isinstance(var, Seq):
            k = self.step(var.time, env)
            if not self.inside(var, k):
                return Value(self.ar.full(self.shape(var)), 0)
            return Value(self.random(self.shape(var), "cotangent", var.name, k), 1)
        return Value(self.random(self.shape(var), "cotangent", var.name), 1)

    # -- Jacobians -----------------------------------------------------------------------------
    def jacobian(self, e, env):
        """∂u/∂v (numerator layout): row i is the pullback of the unit vector eᵢ from u to v
        through the forward equations of u's step, every route summed."""
        of, wrt = e.of, e.wrt
        vjp, seed = self._local_vjp(of, wrt)
        inner = dict(env)
        if isinstance(of, Seq):
            inner[of.axis_name] = self.step(of.time, env)
        rows = []
        n = self.shape(of)[0]
        for i in range(n):
            unit = self.ar.full((n, 1))
            unit[i, 0] = 1
            leaves = {**env.get("leaves", {}), seed: Value(unit, 0)}
            rows.append(self._v(vjp, {**inner, "leaves": leaves}))
        return Value(np.hstack([r.a for r in rows]).T.copy(), *_summed(rows))

    def _local_vjp(self, of, wrt):
        from .local import local_vjp
        key = (of.name, wrt.name, _offset(of, wrt))
        if key not in self._jacobians:
            self._jacobians[key] = local_vjp(self.model, of, wrt)
        return self._jacobians[key]


def _offset(of, wrt):
    if isinstance(of, Seq) and isinstance(wrt, Seq):
        k = wrt.time - of.time
        return int(k) if k.is_Integer else None
    return None


@contextmanager
def _deep():
    """Room for evaluating recurrences lazily (one Python frame per nested value)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def failure_bound(point, degree):
    """ε = (1 + N²/2)·d/P: the chance that this point hides a difference of degree ≤ d."""
    n = point.applications
    return float(Fraction((2 + n * n) * max(degree, 1), 2 * P))

