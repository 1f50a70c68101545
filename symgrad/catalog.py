"""Finding models: the catalog in symgrad.derivations, or a model file given by path."""
import importlib
import importlib.util
import pkgutil
import traceback
from pathlib import Path

from . import derivations
from .errors import ModelError, SymgradError, UnknownModelError
from .graph import Model
from .options import check as check_options, specs


def names():
    """The catalog's model names, in a stable order."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(derivations.__path__)
                  if not m.name.startswith("_"))


def entry(name):
    """The module of a catalog model, or of a model file (a path ending in .py)."""
    if not isinstance(name, str):
        raise UnknownModelError(f"a model is a catalog name or a model file (.py), not {name!r}")
    if _is_file(name):
        return _load_file(Path(name))
    if name not in names():
        raise UnknownModelError(f"unknown model {name!r}; the catalog has: {', '.join(names())}")
    return importlib.import_module(f"{derivations.__name__}.{name.replace('-', '_')}")


def option_specs(name):
    """The options of a model (name, type, choices, default, help), from its build() and OPTIONS."""
    mod = entry(name)
    return specs(mod.build, getattr(mod, "OPTIONS", {}), getattr(mod, "__file__", name) if _is_file(name) else name)


def model(name, **options):
    """Build a catalog model (or a model file) with its options, each checked by type and value."""
    mod = entry(name)
    options = check_options(name, option_specs(name), options)
    try:
        built = mod.build(**options)
        if not isinstance(built, Model):
            raise ModelError(f"model {name}: build() returned {type(built).__name__}, not a Model")
        return built.build()
    except SymgradError as err:
        raise type(err)(f"{_origin(err, mod)}{err}") from None
    except Exception as err:  # noqa: BLE001 — in a user's file this is their error, not ours
        if not getattr(mod, "USER_FILE", False):
            raise
        raise ModelError(_python_error(err, Path(mod.__file__))) from None


def check_sizes(name, built, avoid=(3, 4)):
    """The sizes of a numerical check: the module's CHECK_SIZES, or else default_sizes."""
    given = getattr(entry(name), "CHECK_SIZES", None)
    return dict(given) if given else default_sizes(built, avoid)


def default_sizes(built, avoid=(3, 4)):
    """A distinct small size per dimension of a model, none equal to the batch or step
    counts (``avoid``), so that a transposed or swapped axis cannot pass unnoticed."""
    free = (n for n in range(2, 1000) if n not in avoid)
    return {dim: next(free) for dim in built.dims_}


def reference(name, options):
    """The hand-written reference for a model with these options: a module name, a pair
    (module name, keyword options for it), or None.

    A catalog module gives REFERENCE, or reference(**options) where it depends on them."""
    mod = entry(name)
    if callable(getattr(mod, "reference", None)):
        return mod.reference(**options)
    return getattr(mod, "REFERENCE", None)


def _is_file(name):
    return name.endswith(".py")


def _load_file(path):
    if not path.is_file():
        raise UnknownModelError(f"model file {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"symgrad_user_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # a model file is Python the user wrote and asked to run
    except SymgradError as err:
        raise type(err)(f"{_origin(err, module)}{err}") from None
    except SyntaxError as err:
        raise ModelError(f"{path}:{err.lineno}:{err.offset}: {err.msg}") from None
    except Exception as err:  # noqa: BLE001 — a broken model file is a user error
        raise ModelError(_python_error(err, path)) from None
    if not callable(getattr(module, "build", None)):
        raise ModelError(f"{path}: a model file must define build() returning a Model")
    module.USER_FILE = True
    for attr, default in (("SUMMARY", ""), ("SOURCE", ""), ("CHECK_SIZES", None), ("REFERENCE", None)):
        if not hasattr(module, attr):
            setattr(module, attr, default)
    return module


def _origin(err, module):
    """'file:line: ' of the model file's line where a build error was raised, if any."""
    path = getattr(module, "__file__", None)
    if not path:
        return ""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == path]
    return f"{Path(path).name}:{frames[-1].lineno}: " if frames else ""


def _python_error(err, path):
    """'file (line N): NameError: …' for an exception raised by a user's model file."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == str(path)]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{path}{where}: {type(err).__name__}: {err}"
