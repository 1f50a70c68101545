"""The model fuzzer: random models written with the public DSL (fuzz_models.py) must
derive, compile to a vjp that central differences of the compiled forward confirm at
every length T ∈ {1, 2, n + 3} (n the largest size), and print as text and LaTeX.

The suite runs EXAMPLES models from a fixed seed. A long search:
``SYMGRAD_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py`` (add
``SYMGRAD_FUZZ_SEED=7`` for another stream of models). A failure prints the model as a
model file (fuzz_models.source), small after hypothesis has shrunk it.

Each property is a function of a Case in PROPERTIES: it derives; its vjp matches finite
differences; it prints; verify reads its printed equations back as right.
"""
import io
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from rich.console import Console

import symgrad
from symgrad.check import example, objective
from symgrad.derive import STYLES
from symgrad.verify import verify_lines

from fuzz_models import build, recipes, source

EXAMPLES = int(os.environ.get("SYMGRAD_FUZZ_EXAMPLES", "300"))
SEED = os.environ.get("SYMGRAD_FUZZ_SEED")
TOL = 1e-4          # on a directional derivative; a wrong rule is off by O(1)


@dataclass
class Case:
    """One drawn model: its recipe, the Model, the style to derive it in, sizes for the checks."""
    recipe: object
    model: object
    style: str
    sizes: dict

    @cached_property
    def derivation(self):
        return symgrad.derive(self.model, self.style)

    def __repr__(self):
        """What a failure report shows: the model file, its sizes and style."""
        return f"{source(self.recipe)}# sizes {self.sizes}, style {self.style!r}\n"


def derives(case):
    """The derivation exists: every δ, input, initial-state and parameter gradient."""
    d = case.derivation
    assert len(d.params) == len(case.model.params) and d.forward


def lengths(case):
    """The lengths to check: steps (or positions) 1, 2 and n + 3, more than any size."""
    n = max(case.sizes.values())
    if case.recipe.sequence or "T" in case.sizes:
        return [1, 2, n + 3]
    return [None]


def gradients_match_finite_differences(case):
    """For each array, ⟨vjp, v⟩ along a random unit direction v equals the central
    difference of the compiled forward's objective along v, at every length."""
    compiled = case.derivation.compile()
    targets = {s.name for s in case.model.targets}
    for i, length in enumerate(lengths(case)):
        sizes = dict(case.sizes)
        if length is not None and not case.recipe.sequence:
            sizes["T"] = length
        B = 2 if i % 2 else 1
        params, inputs, cot = example(compiled, sizes, T=length if case.recipe.sequence else 3, B=B, seed=i)
        grads = compiled.vjp(params, inputs, cot)
        arrays = [(params, k) for k in params] + [(inputs, k) for k in inputs if k not in targets]
        assert sorted(grads) == sorted(k for _, k in arrays), (sorted(grads), length)
        rng = np.random.default_rng(100 + i)
        directions = {k: _unit(rng, np.shape(store[k])) for store, k in arrays}
        along = {k: float(np.vdot(grads[k], directions[k])) for _, k in arrays}
        floor = _noise_floor(objective(compiled, params, inputs, cot), along)
        for store, key in arrays:
            assert np.shape(grads[key]) == np.shape(store[key]), (key, np.shape(grads[key]))
            fd = [_central(compiled, params, inputs, cot, store, key, directions[key], eps)
                  for eps in (1e-7, 1e-6, 1e-5, 1e-4)]
            err = min(abs(along[key] - d) / max(abs(along[key]), abs(d), floor) for d in fd)
            assert err <= TOL, f"{key}: vjp and finite differences differ by {err:.1e} at length {length}, B={B}"


def _unit(rng, shape):
    v = rng.standard_normal(shape)
    return v / np.linalg.norm(v)


def _noise_floor(value, along):
    """The scale below which a directional derivative is rounding, so that a disagreement
    must exceed TOL times it (10⁻⁸ of the objective): 10⁻⁴ of the objective (a layer norm of
    rows that are constant divides rounding errors by √ε), or 10⁻⁴ of the largest directional
    derivative (a saturated σ′ = σ ⊙ (1 − σ) keeps few digits of a gradient that small)."""
    return 1e-4 * max(1.0, abs(value), max(map(abs, along.values()), default=0.0))


def _central(compiled, params, inputs, cot, store, key, v, eps):
    base = store[key]
    values = []
    for step in (eps, -eps):
        store[key] = base + step * v
        values.append(objective(compiled, params, inputs, cot))
    store[key] = base
    return (values[0] - values[1]) / (2 * eps)


def prints_as_text_and_latex(case):
    """Every equation prints: plain text, the terminal's rich form, and LaTeX."""
    d = case.derivation
    text, latex = str(d), d.to_latex()
    buffer = io.StringIO()
    Console(file=buffer, width=100).print(d)
    assert "δ" in text and "\\delta" in latex and buffer.getvalue()


def reads_back_right(case):
    """verify reads symgrad's own printed equations (text and LaTeX) back as right: every
    backward equation judged right, the forward ones forward, none unreadable or missing.
    Two readings are refused, not guessed, where the printed constant lost its shape: a
    function of a bare number (softmax(0) of a matrix the model simplified to zero prints as
    the softmax of a column would) and ones whose size nothing around them decides. An
    irrational constant (√10 𝟏) is not checkable: the identity test computes with fractions."""
    d = case.derivation
    for lines in (str(d).splitlines(), d.to_latex().splitlines()):
        report = verify_lines(lines, d)
        bad = [(v.line, v.status, v.source, v.problems) for v in report.verdicts
               if v.status not in ("right", "forward", "defined")
               and not (v.status == "unreadable" and _constant_lost_its_shape(v.problems))
               and not (v.status == "not checkable" and "not rational" in " ".join(v.problems))]
        assert not bad and not report.unchecked, (bad, report.unchecked)


def _constant_lost_its_shape(problems):
    return any("of a number" in p or "vector of ones (1) is not decided" in p for p in problems)


PROPERTIES = [derives, gradients_match_finite_differences, prints_as_text_and_latex, reads_back_right]


@st.composite
def cases(draw):
    recipe = draw(recipes())
    model = build(recipe)
    style = draw(st.sampled_from(STYLES))
    sizes = {d: draw(st.integers(1, 3 if d in ("h", "T_x") else 4)) for d in model.dims_}
    return Case(recipe, model, style, sizes)


_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
                     suppress_health_check=list(HealthCheck), print_blob=False)


@_settings
@given(cases())
def test_random_models_derive_check_and_print(case):
    note(repr(case))     # a failure shows the model as a model file
    for prop in PROPERTIES:
        prop(case)


if SEED is not None:
    test_random_models_derive_check_and_print = seed(int(SEED))(test_random_models_derive_check_and_print)
