"""A symgrad expression as one line of NumPy code: one ``_print_<Op>`` per node class.

Three contexts: ``step`` (inside the loop over an axis, at the loop index ``_t``), ``all``
(every step of an axis at once) and ``static`` (no step). How a time-indexed array is
indexed depends on how it is stored (``Storage``): padded by the lag on both sides,
unpadded, a two-slot rolling buffer, or a per-step temporary without a step axis.
"""
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..algebra import LEAVES, free_axes, scale, split_coef
from ..functions import lookup
from ..graph import reads_heads
from ..ops import (Add, Fn, Had, HeadSum, LayerNorm, MatMul, RowSoftmax, RowStd, Softmax, Stack,
                   StepRow, TimeSum, Transpose)
from ..symbols import T, Cotangent, Delta, Ones, Seq, Sym, step_variable

PADDED, PLAIN, ROLLING, TEMP = "padded", "plain", "rolling", "temp"
_CONDITION = NumPyPrinter({"fully_qualified_modules": True})   # SymPy's own 0 and 1, unshadowed


class Code(NumPyPrinter):
    """Prints expressions for one context; ``storage`` maps an array's code name (``h``,
    ``δh``) to its storage kind (default: padded); ``heads`` is the number of heads (a size)."""

    def __init__(self, lag, mode, lengths=None, storage=None, heads=None):
        super().__init__({"fully_qualified_modules": True})
        self.lag, self.mode, self.heads = lag, mode, heads
        # axis → (runtime variable, length symbol); a model without steps has none
        self.lengths = {"t": ("T_", T)} if lengths is None else lengths
        self.storage = storage or {}
        self.compact = set()     # ids of repeated rows/columns that broadcasting may repeat

    def derived(self, mode):
        return Code(self.lag, mode, self.lengths, self.storage, self.heads)

    def code(self, e, parent=None):
        s = self._print(e)
        simple = isinstance(e, LEAVES + (Transpose, Fn, Softmax, RowSoftmax, LayerNorm, RowStd,
                                         MatMul, TimeSum, HeadSum, Stack, StepRow))
        return s if simple or parent is None else "(" + s + ")"

    def index(self, name, time, axis):
        """The index of an array stored as ``name`` at ``time`` on ``axis``, in this context."""
        kind = self.storage.get(name, PADDED)
        k = time - step_variable(axis)
        if k.is_Integer:
            k = int(k)
            if kind == TEMP:
                assert k == 0 and self.mode == "step", f"{name} is a per-step temporary"
                return ""
            if self.mode == "step":
                at = f"_t{k:+d}" if k else "_t"
                return {PADDED: f"[{at}]", ROLLING: f"[({at}) % 2]" if k else "[_t % 2]",
                        PLAIN: f"[{at}{-self.lag:+d}]" if self.lag else f"[{at}]"}[kind]
            start = self.lag + k if kind == PADDED else k
            assert kind != ROLLING, f"{name} is a rolling buffer, read at one step only"
            return f"[{start}:{start}+{self.lengths[axis][0]}]" if kind == PADDED or k else ""
        runtime = {length: sp.Symbol(var) for var, length in self.lengths.values()}
        padded = (time + self.lag - 1).xreplace(runtime)   # the step T+1 is index T_+1
        return {PADDED: f"[{sp.sstr(padded)}]", ROLLING: f"[({sp.sstr(padded)}) % 2]",
                PLAIN: f"[{sp.sstr(padded - self.lag)}]"}[kind]

    def _print_Symbol(self, e):
        """A size; a time axis' length is a variable at run time (T_ for T)."""
        return next((var for var, length in self.lengths.values() if e == length), e.name)

    def step(self):
        """The step the loop index ``_t`` stands for (a padded array's step 0 is at index lag − 1)."""
        return "_t" if self.lag == 1 else f"_t - {self.lag - 1}"

    def _print_Sym(self, e):
        return e.name

    def _print_Seq(self, e):
        return e.name + self.index(e.name, e.time, e.axis_name)

    def _print_Delta(self, e):
        var = e.var
        name = "δ" + var.name
        return name if not hasattr(var, "time") else name + self.index(name, var.time, var.axis_name)

    def _print_Cotangent(self, e):
        var = e.var
        name = "Δ" + var.name
        return name if not hasattr(var, "time") else name + self.index(name, var.time, var.axis_name)

    def _print_Ones(self, e):
        return f"np.ones(({self.dim(e.rows)}, {self.dim(e.cols)}), dtype=DTYPE)"

    def _print_Zero(self, e):
        if isinstance(e, sp.Integer):     # SymPy's own zero shares the class name
            return "0"
        return f"np.zeros(({self.dim(e.rows)}, {self.dim(e.cols)}), dtype=DTYPE)"

    def dim(self, d):
        return super()._print(d).replace("numpy.", "np.")

    def _print_Add(self, e):
        self.broadcast(e.args)
        out = []
        for i, a in enumerate(e.args):
            c, core = split_coef(a)
            negative = i > 0 and c.could_extract_minus_sign()
            c = -c if negative else c
            if isinstance(core, Ones):
                body = self.coef(c)
            else:       # a − (b + c) keeps its parentheses
                term = scale(c, core)
                body = self.code(term, e) if negative and isinstance(term, Add) else self._print(term)
            out.append((" - " if negative else " + " if i else "") + body)
        return "".join(out)

    def coef(self, c):
        """A scalar as a Python float, so it never changes the arrays' dtype (a NumPy float64
        scalar would turn a float32 product into float64)."""
        if c.is_Number:
            return repr(float(c))
        return "float(" + super()._print(c).replace("numpy.", "np.") + ")"

    def _print_Scale(self, e):
        if e.coef == -1:
            return "-" + self.code(e.x, e)
        if isinstance(e.x, MatMul) and not any(isinstance(f, Ones) for f in e.x.args):
            return f"_scaled({self._print(e.x)}, {self.coef(e.coef)})"   # the product's own array
        return self.coef(e.coef) + " * " + self.code(e.x, e)

    def broadcast(self, operands):
        """Operands of an element-wise sum or product: where one of them has the full shape,
        a row or column repeated by ones (rowsum(X) 1ᵀ, 1 b) is left to NumPy's broadcasting
        instead of being built in full."""
        spreads = [a for a in operands if _spread(split_coef(a)[1])]
        if len(spreads) < len(operands):
            self.compact.update(id(split_coef(a)[1]) for a in spreads)

    def _print_MatMul(self, e):
        """Left to right; a product with ones is a sum or a broadcast, never a real product."""
        first, rest = e.args[0], e.args[1:]
        compact = id(e) in self.compact
        if isinstance(first, Ones):   # 1_r 1ᵀ X: column sums, repeated over r rows
            out = self.code(rest[0], e) if first.cols == 1 and rest[0].rows == 1 \
                else f"np.sum({self._print(rest[0])}, axis=-2, keepdims=True)"
            if first.rows != 1 and not compact:
                out = f"({self._print_Ones(Ones(first.rows, 1))} * {out})"
            rest = rest[1:]
        else:
            out = self.code(first, e)
        for f in rest:
            if isinstance(f, Ones):   # X 1 1ᵀ_c: row sums, repeated over c columns
                out = f"np.sum({out}, axis=-1, keepdims=True)"
                if f.cols != 1 and not compact:
                    out = f"({out} * {self._print_Ones(Ones(1, f.cols))})"
            else:
                out = f"_mm({out}, {self.code(f, e)})"
        return out

    def _print_Had(self, e):
        self.broadcast(e.args)
        return " * ".join(self.code(f, e) for f in e.args)

    def _print_ScalarMul(self, e):
        return self.code(e.s, e) + " * " + self.code(e.x, e)

    def _print_Transpose(self, e):
        return "_T(" + self._print(e.args[0]) + ")"

    def _print_Fn(self, e):
        entry = lookup(e.impl)
        if e.order and entry.numpy_prime:
            return entry.numpy_prime.format(x=self._print(e.x))
        if e.order:
            from ..algebra import fn
            return self.code(entry.deriv(fn(e.name, e.impl, e.x), e.x), e)
        return entry.numpy.format(x=self._print(e.x))

    def _print_EPow(self, e):
        if e.p == -1:
            return "1.0 / " + self.code(e.x, e)
        return self.code(e.x, e) + f" ** {float(e.p) if not e.p.is_integer else int(e.p)}"

    def _print_RowSoftmax(self, e):
        return "_softmax_rows(" + self._print(e.x) + ")"

    def _print_LayerNorm(self, e):
        return f"_layernorm({self._print(e.x)}, {self.coef(e.eps)})"

    def _print_RowStd(self, e):
        return f"_rowstd({self._print(e.x)}, {self.coef(e.eps)})"

    def _print_Softmax(self, e):
        return "_softmax(" + self._print(e.x) + ")"

    def _print_TimeSum(self, e):
        if e.axis not in free_axes(e.x):    # the same at every step: the number of steps times it
            return f"({self.lengths[e.axis][0]} * {self.code(e.x, e)})"
        return "np.sum(" + self.derived("all")._print(e.x) + ", axis=0)"

    def _print_Stack(self, e):
        return "_stack(" + self.derived("all")._print(e.x) + ")"

    def _print_StepRow(self, e):
        rows = "_step_rows(" + self._print(e.g) + ")"
        return rows + (f"[_t - {self.lag}]" if self.mode == "step" else "")

    def _print_HeadSum(self, e):
        if not reads_heads(e.x):     # the same for every head: the number of heads times it
            return f"({self.dim(self.heads)} * {self.code(e.x, e)})"
        return "np.sum(" + self._print(e.x) + ", axis=-3, keepdims=True)"

    def _print_Indicator(self, e):
        """[P] X: P as a function of the step, weighing X at this step (step) or at all (all)."""
        axis = next(a for a in self.lengths if step_variable(a) in e.cond.free_symbols)
        runtime = {length: sp.Symbol(var) for var, length in self.lengths.values()}
        holds = f"lambda {axis}: " + _CONDITION.doprint(e.cond.xreplace(runtime)).replace("numpy.", "np.")
        steps = self.step() if self.mode == "step" else f"np.arange(1, {self.lengths[axis][0]} + 1)"
        return f"_iverson({holds}, {steps}) * " + self.code(e.x, e)

    # -- in place ---------------------------------------------------------------------
    def accumulate(self, target, terms):
        """Lines adding each term to ``target`` in place."""
        lines = []
        for term in terms:
            c, core = split_coef(term)
            if isinstance(core, Ones):
                lines.append(_update(target, "+", self.coef(c)))
            elif c.could_extract_minus_sign():
                lines.append(_update(target, "-", self._print(scale(-c, core))))
            else:
                lines.append(_update(target, "+", self._print(term)))
        return lines

    def into(self, target, e):
        """Lines computing e into the existing array ``target`` (a slot of a buffer), with no
        temporary for its outermost operations: a sum term by term (+=), a Hadamard product
        factor by factor (*=), tanh and σ through ``out=``. Anything else is one assignment."""
        if isinstance(e, Add):
            first, *rest = e.args
            c, core = split_coef(first)
            if not _varies(first):
                return [f"{target}[...] = {self._print(e)}"]
            if c == 1 and isinstance(core, LEAVES) and rest and _varies(rest[0]):
                c2, core2 = split_coef(rest[0])
                op = "subtract" if c2.could_extract_minus_sign() else "add"
                second = scale(-c2, core2) if op == "subtract" else rest[0]
                lines = [f"np.{op}({self.code(core, e)}, {self.code(second, e)}, out={target})"]
                rest = rest[1:]
            else:
                lines = self.into(target, core)
                if c != 1:
                    lines.append(_update(target, "*", self.coef(c)))
            return lines + self.accumulate(target, rest)
        if isinstance(e, Had):
            a, b, *rest = e.args
            return [f"np.multiply({self.code(a, e)}, {self.code(b, e)}, out={target})"] + \
                [_update(target, "*", self._print(f)) for f in rest]
        if isinstance(e, Fn) and not e.order and e.impl == "tanh":
            return [f"np.tanh({self._print(e.x)}, out={target})"]
        if isinstance(e, Fn) and not e.order and e.impl == "sigma":     # σ(x) = (1 + tanh(x/2))/2
            return [f"np.multiply({self.code(e.x, e)}, 0.5, out={target})", f"np.tanh({target}, out={target})",
                    _update(target, "*", "0.5"), _update(target, "+", "0.5")]
        return [f"{target}[...] = {self._print(e)}"]


def _update(target, op, operand):
    """target op= operand, in place. A slot of a buffer (``c[_t]``) goes through out=: an
    augmented assignment to a subscript would write the result back onto itself, one more
    pass over the data."""
    if "[" not in target:
        return f"{target} {op}= {operand}"
    ufunc = {"+": "add", "-": "subtract", "*": "multiply"}[op]
    return f"np.{ufunc}({target}, {operand}, out={target})"


def _spread(e):
    """A matrix product that only repeats a row or a column with ones (1 b, rowsum(X) 1ᵀ)."""
    return isinstance(e, MatMul) and (
        (isinstance(e.args[0], Ones) and e.args[0].rows != 1)
        or (isinstance(e.args[-1], Ones) and e.args[-1].cols != 1))


def _varies(term):
    """A term that holds an array (not only a constant such as 1)."""
    return bool(term.atoms(Sym, Seq, Delta, Cotangent))
