"""symgrad: derive, print and prove the backpropagation equations of neural network models.

    import symgrad
    d = symgrad.derive(symgrad.model("rnn"))   # the Derivation: forward, deltas, gradients
    print(d)                                     # textbook equations
    f = d.compile()                              # NumPy forward and vjp
"""
from .catalog import model
from .derive import Derivation, derive
from .errors import InputError, ModelError, OptionError, ShapeError, SymgradError
from .graph import Model

__all__ = ["Derivation", "InputError", "Model", "ModelError", "OptionError", "ShapeError",
           "SymgradError", "derive", "model"]
__version__ = "0.1.0"
