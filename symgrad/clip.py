"""Gradient clipping on a dict of NumPy gradients, exactly as PyTorch does it.

This module imports NumPy only, so its source can be embedded into a standalone generated
module. The rule of Pascanu, Mikolov & Bengio (2013), Algorithm 1, and Goodfellow et al.
(2016), §10.11.1, with v the threshold:

    g ← ∂L/∂θ
    if ‖g‖ > v:
        g ← v g / ‖g‖

``clip_by_norm`` computes ‖g‖ over all arrays together, as if they were one vector (torch's
``clip_grad_norm_``): every array is scaled by min(1, max_norm / (‖g‖ + 1e-6)), the 1e-6
keeping the division finite for a zero gradient (so a gradient just above the threshold
comes out a hair below it). ``clip_by_value`` clamps every entry to [−limit, limit]
(torch's ``clip_grad_value_``). Both return new arrays and leave the given ones unchanged.
"""
import numpy as np

EPS = 1e-6   # torch.nn.utils.clip_grad_norm_ adds it to the total norm


class ClipError(ValueError):
    """A threshold that is not a positive number, a norm torch does not define, or a gradient
    that is not an array of numbers."""


def global_norm(grads, norm_type=2.0):
    """‖g‖_p over every array of the dict, as one vector: the p-norm of the arrays' p-norms
    (torch's order), max |g| for p = inf."""
    p = _norm_type(norm_type)
    norms = [_vector_norm(a, p) for a in _arrays(grads).values()]
    return _vector_norm(np.array(norms), p) if norms else 0.0


def clip_by_norm(grads, max_norm, norm_type=2.0):
    """A new dict with every gradient scaled by min(1, max_norm / (‖g‖ + 1e-6))."""
    limit = _positive(max_norm, "max_norm")
    arrays = _arrays(grads)
    coef = min(limit / (global_norm(arrays, norm_type) + EPS), 1.0)
    return {name: a * coef for name, a in arrays.items()}


def clip_by_value(grads, limit):
    """A new dict with every entry clamped to [−limit, limit]."""
    bound = _positive(limit, "limit")
    return {name: np.clip(a, -bound, bound) for name, a in _arrays(grads).items()}


def _vector_norm(a, p):
    a = np.abs(np.ravel(a))
    if a.size == 0:
        return 0.0
    if p == np.inf:
        return float(a.max())
    return float(np.sum(a ** p) ** (1.0 / p))


def _norm_type(p):
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ClipError(f"norm_type must be a positive number or inf, not {p!r}") from None
    if not p > 0:
        raise ClipError(f"norm_type must be a positive number or inf, not {p!r}")
    return p


def _positive(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) \
            or not np.isfinite(x) or x <= 0:
        raise ClipError(f"{what} must be a positive finite number, not {x!r}")
    return float(x)


def _arrays(grads):
    if not isinstance(grads, dict):
        raise ClipError(f"gradients must be a dict of name → array, not {type(grads).__name__}")
    out = {}
    for name, g in grads.items():
        a = np.asarray(g)
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ClipError(f"gradient {name!r} is not an array of numbers ({a.dtype})")
        out[name] = a.astype(float) if np.issubdtype(a.dtype, np.integer) else a
    return out
