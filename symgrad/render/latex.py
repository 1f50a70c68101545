"""LaTeX: one ``align*`` block per section (amsmath only), ready to paste into a paper."""
from .names import latex_name  # noqa: F401  (re-exported for sheet writers)
from .printer import latex
from .sections import notes, sections

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text):
    """Text for a LaTeX comment or text run: special characters escaped."""
    return "".join(_TEXT_ESCAPES.get(c, c) for c in text)


def derivation_latex(d):
    m = d.model
    out = [f"% symgrad derivation of {escape(m.name)}" + (f": {escape(m.title)}" if m.title else "")]
    if m.source:
        out.append(f"% Source: {escape(m.source)}")
    out += [f"% {escape(n)}" for n in notes(d)]
    for name, eqs in sections(d):
        out += ["", f"% {name}", r"\begin{align*}"]
        rows = [f"  {latex(eq.lhs)} &= {latex(eq.rhs)}" for eq in eqs]
        out.append(" \\\\\n".join(rows))
        out.append(r"\end{align*}")
    return "\n".join(out) + "\n"


def standalone(body):
    """A minimal amsmath document around a LaTeX fragment."""
    return ("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath}\n"
            "\\begin{document}\n" + body + "\\end{document}\n")
