"""Model: ordered defining equations ``node := expression`` over shaped symbols.

The DSL is plain Python on symbols the model hands out::

    M = Model("rnn", sequence=True)
    m, n, k = M.dims("m n k")
    x = M.input("x", m); U = M.param("U", n, m); ...
    h = M.state("h", n)                       # defined below, read at t-1 above
    a = M.define("a", b + W @ h.prev + U @ x)
    M.define(h, tanh(a))

``build()`` checks the definitions: every symbol declared, no node defined twice, no
future reads, no cycle within a step, every state defined. Shapes are checked as the
expressions are built.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import sympy as sp

from . import algebra
from .errors import ModelError, ShapeError
from .ops import HeadSum, Indicator, Stack, TimeSum
from .symbols import T, Delta, Seq, Sym, step_variable
from .tensor import Tensor

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED = {"t", "T", "np", "params", "inputs", "cotangents", "grads", "name", "B", "T_", "B_"}


@dataclass
class Definition:
    """One defining equation; ``show_delta`` forces (True) or forbids (False) its δ line."""
    symbol: Tensor
    rhs: Tensor
    show_delta: bool | None = None

    @property
    def name(self):
        return self.symbol.name


@dataclass
class Model:
    """A model's symbols and defining equations, with where it comes from."""
    name: str
    sequence: bool = False
    title: str = ""
    source: str = ""
    style: str = "derivative"
    options: dict = field(default_factory=dict)
    dims_: dict = field(default_factory=dict)
    declared: dict = field(default_factory=dict)
    definitions: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    loss_name: str | None = None
    direction: dict = field(default_factory=dict)
    head_dim: object = None
    axes: dict = field(default_factory=dict)     # time axis name → its length (t → T)
    current_axis: str = "t"
    _built: bool = False

    def __post_init__(self):
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", str(self.name)):
            raise ModelError(f"model name {self.name!r} must be letters, digits, - and _ "
                             "(it names files and generated modules)")
        if not isinstance(self.sequence, bool):
            raise ModelError(f"model {self.name}: sequence is True or False, not {self.sequence!r}")
        if self.sequence:
            self.axes["t"] = T

    # -- declarations -------------------------------------------------------
    def dims(self, names):
        """Size symbols, e.g. ``m, n, k = M.dims("m n k")``."""
        if not isinstance(names, str) or not names.split():
            raise ModelError(f"model {self.name}: dims takes names in one string, e.g. \"m n k\", "
                             f"not {names!r}")
        out = []
        for name in names.split():
            self._check_name(name, "size")
            if name in self.dims_:
                raise ModelError(f"size {name} is declared twice")
            self.dims_[name] = sp.Symbol(name, integer=True, positive=True)
            out.append(self.dims_[name])
        return tuple(out) if len(out) != 1 else out[0]

    def heads(self, name):
        """The number of attention heads, a size; per-head symbols carry the index i."""
        if self.sequence:
            raise ModelError(f"model {self.name}: heads are for models whose rows are positions")
        self.head_dim = self.dims(name)
        return self.head_dim

    def axis(self, name, length):
        """A second time axis (an encoder's steps j = 1…T_x); returns its step variable."""
        if not self.sequence:
            raise ModelError(f"model {self.name}: time axes are for sequence models")
        if name in self.axes or name in RESERVED - {"t"}:
            raise ModelError(f"axis {name!r} exists already or is reserved")
        self.axes[name] = self.dims(length)
        return step_variable(name)

    @contextmanager
    def along(self, axis):
        """Inputs and states declared inside ``with M.along(j):`` run over axis j."""
        if str(axis) not in self.axes or not isinstance(axis, sp.Symbol):
            raise ModelError(f"model {self.name}: along takes an axis M.axis returned, not {axis!r}")
        previous, self.current_axis = self.current_axis, str(axis)
        try:
            yield
        finally:
            self.current_axis = previous

    def stack(self, x):
        """The steps of x as the rows of a matrix (H = [h_1 … h_T]ᵀ), for attention over them."""
        if not isinstance(x, Seq):
            raise ModelError(f"stack takes a time-indexed node, not {x}")
        return algebra.stack(x, x.axis_name, self.axes[x.axis_name])

    def param(self, name, rows, cols=1, per_head=False):
        """A parameter; ``per_head`` gives one per attention head (Wᵢ^Q)."""
        if per_head and self.head_dim is None:
            raise ModelError(f"parameter {name}: declare the heads first, M.heads(\"h\")")
        return self._declare(Sym(name, *self._checked(name, rows, cols, "param"), "param", per_head))

    def input(self, name, rows, cols=1, per_step=True):
        """Data with a gradient; in a sequence model one per step, or with ``per_step=False``
        one per example (the image a caption is generated from)."""
        return self._declare(self._leaf(name, rows, cols, "input", per_step))

    def mask(self, name, rows, cols):
        """An additive mask given with the data (0 to keep, −∞ to hide), e.g. for padding."""
        return self._declare(self._leaf(name, rows, cols, "mask"))

    def causal_mask(self, name, size):
        """The additive causal mask: 0 on and below the diagonal, −∞ above it."""
        return self._declare(Sym(name, *self._checked(name, size, size, "mask"), "causal"))

    def target(self, name, rows, cols=1, onehot=False, per_step=True):
        """Data the loss compares with; it gets no gradient. One-hot targets sum to one.
        ``per_step=False``: one target per example (the label of a whole sequence)."""
        return self._declare(self._leaf(name, rows, cols, "onehot" if onehot else "target", per_step))

    def last(self, x):
        """x at the last step of its axis (h_T): what a classifier of the whole sequence reads."""
        return self.at_step(x, self.axes.get(getattr(x, "axis_name", None)))

    def at_step(self, x, step):
        """x at a fixed step (an int from 1, or the axis length T); read it in an equation
        without steps, which then depends on that one step only."""
        if not isinstance(x, Seq) or x.offset is None:
            raise ModelError(f"at_step takes a time-indexed symbol read at the current step, not {x}")
        if isinstance(step, int) and not isinstance(step, bool) and step < 1:
            raise ModelError(f"at_step({x}, {step}): steps are counted from 1")
        if not isinstance(step, (int, sp.Basic)) or isinstance(step, bool):
            raise ModelError(f"at_step({x}, {step!r}): a step is an int or the axis length")
        return Seq(x.name, step, x.rows, x.cols, x.role, x.axis_name)

    def only_at(self, step, expr, axis="t"):
        """[t = step] expr: a term present at one step only (an input fed at the first step)."""
        if axis not in self.axes:
            raise ModelError(f"only_at: the model has no time axis {axis!r}")
        if isinstance(step, bool) or not isinstance(step, (int, sp.Basic)) or \
                isinstance(step, int) and step < 1:
            raise ModelError(f"only_at({step!r}, …): a step is an int from 1 or the axis length")
        if not isinstance(expr, Tensor):
            raise ModelError(f"only_at({step}, {expr!r}): the term is not an expression")
        return algebra.indicator(expr, sp.Eq(step_variable(axis), step))

    def state(self, name, rows, cols=1, reverse=False):
        """A recurrent node, declared before its definition so earlier equations can read it.

        A state is read at t-1 (``h.prev``); a ``reverse`` state runs backwards in time and
        is read at t+1 (``h.next``), as the backward half of a bidirectional layer."""
        if not self.sequence:
            raise ModelError(f"state {name}: a feed-forward model has no recurrent state")
        sym = self._declare(Seq(name, step_variable(self.current_axis),
                                *self._checked(name, rows, cols, "state"), "node", self.current_axis))
        self.direction[name] = 1 if reverse else -1
        return sym

    # -- equations ----------------------------------------------------------
    def define(self, node, rhs, show_delta=None):
        """``node := rhs``; ``node`` is a name or a declared state. Returns the node symbol."""
        if not isinstance(rhs, Tensor):
            raise ModelError(f"equation {node}: right-hand side is not an expression: {rhs!r}")
        name = node if isinstance(node, str) else getattr(node, "name", None)
        if name is None:
            raise ModelError(f"equation {node}: the left-hand side must be a name or a state")
        if any(d.name == name for d in self.definitions):
            raise ModelError(f"equation {name}: {name} is defined twice")
        stepped = [leaf for leaf in _seq_leaves(rhs, inside_sum=False) if leaf.offset is not None]
        axes = {leaf.axis_name for leaf in stepped} | _indicator_axes(rhs, self.axes)
        fixed = [leaf for leaf in _seq_leaves(rhs, inside_sum=False) if leaf.offset is None]
        if axes and fixed:
            raise ModelError(f"equation {name}: reads {fixed[0]} at a fixed step inside an equation "
                             f"of every step; define a node without steps for it first")
        if len(axes) > 1:
            raise ModelError(f"equation {name}: reads the steps of two time axes "
                             f"({', '.join(sorted(axes))}); sum or stack one of them")
        axis = axes.pop() if axes else None
        sym = (Sym(name, *rhs.shape, "node", per_head=reads_heads(rhs)) if axis is None
               else Seq(name, step_variable(axis), *rhs.shape, "node", axis))
        if isinstance(node, str):
            self._check_name(name, "node")
            if name in self.declared:
                raise ModelError(f"equation {name}: {name} is already declared as an input or parameter")
            self.declared[name] = sym
        else:
            declared = self.declared.get(name)
            if declared is None or declared.role != "node":
                raise ModelError(f"equation {name}: {name} is not a declared state")
            if declared.shape != sym.shape:
                raise ShapeError(f"equation {name}: state {name} is declared "
                                 f"{algebra.shape_str(declared.shape)} but defined as "
                                 f"{algebra.shape_str(sym.shape)}")
            if declared != sym:
                raise ModelError(f"equation {name}: state {name} must be defined per step")
        self.definitions.append(Definition(sym, rhs, show_delta))
        return sym

    def output(self, *symbols):
        """Outputs that receive a delta Δ from outside (a layer above)."""
        self.outputs.extend(self._node(s, "output").name for s in symbols)

    def loss(self, symbol):
        """The scalar loss; its delta is 1."""
        if self._node(symbol, "loss").shape != (1, 1):
            raise ShapeError(f"loss {symbol.name} must be a scalar (1×1), "
                             f"not {algebra.shape_str(symbol.shape)}")
        self.loss_name = symbol.name
        self.outputs.append(symbol.name)

    # -- queries --------------------------------------------------------------
    def definition(self, name):
        return next(d for d in self.definitions if d.name == name)

    def symbols(self, role):
        return [s for s in self.declared.values() if s.role == role]

    @property
    def params(self):
        return self.symbols("param")

    @property
    def inputs(self):
        return self.symbols("input")

    @property
    def targets(self):
        """Data with no gradient: targets and masks."""
        return self.symbols("target") + self.symbols("onehot") + self.symbols("mask")

    @property
    def states(self):
        """Nodes read at another step: name → the offset they are read at (-1, or +1 if reverse)."""
        lagged = {leaf.name for d in self.definitions for leaf in _seq_leaves(d.rhs) if leaf.offset}
        return {name: self.direction[name] for name in self.direction if name in lagged}

    @property
    def max_lag(self):
        return 1 if self.states else 0

    # -- validation -------------------------------------------------------------
    def build(self):
        """Check the definitions and put them in dependency order; returns self."""
        if self._built:
            return self
        defined = {d.name for d in self.definitions}
        for d in self.definitions:
            self._check_leaves(d, defined)
        undefined = [s.name for s in self.declared.values()
                     if s.role == "node" and s.name not in defined]
        if undefined:
            raise ModelError(f"state {undefined[0]} is declared but never defined")
        if not self.outputs:
            raise ModelError(f"model {self.name}: no output or loss declared")
        self.definitions = self._ordered()
        self._built = True
        return self

    def _check_leaves(self, d, defined):
        for leaf in d.rhs.atoms(Sym, Seq):
            known = self.declared.get(leaf.name)
            if known is None:
                raise ModelError(f"equation {d.name}: unknown symbol {leaf.name}")
            same = (known == leaf if isinstance(leaf, Sym)
                    else known.role == leaf.role and known.shape == leaf.shape)
            if not same:
                raise ModelError(f"equation {d.name}: {leaf.name} does not match its declaration")
            if known.role == "node" and leaf.name not in defined:
                raise ModelError(f"equation {d.name}: {leaf.name} is never defined")
            if isinstance(leaf, Seq):
                if leaf.offset is None and not self._is_step(leaf):
                    raise ModelError(f"equation {d.name}: {leaf} is neither read relative to "
                                     f"{leaf.axis_name} nor at a step 1…{self.axes[leaf.axis_name]}; "
                                     "read the last step with M.last(h)")
                if leaf.offset and known.role != "node":
                    raise ModelError(f"equation {d.name}: input {leaf} is read at another "
                                     "step; read a state instead")
                want = self.direction.get(leaf.name)
                if leaf.offset and want is None:
                    raise ModelError(f"equation {d.name}: {leaf} reads another step, but "
                                     f"{leaf.name} is not declared with M.state")
                if leaf.offset and leaf.offset != want:
                    hint = ("; a state that runs backwards is declared with reverse=True"
                            if leaf.offset == 1 else "")
                    raise ModelError(f"equation {d.name}: {leaf} reads a "
                                     f"{'later' if leaf.offset > 0 else 'different'} step, but state "
                                     f"{leaf.name} is read at t{want:+d}{hint}")
        if d.rhs.atoms(Delta):
            raise ModelError(f"equation {d.name}: a defining equation cannot contain a delta")
        for total in d.rhs.atoms(TimeSum):
            lagged = [leaf for leaf in _seq_leaves(total.x) if leaf.axis_name == total.axis and leaf.offset]
            if lagged:   # its first or last term would read before the first step or after the last
                raise ModelError(f"equation {d.name}: a sum over the steps reads {lagged[0]}, another "
                                 "step; define the summand as a node and sum that node")

    def _ordered(self):
        """Definitions in dependency order within a step (reads at t-1 do not count)."""
        by_name = {d.name: d for d in self.definitions}
        deps = {d.name: {leaf.name for leaf in _current_reads(d.rhs) if leaf.name in by_name}
                for d in self.definitions}
        order, done, visiting = [], set(), []

        def visit(name):
            if name in done:
                return
            if name in visiting:
                cycle = visiting[visiting.index(name):] + [name]
                raise ModelError(f"equation {name}: cycle within one time step "
                                 f"({' → '.join(cycle)}); a recurrence must read the previous step")
            visiting.append(name)
            for dep in sorted(deps[name], key=[d.name for d in self.definitions].index):
                visit(dep)
            visiting.pop()
            done.add(name)
            order.append(by_name[name])

        for d in self.definitions:
            visit(d.name)
        return order

    def _is_step(self, leaf):
        """Is a fixed time one of the axis' steps: a positive int, or its length minus an int?"""
        back = self.axes[leaf.axis_name] - leaf.time
        return (leaf.time.is_Integer and leaf.time >= 1) or (back.is_Integer and back >= 0)

    def _node(self, symbol, what):
        """A node this model defined, as M.define or M.state returned it."""
        if not isinstance(symbol, (Sym, Seq)) or symbol.role != "node" \
                or self.declared.get(symbol.name, None) is None:
            raise ModelError(f"model {self.name}: {what} takes a node M.define returned, not {symbol!r}")
        return symbol

    def _checked(self, name, rows, cols, what):
        """(rows, cols), each one of this model's sizes or a whole number ≥ 1, for a good name."""
        self._check_name(name, what)
        for d in (rows, cols):
            fits = d in self.dims_.values() if isinstance(d, sp.Symbol) else \
                isinstance(d, (int, sp.Integer)) and not isinstance(d, bool) and d >= 1
            if not fits:
                hint = " (the symbol M.dims returns, not its name)" if isinstance(d, str) else ""
                raise ModelError(f"{name}: a size is one of the model's sizes or a whole number ≥ 1, "
                                 f"not {d!r}{hint}")
        return rows, cols

    def _leaf(self, name, rows, cols, role, per_step=True):
        rows, cols = self._checked(name, rows, cols, role)
        return (Seq(name, step_variable(self.current_axis), rows, cols, role, self.current_axis)
                if self.sequence and per_step else Sym(name, rows, cols, role))

    def _declare(self, sym):
        self._check_name(sym.name, sym.role)
        if sym.name in self.declared:
            raise ModelError(f"{sym.name} is declared twice")
        self.declared[sym.name] = sym
        return sym

    def _check_name(self, name, what):
        if not isinstance(name, str):
            raise ModelError(f"model {self.name}: a {what} name is a string, not {name!r}")
        if name == "T" and what == "size" and not self.sequence:
            return  # a feed-forward model may call its positions T (attention)
        if not _IDENT.match(name) or name in RESERVED:
            raise ModelError(f"{what} name {name!r} must be an identifier "
                             f"(letters, digits, _) and not one of {sorted(RESERVED)}")
        if name in self.dims_ and what != "size" or what == "size" and name in self.declared:
            raise ModelError(f"name {name!r} is used for both a size and a symbol")


def _seq_leaves(expr, inside_sum=True):
    """Time-indexed leaves of expr; with inside_sum=False only those outside Σₜ and stacks."""
    if isinstance(expr, Seq):
        return [expr]
    if isinstance(expr, (TimeSum, Stack)) and not inside_sum:
        return []
    return [leaf for a in expr.args if isinstance(a, Tensor)
            for leaf in _seq_leaves(a, inside_sum)]


def reads_heads(expr):
    """Does expr read a per-head symbol outside a sum over the heads?"""
    if isinstance(expr, Sym):
        return expr.per_head
    if isinstance(expr, HeadSum):
        return False
    return any(reads_heads(a) for a in expr.args if isinstance(a, Tensor))


def _current_reads(rhs):
    """Symbols an equation reads at the current step or at a fixed one (what orders equations
    within a step: a read of h_T comes after every step of h)."""
    return [leaf for leaf in rhs.atoms(Sym, Seq)
            if isinstance(leaf, Sym) or leaf.offset in (0, None)]


def _indicator_axes(expr, axes):
    """The time axes whose step variable a term [P] X of expr tests."""
    tested = set().union(*(e.cond.free_symbols for e in expr.atoms(Indicator)))
    return {name for name in axes if step_variable(name) in tested}
