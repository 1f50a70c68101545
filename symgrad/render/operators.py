"""Every operator a derivation prints, defined: the second half of a sheet's notation table.

The rows are chosen by what the printed LaTeX of the page uses, so a sheet defines exactly
its own operators; a function the source renames (the LSTM's g and h) is defined by the
function it stands for.
"""
import re

import sympy as sp

from ..functions import lookup
from ..ops import Fn, LayerNorm, RowStd
from .names import latex_name

# (the LaTeX it is printed as, its notation, what it means); the notation and meaning are
# LaTeX text with $…$ math
_FIXED = [
    (r"\\odot", r"$a \odot b$", "element-wise (Hadamard) product"),
    (r"\\oslash", r"$a \oslash b$", "element-wise division"),
    (r"\^\{\\odot", r"$A^{\odot k}$", "element-wise power"),
    (r"\^\{\\top\}", r"$A^{\top}$", "transpose"),
    (r"\\mathbf\{1\}", r"$\mathbf{1}$", r"a column of ones, and $\mathbf{1}^{\top}$ a row of ones; "
                                       r"$\mathbf{1} b$ repeats the row $b$ on every row"),
    (r"\\operatorname\{softmax\}", r"$\operatorname{softmax}(x)$",
     r"$e^{x_{j}} / \sum_{k} e^{x_{k}}$ in entry $j$; of a matrix, row by row"),
    (r"\\operatorname\{rowsum\}", r"$\operatorname{rowsum}(X)$", r"$X \mathbf{1}$: the sum of each row, a column"),
    (r"\\operatorname\{colsum\}", r"$\operatorname{colsum}(X)$", r"$\mathbf{1}^{\top} X$: the sum of each column, a row"),
    (r"\\operatorname\{rowmean\}", r"$\operatorname{rowmean}(X)$", "the mean of each row, a column"),
    (r"\\operatorname\{row\}", r"$\operatorname{row}_{j}(X)$", r"row $j$ of $X$, a row vector"),
    (r"\\operatorname\{stack\}", r"$\operatorname{stack}_{j}(h_{j})$",
     r"the steps $h_{1}, h_{2}, \dots$ of an axis as the rows of a matrix"),
    (r"\\operatorname\{diag\}", r"$\operatorname{diag}(v)$", r"the square matrix with $v$ on its diagonal"),
    (r"\\frac\{\\partial", r"$\frac{\partial u}{\partial v}$",
     r"the Jacobian of $u$ with respect to $v$ (rows of $u$, columns of $v$)"),
    (r"\\sum_\{i\}", r"$\sum_{i}$", "the sum over the attention heads"),
    (r"\\sum_\{k\}", r"$\sum_{k}$", "the sum over the entries $k$ of a vector"),
]

_FUNCTIONS = {
    "sigma": r"$1 / (1 + e^{-x})$, the logistic sigmoid",
    "tanh": "the hyperbolic tangent",
    "relu": r"$\max(x, 0)$",
    "step": r"$1$ where $x > 0$, else $0$: the derivative of $\operatorname{ReLU}$",
    "exp": "the exponential",
    "log": "the natural logarithm",
    "gelu": r"$\frac{x}{2} \bigl(1 + \tanh\bigl(\sqrt{2/\pi} (x + 0.044715 x^{3})\bigr)\bigr)$ "
            "(the tanh form of Hendrycks and Gimpel)",
}


def operator_rows(d, tex):
    """[(notation, meaning)] for every operator ``tex`` (the page's printed math) uses, and for
    those the definitions use in turn (layer norm's rowmean)."""
    rows, seen = [], None
    while rows != seen:
        seen, rows = rows, _rows(d, tex + " ".join(n + m for n, m in rows))
    return rows


def _rows(d, tex):
    rows = []
    for axis, length in d.model.axes.items():
        if re.search(r"\\sum_\{" + axis + r"\}", tex):
            rows.append((f"$\\sum_{{{axis}}}$", f"the sum over the steps ${axis} = 1, \\dots, "
                                               f"{latex_name(str(length))}$"))
    rows += [(notation, meaning) for pattern, notation, meaning in _FIXED if re.search(pattern, tex)]
    rows += _function_rows(d, tex)
    rows += _norm_rows(d, tex)
    return rows


def _function_rows(d, tex):
    """A row per element-wise function printed, and one for f′ if a derivative is."""
    functions = {}
    for eq in d.forward + d.backward:
        for f in eq.rhs.atoms(Fn):
            functions.setdefault(f.name, f.impl)
    rows = []
    for name, impl in sorted(functions.items()):
        shown = lookup(impl).latex if name == impl else latex_name(name)
        if not re.search(re.escape(shown) + r"'?\\left\(", tex):
            continue
        meaning = _FUNCTIONS.get(impl, impl)
        if name != impl:
            meaning = f"${lookup(impl).latex}(x)$: " + meaning
        rows.append((f"${shown}(x)$", meaning + ", element-wise"))
    if re.search(r"'\\left\(", tex):
        rows.append(("$f'(x)$", "the derivative of the element-wise function $f$, element-wise"))
    return rows


def _norm_rows(d, tex):
    """Layer norm and the standard deviation it divides by, with the ε the model uses."""
    rows = []
    eps = next((n.eps for eq in d.forward + d.backward for n in eq.rhs.atoms(LayerNorm, RowStd)), None)
    epsilon = sp.latex(eps) if eps is not None else r"\epsilon"
    if re.search(r"\\operatorname\{LN\}", tex):
        rows.append((r"$\operatorname{LN}(X)$", r"each row centred and scaled: $\bigl(X - \operatorname{rowmean}(X) "
                     r"\mathbf{1}^{\top}\bigr) \oslash \bigl(\operatorname{std}(X) \mathbf{1}^{\top}\bigr)$"))
    if re.search(r"\\operatorname\{(LN|std)\}", tex):
        rows.append((r"$\operatorname{std}(X)$", r"$\sqrt{\operatorname{rowmean}\bigl((X - \operatorname{rowmean}(X)"
                     r"\mathbf{1}^{\top})^{\odot 2}\bigr) + " + epsilon + r"}$, element-wise: each row's "
                     "standard deviation, a column"))
    return rows
