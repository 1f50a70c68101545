"""How written products and sums combine matrices: by their shapes.

People write a product as juxtaposition, ``\\cdot``, ``*``, ``×``, ``\\odot`` or ``@``; the
shapes say which product is meant. Juxtaposition and ``\\cdot`` are the matrix product
where the shapes chain, a scalar factor where one side is 1×1, and the element-wise
product where two same-shaped vectors cannot chain (a guess, said in a note). ``*`` is
NumPy's element-wise product where the shapes agree. A sum or an element-wise product of
a matrix and a column (or a row) broadcasts it. A vector of ones (``\\mathbf{1}``) gets
its size from what it meets: its unknown sizes are placeholders, unified when it combines.
"""
import sympy as sp

from . import algebra
from .errors import ShapeError
from .read_errors import ParseError
from .render.printer import text
from .symbols import Ones
from .tensor import Tensor

ONE = sp.Integer(1)


def placeholder(kind="size"):
    """An open size; kind "any" marks the sizes of a number written where a matrix stands."""
    return sp.Dummy(kind)


def is_placeholder(d):
    return isinstance(d, sp.Dummy) and d.name in ("size", "any")


def _of_a_number(x):
    return all(isinstance(d, sp.Dummy) and d.name == "any" for d in x.shape)


def ones_column():
    return Ones(placeholder(), ONE)


def ones_row():
    return Ones(ONE, placeholder())


def ones_open():
    """Ones of any shape: a number c written where a matrix stands, as in tanh(c)."""
    return Ones(placeholder("any"), placeholder("any"))


def unify(pairs, *exprs):
    """The expressions with placeholder sizes replaced so each pair of sizes agrees."""
    mapping = {}
    for a, b in pairs:
        a, b = a.xreplace(mapping), b.xreplace(mapping)
        if a == b:
            continue
        if is_placeholder(a):
            mapping[a] = b
        elif is_placeholder(b):
            mapping[b] = a
    if not mapping:
        return exprs
    return tuple(algebra.rebuild(e.xreplace(mapping)) if isinstance(e, Tensor) else e.xreplace(mapping)
                 for e in exprs)


def settle(expr, shape):
    """expr with its remaining placeholder sizes taken from the shape it must have."""
    if not any(is_placeholder(d) for d in expr.shape) and not expr.atoms(Ones):
        return expr
    (expr,) = unify(zip(expr.shape, shape), expr)
    left = [d for d in expr.free_symbols if is_placeholder(d)] if isinstance(expr, Tensor) else []
    if left:
        raise ParseError("the size of a vector of ones (1) is not decided by what surrounds it")
    return expr


def scalar(x):
    return not isinstance(x, Tensor)


def broadcast(a, b, notes):
    """a and b brought to one shape: a column or a row (or a 1×1) repeated over a matrix.
    Ones of open size against a 1 stay open first (𝟏 ⊘ (𝟏 𝟏ᵀ) repeats the column)."""
    pairs = list(zip(a.shape, b.shape))
    for pairs in ([(x, y) for x, y in pairs if not _open_against_one(x, y)], pairs):
        a, b = unify(pairs, a, b)
        if a.shape == b.shape:
            return a, b
        for x, y, swap in ((a, b, False), (b, a, True)):
            spread = _spread(x, y, notes)
            if spread is not None:
                return (y, spread) if swap else (spread, y)
    raise ShapeError(f"operands of different shapes: {text(a)} is {algebra.shape_str(a.shape)}, "
                     f"{text(b)} is {algebra.shape_str(b.shape)}")


def _open_against_one(x, y):
    return (x == ONE and is_placeholder(y)) or (y == ONE and is_placeholder(x))


def _spread(small, big, notes):
    """small repeated to big's shape, if it is a column, a row or a 1×1 of it."""
    rows, cols = big.shape
    if small.shape == (rows, ONE) and cols != 1:
        notes.append(f"the column {text(small)} is repeated over the columns (as {text(small)} 1ᵀ)")
        return algebra.matmul(small, Ones(ONE, cols))
    if small.shape == (ONE, cols) and rows != 1:
        notes.append(f"the row {text(small)} is repeated on every row (as 1 {text(small)})")
        return algebra.matmul(Ones(rows, ONE), small)
    if small.shape == (ONE, ONE):
        return algebra.matmul(Ones(rows, ONE), small, Ones(ONE, cols))
    return None


def add(terms, notes):
    """A written sum: numbers stand for that number times ones; shapes broadcast."""
    tensors = [t for t in terms if not scalar(t)]
    if not tensors:
        return sum(terms, sp.Integer(0))
    first = tensors[0]
    for t in tensors[1:]:                 # the shape of the sum: the largest operand's
        first, _ = broadcast(first, t, [])
    shaped = []
    for t in terms:
        t = algebra.scale(t, Ones(*first.shape)) if scalar(t) else t
        first, t = broadcast(first, t, notes)
        shaped.append(t)
    # a later term may have sized a vector of ones an earlier one left open
    return algebra.add(*(unify(zip(t.shape, first.shape), t)[0] for t in shaped))


def hadamard(a, b, notes):
    if scalar(a) or scalar(b):
        return scale(a, b)
    a, b = broadcast(a, b, notes)
    return algebra.had(a, b)


def divide(a, b, notes):
    """a / b: a number divides, a matrix divides element-wise (a ⊘ b)."""
    if scalar(b):
        return a / b if scalar(a) else algebra.scale(ONE / b, a)
    if scalar(a):
        return algebra.scale(a, algebra.epow(b, -1))
    return hadamard(a, algebra.epow(b, -1), notes)


def scale(a, b):
    if scalar(a) and scalar(b):
        return a * b
    number, tensor = (a, b) if scalar(a) else (b, a)
    return algebra.scale(number, tensor)


def multiply(op, a, b, notes):
    """a op b for the written operators (juxt, cdot, times, star, matmul, odot, oslash, div)."""
    if op == "odot":
        return hadamard(a, b, notes)
    if op in ("oslash", "div"):
        return divide(a, b, notes)
    if scalar(a) or scalar(b):
        return scale(a, b)
    if op == "matmul":
        a, b = unify([(a.cols, b.rows)], a, b)
        return algebra.matmul(a, b)
    # a number's function is a number: (tanh(½)) s is tanh(½) times s; W tanh(½ 𝟏 𝟏ᵀ) chains
    for x, y in ((a, b), (b, a)):
        if _of_a_number(x) and not _of_a_number(y):
            (x,) = unify([(d, ONE) for d in x.shape], x)
            return algebra.smul(x, y)
    # a 1×1 factor scales before it chains: w 1 (w 1×1) is w times a column of ones of any size
    if a.shape == (ONE, ONE) and b.shape != (ONE, ONE):
        return algebra.smul(a, b)
    if b.shape == (ONE, ONE) and a.shape != (ONE, ONE):
        return algebra.smul(b, a)
    a, b = unify([(a.cols, b.rows)], a, b)
    if op == "star" and a.shape == b.shape:
        return algebra.had(a, b)
    if a.cols == b.rows:
        if op == "star":
            notes.append(f"* between {text(a)} and {text(b)} read as the matrix product (the shapes chain)")
        return algebra.matmul(a, b)
    if a.shape == b.shape and (a.cols == 1 or a.rows == 1):
        sign = {"juxt": "juxtaposition", "cdot": "·", "times": "×"}.get(op, op)
        notes.append(f"{sign} between the vectors {text(a)} and {text(b)} read as the element-wise "
                     "product ⊙ (a dot product would be a number)")
        return algebra.had(a, b)
    if _one_per_row(a, b) or _one_per_row(b, a):
        notes.append(f"{text(a)} {text(b)} read as an element-wise product, the "
                     f"{'column' if 1 in (a.cols, b.cols) else 'row'} repeated to the matrix's shape")
        return hadamard(a, b, notes)
    for x, y in ((a, b), (b, a)):     # (tanh(1/2 𝟏)) s: ones sized 1, a number times s
        if all(d == ONE or is_placeholder(d) for d in x.shape):
            (x,) = unify([(d, ONE) for d in x.shape], x)
            return algebra.smul(x, y)
    raise ShapeError(f"the product of {text(a)} ({algebra.shape_str(a.shape)}) and {text(b)} "
                     f"({algebra.shape_str(b.shape)}) does not chain")


def _one_per_row(small, big):
    """Is small one number per row (a column) or per column (a row) of the matrix big? Not for a
    square matrix: a vector beside one is a product in the wrong order far more often."""
    if big.rows == big.cols:
        return False
    return small.shape == (big.rows, ONE) and big.cols != 1 or small.shape == (ONE, big.cols) and big.rows != 1
