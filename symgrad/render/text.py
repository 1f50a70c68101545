"""The terminal forms: a rich renderable with aligned sections, and plain unicode text."""
from rich.cells import cell_len
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .printer import text
from .sections import notes, sections


def _header(d):
    m = d.model
    title = f"{m.name}" + (f" — {m.title}" if m.title else "")
    opts = ", ".join(f"{k}={v}" for k, v in m.options.items())
    return title + (f" ({opts})" if opts else ""), m.source


def derivation_renderable(d):
    """Sections with a rule each and the equations aligned at '='."""
    title, source = _header(d)
    parts = [Text(title, style="bold")]
    if source:
        parts.append(Text(f"Source: {source}", style="dim"))
    for name, eqs in sections(d):
        parts.append(Rule(name, style="cyan", align="left"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", no_wrap=True, style="bold")
        grid.add_column(no_wrap=True)
        grid.add_column()
        for eq in eqs:
            grid.add_row(text(eq.lhs), "=", text(eq.rhs))
        parts.append(grid)
    parts.append(Rule(style="dim"))
    parts.extend(Text("• " + n, style="dim") for n in notes(d))
    return Group(*parts)


def derivation_text(d):
    """The same content as plain text, for pipes and files."""
    title, source = _header(d)
    lines = [title] + ([f"Source: {source}"] if source else [])
    for name, eqs in sections(d):
        lines += ["", f"## {name}"]
        width = max(cell_len(text(eq.lhs)) for eq in eqs)
        lines += [" " * (width - cell_len(text(eq.lhs))) + f"{text(eq.lhs)} = {text(eq.rhs)}"
                  for eq in eqs]
    lines += [""] + [f"- {n}" for n in notes(d)]
    return "\n".join(lines) + "\n"
