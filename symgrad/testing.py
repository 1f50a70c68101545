"""Checking a person's own NumPy backward function against the derived gradients.

    from symgrad.testing import assert_gradients_match, Stacked, Transposed, Permuted
    assert_gradients_match("gru", my_backward, variant="cudnn",
                           params={"weight_ih": Stacked(["W_ir", "W_iz", "W_in"]), ...},
                           inputs={"x": Permuted("x", (1, 0, 2))})     # batch first

The function is called as ``backward(params, inputs, cotangents)`` with arrays in the
person's own names and layouts, and must return the gradients in those names and layouts.
Names not mapped are passed as the model names them.
"""
from dataclasses import dataclass

import numpy as np

from . import catalog
from .check import example, rel_err
from .derive import Derivation, derive


@dataclass(frozen=True)
class Renamed:
    """Their array is ours under another name."""
    name: str

    def names(self):
        return [self.name]

    def to_theirs(self, ours):
        return ours[self.name]


@dataclass(frozen=True)
class Transposed:
    """Their array is ours transposed (x·W with W = ours ᵀ, as in CS231n)."""
    name: str

    def names(self):
        return [self.name]

    def to_theirs(self, ours):
        return np.swapaxes(ours[self.name], -1, -2)


@dataclass(frozen=True)
class Permuted:
    """Their array is ours with its axes reordered (batch first: (1, 0, 2))."""
    name: str
    axes: tuple

    def names(self):
        return [self.name]

    def to_theirs(self, ours):
        return np.transpose(ours[self.name], self.axes)


@dataclass(frozen=True)
class Stacked:
    """Their array is several of ours stacked along an axis (PyTorch's weight_ih of gates)."""
    parts: list
    axis: int = 0

    def names(self):
        return list(self.parts)

    def to_theirs(self, ours):
        return np.concatenate([ours[p] for p in self.parts], axis=self.axis)


def _convert(ours, layout):
    """Our arrays in their names and layouts; what the layout does not mention keeps our name."""
    theirs, used = {}, set()
    for their_name, spec in layout.items():
        spec = Renamed(spec) if isinstance(spec, str) else spec
        theirs[their_name] = spec.to_theirs(ours)
        used.update(spec.names())
    theirs.update({k: v for k, v in ours.items() if k not in used})
    return theirs


def assert_gradients_match(model, backward, params=None, inputs=None, outputs=None,
                           sizes=None, T=4, B=3, seed=0, tol=1e-8, **options):
    """Raise AssertionError, naming each array that differs, unless ``backward`` returns the
    gradients symgrad derives for ``model`` (a catalog name with its options, a Model or a
    Derivation) on random inputs; ``params``, ``inputs``, ``outputs`` map their names to ours."""
    if isinstance(model, str):
        sizes = sizes or catalog.entry(model).CHECK_SIZES
        model = catalog.model(model, **options)
    d = model if isinstance(model, Derivation) else derive(model)
    if not sizes:
        raise ValueError("give the sizes of the model: sizes={'n': 4, ...}")
    compiled = d.compile()
    our_params, our_inputs, our_cot = example(compiled, sizes, T=T, B=B, seed=seed)
    params, inputs, outputs = params or {}, inputs or {}, outputs or {}
    expected = _convert(compiled.vjp(our_params, our_inputs, our_cot), {**params, **inputs})
    got = backward(_convert(our_params, params), _convert(our_inputs, inputs), _convert(our_cot, outputs))
    problems = []
    for name, want in expected.items():
        if name not in got:
            problems.append(f"{name}: not returned")
            continue
        err = rel_err(got[name], want)
        if not err <= tol:
            shape = "" if np.shape(got[name]) == np.shape(want) else \
                f" (shape {np.shape(got[name])}, expected {np.shape(want)})"
            problems.append(f"{name}: relative error {err:.1e}{shape}")
    if problems:
        raise AssertionError(f"gradients differ from symgrad's for {d.model.name}: " + "; ".join(problems))
