"""The cliff figure (Goodfellow et al. Fig. 10.17, from Pascanu et al.'s one-unit RNN): the loss
surface over (w, b) seen from above and in relief, with the gradient-descent runs without
and with clipping. Drawn on a matplotlib Figure without pyplot; the suffix picks the format."""
from pathlib import Path

import numpy as np

from .flow_plot import check_plot_path


def cliff_figure(grid, plain, clipped, threshold, rate):
    from matplotlib.figure import Figure
    w, b, loss = grid
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    top = fig.add_subplot(1, 2, 1)
    relief = fig.add_subplot(1, 2, 2, projection="3d")
    filled = top.contourf(w, b, loss, levels=40, cmap="viridis")
    fig.colorbar(filled, ax=top, label="loss ½ (h₅₀ − 0.7)²")
    inside = (lambda p: (w.min() <= p[0] <= w.max()) and (b.min() <= p[1] <= b.max()))
    for run, label, colour in ((plain, "without clipping", "tab:red"),
                               (clipped, f"clipped to ‖g‖ ≤ {threshold:g}", "white")):
        top.plot(*run.path.T, "-o", color=colour, markersize=2.5, linewidth=1.1, label=label)
        shown = np.array([inside(p) for p in run.path])
        last = len(shown) if shown.all() else int(np.argmin(shown))      # up to where it leaves
        relief.plot(*run.path[:last].T, run.losses[:last], "-o", color=colour, markersize=2,
                    linewidth=1.1, zorder=10)
    jump = int(np.argmax(plain.steps))
    end = plain.path[jump + 1]
    if not inside(end):
        top.annotate(f"step {jump + 1}: thrown to (w, b) = ({end[0]:.1f}, {end[1]:.1f})",
                     xy=(0.03, 0.95), xycoords="axes fraction", color="tab:red", fontsize=8, va="top",
                     bbox=dict(boxstyle="round", facecolor="white", alpha=0.8))
    top.set_xlim(w.min(), w.max())
    top.set_ylim(b.min(), b.max())
    top.set_xlabel("w")
    top.set_ylabel("b")
    top.set_title(f"hₜ = w σ(hₜ₋₁) + b for 50 steps; gradient descent, η = {rate:g}", fontsize=9)
    top.legend(fontsize=8, loc="lower right", facecolor="0.55")
    relief.plot_surface(w, b, loss, cmap="viridis", linewidth=0, antialiased=True, alpha=0.8,
                        rstride=2, cstride=2)
    relief.set_xlabel("w")
    relief.set_ylabel("b")
    relief.set_zlabel("loss", labelpad=0)
    relief.set_box_aspect(None, zoom=0.85)
    relief.view_init(elev=25, azim=120)
    relief.set_title("the cliff (Goodfellow et al. Fig. 10.17)", fontsize=9)
    return fig


def write_cliff_plot(path, grid, plain, clipped, threshold, rate):
    check_plot_path(path)
    cliff_figure(grid, plain, clipped, threshold, rate).savefig(path, dpi=110)
    return Path(path)
