"""The arrays a compiled model is called with, checked before any arithmetic.

A wrong array must fail loudly, in one line, never run into a raw NumPy error or,
worse, a silently wrong gradient (a target that is not one-hot breaks ŷ − y). The
checks are driven only by the compiled signature — ``SIZES``, ``PARAMS``, ``INPUTS``,
``ONEHOT``, ``MASKS``, ``INITIAL``, ``OUTPUTS``, ``LOSS``: each array's dimensions by
name, ``B`` the batch — and import only NumPy, so the same code can sit inside a
standalone generated module. The exception class to raise is an argument.
"""
import numpy as np

KEYS = ("SIZES", "PARAMS", "INPUTS", "ONEHOT", "MASKS", "INITIAL", "OUTPUTS", "LOSS")


def check_sizes(sig, sizes, error):
    """The sizes ``init_params`` takes: exactly the model's, each a whole number ≥ 1."""
    names = sig["SIZES"]
    _mapping("sizes", sizes, error, "sizes")
    _keys("sizes", sizes, names, names, error)
    for name in names:
        value = sizes[name]
        if not _whole(value) or value < 1:
            raise error(f"sizes: {name} must be a whole number ≥ 1, not {value!r}")
    return {name: int(sizes[name]) for name in names}


def check_seed(seed, error):
    """A seed for NumPy's generator: a whole number ≥ 0 (or None for a fresh one)."""
    if seed is not None and (not _whole(seed) or seed < 0):
        raise error(f"seed must be a whole number ≥ 0, not {seed!r}")


def check_call(sig, params, inputs, cotangents=None, error=ValueError):
    """Raise ``error`` for the first array that does not fit the signature; return the sizes
    the arrays give, by dimension name. ``cotangents`` None is a call without them (forward)."""
    data, initial = sig["INPUTS"], sig["INITIAL"]
    _mapping("params", params, error)
    _mapping("inputs", inputs, error)
    _keys("params", params, sig["PARAMS"], sig["PARAMS"], error)
    _keys("inputs", inputs, data, {**data, **initial}, error)
    if cotangents is not None:
        _mapping("cotangents", cotangents, error)
        outputs, loss = sig["OUTPUTS"], sig["LOSS"]
        _keys("cotangents", cotangents, [o for o in outputs if o != loss], outputs, error)
    sizes = _Sizes(error)
    for name, dims in sig["PARAMS"].items():
        sizes.fit(name, params[name], dims, _param_hint(dims))
    for name, dims in data.items():
        kind = "onehot" if name in sig["ONEHOT"] else "mask" if name in sig["MASKS"] else "data"
        array = sizes.fit(name, inputs[name], dims, _data_hint(dims), finite=kind != "mask")
        if kind == "onehot":
            _onehot(name, array, error)
        elif kind == "mask":
            _mask(name, array, error)
    for name, dims in initial.items():
        if inputs.get(name) is not None:
            sizes.fit(name, inputs[name], dims, "an initial state is (batch, features)")
    for name, dims in (sig["OUTPUTS"].items() if cotangents is not None else ()):
        if name == sig["LOSS"]:
            if name in cotangents:
                _loss_cotangent(name, cotangents[name], error)
        else:
            sizes.fit(name, cotangents[name], dims, "a cotangent has its output's shape",
                      label=f"cotangent {name}")
    return sizes.values


class _Sizes:
    """The size of each dimension name, bound by the first array that has it."""

    def __init__(self, error):
        self.error, self.values, self.source = error, {}, {}

    def fit(self, name, value, dims, hint, finite=True, label=None):
        label = label or name
        array = _numbers(label, value, self.error)
        shape, want = tuple(np.shape(array)), "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        if len(shape) != len(dims):
            raise self.error(f"{label}: expected {want} — got {shape}; {hint}")
        for dim, size in zip(dims, shape):
            if size < 1:
                raise self.error(f"{label}: expected {want} — got {shape}: {dim} must be at least 1")
            if dim in self.values and self.values[dim] != size:
                raise self.error(f"{label}: expected {want} — got {shape}, but {dim} is "
                                 f"{self.values[dim]} in {self.source[dim]}")
            self.values.setdefault(dim, size)
            self.source.setdefault(dim, f"{label} {shape}")
        if finite and not np.isfinite(array).all():
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise self.error(f"{label}: {array[where]} at {where}; every entry must be finite")
        return array


def _numbers(label, value, error):
    """value as a NumPy array of real numbers, or a clear error."""
    try:
        array = np.asarray(value)
    except ValueError:   # a ragged nested list
        raise error(f"{label}: not an array (rows of different lengths?)") from None
    if array.dtype.kind not in "biuf":
        what = "complex numbers" if array.dtype.kind == "c" else f"dtype {array.dtype}"
        raise error(f"{label}: expected real numbers, got {what}")
    return array


def _onehot(name, y, error):
    """Each vector a single 1, the rest 0: the derived ŷ − y relies on Σy = 1."""
    ok = ((y == 0) | (y == 1)).all(axis=-1) & (y.sum(axis=-1) == 1)
    if not ok.all():
        where = tuple(int(i) for i in np.argwhere(~ok)[0])
        row = y[where]
        shown = np.array2string(row, precision=3, threshold=8) if row.size <= 8 else f"summing to {row.sum():g}"
        raise error(f"{name}: not one-hot at {where}: {shown}; a one-hot target has a single 1 "
                    "and 0 elsewhere (the derived gradient ŷ − y needs Σy = 1)")


def _mask(name, mask, error):
    """An additive mask holds 0 (keep) or −∞ (hide); a boolean one is a different convention."""
    if mask.dtype.kind == "b":
        raise error(f"{name}: a boolean mask; give the additive one, 0 to keep and -inf to hide, "
                    "e.g. np.where(keep, 0.0, -np.inf)")
    bad = ~((mask == 0) | np.isneginf(mask))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise error(f"{name}: {mask[where]} at {where}; an additive mask holds 0 (keep) or -inf (hide)")


def _loss_cotangent(name, value, error):
    array = _numbers(f"cotangent {name}", value, error)
    if array.ndim:
        raise error(f"cotangent {name}: {name} is the loss, its cotangent is one number "
                    f"(it scales the batch's summed loss) — got shape {array.shape}")
    if not np.isfinite(array):
        raise error(f"cotangent {name}: {array} is not finite")


def _param_hint(dims):
    if len(dims) == 3:
        return "a per-head parameter is (heads, rows, cols)"
    if len(dims) == 1:
        return "a bias vector is 1-D"
    return "a parameter keeps its math shape (rows, cols)"


def _data_hint(dims):
    rest = "features" if len(dims) == 3 else "…"
    if len(dims) > 1 and dims[1] == "B":
        return f"a sequence is (steps, batch, {rest})"
    return "a batch is (batch, features)" if len(dims) == 2 else "the batch comes first"


def _mapping(what, value, error, of="arrays"):
    if not hasattr(value, "keys") or not hasattr(value, "__getitem__"):
        raise error(f"{what}: expected a dict of {of} by name, got {type(value).__name__}")


def _keys(what, given, required, allowed, error):
    """Every required name present, none outside ``allowed``."""
    missing = [k for k in required if k not in given]
    unknown = [k for k in given if k not in allowed]
    listing = ", ".join(allowed) or "none"
    if missing:
        raise error(f"{what}: missing {', '.join(map(str, missing))} (this model takes: {listing})")
    if unknown:
        raise error(f"{what}: unknown {', '.join(map(repr, unknown))} (this model takes: {listing})")


def _whole(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
