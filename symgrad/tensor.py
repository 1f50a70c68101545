"""Base class of every symgrad expression: a matrix-valued SymPy tree with a shape.

The Python operators are the model DSL: ``W @ h`` is the matrix product, ``a * b`` the
Hadamard product (as in NumPy), ``2 * a`` a scalar multiple, ``1 - f`` ones minus f,
``a / b`` and ``a ** 2`` element-wise, ``x.T`` the transpose.
"""
from fractions import Fraction

import sympy as sp


class Tensor(sp.Basic):
    """A matrix expression; subclasses define ``shape`` from their args."""

    @property
    def shape(self):
        raise NotImplementedError

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    # -- DSL operators (canonicalizing constructors live in algebra.py) --
    def __add__(self, other):
        from . import algebra
        return algebra.add(self, algebra.lift(_operand(self, "+", other), self))

    def __radd__(self, other):
        from . import algebra
        return algebra.add(algebra.lift(_operand(self, "+", other), self), self)

    def __sub__(self, other):
        from . import algebra
        return algebra.add(self, algebra.neg(algebra.lift(_operand(self, "-", other), self)))

    def __rsub__(self, other):
        from . import algebra
        return algebra.add(algebra.lift(_operand(self, "-", other), self), algebra.neg(self))

    def __neg__(self):
        from . import algebra
        return algebra.neg(self)

    def __matmul__(self, other):
        from . import algebra
        if not isinstance(other, Tensor):
            _refuse(self, "@", other, "a matrix product takes two expressions; * scales by a number")
        return algebra.matmul(self, other)

    def __rmatmul__(self, other):
        _refuse(other, "@", self, "a matrix product takes two expressions; * scales by a number")

    def __mul__(self, other):
        from . import algebra
        if isinstance(other, Tensor):
            return algebra.had(self, other)
        return algebra.scale(_operand(self, "*", other), self)

    def __rmul__(self, other):
        from . import algebra
        return algebra.scale(_operand(self, "*", other), self)

    def __truediv__(self, other):
        from . import algebra
        if isinstance(other, Tensor):
            return algebra.had(self, algebra.epow(other, -1))
        if _operand(self, "/", other) == 0:
            _refuse(self, "/", other, "division by zero")
        return algebra.scale(algebra.as_coef(1) / algebra.as_coef(other), self)

    def __rtruediv__(self, other):
        from . import algebra
        return algebra.scale(_operand(self, "/", other), algebra.epow(self, -1))

    def __pow__(self, power):
        from . import algebra
        if isinstance(power, Tensor) or _operand(self, "**", power) is None:
            _refuse(self, "**", power, "an element-wise power takes a number")
        return algebra.epow(self, power)

    @property
    def prev(self):
        raise _not_a_state(self, "prev")

    @property
    def next(self):
        raise _not_a_state(self, "next")

    @property
    def T(self):
        from . import algebra
        return algebra.transpose(self)

    # -- printing: symgrad's text printer, so str() reads like a textbook --
    def __str__(self):
        from .render.printer import text
        return text(self)

    __repr__ = __str__


def _operand(x, op, other):
    """A number the DSL may combine with an expression (int, float, fraction, SymPy number)."""
    if isinstance(other, Tensor) or isinstance(other, bool):
        return _refuse(x, op, other, "an expression combines with expressions and numbers") \
            if isinstance(other, bool) else other
    if isinstance(other, (int, float, Fraction)) or isinstance(other, sp.Expr) and other.is_real is not False:
        return other   # a SymPy number, or an expression in the sizes such as √d_k
    return _refuse(x, op, other, "an expression combines with expressions and numbers")


def _refuse(x, op, other, why):
    from .errors import ModelError
    shown = other if isinstance(other, Tensor) else repr(other)
    raise ModelError(f"{x} {op} {shown}: {why}")


def _not_a_state(x, which):
    from .errors import ModelError
    return ModelError(f"{x}.{which}: only a state of a sequence model (M.state) is read at another step")
