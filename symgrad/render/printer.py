"""Text and LaTeX printers: SymPy printers that dispatch on symgrad's classes.

Precedence decides parentheses: a sum inside a product is bracketed, and a matrix
product inside a Hadamard product (or the reverse) is bracketed too, so
``(W₂ᵀ δz₂) ⊙ σ′(z₁)`` is never ambiguous.
"""
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from ..functions import lookup
from ..ops import Add, EPow, Fn, Had, HeadSum, Indicator, MatMul, ScalarMul, Scale, TimeSum, Transpose
from ..symbols import Ones, Seq
from .names import latex_name, text_name, text_sub, time_latex, time_text

PREC_ADD, PREC_NEG, PREC_PROD, PREC_ATOM = 10, 20, 30, 100


def _prec(e):
    if isinstance(e, Add):
        return PREC_ADD
    if isinstance(e, Scale):
        return PREC_NEG
    if isinstance(e, (TimeSum, HeadSum, Indicator)):
        return PREC_NEG
    if isinstance(e, (MatMul, Had, ScalarMul)) or _square(e):
        return PREC_PROD
    return PREC_ATOM


def _square(e):
    """x^⊙2 of a symbol, which prints as x ⊙ x: a Hadamard product to its neighbours."""
    return isinstance(e, EPow) and e.p == 2 and _prec(e.x) == PREC_ATOM


def _kind(e):
    return Had if _square(e) else type(e)


class _Common:
    """Printing shared by both notations; subclasses give the symbols."""
    odot = times = minus = plus = None

    def wrap(self, e, parent):
        s = self._print(e)
        p, q = _prec(e), _prec(parent)
        needs = p < q or (p == q == PREC_PROD and _kind(e) is not _kind(parent)) \
            or (isinstance(parent, Scale) and p <= PREC_NEG)
        return self.paren(s) if needs else s

    def _print_Add(self, e):
        out = ""
        for i, term in enumerate(e.args):
            negative = isinstance(term, Scale) and term.coef.could_extract_minus_sign()
            shown = _negated(term) if negative else term
            body = self.paren(self._print(shown)) if isinstance(shown, Add) else self._print(shown)
            if i == 0:
                out = (self.minus.strip() if negative else "") + body
            else:
                out += (self.minus if negative else self.plus) + body
        return out

    def _print_Scale(self, e):
        c = e.coef
        if c == -1:
            return self.minus.strip() + self.wrap(e.x, e)
        negative = c.could_extract_minus_sign()   # c may be symbolic: 1 − T/2
        sign, size = (self.minus.strip(), -c) if negative else ("", c)
        if isinstance(e.x, MatMul) and _averages(size, e.x):        # (1/d) X 1 is the row mean
            return sign + self._print_MatMul(e.x, mean=True)
        if isinstance(e.x, Had):                                      # and so inside a product
            means = [f for f in e.x.args if isinstance(f, MatMul) and _averages(size, f)]
            if means:
                return sign + self.odot.join(self.paren(self._print_MatMul(f, mean=True)) if f is means[0]
                                             else self.wrap(f, e.x) for f in e.x.args)
        shown = self.coef(c)
        return (self.paren(shown) if isinstance(c, sp.Add) else shown) + " " + self.wrap(e.x, e)

    def _print_MatMul(self, e, mean=False):
        """X 1 (ones with several rows) is a row sum, 1ᵀ X a column sum; a single row or
        column of ones only repeats what it multiplies (u 1ᵀ, 1 g)."""
        fs, parts, group = list(e.args), [], []
        if isinstance(fs[0], Ones) and fs[0].cols != 1 and len(fs) > 1:
            parts = ([self._print(Ones(fs[0].rows, 1))] if fs[0].rows != 1 else []) \
                + [self.call("colsum", fs[1])]
            fs = fs[2:]
        for f in fs:
            if isinstance(f, Ones) and f.rows != 1 and (group or parts):
                inner = " ".join(parts + [self.wrap(g, e) for g in group]) if parts \
                    else self._print(group[0] if len(group) == 1 else MatMul(*group))
                parts, group = [self.call("rowmean" if mean else "rowsum", inner, printed=True)], []
                if f.cols != 1:
                    parts.append(self._print(Ones(1, f.cols)))
            else:
                group.append(f)
        return " ".join(parts + [self.wrap(g, e) for g in group])

    def call(self, name, arg, printed=False):
        return self.function(name) + self.paren(arg if printed else self._print(arg))

    def _print_Had(self, e):
        over = [f for f in e.args if isinstance(f, EPow) and f.p == -1]
        body = self.odot.join(self.wrap(f, e) for f in e.args if f not in over) or "1"
        return body + "".join(self.oslash + self.wrap(f.x, e) for f in over)

    def _print_ScalarMul(self, e):
        return self.paren(self._print(e.s)) + " " + self.wrap(e.x, e)


def _averages(c, x):
    """Is c times the product x a row mean: c = 1/d and x sums d columns (X 1 of d rows)?"""
    ones = [f for f in x.args[1:] if isinstance(f, Ones) and f.rows != 1]
    return len(ones) == 1 and c == 1 / ones[0].rows


def _negated(term):
    from ..algebra import neg
    return neg(term)


class TextPrinter(_Common, StrPrinter):
    """Plain unicode: δ, ⊙, ᵀ, Σₜ, subscripts."""
    odot, oslash, minus, plus = " ⊙ ", " ⊘ ", " − ", " + "

    def function(self, name):
        return name

    def paren(self, s):
        return "(" + s + ")"

    def coef(self, c):
        return sp.sstr(c).replace("sqrt", "√").replace("**", "^").replace("*", "·")

    def _print_Sym(self, e):
        return text_name(e.name, head=e.per_head)

    def _print_Seq(self, e):
        return text_name(e.name, e.time)

    def _print_Delta(self, e):
        return "δ" + self._print(e.var)

    def _print_Cotangent(self, e):
        if not e.short:
            return "Δ" + self._print(e.var)
        return "Δ" + (text_sub(time_text(e.var.time)) if isinstance(e.var, Seq) else "")

    def _print_Ones(self, e):
        if e.rows != 1 and e.cols != 1:
            return "1 1ᵀ"
        return "1ᵀ" if e.rows == 1 and e.cols != 1 else "1"

    def _print_Zero(self, e):
        return "0"

    def _print_Transpose(self, e):
        return self.wrap(e.args[0], e) + "ᵀ"

    def _print_RowSoftmax(self, e):
        return "softmax(" + self._print(e.x) + ")"

    def _print_LayerNorm(self, e):
        return "LN(" + self._print(e.x) + ")"

    def _print_RowStd(self, e):
        return "std(" + self._print(e.x) + ")"

    def _print_Fn(self, e):
        if isinstance(e.x, Transpose):     # f(Zᵀ) = f(Z)ᵀ reads better
            return self._print(Fn(e.name, e.impl, e.x.args[0], e.order)) + "ᵀ"
        return lookup_text(e) + ("′" if e.order else "") + "(" + self._print(e.x) + ")"

    def _print_EPow(self, e):
        if _square(e):
            return self.odot.join([self._print(e.x)] * 2)
        if e.p == -1:
            return "(1 ⊘ " + self.wrap(e.x, e) + ")"
        return self.wrap(e.x, e) + (f"^⊙{e.p}" if e.p.is_integer else f"^⊙({e.p})")

    def _print_Softmax(self, e):
        return "softmax(" + self._print(e.x) + ")"

    def _print_TimeSum(self, e):
        return "Σ" + text_sub(e.axis) + " " + self.wrap(e.x, e)

    def _print_Stack(self, e):
        return "stack" + text_sub(e.axis) + "(" + self._print(e.x) + ")"

    def _print_StepRow(self, e):
        return "row" + text_sub(time_text(e.time)) + "(" + self._print(e.g) + ")ᵀ"

    def _print_HeadSum(self, e):
        return "Σᵢ " + self.wrap(e.x, e)

    def _print_Diag(self, e):
        return "I" if isinstance(e.x, Ones) else "diag(" + self._print(e.x) + ")"

    def _print_Jacobian(self, e):
        return "∂" + self._print(e.of) + "/∂" + self._print(e.wrt)

    def _print_Indicator(self, e):
        return "[" + self._print(e.cond) + "] " + self.wrap(e.x, e)

    def _print_Relational(self, e):
        op = {"==": "=", "!=": "≠"}.get(e.rel_op, e.rel_op)
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_Mod(self, e):
        a, k = e.args
        return (self._print(a) if a.is_Atom else "(" + self._print(a) + ")") + " mod " + self._print(k)

    def _print_And(self, e):
        return " and ".join(self._print(a) for a in e.args)


class TexPrinter(_Common, LatexPrinter):
    """LaTeX for amsmath: \\odot, ^{\\top}, \\delta."""
    odot, oslash, minus, plus = r" \odot ", r" \oslash ", " - ", " + "

    def function(self, name):
        return r"\operatorname{" + name + "}"

    def paren(self, s):
        return r"\left(" + s + r"\right)"

    def coef(self, c):
        return sp.latex(c)

    def _print_Sym(self, e):
        return latex_name(e.name, head=e.per_head)

    def _print_Seq(self, e):
        return latex_name(e.name, e.time)

    def _print_Delta(self, e):
        return r"\delta " + self._print(e.var)

    def _print_Cotangent(self, e):
        if not e.short:
            return r"\Delta " + self._print(e.var)
        return r"\Delta" + ("_{" + time_latex(e.var.time) + "}" if isinstance(e.var, Seq) else "")

    def _print_Ones(self, e):
        if e.rows != 1 and e.cols != 1:
            return r"\mathbf{1} \mathbf{1}^{\top}"
        return r"\mathbf{1}^{\top}" if e.rows == 1 and e.cols != 1 else r"\mathbf{1}"

    def _print_RowSoftmax(self, e):
        return r"\operatorname{softmax}\left(" + self._print(e.x) + r"\right)"

    def _print_LayerNorm(self, e):
        return r"\operatorname{LN}\left(" + self._print(e.x) + r"\right)"

    def _print_RowStd(self, e):
        return r"\operatorname{std}\left(" + self._print(e.x) + r"\right)"

    def _print_Zero(self, e):
        return "0"

    def _print_Transpose(self, e):
        return "{" + self.wrap(e.args[0], e) + r"}^{\top}"

    def _print_Fn(self, e):
        if isinstance(e.x, Transpose):
            return "{" + self._print(Fn(e.name, e.impl, e.x.args[0], e.order)) + r"}^{\top}"
        name = lookup_latex(e)
        return name + ("'" if e.order else "") + r"\left(" + self._print(e.x) + r"\right)"

    def _print_EPow(self, e):
        if _square(e):
            return self.odot.join([self._print(e.x)] * 2)
        return "{" + self.wrap(e.x, e) + r"}^{\odot " + sp.latex(e.p) + "}"

    def _print_Softmax(self, e):
        return r"\operatorname{softmax}\left(" + self._print(e.x) + r"\right)"

    def _print_TimeSum(self, e):
        return r"\sum_{" + e.axis + "} " + self.wrap(e.x, e)

    def _print_Stack(self, e):
        return r"\operatorname{stack}_{" + e.axis + r"}\left(" + self._print(e.x) + r"\right)"

    def _print_StepRow(self, e):
        return r"{\operatorname{row}_{" + time_latex(e.time) + r"}\left(" + self._print(e.g) + r"\right)}^{\top}"

    def _print_HeadSum(self, e):
        return r"\sum_{i} " + self.wrap(e.x, e)

    def _print_Diag(self, e):
        if isinstance(e.x, Ones):
            return "I"
        return r"\operatorname{diag}\left(" + self._print(e.x) + r"\right)"

    def _print_Indicator(self, e):
        return r"\left[" + self._print(e.cond) + r"\right] " + self.wrap(e.x, e)

    def _print_Jacobian(self, e):
        return r"\frac{\partial " + self._print(e.of) + r"}{\partial " + self._print(e.wrt) + "}"


def lookup_text(e):
    return lookup(e.impl).text if e.name == e.impl else text_name(e.name)


def lookup_latex(e):
    return lookup(e.impl).latex if e.name == e.impl else latex_name(e.name)


_TEXT, _TEX = TextPrinter(), TexPrinter()


def text(expr):
    return _TEXT.doprint(expr)


def latex(expr):
    return _TEX.doprint(expr)
