"""LaTeX: one ``align*`` block per section (amsmath only), ready to paste into a paper."""
from .escape import latex_comment, markdown_text
from .printer import latex
from .sections import notes, sections
from .width import math_width

PAPER_WIDTH = 34.0      # em: an article's text width at 10 pt, where the fragment is pasted


def derivation_latex(d, width=PAPER_WIDTH):
    """The sections as ``align*`` blocks under ``%`` comments; each block may break across
    pages (``\\allowdisplaybreaks`` in a group of its own, lines of their own around the block,
    so the paper it is pasted into is not changed), and no line is wider than ``width`` em."""
    m = d.model
    out = [f"% symgrad derivation of {m.name}" + (f": {latex_comment(m.title)}" if m.title else "")]
    if m.source:
        out.append(f"% Source: {latex_comment(m.source)}")
    out += [f"% {latex_comment(n)}" for n in notes(d)]
    for name, eqs in sections(d):
        block = broken_align([(latex(eq.lhs), latex(eq.rhs)) for eq in eqs], width)
        out += ["", f"% {name}", "\\begingroup\\allowdisplaybreaks", block, "\\endgroup"]
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
    title = markdown_text(d.model.title) if d.model.title else ""
    out = [f"**{d.model.name}**" + (f" — {title}" if title else "")]
    for name, eqs in sections(d):
        body = " \\\\\n".join(f"{latex(eq.lhs)} &= {latex(eq.rhs)}" for eq in eqs)
        out.append(f"#### {name}\n$$\\begin{{aligned}}\n{body}\n\\end{{aligned}}$$")
    return "\n\n".join(out)


def standalone(body):
    """A minimal amsmath document around a LaTeX fragment."""
    return ("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath}\n"
            "\\begin{document}\n" + body + "\\end{document}\n")


def broken_align(pairs, width):
    """align* rows ``lhs &= rhs`` that fit ``width`` em: a right-hand side too wide is broken
    before a + or −, at the top level where that suffices; a single term still too wide is
    broken at the + and − inside its outer parentheses, and so inward. Never before ⊙, never
    inside a script or a fraction."""
    lhs_width = max(math_width(lhs) for lhs, _ in pairs)
    budget = 0.9 * (width - lhs_width - 2.5)        # the = and its spacing; 10 % for the estimate
    rows = []
    for lhs, rhs in pairs:
        lines = _lines(rhs, budget)
        rows.append(" \\\\\n  &\\quad ".join([f"  {lhs} &= {lines[0]}"] + lines[1:]))
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _lines(rhs, budget):
    """The right-hand side as lines no wider than ``budget`` em, broken as shallow as possible."""
    if math_width(rhs) <= budget:
        return [rhs]
    depth, tex = 0, rhs
    while True:
        pieces = cut(tex, depth)
        deepest = depth >= _depth(tex)
        if all(math_width(p) <= budget - 1 for p in pieces) or deepest:
            break
        depth, tex = depth + 1, breakable(rhs)
    lines, line = [], ""
    for piece in pieces:
        if line and math_width(line + piece) > budget - (1 if lines else 0):
            lines.append(line)
            line = piece.lstrip()
        else:
            line += piece
    return lines + [line]


def breakable(tex):
    """The same math with parentheses that may break across lines (\\left( … \\right) cannot)."""
    return tex.replace("\\left(", "\\bigl(").replace("\\right)", "\\bigr)")


_OPEN, _CLOSE = ("\\left(", "\\bigl("), ("\\right)", "\\bigr)")


def cut(tex, depth):
    """tex cut before each + and − that lies inside at most ``depth`` parentheses and inside no
    braces (scripts, fractions, arguments)."""
    pieces, braces, parens, start, i = [], 0, 0, 0, 0
    while i < len(tex):
        if tex[i] == "{":
            braces += 1
        elif tex[i] == "}":
            braces -= 1
        elif tex.startswith(_OPEN, i):
            parens += 1
        elif tex.startswith(_CLOSE, i):
            parens -= 1
        elif not braces and parens <= depth and i > start and tex.startswith((" + ", " - "), i):
            pieces.append(tex[start:i])
            start = i
        i += 1
    return pieces + [tex[start:]]


def _depth(tex):
    """How deeply parentheses nest in tex."""
    deepest = parens = 0
    for i in range(len(tex)):
        parens += tex.startswith(_OPEN, i) - tex.startswith(_CLOSE, i)
        deepest = max(deepest, parens)
    return deepest
