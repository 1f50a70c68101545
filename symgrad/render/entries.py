"""Vector equations entry by entry, as tutorials write them: δc_{t,j} = δy_{t,j} o_{t,j} h′(c_{t,j}) + …

Only equations made of vectors, element-wise functions and products with a parameter
matrix have such a form; the rest (attention's matrices, softmax) are left out.
"""

from ..ops import Add, EPow, Fn, Had, MatMul, Scale, TimeSum, Transpose
from ..symbols import Cotangent, Delta, Ones, Seq, Sym
from .printer import latex


def entry_equations(d):
    """[(lhs, rhs)] in LaTeX for every backward equation that has an entry-by-entry form."""
    out = []
    for eq in d.deltas + d.inputs + d.initial + d.params:
        rhs = elementwise(eq.rhs, "j")
        if rhs is not None:
            out.append((entry_lhs(eq.lhs), rhs))
    return out


def entry_lhs(lhs):
    """δc_{t,j}; for a matrix parameter's gradient δW_{jk}."""
    return _indexed(latex(lhs), "jk" if lhs.var.shape[1] != 1 else "j")


def elementwise(expr, j, k="k"):
    """Entry j of a vector expression (entry j, k of an outer product) in LaTeX, or None where
    the expression is not made of vectors, element-wise functions and matrix–vector products."""
    if isinstance(expr, (Sym, Seq, Delta, Cotangent)):
        var = expr.var if isinstance(expr, (Delta, Cotangent)) else expr
        if var.shape[1] != 1:
            return None
        return _indexed(latex(expr), j)
    if isinstance(expr, Ones):
        return "1"
    if isinstance(expr, Add):
        parts = [elementwise(a, j, k) for a in expr.args]
        return None if None in parts else " + ".join(parts).replace("+ -", "- ")
    if isinstance(expr, Scale):
        inner = elementwise(expr.x, j, k)
        return None if inner is None else ("-" if expr.coef == -1 else latex(expr.coef) + " ") + _wrap(inner)
    if isinstance(expr, Had):
        parts = [elementwise(a, j, k) for a in expr.args]
        return None if None in parts else " ".join(map(_wrap, parts))
    if isinstance(expr, EPow):
        inner = elementwise(expr.x, j, k)
        if inner is None:
            return None
        return f"\\frac{{1}}{{{inner}}}" if expr.p == -1 else f"{{{_wrap(inner)}}}^{{{latex(expr.p)}}}"
    if isinstance(expr, Fn):
        inner = elementwise(expr.x, j, k)
        name = latex(Fn(expr.name, expr.impl, Sym("u", 1, 1, "node"), expr.order)).split("\\left(")[0]
        return None if inner is None else f"{name}\\left({inner}\\right)"
    if isinstance(expr, TimeSum):
        inner = elementwise(expr.x, j, k)
        return None if inner is None else f"\\sum_{{{expr.axis}}} {inner}"
    if isinstance(expr, MatMul) and len(expr.args) == 2:
        a, b = expr.args
        if isinstance(a, (Sym, Transpose)) and b.shape[1] == 1 and a.shape[0] != 1:
            base = a.args[0] if isinstance(a, Transpose) else a
            if not isinstance(base, Sym) or base.role != "param":
                return None
            inner = elementwise(b, k)
            entry = _indexed(latex(base), k + j if isinstance(a, Transpose) else j + k)
            return None if inner is None else f"\\sum_{{{k}}} {entry} {_wrap(inner)}"
        if a.shape[1] == 1 and b.shape[0] == 1 and b.shape[1] != 1:     # u vᵀ: entry (j, k)
            left, right = elementwise(a, j), _row_entry(b, k)
            return None if None in (left, right) else f"{_wrap(left)} {_wrap(right)}"
    return None


def _row_entry(row, k):
    """Entry k of a row vector: of vᵀ, or of a Hadamard product of such rows."""
    if isinstance(row, Transpose):
        return elementwise(row.args[0], k)
    if isinstance(row, Had):
        parts = [_row_entry(f, k) for f in row.args]
        return None if None in parts else " ".join(map(_wrap, parts))
    return None


def _indexed(tex, j):
    """x_{t} → x_{t,j}; x^{(1)} → x_{j}^{(1)}; h_{T_{x}+1}^{(1)} → h_{T_{x}+1,j}^{(1)}."""
    base, sup = _split_sup(tex)
    if base.endswith("}"):
        start = _group_start(base, len(base) - 1)
        if base[start - 1:start] == "_":
            return f"{base[:-1]},{j}}}{sup}"
    return f"{base}_{{{j}}}{sup}"


def _split_sup(tex):
    """(everything before a trailing ^{…} group, that group) — the group may be empty."""
    if tex.endswith("}"):
        start = _group_start(tex, len(tex) - 1)
        if tex[start - 1:start] == "^":
            return tex[:start - 1], tex[start - 1:]
    return tex, ""


def _group_start(tex, close):
    """The index of the { that the } at ``close`` closes."""
    depth = 0
    for i in range(close, -1, -1):
        depth += (tex[i] == "}") - (tex[i] == "{")
        if depth == 0:
            return i
    return 0


def _wrap(s):
    return f"\\left({s}\\right)" if (" + " in s or " - " in s) and not s.startswith("\\left(") else s
