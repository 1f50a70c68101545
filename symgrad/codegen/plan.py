"""How the generated code runs, decided before a line is written: the order of the
equations (loops for recurrences, one vectorized expression for the rest), the values the
forward pass keeps for the backward pass, and how each array is stored.
"""
import sympy as sp

from ..algebra import LEAVES, ckey, fn, free_axes, transpose
from ..errors import ModelError
from ..ops import Add, Fn, MatMul, Stack, TimeSum, Transpose
from ..symbols import Cotangent, Delta, Seq, Sym, shift
from ..tensor import Tensor
from .printer import PADDED, PLAIN, ROLLING, TEMP


def step_reads(expr, prefix):
    """{(name, offset)} of the values (prefix "": nodes; "δ": deltas) expr reads; a value
    without steps, or read at a fixed step, is read at offset 0."""
    return {(v.name, (v.offset or 0) if isinstance(v, Seq) else 0) for v in _read(expr, prefix)}


def _read(expr, prefix):
    """The deltas (prefix "δ") or the node values (prefix "") an expression reads; the
    variable inside a delta is not a value read."""
    if prefix:
        return [d.var for d in expr.atoms(Delta)]
    found, todo = [], [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, (Seq, Sym)):
            if e.role == "node":
                found.append(e)
        elif isinstance(e, Tensor) and not isinstance(e, (Delta, Cotangent)):
            todo.extend(e.args)
    return found


def schedule(names, reads):
    """[(group, direction)] in dependency order: a group is one equation (direction 0,
    vectorized) or a recurrence run forwards (-1: reads earlier steps) or backwards (+1).
    ``names`` are in an order valid within one step; ``reads[v]`` is {(u, offset)}."""
    edges = {v: {u for u, _ in reads[v] if u in reads} for v in names}
    reach = {v: _reachable(v, edges) for v in names}          # v depends on reach[v]
    groups, placed = [], set()
    while len(placed) < len(names):
        for v in names:
            if v in placed:
                continue
            group = [u for u in names if u in reach[v] and v in reach[u]] or [v]
            if all(u in placed or u in group for w in group for u in edges[w]):
                lags = {k for w in group for u, k in reads[w] if u in group and k}
                if len(lags) > 1:
                    raise ModelError(f"equations {', '.join(group)} read both earlier and later "
                                     "steps of one another")
                groups.append((group, lags.pop() if lags else 0))
                placed.update(group)
                break
    return groups


def _reachable(v, edges):
    seen, todo = set(), list(edges[v])
    while todo:
        u = todo.pop()
        if u not in seen:
            seen.add(u)
            todo.extend(edges[u])
    return seen


# -- values shared by the forward and the backward pass --------------------------------

def share_subexpressions(forward, backward, taken):
    """Values the backward equations would compute again, kept by the forward pass instead.

    A subexpression of a backward equation that costs a transcendental or a matrix product
    (h(cₜ) in δōₜ, W_hn hₜ₋₁ + b_hn in the GRU's δr̄ₜ) and that a forward equation computes
    too, at the same or a neighbouring step, becomes a node of its own, computed once.
    ``forward`` is [(lhs, rhs)], ``backward`` a list of expressions; returns the new forward
    list (each kept value defined before its first use) and the backward expressions rewritten."""
    index = {}
    for i, (lhs, rhs) in enumerate(forward):
        for sub in _costly(rhs, top=True):
            if isinstance(lhs, Seq) or not free_axes(sub):
                index.setdefault(ckey(sub), (i, sub))
    made, inserts, rewritten_fwd = {}, {}, {}

    def node_for(sub):
        static = not free_axes(sub)      # σ(Σₜ xₜ − b) is one value, not one per step
        for k in ((0,) if static else (0, 1, -1)):
            key = ckey(shift(sub, -k, sub_axis(sub))) if k else ckey(sub)
            if key in index:
                i, fsub = index[key]
                if key not in made:
                    lhs = forward[i][0]
                    name = _fresh(_name_of(fsub), taken)
                    taken.add(name)
                    per_head = any(a.per_head for a in fsub.atoms(Sym))
                    node = Sym(name, *fsub.shape, "node", per_head) if static else \
                        Seq(name, lhs.axis, *fsub.shape, "node", lhs.axis_name)
                    made[key] = node
                    inserts.setdefault(i, []).append((node, fsub))
                    rhs = rewritten_fwd.get(i, forward[i][1])
                    rewritten_fwd[i] = rhs.xreplace({fsub: node})
                return shift(made[key], k, made[key].axis) if k else made[key]
        return None

    def rewrite(expr):
        if isinstance(expr, LEAVES) or not isinstance(expr, sp.Basic):
            return expr
        if _is_costly(expr) and not expr.atoms(Delta, Cotangent) and _one_axis_or_none(expr):
            node = node_for(expr)
            if node is not None:
                return node
            if isinstance(expr, Fn) and isinstance(expr.x, Transpose):    # f(Aᵀ) is f(A)ᵀ
                node = node_for(fn(expr.name, expr.impl, expr.x.args[0]))
                if node is not None:
                    return transpose(node)
        if not expr.args:
            return expr
        return expr.func(*(rewrite(a) if isinstance(a, sp.Basic) else a for a in expr.args))

    new_backward = [rewrite(e) for e in backward]
    new_forward = []
    for i, (lhs, rhs) in enumerate(forward):
        for node, sub in inserts.get(i, []):
            new_forward.append((node, sub))
        new_forward.append((lhs, rewritten_fwd.get(i, rhs)))
    return new_forward, new_backward


def _is_costly(e):
    """A transcendental or a matrix product (with parameters) somewhere inside."""
    return (isinstance(e, Fn) and e.order == 0) or (
        isinstance(e, (MatMul, Add)) and any(isinstance(a, MatMul) for a in sp.preorder_traversal(e)))


def _costly(expr, top=False):
    """The costly proper subexpressions of a forward right-hand side (the whole of it is the
    node itself, which the backward pass already reads by name)."""
    if isinstance(expr, LEAVES) or isinstance(expr, (TimeSum, Stack)) or not isinstance(expr, sp.Basic):
        return []
    found = [] if top or not _is_costly(expr) else [expr]
    for a in expr.args:
        found += _costly(a)
    return found


def _one_axis_or_none(expr):
    """Values of one time axis, at steps relative to the current one; or no step at all."""
    seqs = expr.atoms(Seq)
    if not seqs:
        return any(s.role == "node" for s in expr.atoms(Sym))
    return len({s.axis_name for s in seqs}) == 1 and all(s.offset is not None for s in seqs)


def sub_axis(expr):
    return next(iter(expr.atoms(Seq))).axis


def _name_of(sub):
    """A readable name for a kept value: h_c for h(cₜ), else shared."""
    if isinstance(sub, Fn) and isinstance(sub.x, (Seq, Sym)):
        return f"{sub.name}_{sub.x.name}"
    return "shared"


def _fresh(name, taken):
    out, i = name, 1
    while out in taken:
        i += 1
        out = f"{name}{i}"
    return out


# -- storage -------------------------------------------------------------------------

def storage(groups, eqs, reads_outside, prefix, fixed_ok):
    """How each array of one pass is stored: ``temp`` (one step, no step axis) for a loop's
    value read only by its own loop at the same step; ``rolling`` (two slots) for one read
    only by its own loop (any neighbouring step) or at a boundary step; ``plain`` (no
    padding) for a value computed for all steps at once and read at its own step only;
    else ``padded``.
    ``reads_outside`` maps a name to the offsets other code (the other pass, gradients,
    outputs) reads it at; None for a fixed step, which a rolling buffer serves only where
    that step is the last its loop computes (``fixed_ok``: the initial-state gradients)."""
    kinds = {}
    rhs_of = {lhs.name: rhs for lhs, rhs in eqs}
    for group, direction in groups:
        for name in group:
            lhs_is_seq = any(isinstance(lhs, Seq) and lhs.name == name for lhs, _ in eqs)
            if not lhs_is_seq:
                continue
            inside = [k for other, _ in groups for w in other if w in group
                      for u, k in step_reads(rhs_of[w], prefix) if u == name]
            outside = [k for other, _ in groups if other is not group for w in other
                       for u, k in step_reads(rhs_of[w], prefix) if u == name]
            extra = reads_outside.get(name, [])
            if not direction:      # computed for all steps at once: padded only if read off its step
                own_step = all(k == 0 for k in outside + extra if k is not None)
                kinds[prefix + name] = PLAIN if own_step else PADDED
                continue
            if outside or any(k is not None or not fixed_ok for k in extra):
                kinds[prefix + name] = PADDED
            elif extra or any(inside):
                kinds[prefix + name] = ROLLING
            else:
                kinds[prefix + name] = TEMP
    return kinds


def reads_by_offset(exprs, prefix):
    """name → offsets at which the expressions read it (None: at a fixed step)."""
    out = {}
    for e in exprs:
        for v in _read(e, prefix):
            k = v.offset if isinstance(v, Seq) else 0
            out.setdefault(v.name, []).append(k)
    return out


def input_storage(model, reads):
    """Inputs and targets read only at their own step need no padding."""
    return {s.name: PLAIN if set(reads.get(s.name, [0])) <= {0} else PADDED
            for s in model.inputs + model.targets if isinstance(s, Seq)}
