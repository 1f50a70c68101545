"""Checking a person's backward equations against the derivation, equation by equation.

The verdict is exact: both sides are brought to one basis (derivatives written out,
named activations substituted, every delta that is not a state's delta replaced by its
derived expression) and evaluated in rational arithmetic at a random point, small sizes
and a few steps, every δ after the last step zero. A correct equation written in another
form (σ′(ō) or o ⊙ (1 − o), a sum split in two) evaluates equal; a wrong one differs.
Only then are the two compared term by term, to say what is wrong the way a person would:
a term missing or extra, at the wrong step, a transpose missing or spurious, a wrong sign
or factor, a product in the wrong order.
"""
import random
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce
from itertools import product

import numpy as np
import sympy as sp

from . import algebra
from .algebra import ckey, expand_derivatives, rebuild, substitute
from .derive import name_nodes
from .parse import ParseError, Scope, ShapeMismatch, parse_equation
from .parse_latex import parse_latex_equation
from .ops import (Add, EPow, Fn, Had, HeadSum, Indicator, LayerNorm, MatMul, RowSoftmax, RowStd,
                  ScalarMul, Scale, Softmax, Stack, StepRow, TimeSum, Transpose)
from .render.printer import text
from .symbols import Cotangent, Delta, Ones, Seq, Sym, Zero, shift

STEPS = 3
SIZE = 2
OPAQUE = (Fn, Softmax, RowSoftmax, LayerNorm, RowStd)


@dataclass
class Verdict:
    """The outcome for one hand equation."""
    line: int
    source: str
    lhs: str
    correct: bool
    problems: list = field(default_factory=list)
    expected: str = ""


class Verifier:
    """The derivation of one model, ready to judge hand equations against it."""

    def __init__(self, derivation, seed=0):
        self.d, self.model = derivation, derivation.model
        self.states = set(self.model.states)
        self.defs = {str(eq.lhs): eq for eq in derivation.backward}
        self.delta_of = {eq.lhs.var.name: eq.rhs for eq in derivation.deltas}
        self.delta_of.update(derivation.inlined)
        self.rng = random.Random(seed)
        self.values = {}
        self.sizes = {d: SIZE for d in self.model.dims_.values()}
        self.lengths = {length: STEPS for length in self.model.axes.values()}

    # -- the basis ---------------------------------------------------------------------
    def basis(self, expr, steps=None):
        """expr with derivatives written out, activations named and every delta of a node that
        is not a state replaced by its derivation (repeatedly: each replacement is one step
        closer to the output, so this ends). At concrete ``steps``, a delta before the first
        or after the last step is zero, whatever its formula."""
        if steps is not None:
            expr = rebuild(expr.xreplace(steps))
        expr = name_nodes(expand_derivatives(expr), self.model)
        for _ in range(len(self.delta_of) + 1):
            mapping = {}
            for d in expr.atoms(Delta):
                name = d.var.name
                if steps is not None and self.outside(d.var):
                    mapping[d] = Zero(*d.shape)
                    continue
                if name in self.delta_of and name not in self.states:
                    rhs = self.delta_of[name]
                    mapping[d] = rhs.xreplace({d.var.axis: d.var.time}) if isinstance(d.var, Seq) else rhs
            if not mapping:
                break
            expr = name_nodes(expand_derivatives(substitute(expr, mapping)), self.model)
        return rebuild(expr)

    # -- exact evaluation ------------------------------------------------------------------
    def value(self, expr, steps):
        """The exact value of expr at concrete steps ({axis symbol: step})."""
        if isinstance(expr, (Sym, Seq, Delta, Cotangent)):
            return self.leaf(expr, steps)
        if isinstance(expr, Ones):
            return np.full(self.shape(expr), Fraction(1), dtype=object)
        if isinstance(expr, Zero):
            return np.full(self.shape(expr), Fraction(0), dtype=object)
        if isinstance(expr, OPAQUE) or (isinstance(expr, EPow) and not expr.p.is_integer):
            return self.opaque(expr, steps)
        v = lambda e: self.value(e, steps)  # noqa: E731
        if isinstance(expr, Add):
            return reduce(np.add, map(v, expr.args))
        if isinstance(expr, Scale):
            return _fraction(expr.coef, self.sizes) * v(expr.x)
        if isinstance(expr, MatMul):
            return reduce(np.dot, map(v, expr.args))
        if isinstance(expr, Had):
            return reduce(np.multiply, map(v, expr.args))
        if isinstance(expr, ScalarMul):
            return v(expr.s)[0, 0] * v(expr.x)
        if isinstance(expr, Transpose):
            return v(expr.args[0]).T
        if isinstance(expr, EPow):
            base = v(expr.x)
            return np.vectorize(lambda q: q ** int(expr.p), otypes=[object])(base)
        if isinstance(expr, (TimeSum, Stack)):
            axis = sp.Symbol(expr.axis, integer=True)
            length = self.lengths[self.model.axes[expr.axis]]
            parts = [self.value(expr.x, {**steps, axis: sp.Integer(k)}) for k in range(1, length + 1)]
            return reduce(np.add, parts) if isinstance(expr, TimeSum) else np.vstack([p.T for p in parts])
        if isinstance(expr, StepRow):
            k = int(expr.time.xreplace(steps))
            return v(expr.g)[k - 1:k, :].T
        if isinstance(expr, HeadSum):
            return v(expr.x)
        if isinstance(expr, Indicator):      # [P] X: X where P holds at these steps, else zero
            holds = expr.cond.xreplace(steps).xreplace(self.lengths)
            return v(expr.x) if holds is sp.true else np.full(self.shape(expr), Fraction(0), dtype=object)
        raise TypeError(f"cannot evaluate {type(expr).__name__}")

    def outside(self, var):
        """Is var at a concrete step before the first or after the last of its axis?"""
        if not isinstance(var, Seq) or var.time.free_symbols - set(self.lengths):
            return False
        time = int(var.time.xreplace(self.lengths))
        return not 1 <= time <= self.lengths[self.model.axes[var.axis_name]]

    def shape(self, expr):
        return tuple(int(d.xreplace(self.sizes)) for d in expr.shape)

    def leaf(self, sym, steps):
        var = sym.var if isinstance(sym, (Delta, Cotangent)) else sym
        time = None
        if isinstance(var, Seq):
            time = int(var.time.xreplace(steps).xreplace(self.lengths))
            length = self.lengths[self.model.axes[var.axis_name]]
            if isinstance(sym, Delta) and not 1 <= time <= length:
                return np.full(self.shape(sym), Fraction(0), dtype=object)   # δ after the last step
        key = (type(sym).__name__, var.name, time)
        if key not in self.values:
            self.values[key] = self.random(sym, var)
        return self.values[key]

    def random(self, sym, var):
        shape = self.shape(sym)
        if var.role == "onehot" and not isinstance(sym, (Delta, Cotangent)):
            out = np.full(shape, Fraction(0), dtype=object)
            out[self.rng.randrange(shape[0]), 0] = Fraction(1)
            return out
        cells = [Fraction(self.rng.choice((-1, 1)) * self.rng.randint(1, 9), self.rng.randint(1, 7))
                 for _ in range(shape[0] * shape[1])]          # never 0: values are divided by
        return np.array(cells, dtype=object).reshape(shape)

    def opaque(self, expr, steps):
        """A function value the basis cannot write out: random, the same for the same argument."""
        concrete = expr.xreplace(steps)
        key = ("opaque", ckey(_by_impl(concrete)))
        if key not in self.values:
            self.values[key] = self.random(expr, Sym("_", 1, 1, "node"))
        return self.values[key]

    # -- judging ---------------------------------------------------------------------------------
    def check(self, line, source, lhs, rhs):
        key = str(lhs)
        derived = self.target(lhs)
        if derived is None:
            return Verdict(line, source, key, False, [f"{key} is not an equation of the model "
                                                      f"{self.model.name}"])
        expected = f"{key} = {text(derived)}"
        if lhs.shape != rhs.shape:
            return Verdict(line, source, key, False, [
                f"shape: the right-hand side is {algebra.shape_str(rhs.shape)}, {key} is "
                f"{algebra.shape_str(lhs.shape)} (a product in the wrong order?)"], expected)
        if all(np.array_equal(self.value(self.basis(derived, s), s), self.value(self.basis(rhs, s), s))
               for s in self.steps_for(lhs)):
            return Verdict(line, source, key, True, [], expected)
        # said in the person's own terms, or in the common basis, whichever explains more
        candidates = [diagnose(name_nodes(derived, self.model), name_nodes(rhs, self.model)),
                      diagnose(self.basis(derived), self.basis(rhs))]
        problems = min((c for c in candidates if c), key=_vagueness, default=[])
        return Verdict(line, source, key, False,
                       problems or ["the two sides differ, though no single term explains it"], expected)

    def target(self, lhs):
        """The derived right-hand side for a hand equation's left-hand side (a delta at any step)."""
        var = lhs.var
        if isinstance(var, Seq):   # the template equation, at the step the hand equation names
            for eq in self.d.deltas + self.d.inputs:
                if isinstance(eq.lhs.var, Seq) and eq.lhs.var.name == var.name:
                    return eq.rhs.xreplace({var.axis: var.time})
            if var.name in self.delta_of and var.offset is not None:
                return self.delta_of[var.name].xreplace({var.axis: var.time})
            return None
        if var.name in self.delta_of:
            return self.delta_of[var.name]
        eq = self.defs.get(str(lhs))
        return eq.rhs if eq is not None else None

    def steps_for(self, lhs):
        axes = [sp.Symbol(a, integer=True) for a in self.model.axes]
        return [dict(zip(axes, map(sp.Integer, ks)))
                for ks in product(range(1, STEPS + 1), repeat=len(axes))] or [{}]


def _by_impl(e):
    """The same function under its two names (h and tanh) is the same value."""
    return e.replace(lambda x: isinstance(x, Fn), lambda x: Fn(x.impl, x.impl, x.x, x.order))


def _fraction(c, sizes):
    c = sp.nsimplify(c.xreplace(sizes)) if c.free_symbols else c
    return Fraction(int(c.p), int(c.q)) if c.is_Rational else Fraction(float(c))


# -- diagnosis --------------------------------------------------------------------------------------

def monomials(expr):
    """expr as a sum of products: [(coefficient, product)] with every sum distributed."""
    if isinstance(expr, Add):
        return [m for a in expr.args for m in monomials(a)]
    if isinstance(expr, Scale):
        return [(expr.coef * c, core) for c, core in monomials(expr.x)]
    if isinstance(expr, (MatMul, Had, ScalarMul)):
        build = {MatMul: algebra.matmul, Had: algebra.had, ScalarMul: algebra.smul}[type(expr)]
        out = []
        for combo in product(*(monomials(a) for a in expr.args)):
            coef = reduce(lambda a, b: a * b, (c for c, _ in combo), sp.Integer(1))
            c, core = algebra.split_coef(build(*(m for _, m in combo)))
            out.append((coef * c, core))
        return out
    if isinstance(expr, Transpose):
        return [(c, algebra.transpose(core)) for c, core in monomials(expr.args[0])]
    if isinstance(expr, TimeSum):
        return [(c, algebra.timesum(core, expr.axis)) for c, core in monomials(expr.x)]
    return [(sp.Integer(1), expr)]


def _combined(terms):
    out = {}
    for c, core in terms:
        k = ckey(core)
        prev = out.get(k, (core, 0))
        out[k] = (prev[0], prev[1] + c)
    return {k: v for k, v in out.items() if v[1] != 0}


def diagnose(ours, theirs):
    """What differs between the derived and the hand right-hand sides, term by term."""
    want, have = _combined(monomials(ours)), _combined(monomials(theirs))
    problems = []
    for k in set(want) & set(have):
        (core, a), (_, b) = want[k], have[k]
        if a != b:
            problems.append(f"wrong sign: {_term(b, core)} should be {_term(a, core)}" if a == -b
                            else f"wrong factor: {_term(b, core)} should be {_term(a, core)}")
    missing = [want[k] for k in want if k not in have]
    extra = [have[k] for k in have if k not in want]
    for explain in (_shifted_sum, _time_step, _transpose, _order, _transposed):
        for m in list(missing):
            for e in list(extra):
                why = explain(m[0], e[0])
                if why and m[1] == e[1]:
                    problems.append(why)
                    missing.remove(m)
                    extra.remove(e)
                    break
    problems += [f"missing term: {_term(c, core)}" for core, c in missing]
    problems += [f"extra term: {_term(c, core)}" for core, c in extra]
    return list(dict.fromkeys(problems))


def _vagueness(problems):
    """Fewer problems, and named mistakes over bare missing/extra terms, explain better."""
    return sum(2 if p.startswith(("missing term", "extra term")) else 1 for p in problems)


def _term(c, core):
    return text(algebra.scale(c, core))


def _shifted_sum(want, have):
    """Σₜ f(t+1) for Σₜ f(t): the same terms one step later, so the first one (t = 1, where the
    initial state enters) is left out; every δ after the last step is zero."""
    if not (isinstance(want, TimeSum) and isinstance(have, TimeSum)):
        return None
    axis = sp.Symbol(want.axis, integer=True)
    for k in (1, -1):
        if ckey(algebra.timesum(shift(have.x, -k, axis), want.axis)) == ckey(want):
            first = "first step (1), where the initial state enters" if k > 0 else "last step"
            return (f"the sum is shifted by {k:+d} step: {text(have)} is {text(want)} without the "
                    f"term of the {first}")
    return None


def _times_erased(e):
    return e.replace(lambda x: isinstance(x, Seq), lambda x: Seq(x.name, 0, *x.shape, x.role, x.axis_name))


def _time_step(want, have):
    if ckey(_times_erased(want)) != ckey(_times_erased(have)):
        return None
    w = {s.name: s for s in want.atoms(Seq)}
    diffs = [(w[s.name], s) for s in have.atoms(Seq) if s.name in w and w[s.name].time != s.time]
    if not diffs:
        return None
    right, wrong = diffs[0]
    return (f"wrong time step: {text(have)} has {text(_delta_or(have, wrong))} where "
            f"{text(_delta_or(have, right))} belongs")


def _delta_or(expr, sym):
    return Delta(sym) if any(d.var.name == sym.name for d in expr.atoms(Delta)) else sym


def _transposes_erased(e):
    return e.replace(lambda x: isinstance(x, Transpose), lambda x: x.args[0])


def _transpose(want, have):
    if ckey(_transposes_erased(want)) != ckey(_transposes_erased(have)):
        return None
    w, h = {text(x.args[0]) for x in want.atoms(Transpose)}, {text(x.args[0]) for x in have.atoms(Transpose)}
    if w - h:
        return f"missing transpose: {', '.join(sorted(w - h))} where {', '.join(x + 'ᵀ' for x in sorted(w - h))} belongs"
    return f"spurious transpose: {', '.join(x + 'ᵀ' for x in sorted(h - w))} where {', '.join(sorted(h - w))} belongs"


def _transposed(want, have):
    """u vᵀ for v uᵀ: the whole product transposed, its factors in the wrong order."""
    if ckey(algebra.transpose(have)) == ckey(want):
        return f"product in the wrong order: {text(have)} is the transpose of {text(want)}"
    return None


def _order(want, have):
    if not (isinstance(want, MatMul) and isinstance(have, MatMul)):
        return None
    if sorted(map(str, want.args)) == sorted(map(str, have.args)):
        return f"product in the wrong order: {text(have)} should be {text(want)}"
    return None


# -- files ---------------------------------------------------------------------------------------

@dataclass
class Report:
    """Every hand equation of a file, judged; and the derived equations it does not give."""
    path: str
    model: str
    verdicts: list
    unchecked: list

    @property
    def correct(self):
        return all(v.correct for v in self.verdicts)

    def as_dict(self):
        return {"file": self.path, "model": self.model, "correct": self.correct,
                "equations": [{"line": v.line, "lhs": v.lhs, "source": v.source,
                               "correct": v.correct, "problems": v.problems,
                               "expected": v.expected} for v in self.verdicts],
                "not_checked": self.unchecked}


_WRAPPERS = re.compile(r"^\s*(\\begin\{[a-z]+\*?\}|\\end\{[a-z]+\*?\}|\\\[|\\\]|\$\$)\s*$")


def directives(lines):
    """model: NAME [--option VALUE …] and alias: THEIRS = OURS lines, comment marks allowed."""
    model, options, aliases = None, [], {}
    for number, raw in enumerate(lines, 1):
        text = raw.strip().lstrip("%#").strip()
        if text.startswith("model:"):
            words = text[len("model:"):].split()
            if not words:
                raise ParseError(f"line {number}: 'model:' needs a model name")
            model, options = words[0], words[1:]
        elif text.startswith("alias:"):
            pair = text[len("alias:"):].split("=")
            if len(pair) != 2 or not all(p.strip() for p in pair):
                raise ParseError(f"line {number}: write an alias as 'alias: theirs = ours'")
            aliases[pair[0].strip()] = pair[1].strip()
    return model, options, aliases


def equation_lines(lines):
    """(line number, text) of each equation: comments, math delimiters and environments off."""
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith(("%", "#", "model:", "alias:")) or _WRAPPERS.match(text):
            continue
        text = re.split(r"(?<!\\)%", text)[0]
        if "\\" not in text:
            text = text.split("#", 1)[0]
        text = text.strip().strip("$").strip()
        text = re.sub(r"^\\\[|\\\]$", "", text).strip()
        text = re.sub(r"(\\\\|[,.;])\s*$", "", text).strip()
        if text:
            yield number, text


def is_latex(text):
    return "\\" in text or "_{" in text or "^{" in text


def verify_lines(lines, derivation, path="<text>", aliases=None):
    """Judge every equation of a hand derivation against a derivation."""
    scope = Scope(derivation)
    scope.aliases.update(aliases or {})
    verifier = Verifier(derivation)
    verdicts = []
    for number, text_ in equation_lines(lines):
        where = f"{path}:{number}"
        parse_line = parse_latex_equation if is_latex(text_) else parse_equation
        try:
            lhs, rhs = parse_line(text_, scope, where)
        except ShapeMismatch as err:
            verdicts.append(Verdict(number, text_, text_.split("=")[0].strip(), False,
                                    [f"shape: {err.detail} (a product in the wrong order?)"]))
            continue
        verdicts.append(verifier.check(number, text_, lhs, rhs))
    given = {v.lhs for v in verdicts}
    unchecked = [str(eq.lhs) for eq in derivation.backward if str(eq.lhs) not in given]
    return Report(path, derivation.model.name, verdicts, unchecked)
