"""The helpers every generated module carries (NumPy only), as source text.

Arrays are batched columns: a vector of the math is ``(…, n, 1)`` with leading step and
batch axes. Every helper keeps the dtype of its operands, so a float32 module stays float32.
"""

RUNTIME = '''
def _sigmoid(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _step(x):
    return (x > 0).astype(x.dtype)


def _T(a):
    return np.swapaxes(a, -1, -2)


def _mm(a, b):
    """Matrix product of (batches of) matrices; a parameter times a batch is one BLAS call."""
    if a.ndim == 2 and b.ndim > 2 and b.shape[-1] == 1:
        rows = b.reshape(-1, b.shape[-2]) @ a.T
        return rows.reshape(*b.shape[:-2], a.shape[0], 1)
    if a.ndim > 2 and b.ndim == 2:
        return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
    if a.shape[-2] == 1 and b.shape[-1] == 1:  # row times column: one inner product per example
        return np.sum(_T(a) * b, axis=-2, keepdims=True)
    if a.shape[-1] == 1:  # column times row: an outer product
        return a * b
    return np.matmul(a, b)


def _full(x, shape):
    """x with the given shape as an array the caller owns: a value computed here is returned
    as it is; a stored buffer's view, or a value repeated over steps or rows, is copied."""
    if x.shape == tuple(shape) and x.base is None and x.flags.writeable:
        return x
    return np.array(np.broadcast_to(x, shape))


def _lead_sum(x, lead):
    """Sum over the leading (step and batch) axes; a value missing some of them (the same for
    every step, or for every row) is repeated over them first."""
    if x.ndim < len(lead) + 2:
        x = np.broadcast_to(x, tuple(lead) + x.shape[-2:])
    return x.reshape(-1, *x.shape[-2:]).sum(axis=0)


def _mm_sum(a, b, lead):
    """Σ over the leading axes of a b: one matrix product over all rows when a and b have the
    same leading axes, else the broadcast product, summed."""
    if a.ndim == b.ndim > 2 and a.shape[:-2] == b.shape[:-2]:
        if a.shape[-1] == 1 and b.shape[-2] == 1:     # Σ of outer products: (rows)ᵀ (rows)
            return a.reshape(-1, a.shape[-2]).T @ b.reshape(-1, b.shape[-1])
        axes = list(range(a.ndim - 2))
        return np.tensordot(a, b, axes=(axes + [a.ndim - 1], axes + [a.ndim - 2]))
    return _lead_sum(_mm(a, b), lead)


def _softmax(x):
    e = np.exp(x - x.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True)


def _softmax_rows(x):
    e = x - x.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _scaled(x, c):
    """c x, in the array x (a product just computed, owned by nobody else)."""
    x *= c
    return x


def _rowstd(x, eps):
    return np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def _layernorm(x, eps):
    return (x - x.mean(axis=-1, keepdims=True)) / _rowstd(x, eps)


_GELU_C = 0.7978845608028654     # √(2/π)


def _gelu(x):
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def _gelu_prime(x):
    u = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + u) + 0.5 * x * (1.0 - u * u) * _GELU_C * (1.0 + 3 * 0.044715 * x ** 2)


def _iverson(holds, steps):
    """Iverson's bracket [P(t)] as 0 or 1: at one step (an int), or at every step of an array
    of steps, shaped (T, 1, 1, 1) to weigh the values (T, B, r, c) of those steps."""
    value = np.broadcast_to(holds(steps), np.shape(steps)).astype(DTYPE)
    return value.reshape(value.shape + (1, 1, 1)) if value.ndim else value[()]


def _causal(n):
    """The additive causal mask: 0 on and below the diagonal, −∞ above (no looking ahead)."""
    return np.triu(np.full((n, n), -np.inf, dtype=DTYPE), k=1)


def _stack(x):
    """The steps of a sequence (L, …, n, 1) as the rows of matrices (…, L, n)."""
    return np.moveaxis(x[..., 0], 0, -2)


def _step_rows(g):
    """Each row of matrices (…, L, n) back as a step's column (L, …, n, 1)."""
    return np.moveaxis(g, -2, 0)[..., None]


def _pad(x, k):
    """A sequence (T, …) with k zero steps before and after."""
    z = np.zeros((k,) + x.shape[1:], dtype=x.dtype)
    return np.concatenate([z, x, z]) if k else x


def _cut(x, cuts, direction):
    """x (all steps) with the steps zeroed whose term reads the next (direction 1) or the
    previous (−1) step across a cut of truncated BPTT."""
    rows = [r for r in ([c - 1 for c in cuts] if direction > 0 else list(cuts)) if 0 <= r < len(x)]
    if not rows:
        return x
    x = np.array(x)
    x[rows] = 0
    return x


def _cuts(truncate, steps):
    """The steps after which no gradient flows back: the ends of the sequence, 0 and T (a
    delta there is zero, so a term reading it is zero even where the padded forward value
    beside it, never computed, is not finite), and with truncated BPTT the steps t = k, 2k, …
    that end a chunk."""
    if truncate is None:
        return frozenset((0, steps))
    if isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer)) or truncate < 1:
        raise ValueError(f"truncate must be a whole number of steps ≥ 1, not {truncate!r}")
    return frozenset(range(truncate, steps, truncate)) | {0, steps}
'''


def embedded(module):
    """A NumPy-only module of symgrad's (the input checks, clipping) as source for a generated
    module: all of it but its docstring, so a standalone module checks and clips as symgrad does."""
    import inspect
    source = inspect.getsource(module)
    body = source.split('"""', 2)[2] if source.lstrip().startswith('"""') else source
    return "\n\n# -- " + module.__name__.rsplit(".", 1)[-1] + ".py of symgrad " + "-" * 60 + "\n" + body.strip() + "\n"
