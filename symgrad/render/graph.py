"""The computational graph of a model as Graphviz DOT, and rendered by dot where installed.

Inputs and parameters are boxes, nodes ellipses, states double ellipses; an edge from a
read of the previous step (t−1) is dashed red, of the next step (t+1) dashed blue.
"""
import shutil
import subprocess

from ..errors import SymgradError
from ..symbols import Seq, Sym
from .names import text_name

FORMATS = ("dot", "svg", "png", "pdf")


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(model):
    lines = [f"digraph {_quote(model.name)} {{", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];']
    for sym in model.declared.values():
        label = text_name(sym.name)
        if sym.role == "param":
            style = 'shape=box, style="rounded,filled", fillcolor="#eeeeee", fontsize=9'
        elif sym.role == "node":
            style = "shape=doublecircle" if sym.name in model.states else "shape=ellipse"
        else:
            style = 'shape=box, style=filled, fillcolor="#dde8f5"'
        lines.append(f"  {_quote(sym.name)} [label={_quote(label)}, {style}];")
    for d in model.definitions:
        seen = set()
        for leaf in d.rhs.atoms(Sym, Seq):
            k = leaf.offset if isinstance(leaf, Seq) else 0
            if (leaf.name, k) in seen or leaf.name not in model.declared:
                continue
            seen.add((leaf.name, k))
            attrs = ""
            if k:
                color = "#c0392b" if k < 0 else "#2e6fbf"
                attrs = f' [style=dashed, color="{color}", fontcolor="{color}", label="t{k:+d}"]'
            lines.append(f"  {_quote(leaf.name)} -> {_quote(d.name)}{attrs};")
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
    dot = shutil.which("dot")
    if dot is None:
        raise SymgradError(f"writing {path} needs Graphviz's dot (apt-get install graphviz); "
                           "a .dot file needs nothing")
    run = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=source, text=True,
                         capture_output=True)
    if run.returncode:
        raise SymgradError(f"dot could not draw {path}: {run.stderr.strip().splitlines()[-1]}")
