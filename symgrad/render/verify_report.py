"""The verify report: ✓ or ✗ per hand equation, what is wrong, the right form beside it."""
from rich.console import Group
from rich.table import Table
from rich.text import Text


def verify_renderable(report):
    # Text, not a str: rich would read [brackets] in a file's path as markup
    table = Table(title=Text(f"symgrad verify {report.path} (model {report.model})"), title_justify="left",
                  show_lines=True)
    table.add_column("", width=1)
    table.add_column("line", justify="right")
    table.add_column("equation")
    table.add_column("what is wrong · the derived form")
    for v in report.verdicts:
        mark = Text("✓", style="bold green") if v.correct else Text("✗", style="bold red")
        detail = Text()
        for p in v.problems:
            detail.append(p + "\n", style="red")
        if not v.correct and v.expected:
            detail.append(v.expected, style="green")
        table.add_row(mark, str(v.line), Text(v.source), detail)
    parts = [table]
    if report.unchecked:
        parts.append(Text("not checked (the file does not give them): " + ", ".join(report.unchecked),
                          style="dim"))
    wrong = sum(not v.correct for v in report.verdicts)
    parts.append(Text(f"{len(report.verdicts) - wrong} of {len(report.verdicts)} equations right",
                      style="bold green" if not wrong else "bold red"))
    return Group(*parts)
