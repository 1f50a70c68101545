"""A derivation sheet: a LaTeX document a teacher hands out, compiled to PDF where LaTeX is.

Title and source (with its bibliography entry), a notation table, the forward equations,
the computational graph, the chain rule route by route for the states, every delta and
gradient (long ones broken over lines; vector equations also entry by entry, index j),
and the numerical check that backs them, dated.
"""
import datetime
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import SymgradError
from ..ops import Add, Fn, Had, MatMul, Scale, TimeSum, Transpose
from ..symbols import Cotangent, Delta, Ones, Seq, Sym
from .flow_sheet import flow_section, write_flow_figure
from .graph import dot_source
from .latex import _width, breakable, broken_align, escape
from .names import latex_name
from .paths import paths_latex
from .printer import latex

ROLES = {"param": "parameter", "input": "input", "target": "target", "onehot": "one-hot target",
         "mask": "additive mask (0 or $-\\infty$)", "causal": "causal mask (constant)"}


def sheet_source(d, check_report=None, figure=None, version="", flow=""):
    m = d.model
    options = ", ".join(f"{k}={v}" for k, v in m.options.items())
    parts = [_preamble(f"{m.title or m.name}"),
             "\\section{The model}",
             f"Model \\texttt{{{escape(m.name)}}}" + (f" ({escape(options)})" if options else "")
             + (", as in \\cite{source}." if m.source else "."),
             "\\section{Notation}", _notation(d),
             "\\section{Forward pass}", _align(d.forward),
             "\\section{Computational graph}", _figure(figure, m),
             "\\section{The chain rule, route by route}", _routes(d),
             "\\section{Deltas and gradients}", _backward(d), *([flow] if flow else []),
             "\\section{How it was checked}", _checked(check_report, version)]
    if m.source:
        parts.append("\\begin{thebibliography}{1}\n\\bibitem{source} " + escape(m.source)
                     + "\n\\end{thebibliography}")
    parts.append("\\end{document}\n")
    return "\n\n".join(parts)


def _preamble(title):
    return ("\\documentclass[11pt]{article}\n\\usepackage[utf8]{inputenc}\n"
            "\\usepackage[margin=2cm]{geometry}\n\\usepackage{amsmath,amssymb}\n\\usepackage{graphicx}\n"
            "\\usepackage{longtable,booktabs}\n\\usepackage{hyperref}\n\\allowdisplaybreaks\n"
            f"\\title{{Backpropagation: {escape(title)}}}\n\\author{{symgrad}}\n\\date{{\\today}}\n"
            "\\begin{document}\n\\maketitle")


def _notation(d):
    m = d.model
    rows = []
    for sym in m.declared.values():
        shape = "$" + " \\times ".join(latex_name(str(x)) if not str(x).isdigit() else str(x)
                                       for x in sym.shape) + "$"
        role = "state, read at the next step" if sym.name in m.states else \
            "node" if sym.role == "node" else ROLES.get(sym.role, sym.role)
        if getattr(sym, "per_head", False):
            role += ", one per head $i$"
        definition = next((latex(d.rhs) for d in m.definitions if d.name == sym.name), None)
        if definition and _width(definition) <= 26:     # longer ones are in the forward pass
            role += f": ${latex(d_symbol(m, sym.name))} = {breakable(definition)}$"
        rows.append(f"${latex(sym)}$ & {shape} & {role} \\\\")
    sizes = ", ".join(f"${latex_name(n)}$" for n in m.dims_)
    return ("\\begin{longtable}{llp{0.55\\linewidth}}\n\\toprule symbol & shape & meaning \\\\ \\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}\n"
            + f"Sizes: {sizes}. $\\delta v$ is the gradient of the "
            + ("loss" if m.loss_name else "outputs' pairing with their deltas $\\Delta$") + " with respect to $v$.")


def d_symbol(model, name):
    return next(d.symbol for d in model.definitions if d.name == name)


def _align(eqs):
    return broken_align([(latex(eq.lhs), latex(eq.rhs)) for eq in eqs])


def _figure(figure, model):
    if figure:
        return ("\\begin{center}\n\\includegraphics[width=\\linewidth,height=0.6\\textheight,"
                f"keepaspectratio]{{{figure}}}\n\\end{{center}}\n"
                "Dashed edges read another step ($t-1$ in red, $t+1$ in blue).")
    return ("Graphviz was not available to draw the graph; its source follows.\n"
            "\\begin{verbatim}\n" + dot_source(model) + "\\end{verbatim}")


def _routes(d):
    states = list(d.model.states) or [eq.lhs.var.name for eq in d.deltas[:2]]
    out = []
    for name in states:
        if name in d.routes:
            out.append(f"\\paragraph{{Routes from ${latex_name(name, _time(d, name))}$.}} "
                       "Each route to the outputs adds one term; their sum is the delta.\n"
                       + paths_latex(d, name))
    return "\n".join(out) or "Every node has a single route."


def _time(d, name):
    sym = d.model.declared[name]
    return sym.time if isinstance(sym, Seq) else None


def _backward(d):
    out = []
    for title, eqs in (("Deltas", d.deltas), ("Input gradients", d.inputs),
                       ("Initial-state gradients", d.initial), ("Parameter gradients", d.params)):
        if eqs:
            out += [f"\\subsection*{{{title}}}", _align(eqs)]
    entries = [(eq, elementwise(eq.rhs, "j")) for eq in d.deltas + d.params]
    entries = [(eq, e) for eq, e in entries if e]
    if entries:
        out.append("\\subsection*{Entry by entry}\nThe same equations for entry $j$ "
                   "(and $k$), as tutorials write them:")
        out.append(broken_align([(_entry_lhs(eq.lhs), e) for eq, e in entries]))
    return "\n".join(out)


def _entry_lhs(lhs):
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
        if isinstance(b, Transpose) and a.shape[1] == 1 and b.shape[0] == 1:   # u vᵀ: entry (j, k)
            left, right = elementwise(a, j), elementwise(b.args[0], k)
            return None if None in (left, right) else f"{_wrap(left)} {_wrap(right)}"
    return None


def _indexed(tex, j):
    """x_{t} → x_{t,j}; x → x_{j}."""
    m = re.match(r"^(.*)_\{([^{}]*)\}(\^\{[^{}]*\})?$", tex)
    if m:
        return f"{m.group(1)}_{{{m.group(2)},{j}}}{m.group(3) or ''}"
    return f"{tex}_{{{j}}}"


def _wrap(s):
    return f"\\left({s}\\right)" if (" + " in s or " - " in s) and not s.startswith("\\left(") else s


def _checked(report, version):
    today = datetime.date.today().isoformat()
    if report is None:
        return f"Not checked numerically (symgrad {escape(version)}, {today})."
    rows = "\n".join(f"\\texttt{{{escape(r.array)}}} & {r.fd:.1e} & "
                     + (f"{r.ref:.1e}" if r.ref is not None else "---") + " \\\\" for r in report.rows)
    sizes = ", ".join(f"{escape(k)}={v}" for k, v in report.sizes.items())
    steps = f", $T={report.T}$" if report.T is not None else ""
    return (f"\\begin{{sloppypar}}The compiled gradients were compared on {today} with symgrad {escape(version)}, in float64 "
            f"({sizes}{steps}, $B={report.B}$), with central finite differences and with "
            + (f"the hand-written reference \\texttt{{{escape(report.reference)}}}"
               if report.reference else "no hand-written reference")
            + ". Relative errors $\\max|a-b| / \\max(\\max|a|, \\max|b|)$:\\end{sloppypar}\n"
            "\\begin{longtable}{lrr}\n\\toprule array & vs finite differences & vs reference \\\\ \\midrule\n"
            + rows + "\n\\bottomrule\n\\end{longtable}\n"
            + ("All agree." if report.passed else "\\textbf{Failed:} " + escape("; ".join(report.problems))))


def write_sheet(d, directory, check_report=None, pdf=False, version=""):
    """Write DIR/<model>.tex (and its graph, and with pdf the PDF); returns the .tex path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = d.model.name.replace("-", "_")
    figure = None
    if shutil.which("dot"):
        run = subprocess.run(["dot", "-Tpdf", "-o", str(directory / f"{stem}_graph.pdf")],
                             input=dot_source(d.model), text=True, capture_output=True)
        figure = f"{stem}_graph.pdf" if run.returncode == 0 else None
    tex = directory / f"{stem}.tex"
    flow = flow_section(d, *write_flow_figure(d.model, directory, stem))   # gradient flow, for states
    tex.write_text(sheet_source(d, check_report, figure, version, flow), encoding="utf-8")
    if pdf:
        compile_pdf(tex)
    return tex


def compile_pdf(tex):
    """pdflatex twice (for the citation), never with shell escape; a LaTeX error is reported."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise SymgradError("--pdf needs pdflatex (apt-get install texlive-latex-base texlive-latex-recommended)")
    for _ in range(2):
        run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                              tex.name], cwd=tex.parent, capture_output=True, text=True)
        if run.returncode:
            errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
            raise SymgradError(f"LaTeX failed on {tex}: {errors[0] if errors else 'see the .log'}")
    return tex.with_suffix(".pdf")
