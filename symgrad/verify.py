"""Judging a person's equations against the derivation, each line on its own.

Every equation of a hand derivation (``hand.py`` reads them) gets one status:
``right``, ``wrong`` (with what is wrong and the derived form), ``unreadable`` (with
where and why), ``forward`` (a forward equation that agrees with the model's; a wrong one is
``wrong``), ``defined`` (a name of the person's own, used by later lines) or
``not checkable`` (with why).

The verdict is an identity test (``identity.py``): both sides are evaluated exactly at two
independent random points of the model, at every step of a sequence long enough for every
step the file names, and at every head. ``right`` means equal everywhere; the chance that a
wrong equation passes is bounded per verdict (``Verdict.bound``) and stated in
``identity.py``: far below 10⁻⁹. Only a wrong equation is then diagnosed, term by term
(``diagnose.py``), in the person's own terms or in a common basis, whichever explains more.
"""
from collections import Counter
from dataclasses import dataclass, field

import sympy as sp

from . import hand
from .algebra import expand_derivatives, rebuild, substitute
from .derive import name_nodes
from .diagnose import diagnose, vagueness
from .arithmetic import Field
from .identity import NotEvaluable, Point, failure_bound
from .errors import SymgradError
from .ops import HeadSum, Jacobian, Scale, Stack, StepRow, TimeSum
from .render.printer import text
from .symbols import Delta, Seq, Sym, Zero, at_time, step_variable
from .tensor import Tensor

STATUSES = ("right", "wrong", "unreadable", "forward", "defined", "not checkable")
SEEDS = (1, 2)
LIMIT = 1e-9          # the largest chance of a wrong ✓ verify accepts


@dataclass
class Verdict:
    """The outcome for one right-hand side of one hand equation."""
    line: int
    source: str
    status: str
    lhs: str = ""
    problems: list = field(default_factory=list)
    expected: str = ""
    col: int = 1
    notes: list = field(default_factory=list)
    bound: float | None = None      # for right/forward: the chance that this verdict is wrong
    form: str = ""                  # the right-hand side judged, where the equation has several

    @property
    def correct(self):
        return self.status in ("right", "forward")

    def as_dict(self):
        return {"line": self.line, "col": self.col, "source": self.source, "status": self.status,
                "lhs": self.lhs, "problems": list(self.problems), "expected": self.expected,
                "notes": list(self.notes), "bound": self.bound, "form": self.form}


@dataclass
class Report:
    """Every hand equation of a file, judged; and the derived equations it does not give."""
    path: str
    model: str
    verdicts: list
    unchecked: list

    @property
    def counts(self):
        c = Counter(v.status for v in self.verdicts)
        return {s: c[s] for s in STATUSES}

    @property
    def exit_code(self):
        """1 if any equation is wrong, else 2 if any is unreadable or none was found, else 0."""
        counts = self.counts
        if counts["wrong"]:
            return 1
        if counts["unreadable"] or not self.verdicts:
            return 2
        return 0

    @property
    def bound(self):
        """The chance that any ✓ of the file is wrong (a union bound over its verdicts)."""
        return sum(v.bound or 0.0 for v in self.verdicts if v.correct)

    def as_dict(self):
        return {"file": self.path, "model": self.model, "counts": self.counts,
                "not_checked": self.unchecked, "false_check_bound": self.bound,
                "equations": [v.as_dict() for v in self.verdicts]}


class Verifier:
    """The derivation of one model and the random points at which hand equations are judged.

    ``pairs`` are the hand equations to come, (left, right): the sequence must be long enough
    for every step they name, and a dimension under a square root must be a perfect square."""

    def __init__(self, derivation, pairs=()):
        self.d, self.model = derivation, derivation.model
        self.templates = {eq.lhs.var.name: eq.rhs for eq in derivation.deltas + derivation.inputs}
        self.templates.update({k: v for k, v in derivation.inlined.items() if k not in self.templates})
        self.statics = {eq.lhs.var.name: eq for eq in derivation.params + derivation.deltas
                        + derivation.inputs if not isinstance(eq.lhs.var, Seq)}
        self.initial = {eq.lhs.var.name: eq for eq in derivation.initial}
        self.states = set(self.model.states)
        derived = [eq.rhs for eq in derivation.backward] + [d.rhs for d in self.model.definitions]
        self.reach = _reach(derived + [e for pair in pairs for e in pair])[0]
        self._moved = {}
        self._targets = {}
        every = derived + [e for pair in pairs for e in self.moved(*pair)]
        self._decided = {}
        assignments = _size_assignments(self.model, every)
        taken = {n for sizes in assignments for n in sizes.values()}
        self.lengths = _lengths(self.model, every, taken)
        self.assignments = assignments
        self.points = self.points_in(Field)

    def points_in(self, arithmetic):
        """The verdict's two points, evaluated in ``arithmetic`` (Field, or Reals to check)."""
        return [Point(self.d, sizes, self.lengths, seed, arithmetic)
                for seed, sizes in zip(SEEDS, self.assignments)]

    # -- what the hand equation should equal ------------------------------------------------
    def target(self, lhs):
        """(derived right-hand side, a function giving its equation as text) for a hand
        left-hand side, or a problem (str) saying why there is none. A delta at a step outside the sequence is zero,
        at a state's boundary it is the initial-state gradient."""
        if lhs not in self._targets:
            self._targets[lhs] = self._target(lhs)
        return self._targets[lhs]

    def _target(self, lhs):
        if isinstance(lhs, Jacobian):       # ∂hₜ/∂hₜ₋₁ = …: the Jacobian, evaluated as the deltas see it
            return lhs, lambda: self._jacobian_text(lhs)
        if not isinstance(lhs, Delta):
            return f"{text(lhs)} is not a delta or gradient"
        var = lhs.var
        if isinstance(var, Seq):
            template = self.templates.get(var.name)
            if template is None:
                return f"{text(lhs)} is not a gradient of the model {self.model.name}"
            axis = var.axis
            if axis in var.time.free_symbols:
                rhs = template.xreplace({axis: var.time})
                return rhs, lambda: f"{text(lhs)} = {text(rhs)}"
            place = _place(var.time, axis)
            if place == "inside":
                rhs = at_time(template, var.time, axis)
                return rhs, lambda: f"{text(lhs)} = {text(rhs)}"
            if var.name in self.initial and place == _BOUNDARY[self.model.direction[var.name]]:
                eq = self.initial[var.name]
                return eq.rhs, lambda: str(eq)
            return Zero(*lhs.shape), lambda: f"{text(lhs)} = 0 (after the last step or before the first)"
        eq = self.statics.get(var.name)
        if eq is None and var.name in self.d.inlined:          # layer norm's δX̂: inlined, not printed
            rhs = self.d.inlined[var.name]
            return rhs, lambda: f"{text(lhs)} = {text(rhs)}"
        if eq is None:
            return f"{text(lhs)} is not a gradient of the model {self.model.name}"
        return eq.rhs, lambda: str(eq)

    def _jacobian_text(self, lhs):
        """The derived one-step Jacobian as symgrad prints it, at the steps the hand names."""
        total = self._jacobian_total(lhs)
        return f"{text(lhs)} = {text(total)}" if total is not None else ""

    def _jacobian_total(self, lhs):
        """The sum of the routes symgrad prints for a one-step Jacobian, or for one within the step
        (∂yₜ/∂cₜ), at the steps the hand names (None if it prints none)."""
        from .jacobian import jacobians
        offset = lhs.wrt.time - lhs.of.time if isinstance(lhs.of, Seq) and isinstance(lhs.wrt, Seq) else None
        try:
            found = jacobians(self.model, lhs.of.name, lhs.wrt.name, self.d.style)
        except SymgradError:
            return None
        block = next((b for b in found.blocks + list(found.chain.values())
                      if (b.of.name, b.wrt.name) == (lhs.of.name, lhs.wrt.name) and b.wrt.offset == offset), None)
        if block is None:
            return None
        shift = {block.of.axis: lhs.of.time} if isinstance(lhs.of, Seq) else {}
        return block.total.xreplace(shift)

    def moved(self, lhs, rhs):
        """The equation to evaluate: one at fixed steps far from the start is moved down to
        start at step reach + 2 (every such step is alike), so δh₁₀₀₀₀ needs no long sequence."""
        key = (lhs, rhs)
        if key not in self._moved:
            self._moved[key] = _moved(lhs, rhs, self.reach)
        return self._moved[key]

    def envs(self, lhs):
        """The steps (and heads) at which an equation with this left-hand side is checked: every
        step at which its left-hand side lies inside the sequence, every head."""
        var = lhs.var if isinstance(lhs, Delta) else lhs.of if isinstance(lhs, Jacobian) else lhs
        envs = [{}]
        if isinstance(var, Seq) and var.axis in var.time.free_symbols:
            n = self.lengths[var.axis_name]
            envs = [{var.axis_name: k} for k in range(1, n + 1)
                    if 1 <= int(var.time.xreplace({var.axis: sp.Integer(k)}).xreplace(self.points[0].sizes)) <= n]
        if isinstance(var, Sym) and self._per_head(var):
            heads = self.points[0].heads
            envs = [{**e, "head": i} for e in envs for i in range(1, heads + 1)]
        return envs

    def _per_head(self, var):
        declared = self.model.declared.get(var.name)
        return bool(getattr(declared, "per_head", False))

    # -- judging ---------------------------------------------------------------------------------
    def identical(self, a, b, envs):
        """(equal?, bound): a and b evaluated at every env at both points."""
        key = (a, b, tuple(tuple(sorted(e.items())) for e in envs))
        if key not in self._decided:
            self._decided[key] = self._identical(a, b, envs)
        return self._decided[key]

    def _identical(self, a, b, envs):
        """Equal at every env of both points; a ✓ whose bound is not below LIMIT (never seen: it
        would need about 10¹³ function applications) is refused rather than claimed."""
        bound = 0.0
        for point in self.points:
            degree = 0
            for env in envs:
                va, vb = point.value(a, env), point.value(b, env)
                if not point.ar.equal(va.a, vb.a):
                    return False, None
                degree = max(degree, va.num + vb.den, vb.num + va.den)
            bound = max(bound, failure_bound(point, degree))
        if bound >= LIMIT:
            raise NotEvaluable(f"the chance of a wrong ✓ ({bound:.0e}) is not below {LIMIT:.0e}")
        return True, bound

    def check(self, line, source, lhs, rhs, col=1, notes=(), explain=True):
        """The verdict on one right-hand side of a backward equation (a wrong one diagnosed
        unless ``explain`` is False)."""
        key = text(lhs)
        found = self.target(lhs)
        if isinstance(found, str):
            return Verdict(line, source, "wrong", key, [found], col=col, notes=list(notes))
        derived, describe = found
        if lhs.shape != rhs.shape:
            return Verdict(line, source, "wrong", key, [
                f"shape: the right-hand side is {_shape(rhs)}, {key} is {_shape(lhs)} "
                "(a product in the wrong order?)"], describe(), col, list(notes))
        loose = self.loose_indices(lhs, rhs)
        if loose:
            return Verdict(line, source, "wrong", key, [loose], describe(), col, list(notes))
        try:
            at_lhs, at_rhs = self.moved(lhs, rhs)
            equal, bound = self.identical(self.target(at_lhs)[0], at_rhs, self.envs(at_lhs))
        except NotEvaluable as err:
            return Verdict(line, source, "not checkable", key, [str(err)], describe(), col, list(notes))
        except ZeroDivisionError as err:
            return Verdict(line, source, "not checkable", key, [str(err)], describe(), col, list(notes))
        if equal:
            return Verdict(line, source, "right", key, [], "", col, list(notes), bound)
        problems = self.explain(derived, rhs) if explain else []
        return Verdict(line, source, "wrong", key, problems, describe(), col, list(notes))

    def check_forward(self, line, source, lhs, rhs, col=1, notes=()):
        """A forward equation: does its right-hand side give the node's value at every step?"""
        key = text(lhs)
        definition = next((d for d in self.model.definitions if d.name == lhs.name), None)
        if definition is None:
            return Verdict(line, source, "wrong", key, [f"{key} is not a node of the model "
                                                        f"{self.model.name}"], col=col)
        model_rhs = definition.rhs
        if isinstance(lhs, Seq):
            model_rhs = model_rhs.xreplace({lhs.axis: lhs.time})
        expected = f"{key} = {text(model_rhs)}"
        if lhs.shape != rhs.shape:
            return Verdict(line, source, "wrong", key, [
                f"shape: the right-hand side is {_shape(rhs)}, {key} is {_shape(lhs)}"],
                expected, col, list(notes))
        try:
            at_lhs, at_rhs = self.moved(lhs, rhs)
            equal, bound = self.identical(at_lhs, at_rhs, self.envs(at_lhs))
        except (NotEvaluable, ZeroDivisionError) as err:
            return Verdict(line, source, "not checkable", key, [str(err)],
                           expected, col, list(notes))
        if equal:
            return Verdict(line, source, "forward", key, [], "", col, list(notes), bound)
        return Verdict(line, source, "wrong", key, self.explain_forward(model_rhs, rhs), expected, col,
                       list(notes))

    def loose_indices(self, lhs, rhs):
        """A step or head the right-hand side reads but the left-hand side does not fix (δh₀ = …
        δaₜ₊₁, or δX = … Qᵢ without Σᵢ): a free index on one side only, so a wrong equation."""
        axes = {step_variable(a) for a in self.model.axes}
        loose = _indices(rhs, axes) - _indices(lhs, axes)
        if not loose:
            return None
        if "head" in loose:
            return f"the right-hand side reads one head i, but {text(lhs)} is not per head: sum it over the heads (Σᵢ)"
        names = ", ".join(sorted(str(a) for a in loose))
        return f"the right-hand side reads step {names}, but {text(lhs)} does not fix it"

    def explain(self, derived, rhs):
        """The mistakes, said in the person's own terms or in the common basis, whichever
        explains more with fewer words."""
        if isinstance(derived, Zero):
            return [f"this delta is zero there, not {text(rhs)}"]
        if isinstance(derived, Jacobian):             # diagnosed against its printed routes
            total = self._jacobian_total(derived)
            derived = derived if total is None else total
        candidates = [diagnose(name_nodes(derived, self.model), name_nodes(rhs, self.model)),
                      diagnose(self.basis(derived), self.basis(rhs))]
        problems = min((c for c in candidates if c), key=vagueness, default=[])
        return problems or ["the two sides differ, though no single term explains it"]

    def explain_forward(self, model_rhs, rhs):
        """A wrong forward equation, term by term against the model's own right-hand side (not
        named as its node, which would hide every term)."""
        problems = diagnose(model_rhs, rhs)
        return problems or ["the two sides differ, though no single term explains it"]

    def basis(self, expr):
        """expr with derivatives written out, activations named and every delta of a node that
        is not a state replaced by its derivation (repeatedly: each replacement is one step
        closer to the output, so this ends)."""
        expr = name_nodes(expand_derivatives(expr), self.model)
        for _ in range(len(self.templates) + 1):
            mapping = {}
            for d in expr.atoms(Delta):
                name = d.var.name
                if name in self.templates and name not in self.states and isinstance(d.var, Seq):
                    mapping[d] = self.templates[name].xreplace({d.var.axis: d.var.time})
                elif name in self.d.inlined and not isinstance(d.var, Seq):
                    mapping[d] = self.d.inlined[name]
            if not mapping:
                break
            expr = name_nodes(expand_derivatives(substitute(expr, mapping)), self.model)
        return rebuild(expr)


def _shape(e):
    return "×".join(str(d) for d in e.shape)


# -- sizes and lengths -------------------------------------------------------------------------

_BOUNDARY = {-1: "start", 1: "end"}


def _indices(e, axes, bound=frozenset()):
    """The step variables (of ``axes``) and the head index ("head") that e reads outside a sum or
    stack over them."""
    if isinstance(e, Seq):
        return (e.time.free_symbols & axes) - bound
    if isinstance(e, Sym):
        return {"head"} - bound if e.per_head else set()
    if isinstance(e, StepRow):
        return ((e.time.free_symbols & axes) - bound) | _indices(e.g, axes, bound)
    if isinstance(e, (TimeSum, Stack)):
        bound = bound | {step_variable(e.axis)}
    if isinstance(e, HeadSum):
        bound = bound | {"head"}
    out = set()
    for a in e.args:
        if isinstance(a, Tensor):
            out |= _indices(a, axes, bound)
    return out


def _place(time, axis):
    """Where a step without the step variable lies: "inside" the sequence (k ≥ 1 counted from
    the start, or T − k from the end), at the "start" boundary (0: a forward state's initial
    value), at the "end" boundary (T + 1: a backward state's), or "outside"."""
    if time.is_Integer:
        k = int(time)
        return "inside" if k >= 1 else "start" if k == 0 else "outside"
    ends = list(time.free_symbols - {axis})
    k = time - ends[0] if len(ends) == 1 else None
    if k is None or not k.is_Integer:
        return "outside"
    k = int(k)
    return "inside" if k <= 0 else "end" if k == 1 else "outside"


def _moved(lhs, rhs, reach):
    """lhs and rhs with every fixed step of an axis lowered by the same amount, when all the steps
    they name on it are fixed and the first lies beyond step reach + 2."""
    seqs = [s for e in (lhs, rhs) for s in e.atoms(Seq)]
    shifts = {}
    for axis in {s.axis_name for s in seqs}:
        times = [s.time for s in seqs if s.axis_name == axis]
        if all(t.is_Integer for t in times) and min(times) > reach + 2:
            shifts[axis] = int(min(times)) - (reach + 2)
    if not shifts:
        return lhs, rhs

    lowered = {x: Seq(x.name, x.time - shifts[x.axis_name], *x.shape, x.role, x.axis_name)
               for x in set(seqs) if x.axis_name in shifts}
    return lhs.xreplace(lowered), rhs.xreplace(lowered)


def _reach(exprs):
    """The largest distance in steps between a time an expression names and its axis' current
    step (or the axis' end, for a time written from T), and the largest fixed step named."""
    reach, fixed, from_end = 1, 0, 0
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for s in e.atoms(Seq):
            time = s.time
            axis = s.axis
            if axis in time.free_symbols:
                k = time - axis
                if k.is_Integer:
                    reach = max(reach, abs(int(k)))
            elif time.is_Integer:
                fixed = max(fixed, int(time))
            else:
                ends = [f for f in time.free_symbols]
                if len(ends) == 1:
                    k = time - ends[0]
                    if k.is_Integer:
                        from_end = max(from_end, abs(int(k)))
    return reach, fixed, from_end


def _lengths(model, exprs, taken):
    """A length per time axis: the ends of the sequence out of reach of every step named, and
    every way the ends can cut a template equation seen (at least 2·reach + 3 steps); distinct
    from every size in ``taken`` (an axis' length can be a dimension, as T_x is)."""
    reach, fixed, from_end = _reach(exprs)
    n = max(2 * reach + 3, fixed + reach + 2, from_end + 2 * reach + 3)
    out = {}
    for axis in model.axes:
        while n in taken:
            n += 1
        out[axis] = n
        taken.add(n)
    return out


def _rooted(model, exprs):
    """Dimensions under a fractional power in a coefficient (1/√d_k): they get square sizes."""
    out = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for s in e.atoms(Scale):
            for p in sp.preorder_traversal(s.coef):
                if isinstance(p, sp.Pow) and not p.exp.is_integer:
                    out |= p.base.free_symbols & set(model.dims_.values())
    return out


def _size_assignments(model, exprs):
    """Two assignments of sizes to the dimensions: each at least 3, all distinct, different
    between the two, squares under a square root (axis lengths are set apart)."""
    lengths = set(model.axes.values())
    dims = [d for d in model.dims_.values() if d not in lengths]
    rooted = _rooted(model, exprs)
    out = []
    for start, order in ((3, dims), (4, dims[::-1])):
        sizes, used = {}, set()
        for d in order:
            n = 2 if d in rooted else start
            while (n * n if d in rooted else n) in used or (d in rooted and n * n < start):
                n += 1
            sizes[d] = n * n if d in rooted else n
            used.add(sizes[d])
        out.append(sizes)
    return out


# -- files -----------------------------------------------------------------------------------------

def verify_lines(lines, derivation, path="<text>", aliases=None):
    """Judge every equation of a hand derivation against a derivation."""
    equations = hand.read(lines, derivation, path, aliases)
    pairs = [(eq.lhs, f.expr) for eq in equations for f in eq.forms
             if eq.lhs is not None and f.expr is not None]
    verifier = Verifier(derivation, pairs)
    verdicts = []
    for eq in equations:
        verdicts.extend(_judge(verifier, eq))
    given = {v.lhs for v in verdicts}
    unchecked = [text(eq.lhs) for eq in derivation.backward if text(eq.lhs) not in given]
    return Report(path, derivation.model.name, verdicts, unchecked)


def _judge(verifier, eq):
    """The verdicts on one hand equation: one per right-hand side."""
    if eq.kind == "unreadable":
        col, _, why = (eq.error or "").partition(": ")
        col = int(col) if col.isdigit() else 1
        return [Verdict(eq.line, eq.source, "unreadable", eq.lhs_text, [why or eq.error or ""], col=col)]
    if eq.kind == "uncheckable":
        return [Verdict(eq.line, eq.source, "not checkable", eq.lhs_text, [eq.error or ""])]
    if eq.kind == "definition":
        return [Verdict(eq.line, eq.source, "defined", eq.lhs_text)]
    out = []
    for form in eq.forms:
        lhs_text = text(eq.lhs) if eq.lhs is not None else eq.lhs_text
        if form.error is not None:
            verdict = Verdict(eq.line, eq.source, "unreadable", lhs_text, [form.error], col=form.col)
        elif form.problem is not None:
            found = verifier.target(eq.lhs) if eq.lhs is not None else None
            expected = found[1]() if isinstance(found, tuple) else ""
            verdict = Verdict(eq.line, eq.source, "wrong", lhs_text, [f"shape: {form.problem}"],
                              expected, form.col, list(form.notes))
        elif eq.kind == "forward":
            verdict = verifier.check_forward(eq.line, eq.source, eq.lhs, form.expr, form.col, form.notes)
        else:
            verdict = verifier.check(eq.line, eq.source, eq.lhs, form.expr, form.col, form.notes)
        verdict.form = form.text if len(eq.forms) > 1 else ""
        verdict.line = form.line or eq.line
        out.append(verdict)
    return out

