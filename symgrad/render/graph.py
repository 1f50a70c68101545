"""The computational graph of a model: what is drawn, as Graphviz DOT, rendered by dot.

Inputs are boxes, nodes ellipses, states double ellipses. Parameters that feed the same
nodes share one rounded box (W_z, R_z, b_z → z̄), which keeps an LSTM's graph to a dozen
shapes. An edge from a read of the previous step (t−1) is dashed red, of the next step
(t+1) dotted blue. A stacked or bidirectional model is also split into its cells (one per
layer and direction), so each can be drawn on its own.
"""
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import SymgradError
from ..symbols import Seq, Sym
from .names import text_name
from .notation import plain_symbol
from .printer import latex, text

FORMATS = ("dot", "svg", "png", "pdf")
STEP_STYLES = {-1: ("dashed", "#c0392b", "t-1"), 1: ("dotted", "#2e6fbf", "t+1")}


@dataclass(frozen=True)
class Shape:
    """One drawn shape: a node, an input, or the parameters feeding the same nodes."""
    key: str
    kind: str            # input | param | node | state
    names: tuple         # the code names it stands for
    tex: str             # its label in LaTeX math
    plain: str           # its label in unicode text

    @property
    def cell(self):
        return cell_of(self.names[0])


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    offset: int          # 0, or -1 / +1 for a read of the previous / next step


def model_graph(model):
    """([Shape], [Edge]) in declaration order, parameters grouped by the edges they feed."""
    reads = {}
    for d in model.definitions:
        for leaf in sorted(d.rhs.atoms(Sym, Seq), key=str):
            if leaf.name in model.declared:
                k = leaf.offset if isinstance(leaf, Seq) else 0
                reads.setdefault(leaf.name, []).append((d.name, k or 0))
    groups = {}
    for sym in model.declared.values():
        if sym.role == "param":
            groups.setdefault(tuple(sorted(set(reads.get(sym.name, ())))), []).append(sym)
    key_of, shapes = {}, []
    for sym in model.declared.values():
        if sym.role == "param":
            members = groups[tuple(sorted(set(reads.get(sym.name, ()))))]
            if sym is not members[0]:
                continue
            key = ",".join(s.name for s in members)
            shapes.append(Shape(key, "param", tuple(s.name for s in members),
                                ", ".join(latex(s) for s in members), ", ".join(text(s) for s in members)))
            key_of.update({s.name: key for s in members})
            continue
        kind = ("state" if sym.name in model.states else "node") if sym.role == "node" else "input"
        shapes.append(Shape(sym.name, kind, (sym.name,), latex(plain_symbol(sym)), text_name(sym.name)))
        key_of[sym.name] = sym.name
    edges = []
    for source, targets in reads.items():
        for target, k in targets:
            edge = Edge(key_of[source], target, k)
            if edge not in edges:
                edges.append(edge)
    return shapes, edges


_CELL = re.compile(r"__(\d+[fb]?)")


def cell_of(name):
    """The layer and direction a name belongs to (``y__2f`` and ``W_z__2fb`` → "2f"), "" if none."""
    m = _CELL.search(name)
    return m.group(1) if m else ""


def cell_title(cell):
    """How a cell reads in a heading: "2f" → "layer 2, forward"."""
    layer, direction = cell.rstrip("fb"), cell[len(cell.rstrip("fb")):]
    return f"layer {layer}" + {"f": ", forward", "b": ", backward"}.get(direction, "")


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(model):
    """The whole graph as DOT with unicode labels, for ``symgrad graph``."""
    shapes, edges = model_graph(model)
    styles = {"param": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
              "input": 'shape=box, style=filled, fillcolor="#dde8f5"',
              "node": "shape=ellipse", "state": "shape=doublecircle"}
    lines = [f"digraph {_quote(model.name)} {{", "  rankdir=LR;",
             '  node [fontname="Times-Italic", fontsize=12]; edge [fontname="Times-Roman", fontsize=11];']
    lines += [f"  {_quote(s.key)} [label={_quote(s.plain)}, {styles[s.kind]}];" for s in shapes]
    for e in edges:
        attrs = ""
        if e.offset:
            dash, color, label = STEP_STYLES[e.offset]
            attrs = f' [style={dash}, color="{color}", fontcolor="{color}", label="{label}", constraint=false]'
        lines.append(f"  {_quote(e.source)} -> {_quote(e.target)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(model, path):
    """Write the graph to path; the suffix chooses DOT, SVG, PNG or PDF."""
    fmt = str(path).rsplit(".", 1)[-1].lower()
    if fmt not in FORMATS:
        raise SymgradError(f"graph file {path}: the suffix must be one of {', '.join('.' + f for f in FORMATS)}")
    source = dot_source(model)
    if fmt == "dot":
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        return
    run = subprocess.run([dot_executable(f"writing {path}"), f"-T{fmt}", "-o", str(path)], input=source,
                         text=True, capture_output=True)
    if run.returncode:
        raise SymgradError(f"dot could not draw {path}: {run.stderr.strip().splitlines()[-1]}")


def dot_executable(purpose):
    """The path of Graphviz's dot, or a one-line error saying what needs it."""
    dot = shutil.which("dot")
    if dot is None:
        raise SymgradError(f"{purpose} needs Graphviz's dot (apt-get install graphviz); "
                           "a .dot file needs nothing")
    return dot
