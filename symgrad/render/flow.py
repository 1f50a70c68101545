"""Measured gradient flow in the terminal: a table of the numbers and one sparkline per model
(log ‖∂L_T/∂s_k‖ for k = 1…T, so a vanishing gradient is a ramp up to the right)."""
import math

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .names import text_name

BARS = "▁▂▃▄▅▆▇█"


def ratio_text(x):
    return f"{x:.2e}" if np.isfinite(x) else str(x)


def flow_table(flows):
    first = flows[0]
    table = Table(title=f"gradient of a loss at the last step, T = {first.steps}, spectral radius "
                        f"ρ = {first.radius:g}, inputs N(0, {first.input_scale:g}²)", title_justify="left",
                  caption="ratio: ‖∂L_T/∂s₁‖ / ‖∂L_T/∂s_T‖ (s: every state); ‖J‖: ‖∂sₜ/∂sₜ₋₁‖₂, geometric "
                          "mean over t; bound: Pascanu et al.'s (γ‖W‖₂)^(T−1)", caption_justify="left")
    table.add_column("model")
    table.add_column("ratio", justify="right")
    table.add_column("per state", justify="right")
    table.add_column("‖J‖", justify="right")
    table.add_column("bound", justify="right")
    table.add_column("scaled to ρ")
    for f in flows:
        per_state = ", ".join(f"{text_name(s)} {ratio_text(n[0] / f.grad_norms[-1])}"
                              for s, n in f.state_norms.items()) if len(f.state_norms) > 1 else ""
        bound = ratio_text(f.bound[0] / f.bound[-1]) if f.bound is not None else "—"
        table.add_row(f.name + _bias(f), ratio_text(f.ratio), per_state,
                      f"{math.exp(np.mean(np.log(f.jacobian_norms))):.3f}", bound,
                      ", ".join(map(text_name, f.recurrent)))
    return table


def _bias(f):
    return f" (b_f = {f.forget_bias:g})" if f.forget_bias is not None else ""


def sparklines(flows):
    """One bar per step k = 1…T, the height log ‖∂L_T/∂s_k‖ / ‖∂L_T/∂s_T‖ on one scale for all."""
    logs = [np.log10(np.maximum(f.grad_norms / f.grad_norms[-1], 1e-300)) for f in flows]
    lo, hi = min(x.min() for x in logs), max(x.max() for x in logs)
    span = hi - lo or 1.0
    width = max(len(f.name) for f in flows)
    lines = [Text(f"log₁₀ of the ratio, k = 1 (left) … T (right), from {lo:.0f} (▁) to {hi:.0f} (█)",
                  style="dim")]
    for f, x in zip(flows, logs):
        bars = "".join(BARS[min(len(BARS) - 1, int((v - lo) / span * len(BARS)))] for v in x)
        lines.append(Text(f"{f.name.rjust(width)} {bars}"))
    return Group(*lines)


def flow_renderable(flows):
    return Group(flow_table(flows), sparklines(flows))
