"""Derivation → NumPy: the generated module's source, and the compiled model behind the API."""
import linecache
import types

from ..errors import ModelError
from .writer import DTYPES, module_source

SIGNATURE = ("SIZES", "PARAMS", "INPUTS", "ONEHOT", "MASKS", "INITIAL", "OUTPUTS", "LOSS")


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
        for key in SIGNATURE:
            setattr(self, key.lower(), getattr(self.module, key))

    def init_params(self, sizes, seed=0):
        missing = [d for d in self.sizes if d not in sizes]
        if missing:
            raise ModelError(f"sizes missing for {', '.join(missing)} (need {', '.join(self.sizes)})")
        return self.module.init_params(sizes, seed)

    def forward(self, params, inputs):
        return self.module.forward(params, inputs)

    def vjp(self, params, inputs, cotangents, truncate=None):
        self._check_truncate(truncate)
        return self.module.vjp(params, inputs, cotangents, truncate)

    def value_and_grad(self, params, inputs, cotangents, truncate=None):
        """(outputs, gradients) from one forward pass."""
        self._check_truncate(truncate)
        return self.module.value_and_grad(params, inputs, cotangents, truncate)

    def _check_truncate(self, truncate):
        if truncate is None:
            return
        if isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1:
            raise ModelError(f"truncate must be a whole number of steps ≥ 1, not {truncate!r}")
        if not self.derivation.model.sequence:
            raise ModelError(f"truncate: the model {self.derivation.model.name} has no steps to cut")


def compile_derivation(derivation, dtype="float64"):
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    return Compiled(derivation, dtype)


__all__ = ["Compiled", "DTYPES", "compile_derivation", "module_source"]
