"""Derivation → a standalone NumPy module with ``forward`` and ``vjp``, batched.

Layout: a vector of the math is an array ``(…, n, 1)`` with leading batch axes
(``(B, n, 1)`` per step, ``(T, B, n, 1)`` for a whole sequence); a parameter keeps its
math shape. Sequences are stored padded by the largest lag K on both sides, so
``h_{t-1}`` at the first step is the initial state and ``δa_{T+1}`` is zero. The
recurrent deltas run in a loop over t; everything that is not recurrent (input
gradients, Σₜ parameter gradients) is one vectorized expression over all steps, and a
gradient Σₜ δ xᵀ is one matrix product over all T·B rows.
"""
import linecache
import types

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .algebra import LEAVES, add, free_axes, scale, split_coef
from . import validate
from .errors import InputError, ModelError
from .functions import lookup
from .ops import (Add, Fn, HeadSum, LayerNorm, MatMul, RowSoftmax, RowStd, Softmax, Stack, StepRow, TimeSum, Transpose)
from .symbols import T, Cotangent, Delta, Ones, Seq, Sym, step_variable

RUNTIME = '''
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


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
        axes = list(range(a.ndim - 2))
        return np.tensordot(a, b, axes=(axes + [a.ndim - 1], axes + [a.ndim - 2]))
    return _lead_sum(_mm(a, b), lead)


def _softmax(x):
    e = np.exp(x - x.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True)


def _softmax_rows(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rowstd(x, eps):
    return np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def _layernorm(x, eps):
    return (x - x.mean(axis=-1, keepdims=True)) / _rowstd(x, eps)


_GELU_C = np.sqrt(2.0 / np.pi)


def _gelu(x):
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def _gelu_prime(x):
    u = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + u) + 0.5 * x * (1.0 - u * u) * _GELU_C * (1.0 + 3 * 0.044715 * x ** 2)


def _causal(n):
    """The additive causal mask: 0 on and below the diagonal, −∞ above (no looking ahead)."""
    return np.triu(np.full((n, n), -np.inf), k=1)


def _stack(x):
    """The steps of a sequence (L, …, n, 1) as the rows of matrices (…, L, n)."""
    return np.moveaxis(x[..., 0], 0, -2)


def _step_rows(g):
    """Each row of matrices (…, L, n) back as a step's column (L, …, n, 1)."""
    return np.moveaxis(g, -2, 0)[..., None]


def _pad(x, k):
    """A sequence (T, …) with k zero steps before and after."""
    z = np.zeros((k,) + x.shape[1:])
    return np.concatenate([z, x, z]) if k else x
'''


class _Code(NumPyPrinter):
    """Prints a symgrad expression as NumPy code in one of three contexts:
    ``step`` (inside the loop over t, index ``s``), ``all`` (every step at once), ``static``."""

    def __init__(self, lag, mode, lengths=None, heads=None):
        super().__init__({"fully_qualified_modules": True})
        self.lag, self.mode, self.heads = lag, mode, heads
        self.lengths = {"t": ("T_", T)} if lengths is None else lengths   # axis → (runtime variable, length)

    def code(self, e, parent=None):
        s = self._print(e)
        simple = isinstance(e, LEAVES + (Transpose, Fn, Softmax, RowSoftmax, LayerNorm, RowStd,
                                         MatMul, TimeSum, HeadSum, Stack, StepRow))
        return s if simple or parent is None else "(" + s + ")"

    def _index(self, time, axis):
        k = time - step_variable(axis)
        if k.is_Integer:
            k = int(k)
            if self.mode == "step":
                return f"[_t{k:+d}]" if k else "[_t]"
            return f"[{self.lag + k}:{self.lag + k}+{self.lengths[axis][0]}]"
        runtime = {length: sp.Symbol(var) for var, length in self.lengths.values()}
        index = (time + self.lag - 1).xreplace(runtime)   # the step T+1 is index T_+1
        return f"[{sp.sstr(index)}]"

    def _print_Symbol(self, e):
        """A time axis' length is a variable at run time (T_ for T)."""
        return next((var for var, length in self.lengths.values() if e == length), e.name)

    def _print_Sym(self, e):
        return e.name

    def _print_Seq(self, e):
        return e.name + self._index(e.time, e.axis_name)

    def _print_Delta(self, e):
        return "δ" + self._print(e.var)

    def _print_Cotangent(self, e):
        return "Δ" + self._print(e.var)

    def _print_Ones(self, e):
        return f"np.ones(({self._dim(e.rows)}, {self._dim(e.cols)}))"

    def _print_Zero(self, e):
        return f"np.zeros(({self._dim(e.rows)}, {self._dim(e.cols)}))"

    def _dim(self, d):
        return super()._print(d).replace("numpy.", "np.")

    def _print_Add(self, e):
        out = []
        for i, a in enumerate(e.args):
            c, core = split_coef(a)
            negative = i > 0 and c.could_extract_minus_sign()
            c = -c if negative else c
            body = self._coef(c) if isinstance(core, Ones) else self.code(scale(c, core), e)
            out.append((" - " if negative else " + " if i else "") + body)
        return "".join(out)

    def _coef(self, c):
        if c.is_Number:
            return repr(float(c))
        return "(" + super()._print(c).replace("numpy.", "np.") + ")"

    def _print_Scale(self, e):
        if e.coef == -1:
            return "-" + self.code(e.x, e)
        return self._coef(e.coef) + " * " + self.code(e.x, e)

    def _print_MatMul(self, e):
        """Left to right; a product with ones is a sum or a broadcast, never a real product."""
        first, rest = e.args[0], e.args[1:]
        if isinstance(first, Ones):   # 1_r 1ᵀ X: column sums, repeated over r rows
            out = f"np.sum({self._print(rest[0])}, axis=-2, keepdims=True)"
            if first.rows != 1:
                out = f"(np.ones(({self._dim(first.rows)}, 1)) * {out})"
            rest = rest[1:]
        else:
            out = self.code(first, e)
        for f in rest:
            if isinstance(f, Ones):   # X 1 1ᵀ_c: row sums, repeated over c columns
                out = f"np.sum({out}, axis=-1, keepdims=True)"
                if f.cols != 1:
                    out = f"({out} * np.ones((1, {self._dim(f.cols)})))"
            else:
                out = f"_mm({out}, {self.code(f, e)})"
        return out

    def _print_Had(self, e):
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
            from .algebra import fn
            return self.code(entry.deriv(fn(e.name, e.impl, e.x), e.x), e)
        return entry.numpy.format(x=self._print(e.x))

    def _print_EPow(self, e):
        if e.p == -1:
            return "1.0 / " + self.code(e.x, e)
        return self.code(e.x, e) + f" ** {float(e.p) if not e.p.is_integer else int(e.p)}"

    def _print_RowSoftmax(self, e):
        return "_softmax_rows(" + self._print(e.x) + ")"

    def _print_LayerNorm(self, e):
        return f"_layernorm({self._print(e.x)}, {self._coef(e.eps)})"

    def _print_RowStd(self, e):
        return f"_rowstd({self._print(e.x)}, {self._coef(e.eps)})"

    def _print_Softmax(self, e):
        return "_softmax(" + self._print(e.x) + ")"

    def _print_TimeSum(self, e):
        if e.axis not in free_axes(e.x):   # the same at every step: the number of steps times it
            return f"({self.lengths[e.axis][0]} * {self.code(e.x, e)})"
        inner = _Code(self.lag, "all", self.lengths, self.heads)
        return "np.sum(" + inner._print(e.x) + ", axis=0)"

    def _print_Stack(self, e):
        return "_stack(" + _Code(self.lag, "all", self.lengths, self.heads)._print(e.x) + ")"

    def _print_StepRow(self, e):
        rows = "_step_rows(" + self._print(e.g) + ")"
        return rows + (f"[_t - {self.lag}]" if self.mode == "step" else "")

    def _print_HeadSum(self, e):
        if not any(s.per_head for s in e.x.atoms(Sym)):   # the same for every head: h times it
            return f"({self.heads} * {self.code(e.x, e)})"
        return "np.sum(" + self._print(e.x) + ", axis=-3, keepdims=True)"


def _user_dims(sym, heads=None):
    """The shape a user's array has: a vector, row or column, is 1-D; a 1×1 is a scalar;
    a per-head parameter has the heads first."""
    first = [heads] if heads is not None and isinstance(sym, Sym) and sym.per_head else []
    return first + [d for d in sym.shape if d != 1]


def _batched(e):
    return any(s.role not in ("param", "causal") for s in e.atoms(Sym, Seq)) or bool(e.atoms(Cotangent))


class _Writer:
    """Writes the module for one Derivation."""

    def __init__(self, d):
        self.d, self.m = d, d.model
        # the padding: the farthest step any equation reads (h′ of a pre-activation that reads
        # hₜ₊₁ can put a δ equation two steps away)
        self.lag = max([self.m.max_lag] + [abs(s.offset) for e in d.forward + d.backward
                                           for s in e.rhs.atoms(Seq) if s.offset is not None])
        self.seq = self.m.sequence
        self.lines = []
        # each time axis: the variable its length has at run time (T_ for t), and its symbol
        self.lengths = {a: ("T_" if a == "t" else str(n), n) for a, n in self.m.axes.items()}
        if not self.m.inputs + self.m.targets:
            raise ModelError(f"model {self.m.name}: the compiled code needs an input (the batch "
                             "size is read off the data)")
        if self.seq and not any(x.axis_name == "t" for x in self.m.inputs + self.m.targets):
            raise ModelError(f"model {self.m.name}: a sequence model needs an input on the axis t")
        readable = {str(d) for s in self.m.params + self.m.inputs + self.m.targets
                    for d in _user_dims(s, self.m.head_dim)} | {str(n) for a, n in self.m.axes.items() if a != "t"}
        unread = [d for d in self.m.dims_ if d not in readable]
        if unread:
            raise ModelError(f"model {self.m.name}: the size {unread[0]} is the size of no input or "
                             "parameter, so the compiled code cannot read it off the arrays")
        for name in self.m.states:
            if name + "0" in self.m.declared:
                raise ModelError(f"model {self.m.name}: {name}0 names both a symbol and "
                                 f"the initial state of {name}")

    def emit(self, line="", depth=1):
        self.lines.append("    " * depth + line if line else "")

    def printer(self, mode):
        return _Code(self.lag, mode, self.lengths, self.m.head_dim)

    def shape(self, sym):
        p = self.printer("static")
        return tuple(p._dim(x) for x in sym.shape)

    def lead(self, sym):
        """The leading axes a symbol's values have: (length of its axis, batch) or (batch,)."""
        return (self.lengths[sym.axis_name][0], "B_") if isinstance(sym, Seq) else ("B_",)

    # -- module parts -----------------------------------------------------------
    def module(self):
        m = self.m
        head = [f'"""Forward pass and vector-Jacobian product of the model {m.name!r}, generated by symgrad.',
                "",
                f"Source: {m.source}" if m.source else "",
                "Equations (column vectors; arrays are batched: a vector is (…, n, 1), a sequence",
                "(T, B, n); parameters keep their math shape, bias vectors are 1-D):", ""]
        head += ["    " + str(eq) for eq in self.d.forward] + [""]
        head += ["    " + str(eq) for eq in self.d.backward] + ['"""', "import numpy as np", ""]
        sig = self.signature()
        head += [f"{k} = {v!r}" for k, v in sig.items()] + [RUNTIME]
        self.lines = []
        self.dims_fn()
        self.init_fn()
        self.forward_fn()
        self.vjp_fn()
        return "\n".join(head + self.lines) + "\n"

    def signature(self):
        m = self.m
        lead = lambda s: (("T" if s.axis_name == "t" else str(m.axes[s.axis_name])), "B") \
            if isinstance(s, Seq) else ("B",)  # noqa: E731
        dims = lambda s: tuple(str(x) for x in _user_dims(s, m.head_dim))  # noqa: E731
        return {
            "SIZES": tuple(m.dims_),
            "PARAMS": {p.name: dims(p) for p in m.params},
            "INPUTS": {s.name: lead(s) + dims(s) for s in m.inputs + m.targets},
            "ONEHOT": tuple(s.name for s in m.targets if s.role == "onehot"),
            "MASKS": tuple(s.name for s in m.targets if s.role == "mask"),
            "INITIAL": {n + "0": ("B",) + dims(m.declared[n]) for n in m.states},
            "OUTPUTS": {o: lead(m.declared[o]) + (dims(m.declared[o]) if o != m.loss_name else ())
                        for o in m.outputs},
            "LOSS": m.loss_name,
        }

    def dims_fn(self):
        self.emit("", 0)
        self.emit("def _sizes(params, inputs):", 0)
        self.emit('"""The sizes, read off the arrays."""')
        self.emit("sizes = {}")
        for s in self.m.inputs + self.m.targets:
            if isinstance(s, Seq) and s.axis_name != "t":
                self.emit(f"sizes.setdefault({str(self.m.axes[s.axis_name])!r}, np.shape(inputs[{s.name!r}])[0])")
        for s in self.m.params + self.m.inputs + self.m.targets:
            src = "params" if s.role == "param" else "inputs"
            off = 0 if s.role == "param" else (2 if self.seq else 1)
            for i, d in enumerate(_user_dims(s, self.m.head_dim)):
                if isinstance(d, sp.Symbol):
                    self.emit(f"sizes.setdefault({str(d)!r}, np.shape({src}[{s.name!r}])[{off + i}])")
        self.emit("return sizes")

    def init_fn(self):
        self.emit("", 0)
        self.emit("def init_params(sizes, seed=0):", 0)
        self.emit('"""Random parameters: N(0, 1/fan_in) for matrices, N(0, 0.25) for vectors."""')
        self.emit("rng = np.random.default_rng(seed)")
        self.emit("params = {}")
        self.emit("for name, dims in PARAMS.items():")
        self.emit("shape = tuple(sizes[d] for d in dims)", 2)
        self.emit("scale = 1.0 / np.sqrt(shape[1]) if len(shape) == 2 else 0.5", 2)
        self.emit("params[name] = scale * rng.standard_normal(shape)", 2)
        self.emit("return params")

    def unpack(self):
        """Local variables for sizes, and every array in its math shape: parameters as
        (h,) r×c, data as (T, B) or (B, 1 head) r×c, sequences padded by the lag."""
        m, K = self.m, self.lag
        self.emit("_size = _sizes(params, inputs)")
        for d in m.dims_:
            self.emit(f"{d} = _size[{d!r}]")
        if self.seq:
            first = next(x.name for x in m.inputs + m.targets if x.axis_name == "t")
            self.emit(f"T_, B_ = np.shape(inputs[{first!r}])[:2]")
        else:
            self.emit(f"B_ = np.shape(inputs[{(m.inputs + m.targets)[0].name!r}])[0]")
        for p in m.params:
            self.emit(f"{p.name} = np.reshape(np.asarray(params[{p.name!r}], dtype=float), "
                      f"{self.internal(p)})")
        for x in m.inputs + m.targets:
            arr = f"np.reshape(np.asarray(inputs[{x.name!r}], dtype=float), {self.internal(x)})"
            self.emit(f"{x.name} = _pad({arr}, {K})" if self.seq else f"{x.name} = {arr}")
        for x in m.symbols("causal"):
            self.emit(f"{x.name} = _causal({self.shape(x)[0]})")

    def internal(self, sym, lead=None):
        """The code of the array shape a symbol has inside the generated functions."""
        if lead is None:
            lead = () if sym.role in ("param", "causal") else self.lead(sym)
        heads = ((str(self.m.head_dim),) if sym.per_head else ("1",)) \
            if self.m.head_dim is not None and (sym.role != "param" or sym.per_head) else ()
        return "(" + ", ".join(list(lead) + list(heads) + list(self.shape(sym))) + ",)"

    def forward_fn(self):
        m, K = self.m, self.lag
        self.emit("", 0)
        self.emit("def _forward_values(params, inputs):", 0)
        self.emit('"""Every node\'s value (sequences padded by the lag); also sizes and parameters."""')
        self.unpack()
        for d in m.definitions:
            if isinstance(d.symbol, Seq):
                r, c = self.shape(d.symbol)
                self.emit(f"{d.name} = np.zeros(({self.lead(d.symbol)[0]} + {2 * K}, B_, {r}, {c}))")
        for name, offset in m.states.items():
            sym = m.declared[name]
            r, c = self.shape(sym)
            boundary = f"{K - 1}" if offset < 0 else f"{self.lead(sym)[0]} + {K}"
            self.emit(f"if inputs.get({name + '0'!r}) is not None:")
            self.emit(f"{name}[{boundary}] = np.reshape(inputs[{name + '0'!r}], (B_, {r}, {c}))", 2)
        self.schedule([(d.symbol, d.rhs) for d in m.definitions], "")
        names = self.value_names()
        self.emit("return {" + ", ".join(f"{n!r}: {n}" for n in names) + (", 'T_': T_" if self.seq else "")
                  + ", 'B_': B_}")
        self.emit("", 0)
        self.emit("def forward(params, inputs):", 0)
        self.emit('"""The model\'s outputs for a batch."""')
        self.emit("_v = _forward_values(params, inputs)")
        if m.dims_:
            self.emit(", ".join(m.dims_) + ", = " + ", ".join(f"_v[{d!r}]" for d in m.dims_) + ",")
        self.emit("return {" + ", ".join(f"{o!r}: {self.output_value(o)}" for o in m.outputs) + "}")

    def schedule(self, eqs, prefix):
        """All equations (prefix "δ": the deltas) in dependency order: each recurrence (a set
        strongly connected through time) a loop over its axis in its own direction; any other
        per-step equation one vectorized expression over all steps; static ones as they are.
        A recurrent sum's terms that read nothing of their own recurrence are computed for all
        steps before its loop."""
        K = self.lag
        every, step, static = self.printer("all"), self.printer("step"), self.printer("static")
        arr = lambda sym: prefix + sym.name  # noqa: E731
        comment = lambda lhs, rhs: f"# {prefix}{lhs} = {rhs}" if prefix else f"# {lhs} = {rhs}"  # noqa: E731
        reads = {lhs.name: _step_reads(rhs, prefix) for lhs, rhs in eqs}
        for group, direction in _schedule([lhs.name for lhs, _ in eqs], reads):
            members = [(lhs, rhs) for lhs, rhs in eqs if lhs.name in group]
            if not direction:
                (lhs, rhs), = members
                self.emit(comment(lhs, rhs))
                if isinstance(lhs, Sym):
                    self.emit(f"{arr(lhs)} = {static.code(rhs)}")
                else:
                    self.emit(f"{arr(lhs)}[{K}:{K} + {self.lead(lhs)[0]}] = {every.code(rhs)}")
                continue
            rest = {}
            length = self.lead(members[0][0])[0]
            for lhs, rhs in members:
                terms = rhs.args if isinstance(rhs, Add) else (rhs,)
                fixed = [a for a in terms if not _step_reads(a, prefix) & _names_at_any_step(group)]
                if fixed and len(fixed) < len(terms):
                    rest[lhs.name] = add(*[a for a in terms if a not in fixed])
                    code = every.code(add(*fixed))
                    if not free_axes(add(*fixed)):   # the same at every step: repeat it over them
                        code = f"np.broadcast_to({code}, {self.internal(lhs, [length, 'B_'])})"
                    self.emit(f"_in_{arr(lhs)} = {code}")
            order = f"range({K}, {K} + {length})" if direction < 0 else f"reversed(range({K}, {K} + {length}))"
            self.emit(f"for _t in {order}:")
            for lhs, rhs in members:
                self.emit(comment(lhs, rhs), 2)
                code = (f"_in_{arr(lhs)}[_t - {K}] + {step._print(rest[lhs.name])}"
                        if lhs.name in rest else step.code(rhs))
                self.emit(f"{arr(lhs)}[_t] = {code}", 2)

    def value_names(self):
        """Every name the forward pass computes, in the order the vjp unpacks them."""
        m = self.m
        return (list(m.dims_) + [p.name for p in m.params] + [s.name for s in m.inputs + m.targets]
                + [s.name for s in m.symbols("causal")] + [d.name for d in m.definitions])

    def output_value(self, o):
        sym, K = self.m.declared[o], self.lag
        length = f"_v[{self.lead(sym)[0]!r}]" if isinstance(sym, Seq) else ""
        arr = f"_v[{o!r}]" + (f"[{K}:{K} + {length}]" if isinstance(sym, Seq) else "")
        lead = [length, "_v['B_']"] if isinstance(sym, Seq) else ["_v['B_']"]
        full = f"np.broadcast_to({arr}, {self.internal(sym, lead)})"   # the same for every example, if static
        return f"np.reshape({full}, ({', '.join(lead)},) + {self.user(sym)})"

    def user(self, sym):
        """The code of a symbol's user-facing trailing shape: vectors 1-D, scalars (), the
        heads first for a per-head node."""
        dims = [self.shape_of(d) for d in _user_dims(sym, self.m.head_dim)]
        return "(" + "".join(d + ", " for d in dims) + ")"

    def shape_of(self, d):
        return self.printer("static")._dim(d)

    def vjp_fn(self):
        m, d, K = self.m, self.d, self.lag
        self.emit("", 0)
        self.emit("def vjp(params, inputs, cotangents):", 0)
        self.emit('"""Gradients of every parameter, input and initial state, given the outputs\' cotangents."""')
        self.emit("_v = _forward_values(params, inputs)")
        names = self.value_names() + (["T_"] if self.seq else []) + ["B_"]
        self.emit("(" + ", ".join(names) + ",) = (" + ", ".join(f"_v[{n!r}]" for n in names) + ",)")
        if m.loss_name:
            self.emit(f"_scale = float(cotangents.get({m.loss_name!r}, 1.0))")
        for o in m.outputs:
            if o == m.loss_name:
                continue
            sym = m.declared[o]
            src = f"np.reshape(np.asarray(cotangents[{o!r}], dtype=float), {self.internal(sym, self.lead(sym))})"
            self.emit(f"Δ{o} = _pad({src}, {K})" if isinstance(sym, Seq) else f"Δ{o} = {src}")
        for e in d.deltas:
            if isinstance(e.lhs.var, Seq):
                self.emit(f"δ{e.lhs.var.name} = np.zeros_like({e.lhs.var.name})")
        self.schedule([(e.lhs.var, e.rhs) for e in d.deltas], "δ")
        self.emit("grads = {}")
        for e in d.inputs:
            self.emit(f"# {e}")
            val = self.printer("all" if self.seq else "static").code(e.rhs)
            self.emit(f"grads[{e.lhs.var.name!r}] = {self.to_user(val, e.lhs.var, self.lead(e.lhs.var))}")
        for e in d.initial:
            self.emit(f"# {e}")
            val = self.printer("static").code(e.rhs)
            self.emit(f"grads[{e.lhs.var.name + '0'!r}] = {self.to_user(val, e.lhs.var, ('B_',))}")
        for e in d.params:
            self.emit(f"# {e}")
            self.emit(f"grads[{e.lhs.var.name!r}] = {self.param_grad(e.lhs.var.name, e.rhs)}")
        if m.loss_name:
            self.emit("return {name: _scale * g for name, g in grads.items()}")
        else:
            self.emit("return grads")

    def to_user(self, val, sym, lead):
        """A batched value in the user's layout (a shared value has head axis 1)."""
        full = f"np.broadcast_to({val}, {self.internal(sym, lead)})"
        return f"np.reshape({full}, ({', '.join(lead)},) + {self.user(sym)}).copy()"

    def param_grad(self, name, rhs):
        """Σ over steps and batch of each term; a product δ xᵀ becomes one matrix product."""
        parts = []
        for term in (rhs.args if isinstance(rhs, Add) else (rhs,)):
            coef, core = split_coef(term)
            body = core.x if isinstance(core, TimeSum) else core
            lead = ((self.lengths[core.axis][0], "B_") if isinstance(core, TimeSum) else ("B_",)) \
                + (("1",) if self.m.head_dim is not None else ())   # a shared value's head axis
            lead = "(" + ", ".join(lead) + ",)"
            p = self.printer("all" if isinstance(core, TimeSum) else "static")
            if self.m.declared[name].per_head:
                code = p.code(body)
            elif isinstance(body, MatMul) and _batched(body):
                left = MatMul(*body.args[:-1]) if len(body.args) > 2 else body.args[0]
                code = f"_mm_sum({p.code(left)}, {p.code(body.args[-1])}, {lead})"
            else:
                code = f"_lead_sum({p.code(body)}, {lead})"
            parts.append(code if coef == 1 else f"{p._coef(coef)} * ({code})")
        total = " + ".join(parts)
        if self.m.declared[name].per_head:    # one gradient per head: sum the batch only
            total = f"np.sum(np.broadcast_to({total}, {self.internal(self.m.declared[name], ['B_'])}), axis=0)"
        return f"np.reshape({total}, np.shape(params[{name!r}]))"


def _step_reads(expr, prefix):
    """{(name, offset)} of the values (prefix "": nodes; "δ": deltas) expr reads; a value
    without steps is read at offset 0."""
    syms = [d.var for d in expr.atoms(Delta)] if prefix else \
        [v for v in expr.atoms(Seq, Sym) if v.role == "node"]
    return {(v.name, v.offset if isinstance(v, Seq) else 0) for v in syms}


def _names_at_any_step(names):
    return {(n, k) for n in names for k in (-1, 0, 1)}


def _schedule(names, reads):
    """[(group, direction)] in dependency order: a group is one equation (direction 0,
    vectorized) or a recurrence run forwards (-1: reads earlier steps) or backwards (+1).
    ``names`` are in an order valid within one step; ``reads[v]`` is {(u, offset)}."""
    edges = {v: {u for u, _ in reads[v] if u in reads} for v in names}
    reach = {v: _reachable(v, edges) for v in names}          # v depends on reach[v]
    groups, placed = [], set()
    while len(placed) < len(names):
        for v in names:
            if v in placed:
                continue
            group = [u for u in names if u in reach[v] and v in reach[u]] or [v]
            if all(u in placed or u in group for w in group for u in edges[w]):
                lags = {k for w in group for u, k in reads[w] if u in group and k}
                if len(lags) > 1:
                    raise ModelError(f"equations {', '.join(group)} read both earlier and later "
                                     "steps of one another")
                groups.append((group, lags.pop() if lags else 0))
                placed.update(group)
                break
    return groups


def _reachable(v, edges):
    seen, todo = set(), list(edges[v])
    while todo:
        u = todo.pop()
        if u not in seen:
            seen.add(u)
            todo.extend(edges[u])
    return seen


def module_source(derivation):
    """The source of the standalone NumPy module for a derivation."""
    return _Writer(derivation).module()


class Compiled:
    """The compiled model: ``init_params``, ``forward``, ``vjp``, and the ``source`` behind them."""

    def __init__(self, derivation):
        self.derivation = derivation
        self.source = module_source(derivation)
        name = f"symgrad_generated_{derivation.model.name.replace('-', '_')}"
        filename = f"<symgrad:{derivation.model.name}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        self.module = types.ModuleType(name)
        code = compile(self.source, filename, "exec")
        exec(code, self.module.__dict__)  # generated from a Derivation; user text never reaches it
        self.signature = {key: getattr(self.module, key) for key in validate.KEYS}
        for key, value in self.signature.items():
            setattr(self, key.lower(), value)

    def init_params(self, sizes, seed=0):
        validate.check_seed(seed, InputError)
        return self.module.init_params(validate.check_sizes(self.signature, sizes, InputError), seed)

    def forward(self, params, inputs):
        validate.check_call(self.signature, params, inputs, error=InputError)
        return self.module.forward(params, inputs)

    def vjp(self, params, inputs, cotangents):
        validate.check_call(self.signature, params, inputs, cotangents, error=InputError)
        return self.module.vjp(params, inputs, cotangents)


def compile_derivation(derivation):
    return Compiled(derivation)
