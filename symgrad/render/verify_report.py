"""The verify report: a status per hand equation, what is wrong, the right form beside it."""
from rich.console import Group
from rich.table import Table
from rich.text import Text

MARKS = {"right": ("✓", "bold green"), "forward": ("✓", "green"), "wrong": ("✗", "bold red"),
         "unreadable": ("?", "bold yellow"), "defined": ("≔", "cyan"), "not checkable": ("–", "yellow")}


def verify_renderable(report):
    # Text, not a str: rich would read [brackets] in a file's path as markup
    table = Table(title=Text(f"symgrad verify {report.path} (model {report.model})"), title_justify="left",
                  show_lines=True)
    table.add_column("", width=1)
    table.add_column("line", justify="right")
    table.add_column("equation")
    table.add_column("status · what is wrong · the derived form")
    for v in report.verdicts:
        mark, style = MARKS[v.status]
        detail = Text(v.status + ("" if v.col == 1 else f" (column {v.col})") + "\n", style=style)
        for p in v.problems:
            detail.append(p + "\n", style="red" if v.status == "wrong" else "yellow")
        for n in v.notes:
            detail.append(n + "\n", style="dim")
        if v.status == "wrong" and v.expected:
            detail.append(v.expected, style="green")
        source = v.source + (f"\n  form: {v.form}" if v.form else "")
        table.add_row(Text(mark, style=style), str(v.line), Text(source), detail)
    parts = [table]
    if report.unchecked:
        parts.append(Text("not checked (the file does not give them): " + ", ".join(report.unchecked),
                          style="dim"))
    counts = report.counts
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    good = counts["right"] + counts["forward"]
    parts.append(Text(f"{good} of {len(report.verdicts)} equations right ({summary or 'none'})",
                      style="bold green" if report.exit_code == 0 else "bold red"))
    if good:
        parts.append(Text(f"chance that a ✓ above is wrong: below {max(report.bound, 1e-300):.0e}",
                          style="dim"))
    return Group(*parts)
