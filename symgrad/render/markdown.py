"""A derivation as a Markdown page with $…$ math, which GitHub and Jupyter render.

The same content as the sheet, for reading in a browser: the source, the conventions, the
notation, the forward pass, the graph (a Mermaid diagram, which GitHub draws), every delta
with the routes that add up to it, the input, initial-state and parameter gradients, and
the numerical check with its date and symgrad version.
"""
from ..symbols import Delta
from .checked import check_rows, check_setup, check_verdict
from .graph import model_graph
from .markup import MARKDOWN, github_math
from .notation import sizes_sentence, symbol_rows
from .operators import operator_rows
from .paths import ordered_routes
from .printer import latex
from .sections import notes

MERMAID_SHAPES = {"input": '["{}"]', "param": '("{}")', "node": '(["{}"])', "state": '((("{}")))'}


def derivation_markdown(d, check_report=None, version="", date="", links=()):
    """The page. ``links`` are (text, target) pairs shown under the title (the sheet, the index)."""
    m = d.model
    md = MARKDOWN
    options = ", ".join(f"{k}={v}" for k, v in m.options.items())
    forward = [(latex(eq.lhs), latex(eq.rhs)) for eq in d.forward]
    out = [f"# Backpropagation: {md.text(m.title or m.name)}",
           f"Model {md.code(m.name)}" + (f" ({md.text(options)})" if options else "")
           + (f", as in: {md.text(m.source)}." if m.source else ".")]
    if links:
        out.append(" · ".join(f"[{text}]({target})" for text, target in links))
    out.append("\n".join(f"- {md.rich(n)}" for n in notes(d, tex=True)))
    out += ["## Notation", _table(("symbol", "shape", "meaning"), symbol_rows(d)), md.rich(sizes_sentence(d))]
    shown = " ".join(lhs + rhs for lhs, rhs in forward) + " ".join(latex(eq.rhs) for eq in d.backward)
    operators = operator_rows(d, shown + " ".join(c for row in symbol_rows(d) for c in row))
    if operators:
        out.append(_table(("operator", "meaning"), operators))
    out += ["## Forward pass", *_displays(forward), "## Computational graph", _mermaid(d)]
    out += ["## Deltas", "Each delta is the sum of the routes from its node to the "
            + ("loss" if m.loss_name else "outputs") + "; a node with one route has no table."]
    for eq in d.deltas:
        out += _displays([(latex(eq.lhs), latex(eq.rhs))])
        routes = _routes(d, eq.lhs.var.name)
        if routes:
            out.append(routes)
    for title, eqs in (("Input gradients", d.inputs), ("Initial-state gradients", d.initial),
                       ("Parameter gradients", d.params)):
        if eqs:
            out += [f"## {title}", *_displays([(latex(eq.lhs), latex(eq.rhs)) for eq in eqs])]
    out += ["## How it was checked", _checked(d, check_report, version, date)]
    return "\n\n".join(out) + "\n"


def _displays(pairs):
    """One display block per equation: GitHub merges adjacent blocks and mangles \\\\ in one."""
    return [f"$$\n{github_math(lhs)} = {github_math(rhs)}\n$$" for lhs, rhs in pairs]


def _table(header, rows):
    lines = ["| " + " | ".join(MARKDOWN.rich(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(MARKDOWN.rich(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _routes(d, name):
    """The routes into δname as a table, if there is more than one."""
    if name not in d.routes or d.model.declared[name].role != "node":
        return ""
    sym, routes, _ = ordered_routes(d, name)
    if len(routes) < 2:
        return ""
    rows = [(through if isinstance(through, str) else f"${latex(through)}$", f"${latex(term)}$")
            for through, term in routes]
    return _table(("route through", f"adds to ${latex(Delta(sym))}$"), rows)


def _mermaid(d):
    """The graph as a Mermaid flowchart: same shapes and edges as the sheet's, text labels."""
    shapes, edges = model_graph(d.model)
    ids = {s.key: f"n{i}" for i, s in enumerate(shapes)}
    lines = ["```mermaid", "flowchart TB"]
    lines += [f"  {ids[s.key]}" + MERMAID_SHAPES[s.kind].format(s.plain.replace('"', "#quot;")) for s in shapes]
    for e in edges:
        arrow = "-->" if not e.offset else f'-. "t{e.offset:+d}" .->'
        lines.append(f"  {ids[e.source]} {arrow} {ids[e.target]}")
    lines.append("```")
    legend = ("Inputs are rectangles, parameters rounded boxes (those feeding the same nodes share one), "
              "nodes stadiums, states double circles; a dotted edge reads another step.")
    return "\n".join(lines) + "\n\n" + legend


def _checked(d, report, version, date):
    when = f"Checked on {date} with symgrad {version}."
    if report is None:
        return when.replace("Checked", "Derived") + " Not checked numerically: the model gives no sizes for a check."
    rows = check_rows(d, report, MARKDOWN)
    table = _table(("gradient", "agrees with finite differences", "agrees with the reference"), rows)
    return f"{when} {check_setup(report, d.model.name, MARKDOWN)}\n\n{table}\n\n{check_verdict(report, MARKDOWN)}"
