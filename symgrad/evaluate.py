"""Expression trees evaluated with NumPy, one example at a time, step by step.

The generated code schedules, fuses and vectorizes; this walks the equations as they are
written. It gives the value of every node at every step (what a one-step Jacobian is
evaluated at), and it is a second, independent forward pass to check the compiled one
against. Element-wise functions and their derivatives come from SymPy's scalar forms
(f′ by ``sympy.diff``), not from symgrad's closed forms.
"""
from functools import lru_cache, reduce

import numpy as np
import sympy as sp

from .errors import ModelError
from .functions import lookup
from .ops import (Add, Diag, EPow, Fn, Had, Indicator, MatMul, ScalarMul, Scale, Softmax,
                  TimeSum, Transpose)
from .symbols import Cotangent, Delta, Ones, Seq, Sym, Zero, step_variable
from .tensor import Tensor


class _NotYet(Exception):
    """A node read at a step that is not computed yet (the sweep comes back for it)."""


class Evaluator:
    """A model's forward pass on one example.

    ``params`` in their math shapes (bias vectors 1-D); ``inputs`` for one example: a per-step
    input (T, m), a per-example one (m,), an initial state ``h0`` (n,) (zero if absent)."""

    def __init__(self, model, params, inputs):
        self.model = model.build()
        self.params, self.inputs = params, inputs
        self.lengths = self._lengths()
        self.sizes = self._sizes()
        self.values = {}
        self._run()

    # -- reading the example ---------------------------------------------------------------
    def _lengths(self):
        """Each time axis' length symbol → its number of steps, read off a per-step input."""
        lengths = {}
        for sym in self.model.inputs + self.model.targets:
            if isinstance(sym, Seq) and sym.name in self.inputs:
                lengths[self.model.axes[sym.axis_name]] = int(np.shape(self.inputs[sym.name])[0])
        missing = [a for a, n in self.model.axes.items() if n not in lengths]
        if missing:
            raise ModelError(f"model {self.model.name}: no input gives the length of the axis {missing[0]}")
        return lengths

    def _sizes(self):
        sizes = dict(self.lengths)
        for sym in self.model.params + self.model.inputs + self.model.targets:
            source = self.params if sym.role == "param" else self.inputs
            if sym.name not in source:
                if sym.role == "param" or sym.role == "input":
                    raise ModelError(f"no value for {sym.name}")
                continue
            shape = np.shape(source[sym.name])[1 if isinstance(sym, Seq) else 0:]
            dims = [d for d in sym.shape if d != 1]
            if len(shape) != len(dims):
                raise ModelError(f"{sym.name} has shape {shape}, expected one axis for each of "
                                 f"{', '.join(map(str, dims)) or 'none (a scalar)'}")
            for d, n in zip(dims, shape):
                if isinstance(d, sp.Symbol) and sizes.setdefault(d, n) != n:
                    raise ModelError(f"{sym.name}: size {d} is {n} here but {sizes[d]} elsewhere")
        return sizes

    def shape(self, expr):
        return tuple(int(d.xreplace(self.sizes)) for d in expr.shape)

    def leaf(self, sym, step):
        if isinstance(sym, Sym):
            if sym.role == "node":
                if (sym.name, None) not in self.values:
                    raise _NotYet
                return self.values[(sym.name, None)]
            source = self.params if sym.role == "param" else self.inputs
            return np.reshape(np.asarray(source[sym.name], dtype=float), self.shape(sym))
        time = self.step_of(sym, step)
        length = self.lengths[self.model.axes[sym.axis_name]]
        if sym.role != "node":
            return np.reshape(np.asarray(self.inputs[sym.name], dtype=float)[time - 1], self.shape(sym))
        if not 1 <= time <= length:       # before the first step: the initial state (h0), or zero
            initial = self.inputs.get(sym.name + "0")
            return np.zeros(self.shape(sym)) if initial is None else \
                np.reshape(np.asarray(initial, dtype=float), self.shape(sym))
        if (sym.name, time) not in self.values:
            raise _NotYet
        return self.values[(sym.name, time)]

    def step_of(self, sym, step):
        """The concrete step a time-indexed symbol is read at, from the current one."""
        known = {**self.lengths, **({step_variable(sym.axis_name): step} if step is not None else {})}
        return int(sym.time.xreplace(known))

    # -- the forward pass ------------------------------------------------------------------
    def _run(self):
        """Every definition at every step of its axis, in sweeps forwards and backwards in time
        until none is left (a state running backwards is done by the backward sweeps)."""
        todo = [(d, step) for d in self.model.definitions for step in self._steps(d.symbol)]
        backwards, stalled = False, 0
        while todo:
            left = []
            for d, step in sorted(todo, key=lambda item: _order(item[1], backwards)):
                try:
                    self.values[(d.name, step)] = self.value(d.rhs, step)
                except _NotYet:
                    left.append((d, step))
            stalled = stalled + 1 if len(left) == len(todo) else 0
            if stalled == 2:
                raise ModelError(f"model {self.model.name}: equation {left[0][0].name} cannot be "
                                 "evaluated in any order of the steps")
            todo, backwards = left, not backwards

    def _steps(self, sym):
        if isinstance(sym, Seq):
            return range(1, self.lengths[self.model.axes[sym.axis_name]] + 1)
        return [None]

    def node(self, name, step=None):
        """The value of a node at a step (None for a node without steps)."""
        return self.values[(name, step)]

    def value(self, expr, step, env=None):
        """The value of an expression at a step; ``env`` gives leaves the model does not
        define (a Jacobian block, a delta), by the expression they stand for."""
        env = env or {}
        v = lambda e: self.value(e, step, env)  # noqa: E731
        if expr in env:
            return env[expr]
        if isinstance(expr, (Sym, Seq)):
            return self.leaf(expr, step)
        if isinstance(expr, Ones):
            return np.ones(self.shape(expr))
        if isinstance(expr, Zero):
            return np.zeros(self.shape(expr))
        if isinstance(expr, Add):
            return reduce(np.add, map(v, expr.args))
        if isinstance(expr, Scale):
            return float(expr.coef.xreplace(self.sizes)) * v(expr.x)
        if isinstance(expr, MatMul):
            return reduce(np.matmul, map(v, expr.args))
        if isinstance(expr, Had):
            return reduce(np.multiply, map(v, expr.args))
        if isinstance(expr, Transpose):
            return v(expr.args[0]).T
        if isinstance(expr, ScalarMul):
            return v(expr.s)[0, 0] * v(expr.x)
        if isinstance(expr, Fn):
            return _numeric(expr.impl, expr.order)(v(expr.x))
        if isinstance(expr, EPow):
            return v(expr.x) ** float(expr.p)
        if isinstance(expr, Softmax):
            e = np.exp(v(expr.x) - v(expr.x).max())
            return e / e.sum()
        if isinstance(expr, Diag):
            return np.diag(v(expr.x)[:, 0])
        if isinstance(expr, TimeSum):
            length = self.lengths[self.model.axes[expr.axis]]
            return sum(self.value(expr.x, tau, env) for tau in range(1, length + 1))
        if isinstance(expr, Indicator):
            steps = {step_variable(a): step for a in self.model.axes} if step is not None else {}
            holds = expr.cond.xreplace({**self.lengths, **steps})
            if holds not in (sp.true, sp.false):
                raise ModelError(f"the condition {expr.cond} is not decided at step {step}")
            return v(expr.x) if holds is sp.true else np.zeros(self.shape(expr))
        if isinstance(expr, (Delta, Cotangent)) or not isinstance(expr, Tensor):
            raise ModelError(f"no value for {expr} (give it in env)")
        raise ModelError(f"the NumPy evaluator does not evaluate {type(expr).__name__} ({expr})")


def _order(step, backwards):
    """Steps in the sweep's direction; equations without steps after all steps."""
    if step is None:
        return float("inf")
    return -step if backwards else step


@lru_cache(maxsize=None)
def _numeric(impl, order):
    """f or f′ as a NumPy function, from SymPy's scalar form of f (f′ by sympy.diff)."""
    u = sp.Symbol("u", real=True)
    f = lookup(impl).scalar(u)
    return sp.lambdify(u, sp.diff(f, u, order) if order else f, "numpy")
