"""Checking a person's own NumPy backward function against the derived gradients.

    from symgrad.testing import Permuted, Stacked, Transposed, assert_gradients_match
    assert_gradients_match("lstm", backward, variant="NP",
        params={"Wx": Transposed(Stacked(["W_i", "W_f", "W_o", "W_z"])), ...},
        inputs={"x": Permuted("x", (1, 0, 2)), "h0": "y0"},
        outputs={"h": Permuted("y", (1, 0, 2))}, zero_initial=["c0"])

``backward(params, inputs, cotangents)`` gets arrays in the person's own names and
layouts and returns the gradients in those names and layouts. A layout maps their name
to one of ours (a string) or to an adapter of ours, and adapters nest; names not mapped
keep ours. Layouts are linear, so the gradient expected for their array is the same
adapter applied to our gradients. When one differs, the message says which, by how
much, and the likely cause.
"""
import numpy as np

from . import catalog
from .check import example, rel_err
from .derive import Derivation, derive
from .errors import LayoutError
from .graph import Model

FLOAT32_TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-2}


class Adapter:
    """Their array, made from ours. ``names()`` are the arrays of ours it reads."""
    linear = True     # applies to gradients too

    def names(self):
        return self.source.names()

    def __call__(self, ours):
        raise NotImplementedError


def _adapter(source):
    if isinstance(source, str):
        return Renamed(source)
    if isinstance(source, Adapter):
        return source
    raise LayoutError(f"a layout entry is a name or an adapter (Transposed, Stacked, …), not {source!r}")


class Renamed(Adapter):
    """Their array is ours under another name."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise LayoutError(f"Renamed takes a name, not {name!r}")
        self.name = name

    def names(self):
        return (self.name,)

    def __call__(self, ours):
        return ours[self.name]

    def __repr__(self):
        return repr(self.name)


class Transposed(Adapter):
    """Their array is ours with its last two axes swapped (x·W with W = oursᵀ, as in CS231n)."""

    def __init__(self, source):
        self.source = _adapter(source)

    def __call__(self, ours):
        a = self.source(ours)
        if np.ndim(a) < 2:
            raise LayoutError(f"{self!r}: {self.source!r} has shape {np.shape(a)}, nothing to transpose")
        return np.swapaxes(a, -1, -2)

    def __repr__(self):
        return f"Transposed({self.source!r})"


class Permuted(Adapter):
    """Their array is ours with its axes reordered (batch first: (1, 0, 2))."""

    def __init__(self, source, axes):
        self.source, self.axes = _adapter(source), tuple(axes)

    def __call__(self, ours):
        a = self.source(ours)
        if sorted(self.axes) != list(range(np.ndim(a))):
            raise LayoutError(f"{self!r}: {self.source!r} has {np.ndim(a)} axes, shape {np.shape(a)}")
        return np.transpose(a, self.axes)

    def __repr__(self):
        return f"Permuted({self.source!r}, {self.axes})"


class Reshaped(Adapter):
    """Their array is ours reshaped: a bias vector kept as a column (-1, 1) or a row (1, -1)."""

    def __init__(self, source, shape):
        self.source, self.shape = _adapter(source), tuple(shape)

    def __call__(self, ours):
        a = self.source(ours)
        try:
            return np.reshape(a, self.shape)
        except ValueError:
            raise LayoutError(f"{self!r}: {self.source!r} has shape {np.shape(a)}") from None

    def __repr__(self):
        return f"Reshaped({self.source!r}, {self.shape})"


class Stacked(Adapter):
    """Their array is several of ours stacked along an axis (PyTorch's weight_ih of gates)."""

    def __init__(self, parts, axis=0):
        if isinstance(parts, (str, Adapter)) or not parts:
            raise LayoutError(f"Stacked takes a list of names or adapters, not {parts!r}")
        self.parts, self.axis = tuple(_adapter(p) for p in parts), axis

    def names(self):
        return tuple(n for p in self.parts for n in p.names())

    def __call__(self, ours):
        arrays = [p(ours) for p in self.parts]
        try:
            return np.concatenate(arrays, axis=self.axis)
        except ValueError:   # NumPy's AxisError is one too
            shapes = ", ".join(f"{p!r} {np.shape(a)}" for p, a in zip(self.parts, arrays))
            raise LayoutError(f"{self!r}: these do not stack along axis {self.axis}: {shapes}") from None

    def __repr__(self):
        return f"Stacked([{', '.join(map(repr, self.parts))}], axis={self.axis})"


class Indices(Adapter):
    """Their target is class indices where ours is one-hot (CS231n's integer labels y)."""
    linear = False

    def __init__(self, source):
        self.source = _adapter(source)

    def __call__(self, ours):
        return np.argmax(self.source(ours), axis=-1)

    def __repr__(self):
        return f"Indices({self.source!r})"


def assert_gradients_match(model, backward, params=None, inputs=None, outputs=None, sizes=None,
                           T=4, B=3, seed=0, tol=1e-8, skip=(), zero_initial=False, loss_scale=1.0,
                           **options):
    """Raise AssertionError, naming each gradient that differs and its likely cause, unless
    ``backward`` returns the gradients symgrad derives for ``model`` (a catalog name or model
    file with its ``options``, a Model or a Derivation) on random inputs.

    ``params``, ``inputs``, ``outputs``: their name → our name or adapter. ``skip``: their
    names of gradients the code does not compute. ``zero_initial``: True or our names of
    initial states (``c0``) the code fixes at zero; they are not passed and get no gradient.
    ``loss_scale``: their gradients are this × ours, "mean" for a loss averaged over the batch."""
    d, sizes = _derivation(model, sizes, options, T, B)
    compiled = d.compile()
    layout = {"params": _layout("params", params), "inputs": _layout("inputs", inputs),
              "outputs": _layout("outputs", outputs)}
    zeroed = _zeroed(compiled, zero_initial)
    _check_names(d.model.name, layout, compiled, zeroed)
    scale = _loss_scale(loss_scale, B)
    our_params, our_inputs, our_cot = example(compiled, sizes, T=T, B=B, seed=seed)
    our_inputs.update({k: np.zeros_like(our_inputs[k]) for k in zeroed})

    def compare(data):
        expected = _expected(compiled.vjp(our_params, data, our_cot), layout, zeroed, scale)
        unknown = sorted(set(skip) - set(expected))
        if unknown:
            raise LayoutError(f"skip: {', '.join(map(repr, unknown))} are not gradients of "
                              f"{d.model.name} (expected: {', '.join(expected)})")
        passed = {k: v for k, v in data.items() if k not in zeroed}
        got = backward(_convert(our_params, layout["params"]), _convert(passed, layout["inputs"]),
                       _convert(our_cot, layout["outputs"]))
        if not hasattr(got, "keys"):
            raise AssertionError(f"backward returned {type(got).__name__}; it must return a dict "
                                 "of gradients by name")
        return {k: v for k, v in expected.items() if k not in skip}, got

    expected, got = compare(our_inputs)
    initial = _initial_names(compiled, layout)
    problems = _differences(expected, got, tol, initial, B)
    if not problems:
        return
    lines = [f"  {name}: {text}" for name, text in problems.items()]
    extra = sorted(set(got) - set(expected) - set(skip))
    if extra and any(text.startswith("not returned") for text in problems.values()):
        lines.append(f"  returned but not expected: {', '.join(extra)} (a different name?)")
    lines += _initial_state_hint(compiled, zeroed, our_inputs, compare, tol, B, problems, got)
    setup = f"B={B}" + (f", T={T}" if d.model.sequence else "") + f", seed={seed}, tol={tol:g}"
    raise AssertionError(f"gradients differ from symgrad's for {d.model.name} ({setup}):\n"
                         + "\n".join(lines))


def _derivation(model, sizes, options, T, B):
    """The Derivation to compare with, and the sizes (given, CHECK_SIZES or defaults)."""
    if isinstance(model, str):
        built = catalog.model(model, **options)
        return derive(built), sizes or catalog.check_sizes(model, built, avoid=(T, B))
    if options:
        raise LayoutError(f"options ({', '.join(options)}) are for a catalog name or model file; "
                          "a Model or Derivation is already built")
    if isinstance(model, Model):
        model = derive(model)
    if not isinstance(model, Derivation):
        raise LayoutError(f"model: a catalog name, a model file, a Model or a Derivation, not {model!r}")
    return model, sizes or catalog.default_sizes(model.model, avoid=(T, B))


def _layout(what, layout):
    if layout is None:
        return {}
    if not hasattr(layout, "items"):
        raise LayoutError(f"{what}: a dict of their name → our name or adapter, not {layout!r}")
    return {their: _adapter(spec) for their, spec in layout.items()}


def _zeroed(compiled, zero_initial):
    if zero_initial is True:
        return list(compiled.initial)
    names = list(zero_initial or ())
    unknown = [n for n in names if n not in compiled.initial]
    if isinstance(zero_initial, str) or unknown:
        raise LayoutError(f"zero_initial: True or a list of initial states of "
                          f"{compiled.derivation.model.name} ({', '.join(compiled.initial) or 'none'}), "
                          f"not {zero_initial!r}")
    return names


def _check_names(model, layout, compiled, zeroed):
    """Every name of ours a layout reads exists; no name of theirs is given twice."""
    ours = {"params": list(compiled.params),
            "inputs": [k for k in [*compiled.inputs, *compiled.initial] if k not in zeroed],
            "outputs": list(compiled.outputs)}
    for what, entries in layout.items():
        used = set()
        for their, spec in entries.items():
            for name in spec.names():
                if name not in ours[what]:
                    pinned = " (pinned at zero by zero_initial, so not passed)" if name in zeroed else ""
                    raise LayoutError(f"{what}: {their} → {spec!r}: {model} has no {name!r} among its "
                                      f"{what}{pinned}; they are: {', '.join(ours[what])}")
            used.update(spec.names())
        clash = sorted(set(entries) & (set(ours[what]) - used))
        if clash:
            raise LayoutError(f"{what}: {clash[0]} names one of yours and also {model}'s own {clash[0]}, "
                              "which no entry maps; map that one too")


def _loss_scale(loss_scale, B):
    if loss_scale == "mean":
        return 1.0 / B
    if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool) and loss_scale:
        return float(loss_scale)
    raise LayoutError(f"loss_scale: a non-zero number or 'mean' (1/B), not {loss_scale!r}")


def _convert(ours, layout):
    """Our arrays in their names and layouts (fresh copies: their code may write into them);
    what the layout does not mention keeps our name."""
    theirs, used = {}, set()
    for their_name, spec in layout.items():
        theirs[their_name] = np.array(spec(ours))
        used.update(spec.names())
    theirs.update({k: np.array(v) for k, v in ours.items() if k not in used})
    return theirs


def _expected(grads, layout, zeroed, scale):
    """Our gradients in their names and layouts, times the loss scale; an entry whose arrays
    have no gradient (a target, a mask) expects none."""
    entries = {**layout["params"], **layout["inputs"]}
    grads = {k: v for k, v in grads.items() if k not in zeroed}
    usable = {their: spec for their, spec in entries.items()
              if spec.linear and all(n in grads for n in spec.names())}
    return {k: scale * v for k, v in _convert(grads, usable).items()
            if k in usable or not any(k in spec.names() for spec in entries.values())}


def _initial_names(compiled, layout):
    """Their name → our name of each initial state (for the hints)."""
    theirs = {spec.names()[0]: their for their, spec in layout["inputs"].items()
              if len(spec.names()) == 1}
    return {theirs.get(k, k): k for k in compiled.initial}


def _differences(expected, got, tol, initial, B):
    """{their name: what is wrong and the likely cause} for each gradient that differs;
    ``initial`` maps their names of initial states to ours."""
    problems = {}
    for name, want in expected.items():
        if name not in got:
            fix = (f"zero_initial=[{initial[name]!r}] if your code starts from zero, or skip=[{name!r}]"
                   if name in initial else f"skip=[{name!r}] if your code does not compute it")
            problems[name] = f"not returned ({fix})"
            continue
        try:
            mine = np.asarray(got[name])
            err = rel_err(mine, want)
        except (TypeError, ValueError):
            problems[name] = f"not an array of numbers: {type(got[name]).__name__}"
            continue
        limit = FLOAT32_TOL.get(mine.dtype, tol)
        if not err <= tol:
            problems[name] = _diagnosis(name, mine, want, err, tol, limit, initial.get(name), B)
    return problems


def _diagnosis(name, got, want, err, tol, limit, initial, B):
    """How far off, and the likeliest reason (``initial``: our name, for an initial state)."""
    if got.shape != want.shape:
        return _shape_diagnosis(got, want)
    diff = np.abs(got - want)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    text = f"relative error {err:.1e}, largest difference {diff[where]:.3g} at {where}"
    if not np.any(got) and np.any(want):
        if initial:
            return (text + f"; your {name} is zero: does your code start from a zero state? "
                    f"Then pass zero_initial=[{initial!r}]")
        return text + f"; your {name} is zero: is it computed at all?"
    if err <= limit and limit != tol:
        return text + f"; your gradients are {got.dtype}, which rounds at about this size: pass tol={limit:g}"
    ratio = float(np.vdot(got, want) / np.vdot(want, want)) if np.any(want) else 0.0
    if abs(ratio - 1) > 1e-6 and ratio and rel_err(got, ratio * want) <= max(tol, 1e-9) * 10:
        scale = "'mean'" if abs(ratio * B - 1) < 1e-9 else f"{ratio:.6g}"
        return text + f"; it is {ratio:.6g} × the expected one" + (
            ": a sign flipped" if abs(ratio + 1) < 1e-9 else
            f": is your loss scaled (averaged over the batch?): pass loss_scale={scale}")
    if err <= 1e-4:
        return text + "; an error this small is rounding, not a wrong formula, if your code " \
                      "computes in float32 somewhere: then pass tol=1e-4"
    return text


def _shape_diagnosis(got, want):
    text = f"shape {got.shape}, expected {want.shape}"
    if got.size != want.size:
        return text
    if got.ndim == want.ndim >= 2 and np.allclose(np.swapaxes(got, -1, -2), want, rtol=1e-6, atol=0):
        return text + "; it is the transpose of the expected one: map it with Transposed(...)"
    if np.allclose(got.reshape(want.shape), want, rtol=1e-6, atol=0):
        return text + "; the same numbers in another shape: map it with Reshaped(..., " \
                      f"{got.shape})"
    return text


def _initial_state_hint(compiled, zeroed, data, compare, tol, B, problems, got):
    """Run again from zero initial states: if the numbers that differed then agree, say so."""
    free = [k for k in compiled.initial if k not in zeroed]
    differed = [k for k in problems if k in got]
    if not free or not differed:
        return []
    expected, again = compare({**data, **{k: np.zeros_like(data[k]) for k in free}})
    if _differences({k: expected[k] for k in expected if k in again}, again, tol, {}, B):
        return []
    return [f"from zero initial states ({', '.join(free)} = 0) every gradient agrees: your code "
            "mishandles a non-zero initial state (or ignores the one it is given)"]
