"""The graph of a sheet laid out on pages of its own, at full size.

The whole graph goes on one page, portrait or landscape, top-down or left-right, whichever
fits first. A stacked or bidirectional model that does not fit is split into its cells (a
layer and direction each, with the shapes from other cells that feed it), stacked on as
few pages as hold them. Nothing is ever shrunk below the size its labels are set at.
"""
from dataclasses import dataclass

from .graph import cell_title, model_graph
from .tikz import layout

# the text area of an A4 sheet with 2 cm margins, less room for the heading line (bp)
AREAS = {"portrait": (480.0, 640.0), "landscape": (725.0, 400.0)}
TRIES = (("portrait", "TB"), ("portrait", "LR"), ("landscape", "LR"), ("landscape", "TB"))
HEADING = 24.0       # a cell's heading line above its picture


@dataclass
class Block:
    title: str           # "" for the whole graph, else the cell ("layer 2, forward")
    layout: object


@dataclass
class GraphPages:
    orientation: str     # portrait | landscape
    pages: list          # [[Block]]


def graph_pages(model):
    shapes, edges = model_graph(model)
    whole = _fitting(shapes, edges)
    if whole:
        return GraphPages(whole[0], [[Block("", whole[1])]])
    parts = [_fitting(*part) or _smallest(*part) for part in _cells(shapes, edges)]
    orientation = "landscape" if any(o == "landscape" for o, _, _ in parts) else "portrait"
    _, room = AREAS[orientation]
    pages, used = [[]], 0.0
    for _, lay, title in parts:
        need = lay.height + HEADING
        if pages[-1] and used + need > room:
            pages.append([])
            used = 0.0
        pages[-1].append(Block(title, lay))
        used += need
    return GraphPages(orientation, pages)


def _fitting(shapes, edges, title=""):
    """(orientation, layout, title) of the first try that fits its page, or None."""
    for orientation, rankdir in TRIES:
        lay = layout(shapes, edges, rankdir)
        width, height = AREAS[orientation]
        if lay.width <= width and lay.height <= height - (HEADING if title else 0):
            return orientation, lay, title
    return None


def _smallest(shapes, edges, title):
    """No try fits: the landscape layout, drawn as large as it is (the sheet test reports it)."""
    return "landscape", layout(shapes, edges, "LR"), title


def _cells(shapes, edges):
    """[(shapes, edges, title)] per cell: its own shapes, and the shapes that feed it from outside."""
    by_key = {s.key: s for s in shapes}
    cells = list(dict.fromkeys(s.cell for s in shapes))
    parts = []
    for cell in cells:
        inner = [e for e in edges if by_key[e.target].cell == cell]
        if not inner:
            continue
        keys = {s.key for s in shapes if s.cell == cell} | {e.source for e in inner}
        own = [s for s in shapes if s.key in keys and (s.cell == cell or s.kind != "param")]
        keep = {s.key for s in own}
        parts.append((own, [e for e in inner if e.source in keep], cell_title(cell) if cell else "output"))
    return parts if len(parts) > 1 else [(shapes, edges, "")]
