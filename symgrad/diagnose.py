"""Saying what is wrong with a hand equation, the way a person would, term by term.

Only called once the identity test has found the two sides different. Both are written
as sums of products (every sum distributed); a derived term with no equal among the hand's
terms is paired, where one can be, with a hand term that is the same but for one named
mistake — a transpose, a step, the order of a product, a derivative for its function, one
symbol for another — and a wrong sign or factor on top; the rest are missing or extra terms.
"""
from functools import reduce
from itertools import product

import sympy as sp

from . import algebra
from .algebra import ckey
from .ops import Add, Fn, Had, MatMul, ScalarMul, Scale, TimeSum, Transpose
from .render.printer import text
from .symbols import Delta, Seq, Sym, shift


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


def diagnose(ours, theirs, limit=2000):
    """What differs between the derived and the hand right-hand sides, term by term (an empty
    list where the sums are too large to distribute)."""
    if _size(ours) * _size(theirs) > limit:
        return []
    want, have = _combined(monomials(ours)), _combined(monomials(theirs))
    problems = []
    for k in set(want) & set(have):
        (core, a), (_, b) = want[k], have[k]
        if a != b:
            problems.append(f"wrong sign: {_term(b, core)} should be {_term(a, core)}" if a == -b
                            else f"wrong factor: {_term(b, core)} should be {_term(a, core)}")
    missing = [want[k] for k in want if k not in have]
    extra = [have[k] for k in have if k not in want]
    for explain in EXPLANATIONS:
        for m in list(missing):
            for e in list(extra):
                why = explain(m[0], e[0])
                if why:
                    problems.append(why + _coefficient_note(m, e))
                    missing.remove(m)
                    extra.remove(e)
                    break
    problems += [f"missing term: {_term(c, core)}" for core, c in missing]
    problems += [f"extra term: {_term(c, core)}" for core, c in extra]
    return list(dict.fromkeys(problems))


def vagueness(problems):
    """Fewer problems, and named mistakes over bare missing/extra terms, explain better."""
    return sum(2 if p.startswith(("missing term", "extra term")) else 1 for p in problems)


def _size(expr):
    """How many terms distributing expr gives, roughly (without building them)."""
    if isinstance(expr, Add):
        return sum(_size(a) for a in expr.args)
    if isinstance(expr, (MatMul, Had, ScalarMul)):
        return reduce(lambda a, b: a * b, (_size(a) for a in expr.args), 1)
    if isinstance(expr, (Scale, Transpose, TimeSum)):
        return _size(expr.args[0] if isinstance(expr, Transpose) else expr.x)
    return 1


def _coefficient_note(m, e):
    (_, a), (_, b) = m, e
    if a == b:
        return ""
    if a == -b:
        return ", and its sign is wrong"
    return f", and its factor is {b} where {a} belongs"


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
    w = {text(x.args[0]) for x in want.atoms(Transpose)}
    h = {text(x.args[0]) for x in have.atoms(Transpose)}
    if w - h:
        return (f"missing transpose: {text(have)} has {', '.join(sorted(w - h))} where "
                f"{', '.join(x + 'ᵀ' for x in sorted(w - h))} belongs")
    if h - w:
        return (f"spurious transpose: {text(have)} has {', '.join(x + 'ᵀ' for x in sorted(h - w))} "
                f"where {', '.join(sorted(h - w))} belongs")
    return f"a transpose in the wrong place: {text(have)} should be {text(want)}"


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


def _orders_erased(e):
    return e.replace(lambda x: isinstance(x, Fn), lambda x: Fn(x.name, x.impl, x.x, 0))


def _derivative(want, have):
    """f′(x) where f(x) belongs, or the reverse."""
    if ckey(_orders_erased(want)) != ckey(_orders_erased(have)):
        return None
    w = {text(f) for f in want.atoms(Fn)}
    h = {text(f) for f in have.atoms(Fn)}
    if h - w and w - h:
        return f"wrong function: {text(have)} has {', '.join(sorted(h - w))} where {', '.join(sorted(w - h))} belongs"
    return None


def _symbol(want, have):
    """One symbol for another of the same shape (R_i for R_f)."""
    ws = {s.name: s for s in want.atoms(Sym, Seq)}
    hs = {s.name: s for s in have.atoms(Sym, Seq)}
    gone, new = set(ws) - set(hs), set(hs) - set(ws)
    if len(gone) != 1 or len(new) != 1:
        return None
    (g,), (n,) = gone, new
    if ws[g].shape != hs[n].shape:
        return None
    renamed = have.replace(lambda x: isinstance(x, (Sym, Seq)) and x.name == n,
                           lambda x: x.func(g, *x.args[1:]))
    if ckey(renamed) != ckey(want):
        return None
    return f"wrong symbol: {text(have)} has {text(hs[n])} where {text(ws[g])} belongs"


EXPLANATIONS = (_shifted_sum, _time_step, _transpose, _order, _transposed, _derivative, _symbol)
