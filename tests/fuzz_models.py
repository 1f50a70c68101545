"""Random models written with the public DSL, for the fuzzer in test_fuzz.py.

The strategy ``recipes()`` draws a *recipe*: plain data naming the dimensions, the
declarations (inputs, targets, masks, parameters, states forward and reverse, on one or
two time axes, per head) and the equations, each an expression tree over the whole op
set. ``build(recipe)`` makes the Model with symgrad.dsl; ``source(recipe)`` prints the
same model as a model file, so a failing example is a file to run and a regression test
to paste. Both read one table of operations, ``OPS``.

What keeps every drawn model well defined, so that a failure is the engine's:
- log, division and fractional powers only take values bounded away from zero by
  construction (σ(tanh(·)), softmax(tanh(·)), exp(tanh(·)), 1 + e²); exp only takes a
  bounded argument;
- every state is squashed (tanh, σ, softmax or a gated mix of its previous value), so a
  recurrence over many steps stays bounded;
- masks only shift the scores of a row softmax over positions;
- reads follow the DSL's rules: a per-step node reads earlier nodes of its own axis at
  the same step and states at their lag; the equations of one axis run in two phases, so
  a recurrence never reads both earlier and later steps of itself; a static node reads
  per-step values only through Σₜ or a stack.
"""
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction

from hypothesis import strategies as st

from symgrad import dsl

ACTIVATIONS = ("tanh", "sigma", "relu", "gelu", "g")
SQUASH = ("tanh", "sigma")

# op → (build from the built children and the op's constant args, source template)
OPS = {
    "add": (lambda a, b: a + b, "({0} + {1})"),
    "sub": (lambda a, b: a - b, "({0} - {1})"),
    "had": (lambda a, b: a * b, "({0} * {1})"),
    "div": (lambda a, b: a / b, "({0} / {1})"),
    "matmul": (lambda a, b: a @ b, "({0} @ {1})"),
    "T": (lambda a: a.T, "{0}.T"),
    "one_minus": (lambda a: 1 - a, "(1 - {0})"),
    "scale": (lambda a, c: c * a, "({1!r} * {0})"),
    "pow": (lambda a, p: a ** p, "({0} ** {1!r})"),
    "tanh": (dsl.tanh, "tanh({0})"),
    "sigma": (dsl.sigma, "sigma({0})"),
    "relu": (dsl.relu, "relu({0})"),
    "gelu": (dsl.gelu, "gelu({0})"),
    "g": (dsl.activation("g", "tanh"), "g({0})"),
    "exp": (dsl.exp, "exp({0})"),
    "log": (dsl.log, "log({0})"),
    "softmax": (dsl.softmax, "softmax({0})"),
    "softmax_rows": (dsl.softmax_rows, "softmax_rows({0})"),
    "layernorm": (dsl.layernorm, "layernorm({0})"),
    "rowstd": (dsl.rowstd, "rowstd({0})"),
    "rowsum": (dsl.rowsum, "rowsum({0})"),
    "sum_all": (dsl.sum_all, "sum_all({0})"),
    "sum_t": (dsl.sum_t, "sum_t({0})"),
    "sum_heads": (dsl.sum_heads, "sum_heads({0})"),
    "xent": (dsl.cross_entropy, "cross_entropy({0}, {1})"),
    "sqerr": (dsl.squared_error, "squared_error({0}, {1})"),
}


@dataclass
class Decl:
    """A declared symbol: kind input | target | onehot | mask | causal | param | state."""
    kind: str
    name: str
    rows: object            # a dimension name or 1
    cols: object = 1
    axis: str | None = None  # the time axis of a per-step symbol
    reverse: bool = False
    per_head: bool = False
    phase: int = 1           # which of its axis' two phases a state belongs to


@dataclass
class Eq:
    name: str
    expr: tuple
    axis: str | None = None
    phase: int = 1
    per_head: bool = False
    shape: tuple = (1, 1)


@dataclass
class Recipe:
    kind: str                # vector | positions | heads | sequence | two-axes
    dims: list
    decls: list = field(default_factory=list)
    eqs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    loss: str | None = None

    @property
    def sequence(self):
        return self.kind in ("sequence", "two-axes")

    @property
    def length_dim(self):
        """The dimension the fuzzer varies over 1, 2, n + 3: the steps, or the positions."""
        return "T"

    def __repr__(self):
        return source(self)


# -- drawing ------------------------------------------------------------------------

@dataclass
class _Ctx:
    """Where an expression is read: its time axis (None: static), phase, and heads."""
    axis: str | None = None
    phase: int = 2
    per_head: bool = False
    summed: bool = False     # inside Σ over the steps: no read at another step


class _Draw:
    """Draws one recipe; every choice goes through hypothesis, so it shrinks."""

    def __init__(self, draw, recipe, max_depth):
        self.draw, self.r, self.max_depth = draw, recipe, max_depth
        self.count = 0
        self.first_direction = {}

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def chance(self, p):
        return self.draw(st.floats(0, 1)) < p

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def feature_dim(self):
        return self.pick([d for d in self.r.dims if d not in ("T", "T_x")])

    # -- leaves ---------------------------------------------------------------------
    def readable(self, shape, ctx):
        """(expr, …) of declared or defined symbols of this shape that ctx may read."""
        out = []
        for d in self.r.decls:
            if (d.rows, d.cols) != shape or d.kind in ("mask", "causal", "heads") \
                    or d.per_head and not ctx.per_head:
                continue
            if d.kind == "state":
                if d.axis == ctx.axis and d.phase <= ctx.phase and not ctx.summed:
                    out.append(("sym", d.name, 1 if d.reverse else -1))
            elif d.axis == ctx.axis or d.axis is None:
                out.append(("sym", d.name, 0))
        for e in self.r.eqs:
            if e.shape == shape and (not e.per_head or ctx.per_head) and (
                    e.axis is None or e.axis == ctx.axis and e.phase <= ctx.phase):
                out.append(("sym", e.name, 0))
        return out

    def reads_steps(self, expr):
        """Does expr read a per-step symbol outside a sum over the steps?"""
        op, *args = expr
        if op == "sym":
            per_step = [d for d in self.r.decls if d.name == args[0] and d.axis] \
                + [e for e in self.r.eqs if e.name == args[0] and e.axis]
            return bool(per_step)
        return op != "sum_t" and any(self.reads_steps(a) for a in args if isinstance(a, tuple))

    def param(self, shape, ctx):
        per_head = ctx.per_head and self.chance(0.6)
        name = self.fresh("P" if per_head else "W")
        self.r.decls.append(Decl("param", name, *shape, per_head=per_head))
        return ("sym", name, 0)

    def leaf(self, shape, ctx):
        known = self.readable(shape, ctx)
        choice = self.draw(st.integers(0, len(known) + 1))
        if choice < len(known):
            return known[choice]
        if choice == len(known):
            return self.param(shape, ctx)
        return ("scale", ("ones", *shape), self.pick([Fraction(1, 2), 2, -1, 3]))   # a constant

    # -- expressions ----------------------------------------------------------------
    def expr(self, shape, ctx, depth):
        if depth <= 0 or self.chance(0.25):
            return self.leaf(shape, ctx)
        rows, cols = shape
        ops = ["add", "sub", "had", "matmul", "matmul", "T", "fn", "scale", "one_minus", "div",
               "pow", "exp", "log"]
        if cols == 1 and rows != 1:
            ops += ["softmax", "rowsum", "rowstd"]
        if cols != 1:
            ops += ["softmax_rows", "layernorm"]
        if rows != 1:
            ops += ["broadcast"]
        if shape == (1, 1):
            ops += ["sum_all"]
        if self.r.sequence:
            ops += ["sum_t", "sum_t"] if ctx.axis is None else ["sum_t"]
        if self.r.kind == "heads" and not ctx.per_head:
            ops += ["sum_heads", "sum_heads"]
        if ctx.axis is None and self.r.kind == "two-axes" and cols != 1 and rows == "T_x":
            ops += ["stack"]
        op = self.pick(ops)
        sub = lambda s=shape, c=ctx: self.expr(s, c, depth - 1)  # noqa: E731
        if op in ("add", "sub", "had"):
            return (op, sub(), sub())
        if op == "matmul":
            inner = self.pick(self.r.dims + [1])
            return ("matmul", sub((rows, inner)), sub((inner, cols)))
        if op == "T":
            return ("T", sub((cols, rows)))
        if op == "fn":
            return (self.pick(ACTIVATIONS), sub())
        if op == "scale":
            return ("scale", sub(), self.pick([Fraction(1, 2), 2, -1, Fraction(-3, 2)]))
        if op == "one_minus":
            return ("one_minus", sub())
        if op == "div":
            return ("div", sub(), self.positive(shape, ctx, depth - 1))
        if op == "pow":
            if self.chance(0.5):
                return ("pow", sub(), 2)
            return ("pow", self.positive(shape, ctx, depth - 1), self.pick([Fraction(1, 2), -1, Fraction(3, 2)]))
        if op == "exp":
            return ("exp", (self.pick(SQUASH), sub()))
        if op == "log":
            return ("log", self.positive(shape, ctx, depth - 1))
        if op in ("softmax", "layernorm"):
            return (op, sub())
        if op == "softmax_rows":
            return ("softmax_rows", self.scores(shape, ctx, depth - 1))
        if op in ("rowsum", "rowstd"):
            width = self.pick([d for d in self.r.dims if d != 1])
            return (op, sub((rows, width)))
        if op == "broadcast":
            return ("matmul", ("ones", rows, 1), sub((1, cols)))
        if op == "sum_all":
            return ("sum_all", sub((self.pick(self.r.dims + [1]), self.pick(self.r.dims + [1]))))
        if op == "sum_t":   # inside a per-step equation, a sum of inputs only: nothing it feeds
            axis = self.pick(["t", "j"] if self.r.kind == "two-axes" else ["t"])
            return ("sum_t", sub(shape, _Ctx(axis, 2 if ctx.axis is None else 0, summed=True)))
        if op == "sum_heads":
            return ("sum_heads", sub(shape, _Ctx(None, per_head=True)))
        return self.stack(shape, ctx, depth)

    def positive(self, shape, ctx, depth):
        """An expression whose every entry is bounded away from 0 for any value of its leaves
        (σ or softmax of a tanh, exp of a tanh, 1 + e²), so log and division stay finite."""
        kind = self.pick(["sigma", "one_plus_square", "exp"] + (["softmax"] if shape[1] == 1 and shape[0] != 1 else []))
        inner = self.expr(shape, ctx, depth)
        if kind == "one_plus_square":
            return ("add", ("ones", *shape), ("pow", inner, 2))
        return (kind, ("tanh", inner))

    def scores(self, shape, ctx, depth):
        """The argument of a row softmax: over positions, shifted by a mask now and then."""
        s = self.expr(shape, ctx, depth)
        if shape == ("T", "T") and self.chance(0.4):
            kind = self.pick(["mask", "causal"])
            name = self.fresh("M")
            self.r.decls.append(Decl(kind, name, "T", "T"))
            s = ("add", s, ("sym", name, 0))
        return s

    def stack(self, shape, ctx, depth):
        """The steps of a column on axis j as the rows of a (T_x, n) matrix."""
        n = shape[1]
        columns = [e for e in self.r.eqs if e.axis == "j" and e.shape == (n, 1)]
        if not columns:
            return self.leaf(shape, ctx)
        return ("stack", self.pick(columns).name)

    # -- a state's squashed definition ------------------------------------------------
    def state_definition(self, d, ctx, depth):
        shape = (d.rows, d.cols)
        lag = ("sym", d.name, 1 if d.reverse else -1)
        e = self.expr(shape, ctx, depth)
        x = next(i for i in self.r.decls if i.kind == "input" and i.axis == d.axis)
        step = lag if d.cols != 1 or self.chance(0.7) else ("sym", x.name, 0)   # mostly the recurrence
        e = ("add", ("matmul", self.param((d.rows, step[1] == d.name and d.rows or x.rows), ctx), step), e)
        form = self.pick(["tanh", "sigma", "gated"] + (["softmax"] if d.cols == 1 else []))
        if form == "gated":     # z ⊙ s_prev + (1 − z) ⊙ tanh(e), as a GRU mixes
            z = ("sigma", self.expr(shape, ctx, depth))
            return ("add", ("had", z, lag), ("had", ("one_minus", z), ("tanh", e)))
        return (form, e)


def _static_shape(g, kind):
    """The shape of a node without steps: mostly a column; a matrix over positions, now and
    then a matrix of features, or (T_x, n) for the rows of a stacked encoder."""
    if kind in ("positions", "heads"):
        return g.pick(["T"] + g.r.dims), (1 if g.chance(0.3) else g.pick(g.r.dims))
    if kind == "two-axes" and g.chance(0.4):
        return "T_x", g.feature_dim()
    return g.feature_dim(), (g.feature_dim() if g.chance(0.2) else 1)


@st.composite
def recipes(draw, max_depth=3):
    """A random model: a kind, dimensions, declarations and equations (see the module doc)."""
    kind = draw(st.sampled_from(["vector", "positions", "heads", "sequence", "sequence", "two-axes"]))
    features = draw(st.lists(st.sampled_from(["m", "n", "k"]), min_size=1, max_size=3, unique=True))
    dims = features + (["T"] if kind in ("positions", "heads") else []) + (["T_x"] if kind == "two-axes" else [])
    r = Recipe(kind, dims)
    g = _Draw(draw, r, max_depth)
    axes = {"sequence": ["t"], "two-axes": ["j", "t"]}.get(kind, [None])
    for axis in axes:
        rows = "T" if kind in ("positions", "heads") else g.feature_dim()
        cols = g.feature_dim() if kind in ("positions", "heads") else 1
        r.decls.append(Decl("input", g.fresh("x"), rows, cols, axis))
        if axis is not None:
            forward_first = g.chance(0.6)
            for _ in range(draw(st.integers(0, 3))):
                reverse = g.chance(0.35)
                cols = 1 if g.chance(0.85) else g.feature_dim()
                r.decls.append(Decl("state", g.fresh("s"), g.feature_dim(), cols, axis, reverse,
                                    phase=1 if reverse != forward_first else 2))
    if kind == "heads":
        r.decls.append(Decl("heads", "h", 1))
    equations(g, r, axes, max_depth)
    sized(g, r)
    return r


def sized(g, r):
    """A parameter of every size no array has yet, so that the compiled code can read it."""
    have = {x for d in r.decls if d.kind in ("param", "input", "target", "onehot") for x in (d.rows, d.cols)}
    for dim in r.dims:
        if dim not in have and dim != "T_x":
            r.decls.append(Decl("param", g.fresh("W"), dim))
    if r.kind == "heads" and not any(d.per_head for d in r.decls):
        r.decls.append(Decl("param", g.fresh("P"), 1, per_head=True))


def equations(g, r, axes, depth):
    """Nodes, state definitions, static nodes, then the loss and the outputs."""
    states = [d for d in r.decls if d.kind == "state"]
    slots = ["node"] * g.draw(st.integers(0, 3)) + ["state:" + s.name for s in states] \
        + ["static"] * g.draw(st.integers(0, 2 if r.sequence else 1))
    slots = g.draw(st.permutations(slots))
    for slot in slots:
        if slot.startswith("state:"):
            d = next(s for s in states if s.name == slot[6:])
            ctx = _Ctx(d.axis, d.phase)
            r.eqs.append(Eq(d.name, g.state_definition(d, ctx, depth), d.axis, d.phase, shape=(d.rows, d.cols)))
            continue
        axis = None if slot == "static" else g.pick(axes)
        ctx = _Ctx(axis, g.pick([1, 2]) if axis else 2, r.kind == "heads" and g.chance(0.6))
        shape = (g.feature_dim(), 1) if axis else _static_shape(g, r.kind)
        expr = g.expr(shape, ctx, depth)
        axis = axis if g.reads_steps(expr) else None   # what reads no step is a static node
        r.eqs.append(Eq(g.fresh("a"), expr, axis, ctx.phase, ctx.per_head, shape))
    if not r.eqs or g.chance(0.6):
        r.eqs.append(Eq("L", loss(g, r, axes, depth), shape=(1, 1)))
        r.loss = "L"
    candidates = [e.name for e in r.eqs if e.name != r.loss]
    if candidates and (r.loss is None or g.chance(0.3)):
        r.outputs = g.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))


def loss(g, r, axes, depth):
    """A scalar: Σₜ of a per-step term (cross-entropy, squared error, a sum), maybe plus a
    parameter-only term (a weight penalty)."""
    axis = g.pick(axes)
    ctx = _Ctx(axis, 2, summed=axis is not None)
    form = g.pick(["xent", "sqerr", "sum_all"])
    rows = g.feature_dim()
    shape = (rows, 1) if r.kind not in ("positions", "heads") else ("T", rows)
    if form == "sum_all":
        term = ("sum_all", g.expr(shape, ctx, depth))
    else:
        name = g.fresh("y")
        r.decls.append(Decl("onehot" if form == "xent" else "target", name, *shape, axis))
        guess = g.expr(shape, ctx, depth)
        guess = ("softmax" if shape[1] == 1 else "softmax_rows", guess) if form == "xent" else guess
        if form == "xent" and shape[1] != 1:
            term = ("scale", ("sum_all", ("had", ("sym", name, 0), ("log", guess))), -1)
        else:
            term = (form, guess, ("sym", name, 0))
    total = ("sum_t", term) if axis else term
    if g.chance(0.3):
        w = g.param((g.feature_dim(), g.feature_dim()), _Ctx())
        total = ("add", total, ("scale", ("sum_all", ("had", w, w)), Fraction(1, 10)))
    return total


# -- building and printing -------------------------------------------------------------

def build(recipe):
    """The Model the recipe describes, made with the public DSL."""
    M = dsl.Model("fuzz", sequence=recipe.sequence)
    env = {}
    sizes = [d for d in recipe.dims if d not in ("T_x", "T") or not recipe.sequence]
    for name, symbol in zip(sizes, _as_tuple(M.dims(" ".join(sizes)))):
        env[name] = symbol
    axes = {"t": None}
    if recipe.kind == "two-axes":
        axes["j"] = M.axis("j", "T_x")
        env["T_x"] = M.axes["j"]
    dim = lambda d: 1 if d == 1 else env[d]  # noqa: E731
    for d in recipe.decls:
        if d.kind == "heads":
            M.heads("h")
            continue
        with M.along(axes[d.axis]) if d.axis == "j" else nullcontext():
            if d.kind == "state":
                env[d.name] = M.state(d.name, dim(d.rows), dim(d.cols), reverse=d.reverse)
            elif d.kind == "param":
                env[d.name] = M.param(d.name, dim(d.rows), dim(d.cols), per_head=d.per_head)
            elif d.kind == "causal":
                env[d.name] = M.causal_mask(d.name, dim(d.rows))
            elif d.kind == "mask":
                env[d.name] = M.mask(d.name, dim(d.rows), dim(d.cols))
            elif d.kind in ("target", "onehot"):
                env[d.name] = M.target(d.name, dim(d.rows), dim(d.cols), onehot=d.kind == "onehot")
            else:
                env[d.name] = M.input(d.name, dim(d.rows), dim(d.cols))
    for e in recipe.eqs:
        rhs = _build(e.expr, env, dim, M)
        env[e.name] = M.define(env[e.name] if e.name in env else e.name, rhs)
    if recipe.loss:
        M.loss(env[recipe.loss])
    if recipe.outputs:
        M.output(*(env[o] for o in recipe.outputs))
    return M


def _build(expr, env, dim, M):
    op, *args = expr
    if op == "sym":
        sym = env[args[0]]
        return sym.prev if args[1] == -1 else sym.next if args[1] == 1 else sym
    if op == "ones":
        return dsl.ones(dim(args[0]), dim(args[1]))
    if op == "stack":
        return M.stack(env[args[0]])
    fn = OPS[op][0]
    children = [_build(a, env, dim, M) for a in args if isinstance(a, tuple)]
    constants = [a for a in args if not isinstance(a, tuple)]
    return fn(*children, *constants)


def source(recipe):
    """The recipe as a model file (for failure reports and regression tests)."""
    lines = ["from fractions import Fraction", "", "from symgrad.dsl import *", "",
             'g = activation("g", "tanh")', "", "",
             "def build():", f"    M = Model('fuzz', sequence={recipe.sequence})"]
    sizes = [d for d in recipe.dims if d not in ("T_x", "T") or not recipe.sequence]
    lines.append(f"    {', '.join(sizes)} = M.dims({' '.join(sizes)!r})")
    if recipe.kind == "two-axes":
        lines.append("    j = M.axis('j', 'T_x')")
        lines.append("    T_x = M.axes['j']")
    calls = {"state": "state", "param": "param", "causal": "causal_mask", "mask": "mask",
             "target": "target", "onehot": "target", "input": "input"}
    for d in recipe.decls:
        if d.kind == "heads":
            lines.append("    M.heads('h')")
            continue
        shape = f"{d.rows}" if d.kind == "causal" else f"{d.rows}, {d.cols}"
        extra = (", reverse=True" if d.reverse else "") + (", per_head=True" if d.per_head else "") \
            + (", onehot=True" if d.kind == "onehot" else "")
        call = f"{d.name} = M.{calls[d.kind]}({d.name!r}, {shape}{extra})"
        lines.append(f"    with M.along(j):\n        {call}" if d.axis == "j" else f"    {call}")
    for e in recipe.eqs:
        target = e.name if any(d.name == e.name for d in recipe.decls) else repr(e.name)
        lines.append(f"    {e.name} = M.define({target}, {_source(e.expr)})")
    if recipe.loss:
        lines.append(f"    M.loss({recipe.loss})")
    if recipe.outputs:
        lines.append(f"    M.output({', '.join(recipe.outputs)})")
    lines.append("    return M")
    return "\n".join(lines) + "\n"


def _source(expr):
    op, *args = expr
    if op == "sym":
        return args[0] + {-1: ".prev", 1: ".next", 0: ""}[args[1]]
    if op == "ones":
        return f"ones({args[0]}, {args[1]})"
    if op == "stack":
        return f"M.stack({args[0]})"
    children = [_source(a) for a in args if isinstance(a, tuple)]
    constants = [a for a in args if not isinstance(a, tuple)]
    return OPS[op][1].format(*children, *constants)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)

