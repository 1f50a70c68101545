"""The functions of the model DSL: activations, softmax, losses, sums over time.

``activation("g", "tanh")`` names a function as a source does (Greff's g and h are
tanh), so the derivation prints g′(z̄ₜ) while the code computes tanh.
"""
from . import algebra
from .graph import Model
from .symbols import Ones

__all__ = ["Model", "activation", "cross_entropy", "exp", "log", "relu", "sigma", "softmax",
           "squared_error", "sum_all", "sum_t", "tanh"]


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
sum_t = algebra.timesum
sum_all = algebra.sum_all


def cross_entropy(yhat, y):
    """−yᵀ log ŷ: the cross-entropy of a predicted distribution with a target."""
    return -(y.T @ log(yhat))


def squared_error(yhat, y):
    """½ ‖ŷ − y‖²."""
    r = yhat - y
    return algebra.scale(algebra.as_coef(1) / 2, r.T @ r)
