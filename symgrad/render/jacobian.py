"""One-step Jacobians printed: each block route by route and summed, the product over steps,
the bound, and what the route through a product's own equation means (partial vs total)."""
import sympy as sp
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..ops import Add, Jacobian
from ..symbols import Seq
from .escape import latex_comment
from .latex import PAPER_WIDTH, breakable, broken_align
from .printer import latex, text

K = sp.Symbol("k", integer=True)


def _through(route, block, fmt):
    name = fmt(route.through)
    if route.through == block.of:
        return f"{name}, its own equation"
    return f"{name}, a state of step t" if route.via_state else name


def partial_note(block, show=text):
    """Partial versus total derivative, read off the block's routes (None if it has no product);
    ``show`` writes an expression (text, or LaTeX math for a document)."""
    if block.partial is None:
        return None
    product, factors = block.partial
    fixed = ", ".join(show(f) for f, _ in factors)
    out = (f"The route through {show(block.of)}'s own equation differentiates {show(product)} with "
           f"{fixed} held fixed: that is the partial derivative. ")
    varying = [(f, through) for f, through in factors if through]
    for f, through in varying:
        out += f"{show(f)} depends on {show(block.wrt)} as well, through {', '.join(map(show, through))}: "
        out += "that is another route. "
    if varying:
        return out + f"The total derivative {show(block.lhs)} is the sum of all {len(block.routes)} routes."
    return out + (f"{fixed} {'does' if len(factors) == 1 else 'do'} not depend on {show(block.wrt)}, "
                  "so here the partial derivative is the total one.")


def product_lines(jac, fmt):
    """[(lhs, rhs)]: ∂s_T/∂s_k as the product of the one-step Jacobians, step T's on the left
    (for states that run forwards); with several states, ∂sₜ/∂sₜ₋₁ as its matrix of blocks."""
    chain = jac.states
    if jac.model.states[chain[0]] > 0:
        return []
    tex = fmt is latex
    prod = r"\prod_{t=k+1}^{T} " if tex else "∏_{t=k+1…T} "
    if len(chain) == 1:
        s = chain[0]
        one = jac.chain[(s, s)]
        total = fmt(one.total)
        if isinstance(one.total, Add):
            total = (r"\left(" + total + r"\right)") if tex else "(" + total + ")"
        return [(fmt(_over_steps(jac, s)), prod + fmt(one.lhs)), ("", prod + total)]
    step = r"\frac{\partial s_{t}}{\partial s_{t-1}}" if tex else "∂sₜ/∂sₜ₋₁"
    whole = r"\frac{\partial s_{T}}{\partial s_{k}}" if tex else "∂s_T/∂s_k"
    cells = [[fmt(b.lhs) if not b.zero else "0" for b in (jac.chain[(a, c)] for c in chain)] for a in chain]
    members = ", ".join(fmt(jac.model.declared[c]) for c in chain)
    if tex:
        matrix = (r"\begin{pmatrix} " + r" \\ ".join(" & ".join(row) for row in cells)
                  + r" \end{pmatrix}, \quad s_{t} = \left(" + members + r"\right)")
    else:
        matrix = "[" + "; ".join("  ".join(row) for row in cells) + "],  sₜ = (" + members + ")"
    return [(whole, prod + step), (step, matrix)]


def _seq(jac, name, time):
    sym = jac.model.declared[name]
    return Seq(name, time, *sym.shape, "node", sym.axis_name)


def _over_steps(jac, name):
    """∂h_T/∂hₖ for a state (T the length of its axis)."""
    sym = jac.model.declared[name]
    return Jacobian(_seq(jac, name, jac.model.axes[sym.axis_name]), _seq(jac, name, K))


def bound_text(jac):
    """Pascanu et al.'s bound where it applies, else the bound every model has."""
    b = jac.bound
    if b is None:
        return ("‖∂s_T/∂s_k‖ ≤ ∏ ‖∂sₜ/∂sₜ₋₁‖ over t = k+1…T (submultiplicativity). "
                "Pascanu, Mikolov & Bengio's (‖W‖ γ)^(T−k) needs a one-step Jacobian diag(f′(aₜ)) W "
                "of one route; this one has more routes, so symgrad flow measures the norms instead.")
    gamma = f"γ = max |{b.function}′| = {b.gamma}" if b.function else "γ = 1 (no activation)"
    w = text(b.matrix)
    return (f"‖{text(_over_steps(jac, b.state))}‖ ≤ (‖{w}‖ γ)^(T−k), {gamma} (Pascanu, Mikolov & "
            f"Bengio 2013): the gradient vanishes when ‖{w}‖ < 1/γ = {1 / b.gamma}; it can explode "
            f"only when ‖{w}‖ > 1/γ (‖·‖ the largest singular value).")


def bound_latex(jac):
    b = jac.bound
    if b is None:
        return (r"\left\lVert \frac{\partial s_{T}}{\partial s_{k}} \right\rVert \le \prod_{t=k+1}^{T} "
                r"\left\lVert \frac{\partial s_{t}}{\partial s_{t-1}} \right\rVert")
    return (r"\left\lVert " + latex(_over_steps(jac, b.state)) + r" \right\rVert \le "
            rf"\left(\lVert {latex(b.matrix)} \rVert \, \gamma\right)^{{T-k}}, \quad \gamma = {sp.latex(b.gamma)}")


def _title(jac):
    m = jac.model
    return f"{m.name}" + (f" — {m.title}" if m.title else "") + ": one-step Jacobians"


def jacobians_text(jac):
    lines = [_title(jac), "Each route is one edge out of the earlier state, everything else held fixed; "
                          "a block is the sum of its routes (numerator layout: rows of the later state)."]
    for block in jac.blocks:
        lines += ["", f"## {text(block.lhs)}" + ("  (within step t)" if block.wrt.offset == 0 else "")]
        for i, route in enumerate(block.routes, 1):
            lines.append(f"  {i}. through {_through(route, block, text)}: {text(route.term)}")
        lines.append(f"{text(block.lhs)} = {text(block.total)}")
        note = partial_note(block)
        if note:
            lines.append(note)
    product = product_lines(jac, text)
    if product:
        width = max(len(lhs) for lhs, _ in product)
        lines += ["", "## Over many steps (the factor of step T leftmost)"]
        lines += [f"{lhs.rjust(width)} = {rhs}" for lhs, rhs in product]
        lines.append(bound_text(jac))
    return "\n".join(lines) + "\n"


def jacobians_renderable(jac):
    parts = [Text(_title(jac), style="bold"),
             Text("Each route is one edge out of the earlier state, everything else held fixed; a block "
                  "is the sum of its routes.", style="dim")]
    for block in jac.blocks:
        within = "  (within step t)" if block.wrt.offset == 0 else ""
        parts.append(Rule(text(block.lhs) + within, style="cyan", align="left"))
        table = Table(box=None, show_header=False, padding=(0, 1))
        table.add_column(justify="right", style="dim")
        table.add_column()
        table.add_column()
        for i, route in enumerate(block.routes, 1):
            table.add_row(str(i), "through " + _through(route, block, text), Text(text(route.term)))
        parts += [table, Text(f"{text(block.lhs)} = {text(block.total)}", style="bold")]
        note = partial_note(block)
        if note:
            parts.append(Text(note, style="dim"))
    product = product_lines(jac, text)
    if product:
        width = max(len(lhs) for lhs, _ in product)
        parts.append(Rule("over many steps (the factor of step T leftmost)", style="cyan", align="left"))
        parts += [Text(f"{lhs.rjust(width)} = {rhs}") for lhs, rhs in product]
        parts.append(Text(bound_text(jac), style="dim"))
    return Group(*parts)


def jacobians_latex(jac, prose=False, width=PAPER_WIDTH):
    """An enumerated list of routes per block and align* for the sums, no line wider than
    ``width`` em; the notes as comments, or with ``prose`` as text (for a document)."""
    out = [f"% symgrad: {latex_comment(_title(jac))}"]
    for block in jac.blocks:
        within = " (within step $t$)" if block.wrt.offset == 0 else ""
        out.append(f"\\paragraph{{Routes of ${latex(block.lhs)}${within}.}}")
        items = "\n".join(f"  \\item through ${latex(r.through)}$"
                          + (" (its own equation)" if r.through == block.of else "")
                          + f": ${breakable(latex(r.term))}$" for r in block.routes)
        if items:
            out.append(f"\\begin{{enumerate}}\n{items}\n\\end{{enumerate}}")
        out.append(broken_align([(latex(block.lhs), latex(block.total))], width))
        note = partial_note(block, (lambda e: f"${latex(e)}$") if prose else text)
        if note:
            out.append(note if prose else "% " + latex_comment(note))
    product = product_lines(jac, latex)
    if product:
        out += [broken_align(product, width), "\\[" + bound_latex(jac) + "\\]"]
        if not prose:
            out.append("% " + latex_comment(bound_text(jac)))
    return "\n".join(out) + "\n"
