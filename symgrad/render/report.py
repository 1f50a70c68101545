"""The check report as a rich table: one row per array, relative errors, verdict."""
from rich.console import Group
from rich.table import Table
from rich.text import Text


def _err(x, tol):
    if x is None:
        return Text("—", style="dim")
    return Text(f"{x:.1e}", style="green" if x <= tol else "bold red")


def check_table(report):
    table = Table(title=f"symgrad check {report.model}", title_justify="left")
    table.add_column("array")
    table.add_column(f"vs finite differences (≤ {report.fd_tol:.0e})", justify="right")
    table.add_column(f"vs reference (≤ {report.ref_tol:.0e})", justify="right")
    single = report.dtype == "float32"
    if single:
        table.add_column(f"float32 vs float64 (≤ {report.f32_tol:.0e})", justify="right")
    extra = lambda x: [_err(x, report.f32_tol)] if single else []  # noqa: E731
    if report.forward_ref is not None or single:
        table.add_row("forward (outputs)", Text("—", style="dim"), _err(report.forward_ref, report.ref_tol),
                      *extra(report.forward_f32))
    for r in report.rows:
        table.add_row(r.array, _err(r.fd, report.fd_tol), _err(r.ref, report.ref_tol), *extra(r.f32))
    sizes = ", ".join(f"{k}={v}" for k, v in report.sizes.items())
    steps = f", T={report.T}" if report.T is not None else ""
    setup = Text(f"{'float32 and ' if single else ''}float64, {sizes}{steps}, B={report.B}, seed={report.seed}; "
                 f"reference: {report.reference or 'none'}", style="dim")
    verdict = (Text("PASS: every gradient agrees", style="bold green") if report.passed
               else Text("FAIL: " + "; ".join(report.problems), style="bold red"))
    return Group(table, setup, verdict)
