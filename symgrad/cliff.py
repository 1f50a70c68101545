"""The cliff of Goodfellow et al., Deep Learning (2016), §10.11.1, Fig. 10.17, from a real model.

Pascanu, Mikolov & Bengio (2013), §3 and Fig. 6, show it with a one-unit RNN run for 50 steps:
h_t = w σ(h_{t−1}) + b, h_0 = 0.5, and a loss at the last step, here ½ (h_T − 0.7)². Where
(w, b) crosses the bifurcation at which the map's upper fixed point appears, h_T jumps and
the loss surface has a wall: its gradient is huge there. Gradient descent that reaches the
wall is thrown far away; with the gradient clipped to norm v, a step is never longer than
η v. Both runs use symgrad's compiled vjp of this model; the surface is the same equations
compiled with w and b given per example, so one batched forward evaluates the whole grid.
"""
from dataclasses import dataclass

import numpy as np

from .clip import clip_by_norm, global_norm
from .derive import derive
from .dsl import Model, sigma, squared_error

STEPS = 50
H0 = 0.5
TARGET = 0.7
START = (6.0, -3.5)
RATE = 0.05
ITERATIONS = 60
THRESHOLD = 4.0
W_RANGE, B_RANGE = (3.0, 7.0), (-4.0, -1.0)


def cliff_model(per_example=False):
    """The one-unit RNN; ``per_example``: w and b are inputs, one pair per example (a grid)."""
    M = Model("cliff", sequence=True, title="One-unit RNN of Pascanu et al. (2013), Fig. 6",
              source="Pascanu, Mikolov, Bengio. On the difficulty of training recurrent neural "
                     "networks. ICML 2013, §3, Fig. 6")
    u = M.input("u", 1)                  # zero at every step: it only sets the number of steps
    y = M.target("y", 1, per_step=False)
    w, b = ((M.input(name, 1, per_step=False) for name in "wb") if per_example
            else (M.param(name, 1) for name in "wb"))
    h = M.state("h", 1)
    M.define(h, w * sigma(h.prev) + b + u)
    M.loss(M.define("L", squared_error(M.last(h), y)))
    return M


@dataclass
class Run:
    """A gradient-descent trajectory: (w, b) before each step and after the last, the losses."""
    path: np.ndarray          # (iterations + 1, 2)
    losses: np.ndarray        # (iterations + 1,)
    gradient_norms: np.ndarray

    @property
    def steps(self):
        """The length of each step in the (w, b) plane."""
        return np.hypot(*np.diff(self.path, axis=0).T)


def _data(steps, batch=1):
    return {"u": np.zeros((steps, batch)), "y": np.full(batch, TARGET), "h0": np.full(batch, H0)}


def descend(start=START, rate=RATE, iterations=ITERATIONS, threshold=None, steps=STEPS):
    """Gradient descent on (w, b) with the compiled vjp; ``threshold``: clip the gradient's
    norm to it (symgrad.clip_by_norm, as torch's clip_grad_norm_)."""
    compiled = derive(cliff_model()).compile()
    data = _data(steps)
    params = {"w": np.array(start[0]), "b": np.array(start[1])}
    path, losses, norms = [], [], []
    for _ in range(iterations + 1):
        path.append((float(params["w"]), float(params["b"])))
        losses.append(float(compiled.forward(params, data)["L"][0]))
        grads = compiled.vjp(params, data, {"L": 1.0})
        grads = {name: grads[name] for name in params}
        norms.append(global_norm(grads))
        if threshold is not None:
            grads = clip_by_norm(grads, threshold)
        params = {name: params[name] - rate * grads[name] for name in params}
    return Run(np.array(path), np.array(losses), np.array(norms[:-1]))


def surface(w_range=W_RANGE, b_range=B_RANGE, points=161, steps=STEPS):
    """(w grid, b grid, loss) over a grid, one batched forward of the per-example model."""
    compiled = derive(cliff_model(per_example=True)).compile()
    w, b = np.meshgrid(np.linspace(*w_range, points), np.linspace(*b_range, points))
    data = {**_data(steps, w.size), "w": w.ravel(), "b": b.ravel()}
    return w, b, compiled.forward({}, data)["L"].reshape(w.shape)
