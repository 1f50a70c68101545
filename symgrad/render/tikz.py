"""The computational graph as a TikZ picture: dot lays it out, LaTeX sets the labels as math.

dot gets every shape at a fixed size computed from its label's estimated width and no text
at all, so the layout depends on dot alone, not on the fonts of the machine. The picture is
drawn at that size, never scaled: labels are set at ``\\normalsize`` of the 11 pt sheet
(10.95 pt, scripts 8 pt), so no label is smaller than 8 pt.
"""
import json
import math
import subprocess
from dataclasses import dataclass

from .graph import STEP_STYLES, dot_executable
from .width import math_width

FONT_PT = 10.95
BEGIN, END = "% graph layout by Graphviz dot", "% end of graph layout"
COLORS = {"sginput": "DDE8F5", "sgparam": "EEEEEE", "sgprev": "C0392B", "sgnext": "2E6FBF"}


@dataclass
class Layout:
    """Where dot put each shape (centre, width, height in bp) and each edge (Bézier points)."""
    width: float
    height: float
    shapes: list         # [(Shape, x, y, w, h)]
    edges: list          # [(Edge, [points], [arrowhead points])]


def size(shape):
    """The (width, height) in bp a shape needs around its label."""
    text = math_width(shape.tex) * FONT_PT
    tall = 15.0 if "^" in shape.tex else 12.0
    if shape.kind in ("input", "param"):
        return text + 10.0, tall + 8.0
    w, h = max(math.sqrt(2) * (text + 4.0), 26.0), max(math.sqrt(2) * tall, 22.0)
    return (w + 6.0, h + 6.0) if shape.kind == "state" else (w, h)


def layout(shapes, edges, rankdir):
    """Run dot on the graph (``rankdir`` LR or TB) and read back its geometry."""
    lines = [f"digraph g {{ rankdir={rankdir}; nodesep=0.18; ranksep=0.3; margin=0; pad=0;",
             '  node [fixedsize=true, label="", shape=box];']
    for s in shapes:
        w, h = size(s)
        shape = "box" if s.kind in ("input", "param") else "ellipse"
        lines.append(f'  "{s.key}" [width={w / 72:.4f}, height={h / 72:.4f}, shape={shape}];')
    for i, e in enumerate(edges):
        lines.append(f'  "{e.source}" -> "{e.target}" [id="e{i}"'
                     + (", constraint=false" if e.offset else "") + "];")
    lines.append("}")
    run = subprocess.run([dot_executable("drawing the graph of a sheet"), "-Tjson"], input="\n".join(lines),
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"dot failed on a generated graph: {run.stderr.strip()}")
    out = json.loads(run.stdout)
    _, _, width, height = (float(v) for v in out["bb"].split(","))
    by_key = {s.key: s for s in shapes}
    placed = []
    for obj in out.get("objects", []):
        x, y = (float(v) for v in obj["pos"].split(","))
        placed.append((by_key[obj["name"]], x, y, float(obj["width"]) * 72, float(obj["height"]) * 72))
    drawn = []
    for e in out.get("edges", []):
        edge = edges[int(e["id"][1:])]
        curve = [p for op in e["_draw_"] if op["op"] in "bB" for p in op["points"]]
        head = [p for op in e.get("_hdraw_", []) if op["op"] in "pP" for p in op["points"]]
        drawn.append((edge, curve, head))
    drawn.sort(key=lambda d: edges.index(d[0]))
    return Layout(width, height, placed, drawn)


def dot_version():
    """dot's version, e.g. "2.43.0": the layout in a sheet is as this version draws it."""
    run = subprocess.run([dot_executable("drawing the graph of a sheet"), "-V"], capture_output=True, text=True)
    words = (run.stderr or run.stdout).split()
    return words[words.index("version") + 1] if "version" in words else "unknown"


def tikz_picture(lay):
    """The picture, coordinates in bp; labels at the document's normal size."""
    out = ["\\begin{tikzpicture}[x=1bp, y=1bp, every node/.style={inner sep=0pt}, line width=0.6bp]",
           # dot's box: Bézier control points may lie outside it, the curves do not
           f"\\useasboundingbox (0,0) rectangle ({lay.width:.1f},{lay.height:.1f});"]
    for shape, x, y, w, h in lay.shapes:
        out.append(_shape(shape.kind, x, y, w, h))
        out.append(f"\\node at ({x:.1f},{y:.1f}) {{${shape.tex}$}};")
    for edge, curve, head in lay.edges:
        style = "black"
        if edge.offset:
            dash, _, _ = STEP_STYLES[edge.offset]
            style = f"{'sgprev' if edge.offset < 0 else 'sgnext'}, {dash}"
        path = _bezier(curve)
        out.append(f"\\draw[{style}] {path};")
        if head:
            color = style.split(",")[0]
            out.append(f"\\fill[{color}] " + " -- ".join(_pt(p) for p in head) + " -- cycle;")
    out.append("\\end{tikzpicture}")
    return "\n".join(out)


def _shape(kind, x, y, w, h):
    box = f"({x - w / 2:.1f},{y - h / 2:.1f}) rectangle ({x + w / 2:.1f},{y + h / 2:.1f})"
    if kind == "input":
        return f"\\draw[fill=sginput] {box};"
    if kind == "param":
        return f"\\draw[fill=sgparam, rounded corners=4bp] {box};"
    ellipse = f"({x:.1f},{y:.1f}) ellipse [x radius={w / 2:.1f}, y radius={h / 2:.1f}]"
    if kind == "state":
        inner = f"({x:.1f},{y:.1f}) ellipse [x radius={w / 2 - 3:.1f}, y radius={h / 2 - 3:.1f}]"
        return f"\\draw {ellipse};\n\\draw {inner};"
    return f"\\draw {ellipse};"


def _pt(p):
    return f"({p[0]:.1f},{p[1]:.1f})"


def _bezier(points):
    """A cubic B-spline as dot gives it (1 + 3k points) as a TikZ path."""
    path = _pt(points[0])
    for i in range(1, len(points) - 2, 3):
        path += f" .. controls {_pt(points[i])} and {_pt(points[i + 1])} .. {_pt(points[i + 2])}"
    return path


def colors():
    """The colour definitions the picture uses, for the document's preamble."""
    return "\n".join(f"\\definecolor{{{name}}}{{HTML}}{{{hexa}}}" for name, hexa in COLORS.items())
