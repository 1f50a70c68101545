"""The functions of the model DSL: activations, softmax, losses, sums over time.

``activation("g", "tanh")`` names a function as a source does (Greff's g and h are
tanh), so the derivation prints g′(z̄ₜ) while the code computes tanh.
"""
from functools import partial, wraps

import sympy as sp

from . import algebra
from .errors import ModelError
from .graph import Model
from .options import Option
from .symbols import Ones
from .tensor import Tensor

__all__ = ["Model", "Option", "activation", "cross_entropy", "exp", "gelu", "layernorm", "log", "ones",
           "relu", "rowstd", "rowsum", "sigma", "softmax", "softmax_rows", "squared_error",
           "sum_all", "sum_heads", "sum_t", "tanh"]


def activation(name, impl):
    """An element-wise function printed as ``name`` and computed as ``impl``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ModelError(f"activation: the name is an identifier such as \"g\", not {name!r}")
    algebra.fn(name, impl, Ones(1, 1))  # fails early on an unknown impl
    return _on_expressions(name, lambda x: algebra.fn(name, impl, x))


def _on_expressions(name, f):
    """f, refusing (with a clear error) anything but DSL expressions as its arguments."""
    @wraps(f)
    def checked(*xs):
        return f(*_expressions(name, *xs))
    return checked


def _expressions(name, *xs):
    for x in xs:
        if not isinstance(x, Tensor):
            raise ModelError(f"{name} takes expressions of the model, not {x!r}")
    return xs


tanh = activation("tanh", "tanh")
sigma = activation("sigma", "sigma")
relu = activation("relu", "relu")
exp = activation("exp", "exp")
log = activation("log", "log")
gelu = activation("gelu", "gelu")
softmax = _on_expressions("softmax", algebra.softmax)
softmax_rows = _on_expressions("softmax_rows", algebra.row_softmax)
sum_t = _on_expressions("sum_t", algebra.timesum)
sum_heads = _on_expressions("sum_heads", algebra.headsum)
sum_all = _on_expressions("sum_all", algebra.sum_all)
rowsum = _on_expressions("rowsum", algebra.rowsum)


def layernorm(x, eps=1e-5):
    """Each row of x centred and scaled: (x − mean) / √(var + ε) (Ba et al. 2016)."""
    return algebra.layernorm(*_expressions("layernorm", x), _epsilon(eps))


def rowstd(x, eps=1e-5):
    """√(var + ε) of each row of x."""
    return algebra.rowstd(*_expressions("rowstd", x), _epsilon(eps))


def _epsilon(eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ModelError(f"eps is a small positive number such as 1e-5, not {eps!r}")
    return eps


def ones(rows, cols=1):
    """The all-ones matrix, e.g. ``ones(T) @ b`` to add a row vector b to every row."""
    for d in (rows, cols):
        if not (isinstance(d, sp.Symbol) or isinstance(d, (int, sp.Integer)) and not isinstance(d, bool) and d >= 1):
            raise ModelError(f"ones: a size is a symbol from M.dims or a whole number ≥ 1, not {d!r}")
    return Ones(rows, cols)


@partial(_on_expressions, "cross_entropy")
def cross_entropy(yhat, y):
    """−yᵀ log ŷ: the cross-entropy of a predicted distribution with a target; for matrices
    whose rows are distributions, the sum over the rows, −Σ y ⊙ log ŷ."""
    if yhat.cols != 1:
        return -sum_all(y * log(yhat))
    return -(y.T @ log(yhat))


@partial(_on_expressions, "squared_error")
def squared_error(yhat, y):
    """½ ‖ŷ − y‖², for a vector or (summed over every entry) a matrix."""
    r = yhat - y
    half = algebra.as_coef(1) / 2
    return algebra.scale(half, r.T @ r if r.cols == 1 else sum_all(r * r))
