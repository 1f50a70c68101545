"""The gradient-flow figure with matplotlib: ‖∂L_T/∂s_k‖ / ‖∂L_T/∂s_T‖ against k on a log
scale, one line per model, Pascanu et al.'s bound dashed in the model's colour.

A Figure is drawn without pyplot, so no display and no global state is involved; the
format follows the file's suffix (.png, .svg, .pdf)."""
from pathlib import Path

import numpy as np

from ..errors import SymgradError

FORMATS = (".png", ".svg", ".pdf")


def check_plot_path(path):
    """A clear error for a file matplotlib would not know how to write."""
    if Path(path).suffix.lower() not in FORMATS:
        raise SymgradError(f"{path}: the plot is written as PNG, SVG or PDF; name it "
                           + ", ".join("*" + f for f in FORMATS))


def flow_figure(flows):
    """The matplotlib Figure for a list of measured flows (one time length and radius)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    lows, highs = [], []
    for i, f in enumerate(flows):
        k = np.arange(1, f.steps + 1)
        ratio = f.grad_norms / f.grad_norms[-1]
        colour = f"C{i % 10}"
        ax.semilogy(k, ratio, color=colour, label=f.name)
        lows.append(ratio[ratio > 0].min())
        highs.append(ratio.max())
        if f.bound is not None:
            ax.semilogy(k, f.bound / f.bound[-1], color=colour, linestyle="--", linewidth=1,
                        label=f"{f.name}: Pascanu bound (γ‖W‖₂ = {f.bound_factor:.2f})^(T−k)")
    ax.set_ylim(min(lows) / 10, max(max(highs), 1.0) * 1e3)
    ax.set_xlim(1, max(f.steps for f in flows))
    ax.set_xlabel("step k")
    ax.set_ylabel("‖∂L_T/∂s_k‖ / ‖∂L_T/∂s_T‖")
    radii = {f.radius for f in flows}
    ax.set_title(f"Gradient of a loss at step T = {flows[0].steps} reaching step k"
                 + (f" (ρ = {radii.pop():g})" if len(radii) == 1 else ""), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def write_flow_plot(flows, path):
    check_plot_path(path)
    flow_figure(flows).savefig(path, dpi=120)
    return Path(path)
