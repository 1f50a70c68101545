"""The one exception family a user can cause; the CLI turns it into one line and exit code 2."""


class SymgradError(Exception):
    """Base of every error caused by user input (model, option, file)."""


class ShapeError(SymgradError):
    """Operands whose shapes do not fit the operation."""


class ModelError(SymgradError):
    """A model that cannot be built: undefined symbol, node defined twice, cycle, bad option."""


class UnknownModelError(SymgradError):
    """A model name that is not in the catalog and not a model file."""


class InputError(SymgradError, ValueError):
    """Arrays or sizes given to a compiled model that do not fit it: a missing or unknown
    name, a wrong rank or shape, a target that is not one-hot, a mask that is not 0/−∞."""


class OptionError(ModelError):
    """A model option that does not exist, or a value of the wrong type or out of its choices."""


class LayoutError(SymgradError):
    """A call of assert_gradients_match that cannot mean anything: a layout naming an array
    the model does not have, an adapter that does not fit its array, an unknown skip name."""
