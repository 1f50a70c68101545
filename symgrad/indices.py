"""Index notation, read entry by entry and written back as vectors and matrices.

Hand derivations often start from entries: δc_j^t = δy_j^t o_j^t h'(c_j^t) + …,
Σ_k W_{kj} δa_k^{t+1}, (∇_{o^{(t)}} L)_i = ŷ_i^{(t)} − 1_{i=y^{(t)}}. Such an expression is
a sum of terms, each a product of entries ``x[r, c]`` whose rows and columns are labelled
by index letters, some of them summed. ``to_matrix`` writes a term back as the matrix
whose entries it gives, for the labels of the left-hand side: entries with the same
labels multiply element-wise, a summed label is a matrix product (or 1ᵀ v, a sum), a
label the term lacks is broadcast, and Σ_i g_i ∇_W u_i is a vector–Jacobian product.
"""
from dataclasses import dataclass, replace

import sympy as sp

from . import algebra
from .read_errors import ParseError
from .symbols import Ones
from .tensor import Tensor

ONE = sp.Integer(1)


@dataclass(frozen=True)
class Factor:
    """The entries of x: its rows labelled by ``rows``, its columns by ``cols`` (None for a
    dimension of size 1, or a whole dimension when the factor is a scalar)."""
    x: Tensor
    rows: str | None = None
    cols: str | None = None

    @property
    def labels(self):
        return {label for label in (self.rows, self.cols) if label}


@dataclass(frozen=True)
class LocalGrad:
    """∇_wrt u_i: the gradient of entry ``label`` of node u with respect to wrt (a matrix)."""
    u: Tensor
    label: str
    wrt: Tensor

    @property
    def labels(self):
        return {self.label}


@dataclass(frozen=True)
class Term:
    coef: object = ONE
    factors: tuple = ()
    summed: frozenset = frozenset()
    wraps: tuple = ()            # functions applied to the whole term afterwards (Σ_t, Σ_i)

    def free(self):
        labels = set().union(*(f.labels for f in self.factors)) if self.factors else set()
        return labels - self.summed


@dataclass(frozen=True)
class Indexed:
    """A sum of terms of entries: what an expression in index notation stands for."""
    terms: tuple

    def __add__(self, other):
        return Indexed(self.terms + other.terms)

    def scaled(self, c):
        return Indexed(tuple(replace(t, coef=t.coef * c) for t in self.terms))

    def times(self, other):
        out = []
        for a in self.terms:
            for b in other.terms:
                if a.wraps or b.wraps:
                    raise ParseError("a sum over steps multiplied entry by entry: write it as one sum")
                clash = (a.summed & (b.free() | b.summed)) | (b.summed & a.free())
                if clash:
                    raise ParseError(f"the summed index {sorted(clash)[0]} is used twice")
                out.append(Term(a.coef * b.coef, a.factors + b.factors, a.summed | b.summed))
        return Indexed(tuple(out))

    def summed_over(self, label):
        out = []
        for t in self.terms:
            if label not in t.free():
                raise ParseError(f"Σ over {label}: the term does not use {label}")
            out.append(replace(t, summed=t.summed | {label}))
        return Indexed(tuple(out))

    def wrapped(self, fn):
        return Indexed(tuple(replace(t, wraps=t.wraps + (fn,)) for t in self.terms))

    def free(self):
        return set().union(*(t.free() for t in self.terms))


def entry(x, rows=None, cols=None):
    return Indexed((Term(ONE, (Factor(x, rows, cols),)),))


def constant(c):
    """A scalar (a number, or a 1×1 matrix) in index notation."""
    if isinstance(c, Tensor):
        return Indexed((Term(ONE, (Factor(c),)),))
    return Indexed((Term(c, ()),))


def elementwise(indexed, fn):
    """f applied entry by entry to a single labelled factor: f(x_j) is f(x)_j."""
    if len(indexed.terms) != 1 or len(indexed.terms[0].factors) != 1 or indexed.terms[0].summed \
            or indexed.terms[0].coef != 1 or not isinstance(indexed.terms[0].factors[0], Factor):
        inner = to_matrix(indexed, *_order(indexed), sizes=_sizes(indexed))
        rows, cols = _order(indexed)
        return entry(fn(inner), rows, cols)
    f = indexed.terms[0].factors[0]
    return entry(fn(f.x), f.rows, f.cols)


def _order(indexed):
    labels = sorted(indexed.free())
    if len(labels) > 2:
        raise ParseError(f"more than two free indices ({', '.join(labels)})")
    return (labels + [None, None])[:2]


def _sizes(indexed):
    sizes = {}
    for t in indexed.terms:
        for f in t.factors:
            if isinstance(f, Factor):
                if f.rows:
                    sizes.setdefault(f.rows, f.x.rows)
                if f.cols:
                    sizes.setdefault(f.cols, f.x.cols)
            else:
                sizes.setdefault(f.label, f.u.rows)
    return sizes


def to_matrix(indexed, rows, cols, sizes=None, local_vjp=None):
    """The matrix whose (rows, cols) entries the indexed sum gives (a column if cols is None)."""
    sizes = dict(_sizes(indexed), **(sizes or {}))
    out = [_term(t, rows, cols, sizes, local_vjp) for t in indexed.terms]
    return algebra.add(*out)


def _term(term, rows, cols, sizes, local_vjp):
    extra = term.free() - {rows, cols}
    if extra:
        raise ParseError(f"the index {sorted(extra)[0]} is neither summed nor on the left-hand side")
    factors, scalars, whole = [], [], []
    for f in term.factors:
        if isinstance(f, LocalGrad):
            factors.append(f)
        elif not f.labels:
            if f.x.shape == (ONE, ONE):
                scalars.append(f.x)
            else:
                whole.append(f.x)
        else:
            factors.append(_oriented(f))
    factors = _merged(factors)
    for label in sorted(term.summed):
        factors, result = _contract(factors, label, sizes, local_vjp)
        if result is not None:
            whole.append(result)
        factors = _merged(factors)
    for f in [f for f in factors if isinstance(f, Factor) and not f.labels]:
        factors.remove(f)                     # a sum that left no index: Σ_j x_j per row, 1ᵀ v
        (scalars if f.x.shape == (ONE, ONE) else whole).append(f.x)
    return _assemble(term, factors, scalars, whole, rows, cols, sizes)


def _oriented(f):
    """A vector as a column labelled on its rows; a matrix as it is."""
    if f.rows is None and f.cols and f.x.rows == 1:
        return Factor(algebra.transpose(f.x), f.cols, None)
    if f.rows and f.cols is None and f.x.cols != 1:
        raise ParseError(f"one index on the matrix {f.x}: write both, as W_{{ij}}")
    if f.rows and f.rows == f.cols:
        raise ParseError(f"the same index twice on {f.x} (a trace or a diagonal)")
    return f


def _key(f):
    return (f.rows, f.cols) if isinstance(f, Factor) else None


def _merged(factors):
    """Factors with the same labels (or transposed labels) multiply element-wise."""
    groups = {}
    order = []
    for f in factors:
        if isinstance(f, Factor) and f.cols and (f.cols, f.rows) in groups:
            f = Factor(algebra.transpose(f.x), f.cols, f.rows)
        key = _key(f)
        if key is None:
            order.append(f)
            continue
        if key in groups:
            groups[key] = Factor(algebra.had(groups[key].x, f.x), *key)
        else:
            groups[key] = f
            order.append(key)
    return [groups[k] if isinstance(k, tuple) else k for k in order]


def _contract(factors, label, sizes, local_vjp):
    """Σ over one label: a matrix product, a sum of entries, or a vector–Jacobian product.
    Returns the factors left and, for Σ_i g_i ∇_W u_i, the whole matrix it gives."""
    using = [f for f in factors if label in f.labels]
    rest = [f for f in factors if label not in f.labels]
    grads = [f for f in using if isinstance(f, LocalGrad)]
    vector = next((f.x for f in using if isinstance(f, Factor) and f.cols is None), None)
    matrices = [f for f in using if isinstance(f, Factor) and f.cols is not None]
    if grads:
        if len(grads) > 1 or matrices or local_vjp is None:
            raise ParseError(f"Σ over {label} of this product is not understood")
        g = vector if vector is not None else Ones(sizes[label], 1)
        return rest, local_vjp(grads[0].u, grads[0].wrt, g)
    if not matrices:                          # Σ_k v_k = 1ᵀ v
        return rest + [Factor(algebra.matmul(Ones(1, vector.rows), vector))], None
    if len(matrices) > 2:
        raise ParseError(f"the index {label} is summed over three matrices")
    a = matrices[0]
    if a.rows == label:                       # label as a's column index
        a = Factor(algebra.transpose(a.x), a.cols, a.rows)
    if len(matrices) == 1:                    # Σ_k A_{jk} v_k = (A v)_j; Σ_k A_{jk} = (A 1)_j
        v = vector if vector is not None else Ones(a.x.cols, 1)
        return rest + [Factor(algebra.matmul(a.x, v), a.rows, None)], None
    b = matrices[1]
    if b.cols == label:
        b = Factor(algebra.transpose(b.x), b.cols, b.rows)
    if a.rows == b.cols:
        raise ParseError(f"Σ over {label} leaves the index {a.rows} twice (a diagonal)")
    left = a.x if vector is None else algebra.had(a.x, algebra.matmul(Ones(a.x.rows, 1), algebra.transpose(vector)))
    return rest + [Factor(algebra.matmul(left, b.x), a.rows, b.cols)], None


def _assemble(term, factors, scalars, whole, rows, cols, sizes):
    row_vecs = [f.x for f in factors if f.rows == rows and f.cols is None and rows]
    col_vecs = [f.x for f in factors if f.rows == cols and f.cols is None and cols]
    mats = [f.x if f.rows == rows else algebra.transpose(f.x) for f in factors if f.cols is not None]
    if whole:
        if factors or len(whole) > 1 or rows:
            raise ParseError("a whole matrix multiplied entry by entry")
        out = whole[0]
    elif cols is None:
        out = algebra.had(*row_vecs) if row_vecs else Ones(sizes.get(rows, ONE) if rows else ONE, 1)
    elif mats:
        out = algebra.had(*mats)
        if row_vecs:
            out = algebra.had(out, algebra.spread(algebra.had(*row_vecs), out.cols))
        if col_vecs:
            out = algebra.had(out, algebra.matmul(Ones(out.rows, 1), algebra.transpose(algebra.had(*col_vecs))))
    else:
        left = algebra.had(*row_vecs) if row_vecs else Ones(sizes[rows], 1)
        right = algebra.had(*col_vecs) if col_vecs else Ones(sizes[cols], 1)
        out = algebra.matmul(left, algebra.transpose(right))
    for s in scalars:
        out = algebra.smul(s, out)
    out = algebra.scale(term.coef, out)
    for fn in term.wraps:
        out = fn(out)
    return out
