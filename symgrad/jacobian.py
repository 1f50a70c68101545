"""One-step Jacobians ∂sₜ/∂sₜ₋₁ of a recurrent model, derived from its forward equations.

The same VJP rules as the deltas: a cotangent δsₜ is pulled back through the equations of
step t; where it reaches a state of step t−1 (one occurrence of it in one equation: a
route, as in ``paths``), the cotangent is a linear function of δsₜ, Mᵀ δsₜ, and M is that
route's block. Hadamard factors become diag(·): δaₜ ⊙ (1 − hₜ ⊙ hₜ) read as a matrix is
diag(1 − hₜ ⊙ hₜ). A route that passes a state of step t that no other state of the step
reads (the LSTM's yₜ reads cₜ) stops there and is written as a product of two blocks,
∂yₜ/∂cₜ ∂cₜ/∂cₜ₋₁.

Each route differentiates along one edge out of the earlier state with everything else held
fixed: the LSTM's route through cₜ = … + cₜ₋₁ ⊙ fₜ gives diag(fₜ), a partial derivative,
and fₜ's own dependence on cₜ₋₁ (the peephole) is another route. The total derivative,
the block, is their sum.
"""
from dataclasses import dataclass

import sympy as sp

from .algebra import (ONE, add, diag, expand_derivatives, factor_common, had, indicator, matmul,
                      scale, smul, split_coef, transpose)
from .derive import STYLES, arrange, name_nodes, pullback
from .errors import ModelError
from .ops import Add, Diag, Fn, Had, Indicator, Jacobian, MatMul, ScalarMul, Scale, Transpose
from .symbols import Delta, Ones, Seq, Zero
from .tensor import Tensor

# sup |f′| for the derivatives that appear as diag(f′(aₜ)), by (function, order): γ of the bound
SUP_DERIVATIVE = {("tanh", 1): ONE, ("sigma", 1): sp.Rational(1, 4), ("step", 0): ONE}


@dataclass(frozen=True)
class Route:
    """One route of a block: ``through`` is the node of step t that reads the earlier state
    (or the state of step t the route passes); ``term`` is what it adds, as printed, and
    ``raw`` the same in derivative form (what is evaluated)."""
    through: Tensor
    term: Tensor
    raw: Tensor
    via_state: bool = False


@dataclass
class Block:
    """∂ofₜ/∂wrt: wrt is a state at the previous step, or (within the step) at step t."""
    of: Seq
    wrt: Seq
    routes: list
    total: Tensor
    raw_total: Tensor
    partial: tuple | None = None   # (cₜ₋₁ ⊙ fₜ, [(fₜ, [f̄ₜ: the routes through which it varies])])

    @property
    def lhs(self):
        return Jacobian(self.of, self.wrt)

    @property
    def zero(self):
        return isinstance(self.total, Zero)


@dataclass
class Bound:
    """Pascanu, Mikolov & Bengio (2013): ‖∂hₜ/∂hₖ‖ ≤ (‖A‖ γ)^(t−k) when ∂hₜ/∂hₜ₋₁ = diag(f′(aₜ)) A
    with |f′| ≤ γ (γ = 1 and no diag for a linear recurrence)."""
    state: str
    matrix: Tensor
    gamma: sp.Rational
    function: str | None


@dataclass
class StepJacobians:
    """The blocks asked for (``shown``), the blocks their routes are written with (``used``),
    the states the product over steps runs over with their blocks, and the bound where one
    applies."""
    model: object
    style: str
    shown: list
    used: list
    states: list
    chain: dict          # (of, wrt) → Block for every pair of ``states``
    bound: Bound | None

    @property
    def blocks(self):
        return self.shown + self.used

    def block(self, of, wrt):
        """The block ∂ofₜ/∂wrt (names as written in code; wrt at the previous step)."""
        for b in self.blocks + list(self.chain.values()):
            if b.of.name == of and b.wrt.name == wrt and b.wrt.offset != 0:
                return b
        raise KeyError(f"∂{of}/∂{wrt}")

    def __str__(self):
        from .render.jacobian import jacobians_text
        return jacobians_text(self)

    def __rich__(self):
        from .render.jacobian import jacobians_renderable
        return jacobians_renderable(self)

    def to_latex(self):
        from .render.jacobian import jacobians_latex
        return jacobians_latex(self)


def jacobians(model, of=None, wrt=None, style=None):
    """The one-step Jacobians of ``of`` (a node of step t, default: every state) with respect
    to ``wrt`` (a state, default: every state) at the step before."""
    model.build()
    style = style or model.style
    if style not in STYLES:
        raise ModelError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    rank = {d.name: i for i, d in enumerate(model.definitions)}
    states = dict(sorted(model.states.items(), key=lambda item: rank[item[0]]))   # as defined: c, y
    if not states:
        raise ModelError(f"model {model.name} has no state read at another step: no Jacobian over time")
    of_names = [_node(model, of, "node of step t")] if of else list(states)
    wrt_names = [_node(model, wrt, "state")] if wrt else \
        sorted(states, key=lambda s: s not in of_names)       # its own earlier value first
    for name in wrt_names:
        if name not in states:
            raise ModelError(f"{name} is not a state of {model.name} (its states: {', '.join(states)})")
    for name in of_names:
        sym = model.declared[name]
        if not isinstance(sym, Seq) or sym.cols != 1:
            raise ModelError(f"{name} is not a column vector at each step: no one-step Jacobian")
    deriver = _Deriver(model, style)
    same_run = lambda a, b: (model.declared[a].axis_name == model.declared[b].axis_name  # noqa: E731
                             and states.get(a, states[b]) == states[b])     # the step before, both ways
    shown = [deriver.block(a, model.declared[b].at(states[b])) for a in of_names for b in wrt_names
             if same_run(a, b)]
    if not shown:
        raise ModelError(f"{of_names[0]} and {wrt_names[0]} run in opposite directions: no one-step block")
    used = _referenced(shown, deriver.done)
    first = model.declared[of_names[0]]
    chain = [s for s, o in states.items()          # the recurrence the product over steps runs along
             if o == states.get(first.name, -1) and model.declared[s].axis_name == first.axis_name]
    blocks = {(a, b): deriver.block(a, model.declared[b].at(states[b])) for a in chain for b in chain}
    return StepJacobians(model, style, shown, used, chain, blocks, _bound(model, blocks, chain))


def _referenced(shown, done):
    """The blocks the shown routes are written with (∂yₜ/∂cₜ, ∂cₜ/∂cₜ₋₁), and theirs, in turn."""
    by_lhs = {b.lhs: b for b in done.values()}
    out, todo = [], list(shown)
    while todo:
        for route in todo.pop(0).routes:
            for leaf in route.term.atoms(Jacobian):
                block = by_lhs[leaf]
                if block not in shown and block not in out:
                    out.append(block)
                    todo.append(block)
    return out


def _node(model, given, what):
    from .render.names import text_name
    for d in model.definitions:
        if given in (d.name, text_name(d.name)):
            return d.name
    raise ModelError(f"{model.name} has no {what} {given!r}; its nodes: "
                     + ", ".join(d.name for d in model.definitions))


class _Deriver:
    """Blocks derived on demand and remembered (a route through a state uses its blocks)."""

    def __init__(self, model, style):
        self.model, self.style = model, style
        self.rank = {d.name: i for i, d in enumerate(model.definitions)}
        self.done = {}

    def block(self, of, wrt):
        """∂ofₜ/∂wrt. The sweep stops at the states of step t that no other one reads (within
        the step): a route that passes one of them, s, is ∂ofₜ/∂sₜ ∂sₜ/∂wrt, both total (the
        second first: it moves upstream, and a zero one ends the route). A route passes at most
        one such state, so no route is counted twice; other states of step t are swept through."""
        key = (of, wrt)
        if key not in self.done:
            m = self.model
            of_sym = m.declared[of]
            seed = Delta(of_sym)
            routes, passed = [], set()
            for leaf, consumer, cot in _sweep(m, of, seed, stops=_first_states(m, of)):
                if leaf == wrt:
                    routes.append((m.declared[consumer], _route_matrix(cot, seed, of_sym, wrt), False))
                elif _state_of_step(m, leaf, of_sym) and leaf not in passed:
                    passed.add(leaf)
                    inner = self.block(leaf.name, wrt)
                    if not inner.zero:
                        outer = self.block(of, leaf)
                        routes.append((leaf, matmul(outer.raw_total, inner.raw_total), True))
            self.done[key] = self._make(of_sym, wrt, routes)
        return self.done[key]

    def _make(self, of_sym, wrt, routes):
        show = lambda e: _present(e, self.model, self.style, self.rank)  # noqa: E731
        # the route through ofₜ's own equation first, then as the equations are written
        routes = sorted(routes, key=lambda r: (r[0] != of_sym, self.rank.get(r[0].name, -1)))
        out = [Route(through, matmul(Jacobian(of_sym, through), Jacobian(through, wrt)) if via
                     else show(raw), raw, via) for through, raw, via in routes]
        if not out:
            zero = Zero(of_sym.rows, wrt.rows)
            return Block(of_sym, wrt, [], zero, zero)
        return Block(of_sym, wrt, out, add(*(r.term for r in out)), add(*(r.raw for r in out)),
                     _held_fixed(self.model, of_sym, wrt, out))


def _first_states(model, of):
    """The states other than ``of`` that no other of them reads within a step (c, not y, for
    the LSTM's yₜ; iₜ and fₜ, not cₜ or oₜ, with full gate recurrence)."""
    others = [s for s in model.states if s != of]
    downstream = {s: _reached_from_node(model, model.declared[s]) - {s} for s in others}
    return {s for s in others if not any(s in downstream[o] for o in others if o != s)}


def _state_of_step(model, leaf, of_sym):
    """Is the leaf another state, read at step t (a route passes it)?"""
    return isinstance(leaf, Seq) and leaf.name in model.states and leaf.offset == 0 \
        and leaf.axis_name == of_sym.axis_name


def _sweep(model, of, seed, stops):
    """[(leaf, consumer, cotangent)] for every leaf occurrence in the equations of step t that
    the cotangent ``seed`` of ofₜ reaches and that is not a node of step t (or is a stop)."""
    axis = model.declared[of].axis_name
    cot = {of: [seed]}
    out = []
    for d in reversed(model.definitions):
        if d.name not in cot or not isinstance(d.symbol, Seq) or d.symbol.axis_name != axis:
            continue
        for leaf, c in pullback(d.rhs, add(*cot[d.name]), d.symbol):
            own = isinstance(leaf, Seq) and leaf.role == "node" and leaf.offset == 0 \
                and leaf.axis_name == axis and leaf.name not in stops
            if own:
                cot.setdefault(leaf.name, []).append(c)
            else:
                out.append((leaf, d.name, c))
    return out


def _route_matrix(cot, seed, of_sym, wrt):
    """The block of one route: the cotangent reaching wrt is Mᵀ δofₜ; the block is M."""
    return transpose(linear_map(cot, seed, of_sym, wrt))


def linear_map(expr, u, of_sym=None, wrt=None):
    """The matrix A with expr = A u, for an expression linear in the column vector u, as the
    VJP rules produce it: a Hadamard factor v ⊙ (…) becomes diag(v) (…)."""
    def lm(e):
        return linear_map(e, u, of_sym, wrt)

    if expr == u:
        return diag(Ones(u.rows, ONE))
    if not expr.has(u):
        return Zero(expr.rows, u.rows)
    if isinstance(expr, Add):
        parts = [split_coef(p) for p in map(lm, expr.args)]
        if all(isinstance(core, Diag) for _, core in parts):     # diag(a) − diag(b) = diag(a − b)
            return diag(add(*(scale(c, core.x) for c, core in parts)))
        return add(*(scale(c, core) for c, core in parts))
    if isinstance(expr, Scale):
        return scale(expr.coef, lm(expr.x))
    if isinstance(expr, Indicator):
        return indicator(lm(expr.x), expr.cond)
    if isinstance(expr, Had):
        (i, f), = _holding(expr.args, u, expr, wrt)
        rest = had(*expr.args[:i], *expr.args[i + 1:])
        return _times(rest if expr.rows == 1 else diag(rest), lm(f))
    if isinstance(expr, MatMul):
        (i, f), = _holding(expr.args, u, expr, wrt)
        before, after = expr.args[:i], expr.args[i + 1:]
        if not after:
            return _times(matmul(*before) if before else None, lm(f))
        if isinstance(f, Transpose) and matmul(*after).cols == 1:   # P gᵀ S = P Sᵀ g
            return _times(matmul(*before, transpose(matmul(*after))) if before else
                          transpose(matmul(*after)), lm(f.args[0]))
    if isinstance(expr, ScalarMul):
        if not expr.x.has(u):
            return matmul(expr.x, lm(expr.s))
        if not expr.s.has(u):
            return smul(expr.s, lm(expr.x))
    raise ModelError(f"cannot write ∂{of_sym}/∂{wrt} as a matrix: the cotangent enters a "
                     f"{type(expr).__name__.lower()} other than a matrix times a column or an "
                     "element-wise product (attention over the rows of a matrix, say)")


def _holding(factors, u, expr, wrt):
    """The one factor of a product that holds the cotangent (VJPs are linear in it)."""
    found = [(i, f) for i, f in enumerate(factors) if f.has(u)]
    if len(found) != 1:
        raise ModelError(f"cannot write the Jacobian for {wrt} as a matrix: the cotangent is in "
                         f"{len(found)} factors of one product")
    return found


def _times(left, right):
    """left right, where an identity on either side drops out (None: no left factor), and
    diag(a) diag(b) is diag(a ⊙ b)."""
    if left is None or _identity(left):
        return right
    if _identity(right):
        return left
    (a, da), (b, db) = split_coef(left), split_coef(right)
    if isinstance(da, Diag) and isinstance(db, Diag):
        return scale(a * b, diag(had(da.x, db.x)))
    return matmul(left, right)


def _identity(x):
    c, core = split_coef(x)
    return c == 1 and isinstance(core, Diag) and isinstance(core.x, Ones)


def _present(expr, model, style, rank):
    """As the derivation prints: derivatives by style, nodes named, in reading order."""
    if style == "expanded":
        expr = expand_derivatives(expr)
    return arrange(factor_common(name_nodes(expr, model)), rank)


def _held_fixed(model, of_sym, wrt, routes):
    """The product in ofₜ's own equation that reads wrt (cₜ₋₁ ⊙ fₜ), and its other factors,
    each with the routes through which it depends on wrt ([] if it does not): the route
    through ofₜ holds them fixed, the partial derivative. None if there is no such product."""
    if wrt.offset == 0:
        return None
    rhs = model.definition(of_sym.name).rhs
    products = [h for h in [rhs, *rhs.atoms(Had)] if isinstance(h, Had) and wrt in h.args]
    if not products:
        return None
    varying = _reached_from(model, wrt, of_sym.axis_name)
    factors = []
    for f in products[0].args:
        if f != wrt and isinstance(f, Seq) and f.offset == 0 and f.role == "node":
            through = [r.through for r in routes if f.name in varying and r.through != of_sym
                       and f.name in _reached_from_node(model, r.through)]
            factors.append((f, through))
    return (products[0], factors) if factors else None


def _reached_from(model, wrt, axis):
    """The nodes of step t that read wrt, directly or through other nodes of step t."""
    reached = set()
    for d in model.definitions:
        if not isinstance(d.symbol, Seq) or d.symbol.axis_name != axis:
            continue
        leaves = d.rhs.atoms(Seq)
        if wrt in leaves or any(s.offset == 0 and s.name in reached for s in leaves):
            reached.add(d.name)
    return reached


def _reached_from_node(model, node):
    """The nodes of step t that read ``node`` (at step t), directly or not; and node itself."""
    reached = {node.name}
    for d in model.definitions:
        if isinstance(d.symbol, Seq) and any(s.offset == 0 and s.name in reached
                                             for s in d.rhs.atoms(Seq)):
            reached.add(d.name)
    return reached


def _bound(model, blocks, chain):
    """Pascanu et al.'s bound, where the recurrence is one state whose one-step Jacobian is a
    single route diag(f′(aₜ)) A (or A alone) with a bounded f′."""
    if len(chain) != 1:
        return None
    name = chain[0]
    block = blocks[(name, name)]
    if len(block.routes) != 1 or block.routes[0].via_state:
        return None
    raw = block.routes[0].raw
    c, core = split_coef(raw)
    if c != 1:
        return None
    factors = core.args if isinstance(core, MatMul) else (core,)
    if len(factors) == 1 and _matrix_leaf(factors[0]):
        return Bound(name, factors[0], ONE, None)
    if len(factors) == 2 and isinstance(factors[0], Diag) and _matrix_leaf(factors[1]):
        f = factors[0].x
        if isinstance(f, Fn) and (f.impl, f.order) in SUP_DERIVATIVE:
            return Bound(name, factors[1], SUP_DERIVATIVE[(f.impl, f.order)], f.impl)
    return None


def _matrix_leaf(x):
    return getattr(x, "role", None) == "param" or (isinstance(x, Transpose) and
                                                   getattr(x.args[0], "role", None) == "param")
