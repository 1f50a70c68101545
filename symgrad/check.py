"""Numerical evidence for a derivation: central finite differences on the compiled
forward, and the model's hand-written NumPy reference implementation; for float32, the
compiled float32 code against the float64 code.

Relative error is ``max|a − b| / max(max|a|, max|b|, tiny)``, in float64, fixed seeds.
"""
import importlib
from types import SimpleNamespace
from dataclasses import dataclass, field

import numpy as np

FD_TOL = 1e-6
REF_TOL = 1e-10
F32_TOL = 1e-4    # float32 against float64: a few hundred ulps of float32 (2⁻²³ ≈ 1.2e-7)
TINY = 1e-300


def rel_err(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), TINY)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def example(compiled, sizes, T=4, B=3, seed=0):
    """Random parameters, inputs (one-hot targets, non-zero initial states) and cotangents."""
    rng = np.random.default_rng(seed)
    dims = {"T": T, **sizes, "B": B}   # a feed-forward model's own T (positions) wins
    params = compiled.init_params({d: n for d, n in sizes.items() if d in compiled.sizes}, seed)
    for name in params:  # biases away from zero, so every route carries signal
        params[name] = params[name] + 0.1 * rng.standard_normal(params[name].shape)
    inputs = {}
    for name, shape in compiled.inputs.items():
        shape = tuple(dims[d] for d in shape)
        if name in compiled.onehot:
            inputs[name] = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
        elif name in compiled.masks:
            inputs[name] = padding_mask(rng, shape)
        else:
            inputs[name] = rng.standard_normal(shape)
    for name, shape in compiled.initial.items():
        inputs[name] = 0.5 * rng.standard_normal(tuple(dims[d] for d in shape))
    cot = {}
    for name, shape in compiled.outputs.items():
        cot[name] = 1.0 if name == compiled.loss else rng.standard_normal(
            tuple(dims[d] for d in shape))
    return params, inputs, cot


def padding_mask(rng, shape):
    """Additive key-padding masks (queries, B, keys): per example, the last keys hidden (−∞),
    at least one kept."""
    mask = np.zeros(shape)
    for b in range(shape[1]):
        mask[:, b, rng.integers(1, shape[-1] + 1):] = -np.inf
    return mask


def objective(compiled, params, inputs, cot):
    """Σ ⟨cotangent, output⟩: the scalar whose gradient vjp returns."""
    out = compiled.forward(params, inputs)
    return sum(float(np.sum(np.asarray(cot[k]) * out[k])) for k in out)


def finite_differences(compiled, params, inputs, cot, eps=1e-6):
    """Central differences of the objective for every parameter, input and initial state."""
    arrays = [(params, k) for k in params] + [(inputs, k) for k in _differentiable(compiled)] \
        + [(inputs, k) for k in compiled.initial]
    return {key: central_differences(lambda: objective(compiled, params, inputs, cot), store, key, eps)
            for store, key in arrays}


def central_differences(fn, store, key, eps=1e-6):
    """∂fn/∂store[key], entry by entry: (fn(a + ε) − fn(a − ε)) / 2ε, store[key] restored."""
    base = np.array(store[key], dtype=float)
    grad = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        vals = []
        for step in (eps, -eps):
            bumped = base.copy()
            bumped[idx] += step
            store[key] = bumped
            vals.append(fn())
        grad[idx] = (vals[0] - vals[1]) / (2 * eps)
    store[key] = base
    return grad


def _differentiable(compiled):
    targets = {s.name for s in compiled.derivation.model.targets}
    return [k for k in compiled.inputs if k not in targets]


@dataclass
class Row:
    array: str
    fd: float
    ref: float | None
    f32: float | None = None      # float32 against float64, when checked


@dataclass
class Report:
    """The outcome of one check: a row of relative errors per array."""
    model: str
    rows: list
    forward_ref: float | None
    sizes: dict
    T: int | None          # steps, for a sequence model
    B: int
    seed: int
    reference: str | None
    fd_tol: float = FD_TOL
    ref_tol: float = REF_TOL
    problems: list = field(default_factory=list)
    dtype: str = "float64"
    forward_f32: float | None = None
    f32_tol: float = F32_TOL

    @property
    def passed(self):
        return not self.problems

    @property
    def worst_fd(self):
        return max((r.fd for r in self.rows), default=0.0)

    @property
    def worst_ref(self):
        errs = [r.ref for r in self.rows if r.ref is not None]
        return max(errs + ([self.forward_ref] if self.forward_ref is not None else []), default=None)


def _reference_module(reference, compiled):
    """A module, a module name, or (module name, options) for a reference with options; a
    reference written batch-first (``LAYOUT = "batch-first"``) is seen in the compiled layout."""
    if isinstance(reference, tuple):
        module, options = importlib.import_module(reference[0]), reference[1]
        ref = SimpleNamespace(forward=lambda p, i: module.forward(p, i, **options),
                              vjp=lambda p, i, c: module.vjp(p, i, c, **options))
    else:
        module = ref = importlib.import_module(reference) if isinstance(reference, str) else reference
    if getattr(module, "LAYOUT", None) == "batch-first":
        return swapped(ref, position_arrays(compiled))
    return ref


def position_arrays(compiled):
    """The names of the arrays whose rows are positions (attention's Q, X, masks, outputs):
    (T, B, …) at the compiled model's boundary, batch second."""
    if compiled.derivation.model.sequence:
        return set()
    return {k for k, dims in {**compiled.inputs, **compiled.outputs}.items()
            if len(dims) >= 3 and dims[1] == "B"}


def swapped(impl, keys):
    """``impl`` (forward, vjp) seen with the first two axes of the arrays ``keys`` swapped:
    a batch-first implementation in the step-first layout, or the reverse."""
    def swap(arrays):
        return {k: np.swapaxes(v, 0, 1) if k in keys else v for k, v in arrays.items()}
    return SimpleNamespace(forward=lambda p, i: swap(impl.forward(p, swap(i))),
                           vjp=lambda p, i, c: swap(impl.vjp(p, swap(i), swap(c))))


def _reference_name(reference):
    if isinstance(reference, tuple):
        opts = ", ".join(f"{k}={v}" for k, v in reference[1].items())
        return f"{reference[0]}({opts})"
    return getattr(reference, "__name__", reference)


def check(derivation, sizes, reference=None, T=4, B=3, seed=0, dtype="float64"):
    """Compare the compiled gradients with finite differences and with the reference module;
    with dtype="float32" also the float32 code's outputs and gradients with float64's."""
    compiled = derivation.compile()
    params, inputs, cot = example(compiled, sizes, T, B, seed)
    grads = compiled.vjp(params, inputs, cot)
    fd = finite_differences(compiled, params, inputs, cot)
    ref_grads, forward_ref = {}, None
    if reference is not None:
        ref = _reference_module(reference, compiled)
        ours, theirs = compiled.forward(params, inputs), ref.forward(params, inputs)
        forward_ref = max(rel_err(ours[k], theirs[k]) for k in ours)
        ref_grads = ref.vjp(params, inputs, cot)
    single, forward_f32 = {}, None
    if dtype == "float32":
        single, forward_f32 = _float32_errors(derivation, compiled, params, inputs, cot, grads)
    rows = [Row(k, rel_err(grads[k], fd[k]), rel_err(grads[k], ref_grads[k]) if k in ref_grads else None,
                single.get(k)) for k in fd]
    report = Report(derivation.model.name, rows, forward_ref, dict(sizes),
                    T if derivation.model.sequence else None, B, seed, _reference_name(reference),
                    dtype=dtype, forward_f32=forward_f32)
    missing = sorted(set(fd) - set(grads))
    if missing:
        report.problems.append(f"no gradient for {', '.join(missing)}")
    for r in rows:
        if not r.fd <= FD_TOL:
            report.problems.append(f"{r.array}: finite differences differ by {r.fd:.1e}")
        if reference is not None and (r.ref is None or not r.ref <= REF_TOL):
            what = "has no such gradient" if r.ref is None else f"differs by {r.ref:.1e}"
            report.problems.append(f"{r.array}: the reference {what}")
        if dtype == "float32" and not (r.f32 is not None and r.f32 <= F32_TOL):
            report.problems.append(f"{r.array}: float32 differs from float64 by {r.f32:.1e}")
    if forward_ref is not None and not forward_ref <= REF_TOL:
        report.problems.append(f"forward: the reference differs by {forward_ref:.1e}")
    if forward_f32 is not None and not forward_f32 <= F32_TOL:
        report.problems.append(f"forward: float32 differs from float64 by {forward_f32:.1e}")
    return report


def _float32_errors(derivation, compiled, params, inputs, cot, grads):
    """{array: relative error} of the float32 code's gradients against float64's, and the
    worst of its outputs; an array that comes back in another dtype counts as infinitely off."""
    single = derivation.compile("float32")
    as32 = lambda arrays: {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}  # noqa: E731
    cot32 = {k: (v if k == compiled.loss else np.asarray(v, dtype=np.float32)) for k, v in cot.items()}
    outs, grads32 = single.value_and_grad(as32(params), as32(inputs), cot32)
    ours = compiled.forward(params, inputs)
    err = lambda a, b: rel_err(a, b) if b.dtype == np.float32 else float("inf")  # noqa: E731
    return ({k: err(grads[k], grads32[k]) for k in grads32 if k in grads},
            max(err(ours[k], outs[k]) for k in ours))
