"""The "Gradient flow" section of a derivation sheet: the one-step Jacobians route by route,
their product over steps and its bound, and the measured flow at ρ = 0.9 and ρ = 1.5."""
from ..errors import SymgradError
from ..flow import flow
from ..jacobian import jacobians
from .flow_plot import write_flow_plot
from .jacobian import jacobians_latex
from .sheet import TEXT_WIDTH

RADII = (0.9, 1.5)
STEPS = 50


def write_flow_figure(model, directory, stem):
    """Measure the flow at each radius and draw it to DIR/<stem>_flow.pdf; returns the file name
    and the flows, or (None, []) for a model whose flow is not measured (no state running
    forwards along t alone)."""
    try:
        flows = [flow(model, STEPS, rho, label=f"{model.name}, ρ = {rho:g}") for rho in RADII]
    except SymgradError:
        return None, []
    name = flow_figure_name(stem)
    write_flow_plot(flows, directory / name)
    return name, flows


def flow_figure_name(stem):
    return f"{stem}_flow.pdf"


def flow_section(d, figure=None):
    """The section's LaTeX ("" for a model without recurrent states). The measured figure is
    shown where the file ``figure`` lies beside the sheet (``symgrad sheet --pdf`` draws it), so
    the sheet compiles on its own without it."""
    if not d.model.states:
        return ""
    try:
        jac = jacobians(d.model, style=d.style)
    except SymgradError:      # e.g. attention over the rows of a matrix of states
        return ("\\section{Gradient flow}\n\nThe one-step Jacobians of this model are not written "
                "out: a state reaches the next step through more than matrix--vector and element-wise "
                "products (\\texttt{symgrad jacobian} says where).")
    parts = ["\\section{Gradient flow}",
             "\\begin{sloppypar}The one-step Jacobians come from the forward equations by the same "
             "rules as the deltas. Each route is one edge out of the earlier state with everything "
             "else held fixed; a block is the sum of its routes.\\end{sloppypar}",
             jacobians_latex(jac, prose=True, width=TEXT_WIDTH)]
    if figure:
        radii = ", ".join(f"{r:g}" for r in RADII)
        parts.append("\\IfFileExists{" + figure + "}{\\begin{center}\n\\includegraphics[width=0.8\\linewidth]{"
                     + figure + "}\n\\end{center}\n"
                     f"Measured by \\texttt{{symgrad flow}}: a loss at step $T = {STEPS}$, random inputs, every "
                     f"recurrent matrix scaled to spectral radius $\\rho \\in \\{{{radii}\\}}$; the curves are "
                     "$\\lVert\\partial L_T/\\partial s_k\\rVert / \\lVert\\partial L_T/\\partial s_T\\rVert$.}{}")
    return "\n\n".join(parts)
