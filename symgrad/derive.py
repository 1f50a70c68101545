"""The reverse sweep over the template equations of one step.

δv_t is the sum, over every consumer that reads v, of the consumer's VJP; a consumer
that reads v_{t+k} contributes its VJP shifted by −k (a read of h_{t-1} lands at t+1).
Parameter gradients are the per-step contributions summed over t; the initial state
gets the routes that reach back before the first step. Nothing is unrolled, so the
cost does not depend on the sequence length. Deltas a textbook would not name are
inlined into their one consumer.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from time import perf_counter
import weakref


import sympy as sp

from .algebra import (add, expand_derivatives, factor_common, free_axes, headsum, indicator, scale,
                      split_coef, substitute, timesum, transpose)
from .errors import ModelError
from .graph import Model, reads_heads
from .ops import Add, Fn, Had, HeadSum, Indicator, TimeSum
from .rules import VJP
from .symbols import Cotangent, Delta, Ones, Seq, Sym, Zero, at_time, shift, step_variable
from .tensor import Tensor

STYLES = ("derivative", "expanded")


@dataclass(frozen=True)
class Route:
    """One route into a delta: the consumer that reads the node, at which offset, and its term;
    ``axis`` is the time axis of a per-step consumer (its term is summed over it), or None."""
    consumer: str
    offset: int
    term: Tensor
    axis: str | None = "t"


@dataclass
class Equation:
    lhs: Tensor
    rhs: Tensor
    kind: str                       # forward | delta | input | initial | param
    routes: tuple = ()

    def __str__(self):
        return f"{self.lhs} = {self.rhs}"


@dataclass
class Derivation:
    """A model's forward equations, its deltas and gradients, in the order a textbook prints them."""
    model: object
    style: str
    forward: list
    deltas: list
    inputs: list
    initial: list
    params: list
    inlined: dict = field(default_factory=dict)
    seconds: float = 0.0
    raw_routes: dict = field(default_factory=dict)    # node → [Route] as the sweep found them
    raw_inlined: dict = field(default_factory=dict)
    truncate: int | None = None                       # chunk length of truncated BPTT, if cut
    _shown: dict = field(default_factory=dict, repr=False)

    @property
    def routes(self):
        """node → [Route], each term written as the equations are (computed when first asked)."""
        if not self._shown:
            rank = {d.name: i for i, d in enumerate(self.model.definitions)}
            show = lambda e: _present(_inline_all(e, self.raw_inlined), self.model, self.style, rank)  # noqa: E731
            self._shown.update({name: [Route(r.consumer, r.offset, show(r.term), r.axis) for r in rs]
                                for name, rs in self.raw_routes.items()})
        return self._shown

    @property
    def backward(self):
        return self.deltas + self.inputs + self.initial + self.params

    def paths(self, node):
        """The routes from a node to the outputs: [(consumer at its step, term)], and the delta
        they sum to. ``node`` is a name as written in code (c, zbar) or as printed (c, z̄)."""
        name = self.node_name(node)
        return list(self.routes[name]), self.delta_rhs(name)

    def node_name(self, node):
        """The code name of a node given as written in code (zbar) or as printed (z̄)."""
        from .render.names import text_name
        for d in self.model.definitions:
            if node in (d.name, text_name(d.name)) and d.name in self.routes:
                return d.name
        raise ModelError(f"{self.model.name} has no node {node!r} with a delta; its nodes: "
                         + ", ".join(d.name for d in self.model.definitions))

    def delta_rhs(self, name):
        """δname as the derivation gives it (shown, or inlined)."""
        for eq in self.deltas + self.inputs:
            if eq.lhs.var.name == name:
                return eq.rhs
        return self.inlined.get(name)

    def equation(self, lhs_text):
        """The backward equation whose left-hand side prints as ``lhs_text`` (e.g. "δhₜ")."""
        for eq in self.backward:
            if str(eq.lhs) == lhs_text:
                return eq
        raise ModelError(f"{self.model.name} has no equation for {lhs_text!r}; its left-hand sides: "
                         + ", ".join(str(eq.lhs) for eq in self.backward))

    def compile(self, dtype="float64"):
        """NumPy forward, vjp and value_and_grad, in float64 (default) or float32."""
        from .codegen import compile_derivation
        return compile_derivation(self, dtype)

    def to_latex(self):
        from .render.latex import derivation_latex
        return derivation_latex(self)

    def _repr_latex_(self):
        from .render.latex import notebook_latex
        return notebook_latex(self)

    def _repr_markdown_(self):
        from .render.latex import notebook_markdown
        return notebook_markdown(self)

    def __rich__(self):
        from .render.text import derivation_renderable
        return derivation_renderable(self)

    def __str__(self):
        from .render.text import derivation_text
        return derivation_text(self)


def pullback(expr, g, out, steps=None, heads=False):
    """[(leaf, cotangent)] for every leaf occurrence in expr, given the cotangent g of expr.

    ``steps``: the time axis g runs along (its consumer is defined per step), or None;
    ``heads``: g is per head. How sums are pulled back:
    - a sum is read at every step (by every head) of its consumer, and at every step of an
      enclosing sum over its own axis, so its terms get g summed over those steps first;
    - out of Σₜ, a leaf that does not run along t (a parameter) collects the sum of its
      per-step cotangents, and out of Σᵢ over the heads a leaf shared by the heads collects
      the sum over the heads — unless a sum inside already summed its cotangent over them."""
    return [(leaf, c) for leaf, c, _ in _pullback(expr, g, out, steps, heads)]


def _pullback(expr, g, out, steps, heads):
    """Triples (leaf, cotangent, the enclosing sums its cotangent is already summed over)."""
    if isinstance(expr, (Sym, Seq)):
        return [(expr, g, frozenset())]
    if isinstance(expr, (Ones, Zero)):
        return []
    triples = []
    for child, cg in VJP[type(expr)](expr, g, out):
        inner, summed = (steps, heads), frozenset()
        if isinstance(expr, TimeSum):
            for axis in free_axes(cg) & {steps, expr.axis}:
                cg = timesum(cg, axis)
            summed = {expr.axis} & free_axes(g) - {steps}
            inner = (None, heads)
        elif isinstance(expr, HeadSum):
            summed = {"heads"} if reads_heads(cg) and not heads else set()
            cg, inner = (headsum(cg) if reads_heads(cg) else cg), (steps, False)
        for leaf, c, done in _pullback(child, cg, child, *inner):
            if isinstance(expr, TimeSum) and not (isinstance(leaf, Seq) and leaf.axis_name == expr.axis):
                c = c if expr.axis in done else timesum(c, expr.axis)
            elif isinstance(expr, HeadSum) and not (isinstance(leaf, Sym) and leaf.per_head):
                c = c if "heads" in done else headsum(c)
            closed = {expr.axis} if isinstance(expr, TimeSum) else {"heads"} if isinstance(expr, HeadSum) else set()
            triples.append((leaf, c, (done - closed) | summed))
    return triples


def derive(model, style=None, truncate=None):
    """The Derivation of a model: every delta, input, initial-state and parameter gradient.

    ``truncate=k``: truncated BPTT in chunks of k steps (1…k, k+1…2k, …). No gradient flows
    from chunk j+1 into chunk j: the route into δh_t from step t+1 carries the bracket
    [t mod k ≠ 0]. The states still flow forward, and the initial state gets chunk 1's gradient."""
    start = perf_counter()
    if not isinstance(model, Model):
        raise ModelError(f"derive takes a Model (symgrad.model(name) builds one), not {model!r}")
    model.build()
    style = style or model.style
    if style not in STYLES:
        raise ModelError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    routes = _routes(model)
    uncut, routes = routes, _truncated(model, routes, truncate) if truncate is not None else routes
    eqs = _assemble(model, routes, uncut)
    inlined = _inline(model, eqs)
    rank = {d.name: i for i, d in enumerate(model.definitions)}
    for eq in eqs:
        eq.rhs = _present(eq.rhs, model, style, rank)
    raw_inlined = inlined
    inlined = {k: _present(_inline_all(v, inlined), model, style, rank) for k, v in inlined.items()}
    by_kind = defaultdict(list)
    for eq in eqs:
        by_kind[eq.kind].append(eq)
    forward = [Equation(d.symbol, d.rhs, "forward") for d in model.definitions]
    return Derivation(model, style, forward, by_kind["delta"], by_kind["input"],
                      by_kind["initial"], by_kind["param"], inlined, perf_counter() - start,
                      dict(routes), raw_inlined, truncate)


def _routes(model):
    routes = defaultdict(list)
    for name in model.outputs:
        sym = model.declared[name]
        seed = (Ones(1, 1) if name == model.loss_name
                else Cotangent(sym, short=len(model.outputs) == 1))
        routes[name].append(Route("output", 0, seed, _axis(sym)))
    for d in model.definitions:
        per_head = isinstance(d.symbol, Sym) and d.symbol.per_head
        for leaf, cot in pullback(d.rhs, Delta(d.symbol), d.symbol, _axis(d.symbol), per_head):
            if isinstance(leaf, Seq) and leaf.offset is None:   # read at step τ: lands at τ only
                term = indicator(cot, sp.Eq(leaf.axis, leaf.time))
                routes[leaf.name].append(Route(d.name, 0, term, _axis(leaf)))
            elif isinstance(leaf, Seq):
                term = shift(cot, -leaf.offset, leaf.axis)
                routes[leaf.name].append(Route(d.name, leaf.offset, term, _axis(leaf)))
            else:   # a symbol shared by all heads collects Σᵢ of what each head sends it
                term = headsum(cot) if per_head and not leaf.per_head and reads_heads(cot) else cot
                axis = _axis(d.symbol)   # summed over the consumer's steps, unless already
                routes[leaf.name].append(Route(d.name, 0, term, axis if axis in free_axes(term) else None))
    return routes


def _axis(sym):
    """The time axis a symbol runs along, or None."""
    return sym.axis_name if isinstance(sym, Seq) else None


def _truncated(model, routes, k):
    """The routes with truncated BPTT's cut: a route into a state on t from a consumer at
    another step is kept only when both steps lie in the same chunk of k steps."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ModelError(f"truncate must be a whole number of steps ≥ 1, not {k!r}")
    cut_states = [name for name in model.states if model.declared[name].axis_name == "t"]
    if not cut_states:
        raise ModelError(f"model {model.name}: truncated BPTT needs a state that runs along t")
    t = step_variable("t")
    out = dict(routes)
    for name in cut_states:     # from t+1 (a read of h_{t-1}): cut when t ends a chunk
        out[name] = [Route(r.consumer, r.offset,
                           indicator(r.term, sp.Ne(sp.Mod(t, k), 0 if r.offset < 0 else 1 % k)), r.axis)
                     if r.offset else r for r in routes[name]]
    return out


def _assemble(model, routes, uncut):
    """The equations from the routes; the initial states' from the uncut routes (truncation
    never cuts the initial state off chunk 1)."""
    eqs = []
    for d in reversed(model.definitions):
        rs = routes.get(d.name, [])
        eqs.append(Equation(Delta(d.symbol), _total(rs, d.symbol), "delta", tuple(rs)))
    for x in model.inputs:
        rs = routes.get(x.name, [])
        eqs.append(Equation(Delta(x), _total(rs, x), "input", tuple(rs)))
    for name, offset in model.states.items():
        sym = model.declared[name]
        axis = _axis(sym)
        boundary = 0 if offset < 0 else model.axes[axis] + 1   # the step before its first one
        rs = [r for r in uncut[name] if r.offset == offset]
        init = Seq(name, boundary, *sym.shape, "node", axis)
        total = at_time(_total(rs, sym), boundary, sym.axis)
        eqs.append(Equation(Delta(init), total, "initial", tuple(rs)))
    for p in model.params:
        rs = routes.get(p.name, [])
        eqs.append(Equation(Delta(p), _total(rs, p), "param", tuple(rs)))
    return eqs


def _total(rs, sym):
    """The sum of the routes into δsym; a symbol without steps read by the steps of an axis
    collects Σ over them (a parameter, or an encoder's stacked states read by the decoder)."""
    if isinstance(sym, Seq):
        return _bracketed_sum([r.term for r in rs]) if rs else Zero(*sym.shape)
    axes = list(dict.fromkeys(r.axis for r in rs if r.axis))
    terms = [timesum(add(*(r.term for r in rs if r.axis == a)), a) for a in axes]
    terms += [r.term for r in rs if not r.axis]
    return add(*terms) if terms else Zero(*sym.shape)


def _bracketed_sum(terms):
    """The sum, terms under one bracket [P] gathered: [P] A + [P] B = [P] (A + B)."""
    groups, rest = {}, []
    for term in terms:
        c, core = split_coef(term)
        if isinstance(core, Indicator):
            groups.setdefault(core.cond, []).append(scale(c, core.x))
        else:
            rest.append(term)
    return add(*rest, *(indicator(add(*bodies), cond) for cond, bodies in groups.items()))


def _inline(model, eqs):
    """Substitute the deltas a textbook does not name into their consumers; return them.

    An index of which equations mention which delta, updated on every substitution, keeps
    the cost linear in the number of equations."""
    keep = _always_kept(model)
    shown = {d.name: d.show_delta for d in model.definitions}
    facts = {id(e): _facts(e.rhs) for e in eqs}    # (delta names mentioned, is constant)
    users_of = defaultdict(dict)                    # delta name → {id: equation mentioning it}
    for e in eqs:
        for name in facts[id(e)][0]:
            users_of[name][id(e)] = e
    inlined, removed = {}, set()
    changed = True
    while changed:
        changed = False
        for eq in [e for e in eqs if e.kind == "delta" and id(e) not in removed]:
            name = eq.lhs.var.name
            forced = shown[name]
            mentions, constant = facts[id(eq)]   # δL = 1 is never worth a line
            if forced or (forced is None and name in keep and not constant) or name in mentions:
                continue
            users = [e for key, e in users_of[name].items() if key != id(eq)]
            if constant and _read_at_another_step(users, name):
                continue   # a constant would not vanish after the last step as the δ does
            if forced is False or constant or len(users) <= 1:
                for e in users:
                    e.rhs = _inline_into(e.rhs, name, eq.rhs)
                    for old in facts[id(e)][0]:
                        users_of[old].pop(id(e), None)
                    facts[id(e)] = _facts(e.rhs)
                    for new in facts[id(e)][0]:
                        users_of[new][id(e)] = e
                for old in mentions:
                    users_of[old].pop(id(eq), None)
                removed.add(id(eq))
                inlined[name] = eq.rhs
                changed = True
    eqs[:] = [e for e in eqs if id(e) not in removed]
    return inlined


def _facts(expr):
    """The delta names an expression mentions, and whether it is a constant (reads nothing)."""
    atoms = expr.atoms(Delta, Cotangent, Sym, Seq)
    return {a.var.name for a in atoms if isinstance(a, Delta)}, not atoms


def _inline_all(expr, inlined):
    """expr with every inlined delta written out (an inlined delta may hold another)."""
    for _ in range(len(inlined) + 1):
        names = {d.var.name for d in expr.atoms(Delta)} & set(inlined)
        if not names:
            return expr
        for name in names:
            expr = _inline_into(expr, name, inlined[name])
    return expr


def _always_kept(model):
    """States, outputs and nodes that read a parameter (their deltas make the gradients)."""
    keep = set(model.states) | {o for o in model.outputs if o != model.loss_name}
    for d in model.definitions:
        if any(leaf.role == "param" for leaf in d.rhs.atoms(Sym)):
            keep.add(d.name)
    return keep


def _read_at_another_step(eqs, name):
    return any(d.var.name == name and isinstance(d.var, Seq) and d.var.offset
               for e in eqs for d in e.rhs.atoms(Delta))


def _inline_into(expr, name, rhs):
    mapping = {d: at_time(rhs, d.var.time, d.var.axis) if isinstance(d.var, Seq) else rhs
               for d in expr.atoms(Delta) if d.var.name == name}
    return substitute(expr, mapping)


# -- presentation -------------------------------------------------------------

def _present(expr, model, style, rank):
    if style == "expanded":
        expr = expand_derivatives(expr)
    expr = name_nodes(expr, model)
    return arrange(factor_common(expr), rank)


def name_nodes(expr, model):
    """Write a node's defining expression as the node (σ(ōₜ) → oₜ, softmax(oₜ) → ŷₜ)."""
    leaves = expr.atoms(Seq, Sym)
    present = {s.name for s in leaves}
    mapping = {}
    for d in _candidates(model, present):
        pairs = [(d.rhs, d.symbol)]
        if isinstance(d.symbol, Seq):
            axis = d.symbol.axis
            times = {s.time for s in leaves if isinstance(s, Seq) and s.axis == axis} | {axis}
            pairs = [(d.rhs.xreplace({axis: tau}), d.symbol.xreplace({axis: tau})) for tau in times]
        for rhs, sym in pairs:     # also transposed: f(Aᵀ) is f(A)ᵀ, the node transposed
            mapping[rhs] = sym
            if rhs.cols != 1 and rhs.rows != 1:
                mapping[transpose(rhs)] = transpose(sym)
    return substitute(expr, mapping)


_NAMABLE = {}     # id(model) → (weak reference, number of definitions, index)


def _candidates(model, present):
    """The definitions name_nodes may fold in an expression that reads the names ``present``:
    those all of whose leaves it reads, in definition order. An index by leaf name, built once
    per model, makes the look-up cost what the expression holds, not the model's size."""
    index = _namable(model)
    found = {rank: d for rank, d, _ in index.get(None, ())}   # constants read nothing
    for name in present:
        for rank, d, reads in _namable(model).get(name, ()):
            if rank not in found and reads <= present:
                found[rank] = d
    return [found[rank] for rank in sorted(found)]


def _namable(model):
    """name → [(rank, definition, names it reads)] over the definitions with an expression."""
    cached = _NAMABLE.get(id(model))
    if cached is None or cached[0]() is not model or cached[1] != len(model.definitions):
        index = defaultdict(list)
        for rank, d in enumerate(model.definitions):
            if isinstance(d.rhs, (Sym, Seq)):
                continue
            reads = frozenset(s.name for s in d.rhs.atoms(Seq, Sym))
            for name in reads or (None,):
                index[name].append((rank, d, reads))
        ref = weakref.ref(model, lambda _, key=id(model): _NAMABLE.pop(key, None))
        cached = _NAMABLE[id(model)] = (ref, len(model.definitions), dict(index))
    return cached[2]


def arrange(expr, rank):
    """Reading order: in a sum, the outside delta Δ first, then by step (t before t±1) and by
    node order; a sum starts with a positive term; in a Hadamard product parameters and
    deltas come first and derivatives last."""
    if not isinstance(expr, Tensor) or not expr.args:
        return expr
    args = tuple(arrange(a, rank) for a in expr.args)
    if isinstance(expr, Add):
        args = sorted(args, key=lambda a: _term_key(a, rank))
        first_positive = next((a for a in args if split_coef(a)[0].is_positive), None)
        if first_positive is not None:
            args.remove(first_positive)
            args.insert(0, first_positive)
    elif isinstance(expr, Had):
        args = sorted(args, key=_factor_rank)
    return expr.func(*args)


def _term_key(term, rank):
    if term.atoms(Cotangent):
        return (-1, -1, -1)
    deltas = term.atoms(Delta)
    steps = [_step(d.var) for d in deltas]
    names = [rank.get(d.var.name, len(rank)) for d in deltas]
    if not deltas:
        seqs = term.atoms(Seq)
        steps = [_step(s) for s in seqs] or [0]
        names = [rank.get(s.name, -1) for s in seqs] or [0]
    step = max(steps, key=abs)
    return (abs(step), step, min(names))


def _step(sym):
    return sym.offset if isinstance(sym, Seq) and sym.offset is not None else 0


def _factor_rank(f):
    """Greff's order in a Hadamard product: parameter, delta, values, derivatives (p ⊙ δō, δy ⊙ o ⊙ h′(c))."""
    if isinstance(f, Sym) and f.role == "param":
        return 0
    if f.atoms(Delta, Cotangent) and not isinstance(f, Add):
        return 1
    if isinstance(f, Fn) and f.order:
        return 3
    return 2
