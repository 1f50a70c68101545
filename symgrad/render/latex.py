"""LaTeX: one ``align*`` block per section (amsmath only), ready to paste into a paper."""
import re

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
        out += ["", f"% {name}", broken_align([(latex(eq.lhs), latex(eq.rhs)) for eq in eqs])]
    return "\n".join(out) + "\n"


def notebook_latex(d):
    """One display block for Jupyter (MathJax): the sections as \\text rows of one aligned."""
    rows = []
    for name, eqs in sections(d):
        rows.append(f"\\text{{{name}}} & \\\\")
        rows += [f"{latex(eq.lhs)} &= {latex(eq.rhs)} \\\\" for eq in eqs]
    return "$$\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}$$"


def notebook_markdown(d):
    """Headings and one display block per section, for notebooks that render Markdown."""
    out = [f"**{d.model.name}**" + (f" — {d.model.title}" if d.model.title else "")]
    for name, eqs in sections(d):
        body = " \\\\\n".join(f"{latex(eq.lhs)} &= {latex(eq.rhs)}" for eq in eqs)
        out.append(f"#### {name}\n$$\\begin{{aligned}}\n{body}\n\\end{{aligned}}$$")
    return "\n\n".join(out)


def standalone(body):
    """A minimal amsmath document around a LaTeX fragment."""
    return ("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath}\n"
            "\\begin{document}\n" + body + "\\end{document}\n")


def broken_align(pairs, width=62):
    """align* rows lhs &= rhs; a right-hand side wider than ``width`` printed characters is
    broken before a + , − , ⊙ or ⊘, inside parentheses if it must, so no equation runs off
    the page (\\left( … \\right) cannot break, so there they become \\bigl( … \\bigr))."""
    rows = []
    for lhs, rhs in pairs:
        lines, line = [], ""
        pieces = _pieces(rhs, parens=True)
        if any(_width(p) > width for p in pieces):
            pieces = _pieces(breakable(rhs), parens=False)
        for piece in pieces:
            if line and _width(line + piece) > width:
                lines.append(line)
                line = piece.lstrip()
            else:
                line += piece
        lines.append(line)
        rows.append(" \\\\\n  &\\quad ".join([f"  {lhs} &= {lines[0]}"] + lines[1:]))
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def breakable(tex):
    """The same math with parentheses that may break across lines."""
    return tex.replace("\\left(", "\\bigl(").replace("\\right)", "\\bigr)")


_OPERATORS = (" + ", " - ", " \\odot ", " \\oslash ")


def _pieces(tex, parens):
    """tex cut before each top-level operator; inside braces never, inside \\left( … \\right)
    only when ``parens`` is False."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex[i] == "{" or parens and tex.startswith("\\left(", i):
            depth += 1
        elif tex[i] == "}" or parens and tex.startswith("\\right)", i):
            depth -= 1
        elif depth == 0 and i > start and any(tex.startswith(op, i) for op in _OPERATORS):
            pieces.append(tex[start:i])
            start = i
        i += 1
    return pieces + [tex[start:]]


def _width(s):
    """Roughly how many characters wide a piece of LaTeX math prints."""
    s = re.sub(r"\\(left|right|bigl|bigr|top|quad)\b", "", s)
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    return len(re.sub(r"[{}^_ ]", "", s))
