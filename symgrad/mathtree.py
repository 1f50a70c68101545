"""The syntax tree of an equation as written, before it means anything.

Both readers (plain text and LaTeX) build these nodes; ``interpret.py`` gives them their
meaning in a model: which name is which symbol, which subscript is a step, an entry index
or part of a name, which product is a matrix product. ``pos`` is the index of the node's
first character in the equation text, for error messages.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Part:
    """One comma-separated part of a sub- or superscript: its raw text (spaces removed,
    LaTeX commands kept) and, where it parses as an expression, its tree."""
    raw: str
    tree: object = None
    pos: int = 0


@dataclass(frozen=True)
class Script:
    raw: str
    parts: tuple = ()
    pos: int = 0


@dataclass(frozen=True)
class Num(Node):
    value: object = None          # a SymPy Rational


@dataclass(frozen=True)
class Name(Node):
    """A letter, Greek letter or word with its accent and scripts: z̄_t, W_z^{(2→)}, h^{(t)}.
    ``step`` is a bracketed step (h[t+1]); ``word`` marks a multi-letter name (dzbar, W_z)."""
    stem: str = ""
    accent: str | None = None
    sub: Script | None = None
    sup: Script | None = None
    step: Script | None = None
    word: bool = False


@dataclass(frozen=True)
class Ones(Node):
    """\\mathbf{1}, 𝟏: ones, sized by what surrounds it."""


@dataclass(frozen=True)
class StepTerm:
    """One side of a condition on steps as written: a step (t, t+1, T, 1) or, with
    ``modulus``, a step modulo a number (t mod 2)."""
    raw: str
    modulus: str | None = None
    pos: int = 0


@dataclass(frozen=True)
class Iverson(Node):
    """[P], Iverson's bracket: 1 at the steps where ``left relation right`` holds, 0 at the
    others ([t = T], [t mod 2 ≠ 0], 𝟙[t = 1], ⟦t = T⟧, or ``kronecker``'s δ_{tT})."""
    left: StepTerm | None = None
    relation: str = "="
    right: StepTerm | None = None
    kronecker: bool = False


@dataclass(frozen=True)
class Indicator(Node):
    """\\mathbf{1}_{i=y}: 1 where the index equals the target class. Written with a step
    (\\mathbf{1}_{t=T}) it is Iverson's bracket: ``condition`` is that reading."""
    index: str = ""
    target: object = None
    condition: Iverson | None = None


@dataclass(frozen=True)
class Apply(Node):
    """f(x), f'(x), f^2(x), diag(v), rowsum(X), stack_j(x), row_j(X) ... ``sub`` is a
    subscript written on the function (stack_j)."""
    name: str = ""
    arg: object = None
    order: int = 0
    power: object = None
    sub: Script | None = None


@dataclass(frozen=True)
class Frac(Node):
    num: object = None
    den: object = None


@dataclass(frozen=True)
class Sqrt(Node):
    x: object = None


@dataclass(frozen=True)
class Neg(Node):
    x: object = None


@dataclass(frozen=True)
class Sum(Node):
    """Terms with their signs: a + b − c is ((+1, a), (+1, b), (−1, c))."""
    terms: tuple = ()


@dataclass(frozen=True)
class Product(Node):
    """Factors with the operator before each (the first has None): juxt, cdot, times,
    star, matmul (@), odot, oslash, div."""
    factors: tuple = ()


@dataclass(frozen=True)
class Power(Node):
    base: object = None
    exp: Script | None = None


@dataclass(frozen=True)
class Transpose(Node):
    x: object = None


@dataclass(frozen=True)
class Entry(Node):
    """(x)_i, (G)_{j,:}: entries or a row of an expression."""
    x: object = None
    sub: Script | None = None


@dataclass(frozen=True)
class Sigma(Node):
    """Σ over ``index`` from ``lower`` to ``upper`` (raw scripts, None if not written)."""
    index: str = ""
    lower: Part | None = None
    upper: Part | None = None
    body: object = None


@dataclass(frozen=True)
class StepProduct(Node):
    """∏_{t=k+1}^{T} ∂hₜ/∂hₜ₋₁: a product over steps, a closed form over time, its body not kept."""


@dataclass(frozen=True)
class Block(Node):
    """A block matrix ([A B; C D], \\begin{pmatrix}…\\end{pmatrix}), its blocks not read."""


@dataclass(frozen=True)
class Deriv(Node):
    """A derivative as written: δx, dx, ∇_x L, ∂L/∂x, dL/dx (``top`` the loss or None), or
    ∂u/∂v, ∇_W u_i (``top`` a quantity of the model)."""
    top: object = None
    bottom: object = None


@dataclass(frozen=True)
class Cot(Node):
    """Δ, Δ_t, Δy_t: the delta from the layer above (``target`` the output, if named)."""
    target: object = None
    sub: Script | None = None
    sup: Script | None = None


@dataclass(frozen=True)
class Angle(Node):
    """⟨a, b⟩ = a bᵀ."""
    a: object = None
    b: object = None


@dataclass(frozen=True)
class Chain:
    """An equation as written: its sides (lhs, then each right-hand side) with where each
    starts; a side that did not parse is a ParseError."""
    sides: list = field(default_factory=list)
    starts: list = field(default_factory=list)
    relation: str = "="


def subtrees(node):
    """Every node of a syntax tree, the root first (a ParseError or a leaf yields nothing more)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Node):
            yield n
            stack.extend(getattr(n, f) for f in n.__dataclass_fields__ if f != "pos")
        elif isinstance(n, (tuple, list)):
            stack.extend(n)
