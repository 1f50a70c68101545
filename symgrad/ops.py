"""Operation nodes SymPy lacks, each a plain container rebuilt from its args.

Constructors here do no simplification (so ``obj.func(*obj.args) == obj``); the
canonical forms are built by the functions of ``algebra.py``.
"""
import sympy as sp
from sympy.core.symbol import Str

from .tensor import Tensor


class Add(Tensor):
    """Sum of same-shaped terms."""
    shape = property(lambda self: self.args[0].shape)


class MatMul(Tensor):
    """Matrix product of two or more factors."""
    shape = property(lambda self: (self.args[0].rows, self.args[-1].cols))


class Had(Tensor):
    """Hadamard (element-wise) product, ⊙."""
    shape = property(lambda self: self.args[0].shape)


class Transpose(Tensor):
    """ᵀ; canonical forms keep it on leaves only."""
    shape = property(lambda self: (self.args[0].cols, self.args[0].rows))


class Scale(Tensor):
    """A SymPy scalar (number or expression in the sizes) times a matrix."""

    def __new__(cls, coef, x):
        return super().__new__(cls, coef, x)

    coef = property(lambda self: self.args[0])
    x = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[1].shape)


class ScalarMul(Tensor):
    """A 1×1 expression times a matrix, e.g. (ŷᵀ g) ŷ: a scalar, never an outer product."""
    s = property(lambda self: self.args[0])
    x = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[1].shape)


class Fn(Tensor):
    """An element-wise function f(X), named as the source names it (σ, tanh, g, h).

    ``impl`` is the function it stands for (the LSTM's g is tanh); ``order`` 1 is f'.
    """

    def __new__(cls, name, impl, x, order=0):
        name = name if isinstance(name, Str) else Str(name)
        impl = impl if isinstance(impl, Str) else Str(impl)
        return super().__new__(cls, name, impl, x, sp.Integer(order))

    name = property(lambda self: self.args[0].name)
    impl = property(lambda self: self.args[1].name)
    x = property(lambda self: self.args[2])
    order = property(lambda self: int(self.args[3]))
    shape = property(lambda self: self.args[2].shape)


class EPow(Tensor):
    """Element-wise rational power, X^{⊙p} (p = -1 is the element-wise reciprocal)."""

    def __new__(cls, x, p):
        return super().__new__(cls, x, sp.Rational(p))

    x = property(lambda self: self.args[0])
    p = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)


class Softmax(Tensor):
    """Softmax over the entries of a column vector."""
    x = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)


class RowSoftmax(Tensor):
    """Softmax of each row of a matrix (attention weights: one row per query)."""
    x = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)


class LayerNorm(Tensor):
    """Each row centred and scaled to unit variance: (x − mean) / √(var + ε), biased variance."""

    def __new__(cls, x, eps):
        return super().__new__(cls, x, eps)

    x = property(lambda self: self.args[0])
    eps = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)


class RowStd(Tensor):
    """√(var + ε) of each row: the column of scales layer norm divides by."""

    def __new__(cls, x, eps):
        return super().__new__(cls, x, eps)

    x = property(lambda self: self.args[0])
    eps = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].shape[0], sp.Integer(1)))


class HeadSum(Tensor):
    """Σᵢ X over the attention heads i = 1…h."""
    x = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)


class TimeSum(Tensor):
    """Σ_t X over the steps t = 1…T of a sequence (or Σ_j over another axis)."""

    def __new__(cls, x, axis="t"):
        return super().__new__(cls, x, axis if isinstance(axis, Str) else Str(axis))

    x = property(lambda self: self.args[0])
    axis = property(lambda self: self.args[1].name)
    shape = property(lambda self: self.args[0].shape)


class Stack(Tensor):
    """The steps of a column-vector sequence as the rows of a matrix: H = [h_1 … h_T]ᵀ."""

    def __new__(cls, x, axis, length):
        return super().__new__(cls, x, axis if isinstance(axis, Str) else Str(axis), length)

    x = property(lambda self: self.args[0])
    axis = property(lambda self: self.args[1].name)
    length = property(lambda self: self.args[2])
    shape = property(lambda self: (self.args[2], self.args[0].rows))


class StepRow(Tensor):
    """Row ``time`` of a matrix whose rows are the steps of an axis, as a column: (G)_{j,:}ᵀ."""

    def __new__(cls, g, time, axis):
        return super().__new__(cls, g, time, axis if isinstance(axis, Str) else Str(axis))

    g = property(lambda self: self.args[0])
    time = property(lambda self: self.args[1])
    axis = property(lambda self: self.args[2].name)
    shape = property(lambda self: (self.args[0].cols, sp.Integer(1)))


class Diag(Tensor):
    """diag(v): the square matrix with the column vector v on its diagonal, as Jacobians print
    (∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W). diag(v) X equals v ⊙ X column by column."""
    x = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[0].rows, self.args[0].rows))


class Jacobian(Tensor):
    """∂u/∂v between two column-vector nodes, in numerator layout (rows of u, columns of v):
    the derivative of u's defining equations with respect to v, every route within them summed."""

    def __new__(cls, of, wrt):
        return super().__new__(cls, of, wrt)

    of = property(lambda self: self.args[0])
    wrt = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].rows, self.args[1].rows))


class Indicator(Tensor):
    """[P] X, Iverson's bracket: X at the steps where the condition P holds, zero at the others.
    P is a SymPy relation in a step variable: [t = T] Vᵀ δo for a loss read at the last step
    only, [t = 1] U x for an input fed at the first step, [t mod k ≠ 0] for truncated BPTT."""

    def __new__(cls, x, cond):
        return super().__new__(cls, x, cond)

    x = property(lambda self: self.args[0])
    cond = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)
