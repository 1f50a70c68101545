"""Sums over steps as written, with their bounds, as sums over the steps 1…T.

Σ_{t=1+p}^{T+q} f(t) is Σ_t f(t+p) over the steps 1…T, plus or minus the few steps at the
end where the two ranges differ (Greff's Σ_{t=0}^{T-1} c^t ⊙ δī^{t+1} is Σ_t c_{t-1} ⊙ δī_t); a
step whose delta lies after the last step is zero and is dropped, with a note. A range that
depends on a step (Σ_{i=t}^{T}) is a closed form over time: not checkable.
"""
import re

import sympy as sp

from . import algebra, indices, products
from .ops import Add, Had, HeadSum, MatMul, ScalarMul, Scale, TimeSum, Transpose
from .read_errors import ParseError, Uncheckable
from .symbols import Delta, Seq, Zero, shift, step_variable
from .tensor import Tensor

MAX_BOUNDARY = 3


class StepSums:
    """How a Reader reads Σ over a time axis (it holds ``scope``, ``model``, ``bound``,
    ``default``, ``notes``)."""

    def sum_axis(self, index, node):
        """The time axis a sum runs over: its index is the axis' step variable (t, j), or its
        bounds name the axis' last step (T, τ, T_x)."""
        if index in self.scope.axes:
            return index
        bound = (node.upper.raw if node.upper else "") + (node.lower.raw if node.lower else "")
        for axis, length in self.scope.axes.items():
            if str(length) in bound.replace("{", "").replace("}", "") or \
                    axis == "t" and re.search(r"\\tau|τ|T", bound):
                return axis
        return None

    def time_sum(self, node, index, axis):
        var, length = step_variable(axis), self.scope.axes[axis]
        lower = self.step_expr(node.lower.raw, node.lower.pos, axis, bound=True) if node.lower else sp.Integer(1)
        upper = self.step_expr(node.upper.raw, node.upper.pos, axis, bound=True) if node.upper else length
        p, q = sp.simplify(lower - 1), sp.simplify(upper - length)
        if not (p.is_Integer and q.is_Integer):
            raise Uncheckable(f"the sum from {node.lower.raw if node.lower else 1} to "
                              f"{node.upper.raw if node.upper else length} has a range that depends "
                              "on a step: a closed form over time, not checked (symgrad checks "
                              "recurrences one step at a time)")
        if abs(int(q - p)) > MAX_BOUNDARY:
            raise ParseError(f"a sum over steps {node.lower.raw}…{node.upper.raw}: too far from 1…{length}",
                             node.pos)
        saved = dict(self.bound), dict(self.default)
        self.bound[index] = axis
        self.default[axis] = var
        try:
            body = self.value(node.body)
        finally:
            self.bound, self.default = saved
        summed = lambda m: self.steps_sum(m, axis, int(p), int(q), node)  # noqa: E731
        if isinstance(body, indices.Indexed):
            return body.wrapped(summed)
        if products.scalar(body):
            raise ParseError("a sum over steps of a number", node.pos)
        return summed(body)

    def steps_sum(self, body, axis, p, q, node):
        """Σ_{t=1+p}^{T+q} body = Σ_t body(t+p), plus or minus the steps at the end it differs
        by; a step whose delta is after the last step (or before the first) adds zero."""
        var, length = step_variable(axis), self.scope.axes[axis]
        total = algebra.timesum(algebra.rebuild(shift(body, p, var)), axis)
        if p:
            self.notes.append(f"Σ from {1 + p} read as Σ over the steps 1…{length} of the summand "
                              f"{abs(p)} step{'s' if abs(p) != 1 else ''} {'later' if p > 0 else 'earlier'}")
        ends = [(s, 1) for s in range(p + 1, q + 1)] if q > p else \
            [(s, -1) for s in range(q + 1, p + 1)]
        terms = [total]
        for k, sign in ends:
            step = length + k
            term = algebra.rebuild(body.xreplace({var: step}))
            if _vanishes(term, self.model):
                self.notes.append(f"the term at {var} = {step} is zero (every δ after the last step is)")
                continue
            terms.append(term if sign > 0 else algebra.neg(term))
        return algebra.add(*terms)


def _vanishes(expr, model):
    """Is expr zero because a factor is a delta after the last step (or before the first)?"""
    states = model.states
    if isinstance(expr, Delta):
        var = expr.var
        if not isinstance(var, Seq) or var.time.free_symbols - set(model.axes.values()):
            return False
        length = model.axes[var.axis_name]
        last = sp.simplify(var.time - length)
        first = var.time
        after = last.is_Integer and last > 0
        before = first.is_Integer and first < 1
        if var.name in states:
            boundary = 0 if states[var.name] < 0 else None
            if states[var.name] < 0 and first.is_Integer and first == boundary:
                return False
            if states[var.name] > 0 and last.is_Integer and last == 1:
                return False
        return bool(after or before)
    if isinstance(expr, Zero):
        return True
    if isinstance(expr, Add):
        return all(_vanishes(a, model) for a in expr.args)
    if isinstance(expr, (MatMul, Had, ScalarMul)):
        return any(_vanishes(a, model) for a in expr.args if isinstance(a, Tensor))
    if isinstance(expr, (Scale, Transpose, TimeSum, HeadSum)):
        inner = expr.args[1] if isinstance(expr, Scale) else expr.args[0]
        return _vanishes(inner, model)
    return False


