"""Measured gradient flow: how much of the gradient of a loss at the last step reaches step k.

On random inputs, with every recurrent matrix scaled to spectral radius ρ, one call of the
compiled vjp gives ∂L_T/∂s_k for every step k: the model's recurrence is compiled with a
zero input eₜ added to each state (sₜ = … + eₜ), and δeₖ is ∂L_T/∂sₖ. L_T = Σ_b ⟨g_b, y_T⟩
for a random unit g_b per example: the delta a loss at the last step would send to the
state the rest of the model reads (h for the RNN and GRU, y for the LSTM). The derived
one-step Jacobians, evaluated at every step, give ‖∂sₜ/∂sₜ₋₁‖₂, and for a recurrence of
the simple RNN's form the bound of Pascanu, Mikolov & Bengio (2013), (γ ‖W‖₂)^(T−k).
"""
from dataclasses import dataclass, field

import numpy as np

from .derive import derive
from .errors import ModelError
from .evaluate import Evaluator
from .graph import Model
from .jacobian import jacobians
from .ops import MatMul
from .symbols import Seq, Sym


@dataclass
class Flow:
    """The measured flow of one model. Arrays run over the steps k = 1…T. ``forget_bias`` is
    the value the forget-gate biases were set to (None: left as initialized, or no such gate)."""
    name: str
    steps: int
    radius: float
    forget_bias: float | None
    grad_norms: np.ndarray                 # ‖∂L_T/∂s_k‖ over the batch, s = every state
    state_norms: dict                      # state → ‖∂L_T/∂state_k‖
    jacobian_norms: np.ndarray             # ‖∂sₜ/∂sₜ₋₁‖₂ at t = 1…T, the first sequence
    bound: np.ndarray | None = None        # ‖∂L_T/∂s_T‖ (γ ‖W‖₂)^(T−k), where it applies
    bound_factor: float | None = None      # γ ‖W‖₂
    recurrent: list = field(default_factory=list)   # the matrices scaled to radius ρ
    input_scale: float = 1.0
    params: dict = field(default_factory=dict, repr=False)      # what was measured: parameters,
    inputs: dict = field(default_factory=dict, repr=False)      # inputs (zero initial states),
    cotangent: dict = field(default_factory=dict, repr=False)   # and g_b at step T, per state

    @property
    def ratio(self):
        """‖∂L_T/∂s_1‖ / ‖∂L_T/∂s_T‖: what is left of the gradient after T − 1 steps back."""
        return float(self.grad_norms[0] / self.grad_norms[-1])


def flow(model, steps=50, radius=1.0, forget_bias=None, seed=0, batch=8, size=32, input_scale=1.0,
         label=None):
    """The gradient flow of a recurrent model on random data: inputs N(0, input_scale²), the
    model's random initial parameters (init_params), zero initial states. ``label`` names it
    in tables and plots (default: the model's name)."""
    if steps < 2:
        raise ModelError(f"flow needs at least 2 steps, not {steps}")
    for what, value in (("spectral radius", radius), ("input scale", input_scale)):
        if not (value > 0 and np.isfinite(value)):
            raise ModelError(f"the {what} must be a positive number, not {value}")
    probe, exposed = state_probe(model.build())
    compiled = derive(probe, "derivative").compile()
    sizes = {d: size for d in compiled.sizes}
    params = compiled.init_params(sizes, seed)
    scaled = _scale_recurrent(model, params, radius)
    biases = _forget_biases(model) if forget_bias is not None else []
    for name in biases:
        params[name] = np.full_like(params[name], forget_bias)
    rng = np.random.default_rng(seed)
    shape = lambda dims: tuple({"T": steps, "B": batch}.get(d, sizes.get(d)) for d in dims)  # noqa: E731
    data = {name: input_scale * rng.standard_normal(shape(dims))
            for name, dims in compiled.inputs.items() if not name.startswith(_INJECTED)}
    states = list(model.states)
    inputs = {**data, **{_INJECTED + s: np.zeros(shape(compiled.inputs[_INJECTED + s])) for s in states}}
    cot = {s: np.zeros(shape(compiled.outputs[s])) for s in states}
    for s in exposed:
        g = rng.standard_normal(cot[s].shape[1:])
        cot[s][-1] = g / np.linalg.norm(g.reshape(batch, -1), axis=1).reshape((batch,) + (1,) * (g.ndim - 1))
    grads = compiled.vjp(params, inputs, cot)
    per_state = {s: np.sqrt(np.sum(grads[_INJECTED + s].reshape(steps, -1) ** 2, axis=1)) for s in states}
    total = np.sqrt(sum(n ** 2 for n in per_state.values()))
    jac = jacobians(model)
    result = Flow(label or model.name, steps, radius, forget_bias if biases else None, total, per_state,
                  _jacobian_norms(jac, probe, params, _first_example(compiled, inputs)),
                  recurrent=scaled, input_scale=input_scale,
                  params=params, inputs=data, cotangent={s: cot[s][-1] for s in exposed})
    bound = jac.bound
    if bound is not None:
        factor = float(bound.gamma) * np.linalg.norm(params[_matrix_name(bound.matrix)], 2)
        result.bound_factor = factor
        result.bound = total[-1] * factor ** np.arange(steps - 1, -1, -1, dtype=float)
    return result


_INJECTED = "inject_"


def state_probe(model):
    """The recurrence of a model alone: the equations its states depend on, a zero input
    added to each state, and every state an output. Returns it and the states the rest of
    the model reads (where a loss at the last step sends its delta)."""
    if set(model.axes) != {"t"}:
        raise ModelError(f"model {model.name}: flow measures models with one time axis t")
    if not model.states:
        raise ModelError(f"model {model.name} has no recurrent state: nothing flows through time")
    if any(offset > 0 for offset in model.states.values()):
        raise ModelError(f"model {model.name}: flow follows the gradient back from the last step; "
                         "a state that runs backwards gets none of it (drop --bidirectional)")
    kept = _ancestors(model, set(model.states))
    readers = {leaf.name for d in model.definitions if d.name not in kept
               for leaf in d.rhs.atoms(Seq, Sym)}
    exposed = [s for s in model.states if s in readers or s in model.outputs] or list(model.states)
    P = Model(model.name, sequence=True)
    leaves = {leaf for d in model.definitions if d.name in kept for leaf in d.rhs.atoms(Seq, Sym)}
    used_dims = {d for leaf in leaves for d in leaf.shape if not d.is_Integer}
    used_dims |= {d for s in model.states for d in model.declared[s].shape if not d.is_Integer}
    P.dims(" ".join(str(d) for d in model.dims_.values() if d in used_dims))
    for leaf in sorted(leaves, key=lambda s: s.name):
        if leaf.name in P.declared or leaf.role == "node":
            continue
        if leaf.role == "param":
            P.param(leaf.name, *leaf.shape)
        elif leaf.role == "input":
            P.input(leaf.name, *leaf.shape, per_step=isinstance(leaf, Seq))
        else:
            raise ModelError(f"model {model.name}: its recurrence reads {leaf.name} ({leaf.role}); "
                             "flow feeds random inputs only")
    declared = {s: P.state(s, *model.declared[s].shape) for s in model.states}
    for d in model.definitions:
        if d.name in declared:
            injected = P.input(_INJECTED + d.name, *d.symbol.shape)
            P.define(declared[d.name], d.rhs + injected)
        elif d.name in kept:
            P.define(d.name, d.rhs)
    P.output(*declared.values())
    return P.build(), exposed


def _ancestors(model, names):
    """The definitions the given nodes depend on, at any step, and the nodes themselves."""
    by_name = {d.name: d for d in model.definitions}
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in out or name not in by_name:
            continue
        out.add(name)
        todo.extend(leaf.name for leaf in by_name[name].rhs.atoms(Seq, Sym) if leaf.role == "node")
    return out


def _scale_recurrent(model, params, radius):
    """Scale every square parameter that multiplies a state read at the step before to
    spectral radius ρ; returns their names."""
    names = []
    for d in model.definitions:
        for mm in d.rhs.atoms(MatMul):
            first, rest = mm.args[0], MatMul(*mm.args[1:]) if len(mm.args) > 2 else mm.args[1]
            reads_before = any(s.name in model.states and s.offset for s in rest.atoms(Seq))
            if isinstance(first, Sym) and first.role == "param" and reads_before \
                    and first.rows == first.cols and first.name not in names:
                names.append(first.name)
    for name in names:
        current = max(abs(np.linalg.eigvals(params[name])))
        if current > 0:
            params[name] = params[name] * (radius / current)
    return names


def _forget_biases(model):
    """The LSTM's forget-gate biases b_f (one per layer)."""
    return [p.name for p in model.params if p.name == "b_f" or p.name.startswith("b_f__")]


def _matrix_name(matrix):
    return matrix.args[0].name if not isinstance(matrix, Sym) else matrix.name


def _first_example(compiled, inputs):
    return {name: value[:, 0] if compiled.inputs[name][0] == "T" else value[0]
            for name, value in inputs.items()}


def _jacobian_norms(jac, probe, params, example):
    """‖∂sₜ/∂sₜ₋₁‖₂ of the whole state (every block), at every step of one example."""
    states = list(jac.model.states)
    values = Evaluator(probe, params, example)
    blocks = {(b.of.name, b.wrt.name): b.raw_total for b in jac.shown}
    norms = []
    for t in range(1, values.lengths[next(iter(values.lengths))] + 1):
        rows = [np.hstack([values.value(blocks[(a, b)], t) for b in states]) for a in states]
        norms.append(np.linalg.norm(np.vstack(rows), 2))
    return np.array(norms)
