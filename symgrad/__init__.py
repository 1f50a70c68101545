"""symgrad: derive, print and prove the backpropagation equations of neural network models.

    import symgrad
    d = symgrad.derive(symgrad.model("rnn"))   # the Derivation: forward, deltas, gradients
    print(d)                                     # textbook equations
    f = d.compile()                              # NumPy forward and vjp
"""
from .catalog import model
from .clip import clip_by_norm, clip_by_value, global_norm
from .derive import Derivation, derive
from .errors import InputError, ModelError, OptionError, ShapeError, SymgradError
from .flow import flow as gradient_flow
from .graph import Model
from .jacobian import jacobians

__all__ = ["Derivation", "InputError", "Model", "ModelError", "OptionError", "ShapeError",
           "SymgradError", "clip_by_norm", "clip_by_value", "derive", "global_norm", "gradient_flow",
           "jacobians", "model"]
__version__ = "0.1.0"
