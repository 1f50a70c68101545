"""Derivation → NumPy: the generated module's source, and the compiled model behind the API."""
import linecache
import types

from ..errors import InputError, ModelError
from ..validate import KEYS
from .writer import DTYPES, module_source


class Compiled:
    """The compiled model: ``init_params``, ``forward``, ``vjp``, ``value_and_grad``, and the
    ``source`` behind them; ``dtype`` is the arithmetic (float64 or float32)."""

    def __init__(self, derivation, dtype="float64"):
        self.derivation, self.dtype = derivation, dtype
        self.source = module_source(derivation, dtype)
        name = f"symgrad_generated_{derivation.model.name.replace('-', '_')}_{dtype}"
        filename = f"<symgrad:{derivation.model.name}:{dtype}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        self.module = types.ModuleType(name)
        code = compile(self.source, filename, "exec")
        exec(code, self.module.__dict__)  # generated from a Derivation; user text is escaped in it
        self.signature = {key: getattr(self.module, key) for key in KEYS}
        for key, value in self.signature.items():
            setattr(self, key.lower(), value)

    def init_params(self, sizes, seed=0):
        return self._call(self.module.init_params, sizes, seed)

    def forward(self, params, inputs):
        return self._call(self.module.forward, params, inputs)

    def vjp(self, params, inputs, cotangents, truncate=None):
        return self._call(self.module.vjp, params, inputs, cotangents, truncate)

    def value_and_grad(self, params, inputs, cotangents, truncate=None):
        """(outputs, gradients) from one forward pass."""
        return self._call(self.module.value_and_grad, params, inputs, cotangents, truncate)

    def _call(self, fn, *args):
        """The generated module checks its arguments first; its error is symgrad's InputError."""
        try:
            return fn(*args)
        except self.module.InputError as err:
            raise InputError(str(err)) from None


def compile_derivation(derivation, dtype="float64"):
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    return Compiled(derivation, dtype)


__all__ = ["Compiled", "DTYPES", "compile_derivation", "module_source"]
