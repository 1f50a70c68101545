"""Base class of every symgrad expression: a matrix-valued SymPy tree with a shape.

The Python operators are the model DSL: ``W @ h`` is the matrix product, ``a * b`` the
Hadamard product (as in NumPy), ``2 * a`` a scalar multiple, ``1 - f`` ones minus f,
``a / b`` and ``a ** 2`` element-wise, ``x.T`` the transpose.
"""
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
        return algebra.add(self, algebra.lift(other, self))

    def __radd__(self, other):
        from . import algebra
        return algebra.add(algebra.lift(other, self), self)

    def __sub__(self, other):
        from . import algebra
        return algebra.add(self, algebra.neg(algebra.lift(other, self)))

    def __rsub__(self, other):
        from . import algebra
        return algebra.add(algebra.lift(other, self), algebra.neg(self))

    def __neg__(self):
        from . import algebra
        return algebra.neg(self)

    def __matmul__(self, other):
        from . import algebra
        return algebra.matmul(self, other)

    def __mul__(self, other):
        from . import algebra
        if isinstance(other, Tensor):
            return algebra.had(self, other)
        return algebra.scale(other, self)

    def __rmul__(self, other):
        from . import algebra
        return algebra.scale(other, self)

    def __truediv__(self, other):
        from . import algebra
        if isinstance(other, Tensor):
            return algebra.had(self, algebra.epow(other, -1))
        return algebra.scale(algebra.as_coef(1) / algebra.as_coef(other), self)

    def __rtruediv__(self, other):
        from . import algebra
        return algebra.scale(other, algebra.epow(self, -1))

    def __pow__(self, power):
        from . import algebra
        return algebra.epow(self, power)

    @property
    def T(self):
        from . import algebra
        return algebra.transpose(self)

    # -- printing: symgrad's text printer, so str() reads like a textbook --
    def __str__(self):
        from .render.printer import text
        return text(self)

    __repr__ = __str__
