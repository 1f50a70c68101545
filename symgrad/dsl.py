"""The functions of the model DSL: activations, softmax, losses, sums over time.

``activation("g", "tanh")`` names a function as a source does (Greff's g and h are
tanh), so the derivation prints g′(z̄ₜ) while the code computes tanh.
"""
from . import algebra
from .graph import Model
from .options import Option
from .symbols import Ones

__all__ = ["Model", "Option", "activation", "cross_entropy", "exp", "gelu", "layernorm", "log", "ones",
           "relu", "rowstd", "rowsum", "sigma", "softmax", "softmax_rows", "squared_error",
           "sum_all", "sum_heads", "sum_t", "tanh"]


def activation(name, impl):
    """An element-wise function printed as ``name`` and computed as ``impl``."""
    algebra.fn(name, impl, Ones(1, 1))  # fails early on an unknown impl
    return lambda x: algebra.fn(name, impl, x)


tanh = activation("tanh", "tanh")
sigma = activation("sigma", "sigma")
relu = activation("relu", "relu")
exp = activation("exp", "exp")
log = activation("log", "log")
softmax = algebra.softmax
softmax_rows = algebra.row_softmax
gelu = activation("gelu", "gelu")
sum_t = algebra.timesum
sum_heads = algebra.headsum
sum_all = algebra.sum_all
rowsum = algebra.rowsum


def layernorm(x, eps=1e-5):
    """Each row of x centred and scaled: (x − mean) / √(var + ε) (Ba et al. 2016)."""
    return algebra.layernorm(x, eps)


def rowstd(x, eps=1e-5):
    """√(var + ε) of each row of x."""
    return algebra.rowstd(x, eps)


def ones(rows, cols=1):
    """The all-ones matrix, e.g. ``ones(T) @ b`` to add a row vector b to every row."""
    return Ones(rows, cols)


def cross_entropy(yhat, y):
    """−yᵀ log ŷ: the cross-entropy of a predicted distribution with a target; for matrices
    whose rows are distributions, the sum over the rows, −Σ y ⊙ log ŷ."""
    if yhat.cols != 1:
        return -sum_all(y * log(yhat))
    return -(y.T @ log(yhat))


def squared_error(yhat, y):
    """½ ‖ŷ − y‖², for a vector or (summed over every entry) a matrix."""
    r = yhat - y
    half = algebra.as_coef(1) / 2
    return algebra.scale(half, r.T @ r if r.cols == 1 else sum_all(r * r))
