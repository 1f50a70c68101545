"""The chain rule spelled out: every route from a node to the outputs, the term it adds, the sum."""
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..algebra import timesum
from ..symbols import Delta, Seq, shift
from .latex import breakable, broken_align
from .printer import latex, text


def ordered_routes(d, node):
    """(node symbol, [(where the route goes, its term)], the sum) in the order the equation reads:
    the outputs first, then the routes at the node's own step, then those at other steps."""
    routes, total = d.paths(node)
    rank = {x.name: i for i, x in enumerate(d.model.definitions)}
    routes = sorted(routes, key=lambda r: (r.consumer != "output", abs(r.offset), rank.get(r.consumer, 0)))
    sym = d.model.declared[d.node_name(node)]
    # a value without steps read at every step of an axis collects that route over all of them
    terms = [timesum(r.term, r.axis) if r.axis and not isinstance(sym, Seq) else r.term for r in routes]
    return sym, [(_through(d, r, sym), term) for r, term in zip(routes, terms)], total


def _through(d, route, sym):
    if route.consumer == "output":
        return "the loss" if d.model.loss_name == sym.name else "the layer above"
    consumer = d.model.declared[route.consumer]
    return shift(consumer, -route.offset, consumer.axis) if isinstance(consumer, Seq) else consumer


def paths_renderable(d, node):
    sym, routes, total = ordered_routes(d, node)
    delta = text(Delta(sym))
    table = Table(title=f"routes from {text(sym)} to the {'loss' if d.model.loss_name else 'outputs'}",
                  title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("through")
    table.add_column("adds to " + delta)
    for i, (through, term) in enumerate(routes, 1):
        table.add_row(str(i), through if isinstance(through, str) else text(through), Text(text(term)))
    return Group(table, Text(f"{delta} = {text(total)}", style="bold"),
                 Text("the sum of the routes; every δ after the last step is zero", style="dim"))


def paths_latex(d, node, width):
    """The same for a derivation sheet: an itemized list and the sum, ``width`` em wide."""
    sym, routes, total = ordered_routes(d, node)
    items = "\n".join(f"  \\item through {through if isinstance(through, str) else '$' + latex(through) + '$'}: "
                      f"${breakable(latex(term))}$" for through, term in routes)
    return (f"\\begin{{sloppypar}}\\begin{{enumerate}}\n{items}\n\\end{{enumerate}}\\end{{sloppypar}}\n"
            + broken_align([(latex(Delta(sym)), latex(total))], width) + "\n")
