"""The element-wise functions: their derivatives in closed form and their NumPy/SymPy forms.

One entry per function. ``deriv`` writes f'(x) in terms of f(x) where a textbook does
(σ' = σ ⊙ (1 − σ), tanh' = 1 − tanh²), so a named activation shows up as its node.
"""
from dataclasses import dataclass
from typing import Callable

import sympy as sp


@dataclass(frozen=True)
class Elementwise:
    text: str            # how the text printer writes it
    latex: str           # how LaTeX writes it
    numpy: str           # expression of the NumPy implementation, with {x}
    scalar: Callable     # the SymPy scalar function, for the scalar oracle
    deriv: Callable      # f'(x) as a symgrad expression, given f(x) as `fx` and x
    primed: bool = True  # written f′(x) in the derivative style (activations); else closed form
    numpy_prime: str = ""  # NumPy of f′ where deriv gives no closed form


def _sigmoid_scalar(u):
    return 1 / (1 + sp.exp(-u))


def _relu_scalar(u):
    return sp.Piecewise((u, u > 0), (0, True))


def _step_scalar(u):
    return sp.Piecewise((1, u > 0), (0, True))


def _gelu_scalar(u):
    return u / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (u + sp.Rational(44715, 1000000) * u ** 3)))


def _fn(impl, name=None):
    from .algebra import fn
    return lambda x: fn(name or impl, impl, x)


FUNCTIONS = {
    "tanh": Elementwise("tanh", r"\tanh", "np.tanh({x})", sp.tanh,
                        lambda fx, x: 1 - fx * fx),
    "sigma": Elementwise("σ", r"\sigma", "_sigmoid({x})", _sigmoid_scalar,
                         lambda fx, x: fx * (1 - fx)),
    "relu": Elementwise("ReLU", r"\operatorname{ReLU}", "np.maximum({x}, 0.0)", _relu_scalar,
                        lambda fx, x: _fn("step")(x), primed=False),
    "step": Elementwise("step", r"\operatorname{step}", "_step({x})", _step_scalar,
                        None, primed=False),
    "exp": Elementwise("exp", r"\exp", "np.exp({x})", sp.exp, lambda fx, x: fx, primed=False),
    "log": Elementwise("log", r"\log", "np.log({x})", sp.log, lambda fx, x: x ** -1,
                       primed=False),
    # GELU in the tanh form of Hendrycks & Gimpel (2016), as GPT-2 and BERT use it
    "gelu": Elementwise("GELU", r"\operatorname{GELU}", "_gelu({x})", _gelu_scalar, None,
                        numpy_prime="_gelu_prime({x})"),
}


def lookup(impl):
    """The entry for a function, or a clear error naming the known ones."""
    from .errors import ModelError
    try:
        return FUNCTIONS[impl]
    except KeyError:
        raise ModelError(f"unknown element-wise function {impl!r}; known: "
                         + ", ".join(sorted(FUNCTIONS))) from None
