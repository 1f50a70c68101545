"""A derivation sheet: a LaTeX document a teacher hands out, compiled to PDF where LaTeX is.

The model and its source, a notation table that defines every symbol and every operator
used, the forward equations, the computational graph (full size, on pages of its own when
large), the chain rule route by route for the states, every delta and gradient (long ones
broken at a + or −; vector equations also entry by entry), and the numerical check that
backs them, with the date and the symgrad version that ran it.
"""
import datetime
import shutil
import subprocess

from ..errors import SymgradError
from .checked import check_rows, check_setup, check_verdict
from .entries import entry_equations
from .escape import latex_text
from .graph_pages import graph_pages
from .graph import model_graph
from .latex import broken_align
from .names import latex_name
from .notation import sizes_sentence, symbol_rows
from .operators import operator_rows
from .paths import paths_latex
from .printer import latex
from .sections import notes
from .tikz import BEGIN, END, colors, dot_version, tikz_picture

TEXT_WIDTH = 44.0        # em: A4 with 2 cm margins at 11 pt
INLINE_HEIGHT = 330.0    # bp: a graph up to this tall sits in the text as a figure


def sheet_source(d, check_report=None, version="", date=None):
    """The sheet's LaTeX source. ``date`` (ISO) is when the check ran, today if not given."""
    m = d.model
    date = date or datetime.date.today().isoformat()
    options = ", ".join(f"{k}={v}" for k, v in m.options.items())
    backward = _backward(d)
    forward = broken_align([(latex(eq.lhs), latex(eq.rhs)) for eq in d.forward], TEXT_WIDTH)
    routes = _routes(d)
    conventions = notes(d, tex=True)
    math = " ".join([forward, backward, routes, *conventions, *(m for row in symbol_rows(d) for m in row)])
    parts = [_preamble(m.title or m.name, version, date),
             "\\section{The model}",
             f"Model \\texttt{{{latex_text(m.name)}}}" + (f" ({latex_text(options)})" if options else "")
             + (f", as in: {latex_text(m.source)}." if m.source else "."),
             "\\begin{itemize}\n" + "\n".join(f"  \\item {n}" for n in conventions) + "\n\\end{itemize}",
             "\\section{Notation}", _notation(d, math),
             "\\section{Forward pass}", forward,
             "\\section{Computational graph}", _graph(d),
             "\\section{The chain rule, route by route}", routes,
             "\\section{Deltas and gradients}", backward,
             "\\section{How it was checked}", _checked(d, check_report),
             "\\end{document}\n"]
    return "\n\n".join(parts)


def _preamble(title, version, date):
    return ("\\documentclass[11pt]{article}\n\\usepackage[utf8]{inputenc}\n"
            "\\usepackage[a4paper,margin=2cm]{geometry}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage{longtable,booktabs}\n\\usepackage{tikz,pdflscape,afterpage}\n"
            + colors() + "\n\\allowdisplaybreaks\n\\sloppy\n"
            f"\\title{{Backpropagation: {latex_text(title)}}}\n"
            f"\\author{{derived and checked by symgrad {latex_text(version)}}}\n"
            f"\\date{{checked on {date}}}\n"
            "\\begin{document}\n\\maketitle")


def _notation(d, math):
    symbols = "\n".join(f"{s} & {shape} & {meaning} \\\\" for s, shape, meaning in symbol_rows(d))
    operators = "\n".join(f"{n} & {meaning} \\\\" for n, meaning in operator_rows(d, math))
    out = ("\\begin{longtable}{llp{0.6\\linewidth}}\n\\toprule symbol & shape & meaning \\\\ \\midrule\n"
           + symbols + "\n\\bottomrule\n\\end{longtable}\n" + sizes_sentence(d))
    if operators:
        out += ("\n\n\\begin{longtable}{lp{0.72\\linewidth}}\n\\toprule operator & meaning \\\\ \\midrule\n"
                + operators + "\n\\bottomrule\n\\end{longtable}")
    return out


def _graph(d):
    """The legend, and the graph: a figure in the text if small, else pages of its own."""
    legend = _legend(d)
    try:
        laid = graph_pages(d.model)
        version = dot_version()
    except SymgradError:
        return legend + "\n\nGraphviz's \\texttt{dot} was not available to lay out the graph."
    # \centerline: boxes in vertical mode, untouched by the \parshape of a list the page may break in
    pages = ["\n".join((f"\\centerline{{\\textbf{{{b.title}}}}}\\nopagebreak\\medskip\n" if b.title else "")
                       + "\\centerline{" + tikz_picture(b.layout) + "}\\medskip" for b in page) for page in laid.pages]
    caption = f"\\caption{{The computational graph of \\texttt{{{latex_text(d.model.name)}}}}}"
    figures = "Figure 1" if len(pages) == 1 else f"Figures 1--{len(pages)}, a cell each"
    if len(pages) == 1 and laid.orientation == "portrait" and laid.pages[0][0].layout.height <= INLINE_HEIGHT:
        where, wrap = f"{figures} draws it.", ("\\begin{figure}[!htbp]\\normalsize", caption + "\n\\end{figure}")
    elif laid.orientation == "portrait":       # float pages of their own
        where, wrap = f"{figures} draws it, on a page of its own.", \
            ("\\begin{figure}[p]\\normalsize", caption + "\n\\end{figure}")
    else:                                      # turned pages, each after the page it is called on
        count = "the next page" if len(pages) == 1 else f"the next {len(pages)} pages, a cell each"
        where = f"It is drawn on {count}, turned sideways."
        wrap = ("\\afterpage{\\begin{landscape}\\normalsize\n\\centerline{The computational graph of "
                f"\\texttt{{{latex_text(d.model.name)}}}}}\\medskip", "\\end{landscape}}")
    body = "\n".join(f"{wrap[0]}\n{page}\n{wrap[1]}" for page in pages)
    return f"{legend} {where}\n\n{BEGIN} {version}\n{body}\n{END}"


def _legend(d):
    """What the shapes and lines mean, for the kinds this graph has."""
    shapes, edges = model_graph(d.model)
    kinds = {s.kind for s in shapes}
    parts = [text for kind, text in (("input", "inputs are blue boxes"),
                                     ("param", "parameters grey boxes (those feeding the same nodes share one)"),
                                     ("node", "nodes ellipses"), ("state", "states double ellipses"))
             if kind in kinds]
    offsets = {e.offset for e in edges}
    reads = [text for k, text in ((-1, "a dashed red line reads the previous step, $t-1$"),
                                  (1, "a dotted blue line the next step, $t+1$")) if k in offsets]
    legend = "In the graph " + ", ".join(parts) + "."
    return legend + (" " + "; ".join(reads).capitalize() + "." if reads else "")


def _routes(d):
    states = list(d.model.states) or [eq.lhs.var.name for eq in d.deltas[:2]]
    out = []
    for name in states:
        if name in d.routes:
            out.append(f"\\paragraph{{Routes from ${latex_name(name, _time(d, name))}$.}} "
                       "Each route to the outputs adds one term; their sum is the delta.\n"
                       + paths_latex(d, name, TEXT_WIDTH))
    return "\n".join(out) or "Every node has a single route."


def _time(d, name):
    sym = d.model.declared[name]
    return getattr(sym, "time", None)


def _backward(d):
    out = []
    for title, eqs in (("Deltas", d.deltas), ("Input gradients", d.inputs),
                       ("Initial-state gradients", d.initial), ("Parameter gradients", d.params)):
        if eqs:
            out += [f"\\subsection*{{{title}}}",
                    broken_align([(latex(eq.lhs), latex(eq.rhs)) for eq in eqs], TEXT_WIDTH)]
    entries = entry_equations(d)
    if entries:
        out.append("\\subsection*{Entry by entry}\nThe same equations for entry $j$ "
                   "(and $k$), as tutorials write them:")
        out.append(broken_align(entries, TEXT_WIDTH))
    return "\n".join(out)


def _checked(d, report):
    if report is None:
        return "Not checked numerically: the model gives no sizes for a check."
    rows = "\n".join(f"{a} & {fd} & {ref} \\\\" for a, fd, ref in check_rows(d, report))
    return (f"{check_setup(report, d.model.name)}\n\n"
            "\\begin{longtable}{lcc}\n\\toprule gradient & agrees with finite differences & "
            "agrees with the reference \\\\ \\midrule\n" + rows + "\n\\bottomrule\n\\end{longtable}\n"
            + check_verdict(report))


def compile_pdf(tex):
    """pdflatex, never with shell escape; a LaTeX error is reported in one line."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise SymgradError("--pdf needs pdflatex (apt-get install texlive-latex-base "
                           "texlive-latex-recommended texlive-pictures)")
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                         cwd=tex.parent, capture_output=True, text=True)
    if run.returncode:
        errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
        raise SymgradError(f"LaTeX failed on {tex}: {errors[0] if errors else 'see the .log'}")
    return tex.with_suffix(".pdf")
