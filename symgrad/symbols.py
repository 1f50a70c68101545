"""Leaves of the expression tree: static and time-indexed symbols, deltas, ones and zeros.

A time-indexed symbol carries its time as a SymPy expression in ``t`` (``t``, ``t - 1``,
``t + 1``) or a concrete integer (``0`` for an initial state), so shifting a whole
equation in time is one substitution of ``t``.
"""
import sympy as sp
from sympy.core.symbol import Str

from .tensor import Tensor

t = sp.Symbol("t", integer=True)
T = sp.Symbol("T", integer=True, positive=True)

class Sym(Tensor):
    """A symbol without time index: a parameter, or an input/node of a feed-forward model.

    Roles: param, input, target, onehot (a target that sums to one), mask (an additive
    0/−∞ mask given with the data), causal (the constant causal mask), node. A per-head
    symbol (Qᵢ, Wᵢ^Q) stands for one matrix per attention head i."""

    def __new__(cls, name, rows, cols, role, per_head=False):
        return super().__new__(cls, _str(name), _dim(rows), _dim(cols), _str(role),
                               sp.Integer(int(per_head)))

    name = property(lambda self: self.args[0].name)
    shape = property(lambda self: (self.args[1], self.args[2]))
    role = property(lambda self: self.args[3].name)
    per_head = property(lambda self: bool(self.args[4]))


class Seq(Tensor):
    """One step of a sequence: ``x_t``, ``h_{t-1}``, ``h_0``, or ``h_j`` on another time axis.

    The axis is kept by name, so substituting the step variable never rewrites it."""

    def __new__(cls, name, time, rows, cols, role, axis="t"):
        return super().__new__(cls, _str(name), _time(time), _dim(rows), _dim(cols), _str(role),
                               _str(axis))

    name = property(lambda self: self.args[0].name)
    time = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[2], self.args[3]))
    role = property(lambda self: self.args[4].name)
    axis_name = property(lambda self: self.args[5].name)
    axis = property(lambda self: step_variable(self.args[5].name))

    @property
    def offset(self):
        """The time relative to the axis' current step (-1 for h_{t-1}); None for a fixed step."""
        k = self.time - self.axis
        return int(k) if k.is_Integer else None

    def at(self, k):
        """The same sequence read ``k`` steps from the current time (``h.at(-1)`` is h_{t-1})."""
        return Seq(self.name, self.time + k, self.rows, self.cols, self.role, self.args[5])

    @property
    def prev(self):
        return self.at(-1)

    @property
    def next(self):
        return self.at(1)


class Delta(Tensor):
    """δv: the gradient of the loss (or of the outputs' cotangents) with respect to v."""

    def __new__(cls, var):
        return super().__new__(cls, var)

    var = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)


class Cotangent(Tensor):
    """Δ: the delta an output receives from outside the model (the layer above)."""

    def __new__(cls, var, short):
        return super().__new__(cls, var, sp.Integer(int(short)))

    var = property(lambda self: self.args[0])
    short = property(lambda self: bool(self.args[1]))
    shape = property(lambda self: self.args[0].shape)


class Ones(Tensor):
    """The all-ones matrix; ``1`` in ``1 - f``."""

    def __new__(cls, rows, cols):
        return super().__new__(cls, _dim(rows), _dim(cols))

    shape = property(lambda self: self.args)


class Zero(Tensor):
    """The zero matrix: what a route that does not exist contributes."""

    def __new__(cls, rows, cols):
        return super().__new__(cls, _dim(rows), _dim(cols))

    shape = property(lambda self: self.args)


def step_variable(name):
    """The step variable of a time axis: t, or j for an encoder's axis."""
    return sp.Symbol(name, integer=True)


def shift(expr, k, axis=t):
    """The same expression ``k`` steps later on ``axis``: its step variable becomes var + k."""
    return _at(expr, axis, axis + k) if k else expr


def at_time(expr, time, axis=t):
    """The expression at a concrete step (``t`` → ``time``), e.g. the initial-state equations."""
    return _at(expr, axis, _time(time))


def _at(expr, axis, value):
    """expr with the step variable ``axis`` replaced by value, except where a sum over the
    steps or a stack binds it (the t of Σₜ xₜ is not the t outside)."""
    from .ops import Stack, TimeSum
    if not expr.has(axis) or isinstance(expr, (TimeSum, Stack)) and step_variable(expr.axis) == axis:
        return expr
    if isinstance(expr, Tensor) and not isinstance(expr, (Sym, Seq)):
        return expr.func(*(_at(a, axis, value) for a in expr.args))
    return expr.xreplace({axis: value})


def _str(s):
    return s if isinstance(s, Str) else Str(s)


def _dim(d):
    if isinstance(d, sp.Basic):
        return d
    if isinstance(d, int):
        return sp.Integer(d)
    raise TypeError(f"dimension must be a SymPy symbol or an int, not {d!r}")


def _time(x):
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, int):
        return sp.Integer(x)
    raise TypeError(f"time must be a SymPy expression or an int, not {x!r}")
