"""Single-term mutations of a derived equation: the mistakes people make by hand.

Each mutation changes one place of the equation's tree and rebuilds it in canonical form;
one that does not change the equation (a Hadamard product swapped, a transpose of a 1×1)
or does not fit the shapes is left out.
"""
import random

from symgrad import algebra
from symgrad.algebra import ckey
from symgrad.errors import SymgradError
from symgrad.ops import Add, Fn, MatMul, Transpose
from symgrad.symbols import Cotangent, Delta, Seq, Sym
from symgrad.tensor import Tensor

KINDS = ("drop a term", "add a term from another equation", "flip a transpose", "shift a step",
         "flip a sign", "scale a term by 2", "swap the order of a product", "swap f for f′",
         "swap two parameters of the same shape")


def subtrees(e, path=(), parent=None):
    """(path, node, parent) for every node of the tree, the root first."""
    yield path, e, parent
    for i, a in enumerate(e.args):
        if isinstance(a, Tensor):
            yield from subtrees(a, path + (i,), e)


def replace_at(e, path, new):
    if not path:
        return new
    args = list(e.args)
    args[path[0]] = replace_at(args[path[0]], path[1:], new)
    return e.func(*args)


def _terms(expr):
    return expr.args if isinstance(expr, Add) else (expr,)


def mutations(expr, others, params, rng):
    """[(kind, mutant)] of one equation's right-hand side; ``others`` are the right-hand sides of
    the model's other equations, ``params`` its parameters."""
    raw = []
    for path, node, parent in subtrees(expr):
        if isinstance(node, Seq):
            for k in (1, -1):
                raw.append(("shift a step", path, node.at(k)))
        if isinstance(parent, (Delta, Cotangent)):
            continue                 # the variable of a delta: only its step can be wrong
        if isinstance(node, Add):
            for i, a in enumerate(node.args):
                rest = node.args[:i] + node.args[i + 1:]
                raw.append(("drop a term", path, rest[0] if len(rest) == 1 else Add(*rest)))
                raw.append(("flip a sign", path, Add(*rest, algebra.neg(a))))
                raw.append(("scale a term by 2", path, Add(*rest, algebra.scale(2, a))))
        if isinstance(node, (Sym, Seq, Delta, Cotangent)) and node.shape != (1, 1):
            raw.append(("flip a transpose", path, Transpose(node)))
        if isinstance(node, Transpose):
            raw.append(("flip a transpose", path, node.args[0]))
        if isinstance(node, MatMul):
            raw.append(("swap the order of a product", path, MatMul(*reversed(node.args))))
            for i in range(len(node.args) - 1):
                args = list(node.args)
                args[i], args[i + 1] = args[i + 1], args[i]
                raw.append(("swap the order of a product", path, MatMul(*args)))
        if isinstance(node, Fn):
            raw.append(("swap f for f′", path, Fn(node.name, node.impl, node.x, 1 - node.order)))
        if isinstance(node, Sym) and node.role == "param":
            for p in params:
                if p.name != node.name and p.shape == node.shape and p.per_head == node.per_head:
                    raw.append(("swap two parameters of the same shape", path, p))
    raw = [("flip a sign", (), algebra.neg(expr)), ("scale a term by 2", (), algebra.scale(2, expr))] + raw
    foreign = [t for o in others for t in _terms(o) if t.shape == expr.shape]
    for t in rng.sample(foreign, min(3, len(foreign))):
        raw.append(("add a term from another equation", (), Add(expr, t)))
    out, seen = [], {ckey(expr)}
    for kind, path, new in raw:
        try:
            mutant = algebra.rebuild(replace_at(expr, path, new))
        except (SymgradError, TypeError, ValueError):
            continue                 # the shapes do not fit: not an equation one could write
        if mutant.shape != expr.shape or ckey(mutant) in seen:
            continue
        seen.add(ckey(mutant))
        out.append((kind, mutant))
    return out


def equation_mutations(derivation, seed=0):
    """[(equation, kind, mutant)] for every backward equation of a derivation."""
    rng = random.Random(seed)
    eqs = derivation.backward
    params = derivation.model.params
    return [(eq, kind, m) for eq in eqs
            for kind, m in mutations(eq.rhs, [o.rhs for o in eqs if o is not eq], params, rng)]
