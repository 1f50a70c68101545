"""Derivation → the source of a standalone NumPy module with ``forward``, ``vjp`` and
``value_and_grad``, batched, in float64 or float32.

Inside, a vector of the math is an array ``(…, n, 1)`` behind its step and batch axes; a
parameter keeps its math shape. Each recurrence is one loop over its axis; everything else
is one vectorized expression over all steps, and a gradient Σₜ δ xᵀ one matrix product over
all T·B rows. What runs is planned first (``plan``): values the backward pass needs are
kept by the forward pass (activations, and subexpressions both passes compute), the rest
live for one step; a recurrent delta read only by its own loop lives in two slots.
At the boundary every data array is step-first, batch-second: ``(T, B, …)``.
"""
from dataclasses import replace

import sympy as sp

from ..algebra import add, expand_derivatives, free_axes, split_coef
from ..derive import name_nodes
from ..errors import ModelError
from ..ops import Add, MatMul, TimeSum
from ..symbols import Cotangent, Seq, Sym
from .fusion import (Computed, Stacks, delta_blocks, families, fuse_backward, fuse_forward,
                     fused_param_grads, offsets)
from .plan import (input_storage, reads_by_offset, schedule, share_subexpressions, step_reads,
                   storage)
from .printer import PADDED, PLAIN, ROLLING, TEMP, Code
from .. import clip, validate
from .runtime import RUNTIME, embedded

DTYPES = ("float64", "float32")


def _user_dims(sym, heads=None):
    """The shape a user's array has: a vector, row or column, is 1-D; a 1×1 is a scalar;
    a per-head parameter has the heads first."""
    first = [heads] if heads is not None and isinstance(sym, Sym) and sym.per_head else []
    return first + [d for d in sym.shape if d != 1]


def _batched(e):
    return any(s.role not in ("param", "causal") for s in e.atoms(Sym, Seq)) or bool(e.atoms(Cotangent))


def _is_matrix_data(sym):
    """Data that is a matrix per example (Q, X of attention)."""
    return isinstance(sym, Sym) and sym.role not in ("param", "causal") and 1 not in sym.shape


def _doc(text):
    """Text safe inside a triple-quoted docstring: backslashes, quotes and control characters
    escaped, so a model's title or source can neither end the string nor run as code."""
    out = []
    for ch in text:
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch != "\n" and (ord(ch) < 32 or ord(ch) == 127):
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _comment(text):
    """One comment line, whatever the text holds (\r ends a line of Python source too)."""
    return "# " + " ".join(str(text).splitlines())


class Writer:
    """Writes the module for one Derivation (in the expanded style: derivatives from the
    activations the forward pass keeps)."""

    def __init__(self, d, dtype="float64"):
        if dtype not in DTYPES:
            raise ModelError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
        self.d, self.m, self.dtype = d, d.model, dtype
        self.seq = self.m.sequence
        self.lines, self.indent = [], 0
        # each time axis: the variable its length has at run time (T_ for t), and its symbol
        self.lengths = {a: ("T_" if a == "t" else str(n), n) for a, n in self.m.axes.items()}
        if not self.m.inputs + self.m.targets:
            raise ModelError(f"model {self.m.name}: the compiled code needs an input (the batch "
                             "size is read off the data)")
        if self.seq and not any(_on_axis(x, "t") for x in self.m.inputs + self.m.targets):
            raise ModelError(f"model {self.m.name}: a sequence model needs an input on the axis t")
        readable = {size for size, *_ in self.size_reads()}
        unread = [d for d in self.m.dims_ if d not in readable]
        if unread:
            raise ModelError(f"model {self.m.name}: the size {unread[0]} is the size of no input or "
                             "parameter, so the compiled code cannot read it off the arrays")
        for name in self.m.states:
            if name + "0" in self.m.declared:
                raise ModelError(f"model {self.m.name}: {name}0 names both a symbol and "
                                 f"the initial state of {name}")
        self.plan()

    # -- the plan -----------------------------------------------------------------
    def plan(self):
        m, d = self.m, self.d
        backward = d.deltas + d.inputs + d.initial + d.params
        forward = [(x.symbol, x.rhs) for x in m.definitions]
        taken = set(m.declared) | set(m.dims_) | {"T_", "B_", "DTYPE"}
        self.forward, rhs = share_subexpressions(forward, [e.rhs for e in backward], taken)
        # the padding of a time axis: the farthest step any equation reads (aₜ = f(aₜ₋₁, sₜ₊₁)
        # puts aₜ₋₂ in δsₜ)
        self.lag = max([m.max_lag] + [abs(s.offset) for e in [r for _, r in self.forward] + rhs
                                      for s in e.atoms(Seq) if s.offset is not None])
        self.comments = {x.symbol.name: str(eq) for x, eq in zip(m.definitions, d.forward)}
        kinds = {"delta": [], "input": [], "initial": [], "param": []}
        for e, r in zip(backward, rhs):
            kinds[e.kind].append((e.lhs.var, r, str(e)))
        self.deltas, self.input_grads = kinds["delta"], kinds["input"]
        self.initial_grads, self.param_grads = kinds["initial"], kinds["param"]

        fwd_reads = {lhs.name: step_reads(r, "") for lhs, r in self.forward}
        self.fwd_groups = schedule([lhs.name for lhs, _ in self.forward], fwd_reads)
        after = [r for _, r, _ in self.deltas + self.input_grads + self.initial_grads + self.param_grads]
        outside = reads_by_offset(after, "")
        for o in m.outputs:
            outside.setdefault(o, []).append(0)
        self.needed = set(outside)      # the node values the outputs and the backward pass read
        # computed by the vjp too: what the backward pass reads, every loop, and their inputs
        loops = [n for group, direction in self.fwd_groups if direction for n in group]
        for_backward = _closure(list(reads_by_offset(after, "")) + loops, fwd_reads)
        self.late = [(group, direction) for group, direction in self.fwd_groups
                     if not direction and not set(group) & for_backward]
        self.late_names = {n for g, _ in self.late for n in g}
        self.storage = storage(self.fwd_groups, self.forward, outside, "", fixed_ok=False)

        delta_eqs = [(v, r) for v, r, _ in self.deltas]
        self.delta_groups = schedule([v.name for v, _ in delta_eqs],
                                     {v.name: step_reads(r, "δ") for v, r in delta_eqs})
        grads = [r for _, r, _ in self.input_grads + self.initial_grads + self.param_grads]
        self.storage.update(storage(self.delta_groups, delta_eqs, reads_by_offset(grads, "δ"),
                                    "δ", fixed_ok=True))
        self.families = families(self.forward)
        delta_names = {v.name for v, _, _ in self.deltas}
        self.blocks = delta_blocks(self.families, lambda n: self.storage.get(n, PADDED),
                                   lambda n: n in delta_names)
        for block in self.blocks:
            self.storage[block.name] = PADDED
        self.fused = 0
        all_reads = {}
        for x in m.inputs + m.targets:
            for e in [r for _, r in self.forward] + after:
                for s in e.atoms(Seq):
                    if s.name == x.name:
                        all_reads.setdefault(x.name, []).append(s.offset)
        self.storage.update(input_storage(m, all_reads))
        for o in m.outputs:
            if o != m.loss_name and isinstance(m.declared[o], Seq):
                offsets = {c.var.offset for e in after for c in e.atoms(Cotangent) if c.var.name == o}
                self.storage["Δ" + o] = PLAIN if offsets <= {0} else PADDED

    # -- helpers ------------------------------------------------------------------
    def emit(self, line="", depth=1):
        self.lines.append("    " * (depth + self.indent) + line if line else "")

    def printer(self, mode):
        return Code(self.lag, mode, self.lengths, self.storage, self.m.head_dim)

    def shape(self, sym):
        p = self.printer("static")
        return tuple(p.dim(x) for x in sym.shape)

    def lead(self, sym):
        """The leading axes a symbol's values have: (length of its axis, batch) or (batch,)."""
        return (self.lengths[sym.axis_name][0], "B_") if isinstance(sym, Seq) else ("B_",)

    def internal(self, sym, lead=None):
        """The code of the array shape a symbol has inside the generated functions."""
        if lead is None:
            lead = () if sym.role in ("param", "causal") else self.lead(sym)
        heads = ((str(self.m.head_dim),) if sym.per_head else ("1",)) \
            if self.m.head_dim is not None and (sym.role != "param" or sym.per_head) else ()
        return "(" + ", ".join(list(lead) + list(heads) + list(self.shape(sym))) + ",)"

    def positions_first(self, sym):
        """Data whose rows are positions in a model without steps: the user gives it (T, B, d).
        A value per head is batch-first, heads second, (B, h, T, d), as PyTorch's per-head
        attention weights."""
        return not self.seq and _is_matrix_data(sym) and not sym.per_head

    def user_dims(self, sym):
        """The user's axes of a data array, as dimension names: (T, B, …) for a sequence and
        for data whose rows are positions, (B, …) for a vector, (B, h, …) for a value per head."""
        m = self.m
        dims = tuple(str(x) for x in _user_dims(sym, m.head_dim))
        if isinstance(sym, Seq):
            return ("T" if sym.axis_name == "t" else str(m.axes[sym.axis_name]), "B") + dims
        if self.positions_first(sym):
            return (dims[0], "B") + dims[1:]
        return ("B",) + dims

    def user_shape(self, sym, lead):
        """The code of a symbol's user-facing shape after ``lead``: vectors 1-D, scalars ()."""
        p = self.printer("static")
        dims = _user_dims(sym, self.m.head_dim)
        return "(" + "".join(x + ", " for x in lead) + "".join(p.dim(x) + ", " for x in dims) + ")"

    def to_internal(self, sym, src):
        """Code converting the user's array ``src`` of a data symbol to its internal shape."""
        arr = f"np.asarray({src}, dtype=DTYPE)"
        if self.positions_first(sym):     # (T, B, d) → (B, T, d): rows are positions within an example
            arr = f"np.swapaxes({arr}, 0, 1)"
        return f"np.reshape({arr}, {self.internal(sym)})"

    def to_user(self, val, sym, lead):
        """A batched value (a shared value has head axis 1) in the user's layout, as an array
        of its own (``_full`` copies only what is a view or a broadcast)."""
        out = f"np.reshape(_full({val}, {self.internal(sym, lead)}), {self.user_shape(sym, lead)})"
        if self.positions_first(sym):
            return f"np.ascontiguousarray(np.swapaxes({out}, 0, 1))"
        return out

    # -- module parts -------------------------------------------------------------
    def module(self):
        m = self.m
        doc = [f"Forward pass and vector-Jacobian product of the model {m.name!r}, generated by symgrad.",
               "", f"{m.title}" if getattr(m, "title", None) else "",
               f"Source: {m.source}" if m.source else "",
               "",
               "Equations (column vectors). Arrays are batched, step-first: a sequence is (T, B, n),",
               "data whose rows are positions (T, B, d), a value per head (B, h, T, d); parameters",
               f"keep their math shape, bias vectors are 1-D. Arithmetic in {self.dtype}.", ""]
        doc += ["    " + str(eq) for eq in self.d.forward] + [""]
        doc += ["    " + str(eq) for eq in self.d.backward]
        head = ['"""' + _doc("\n".join(doc)) + '\n"""', "import numpy as np", "",
                f"DTYPE = np.{self.dtype}"]
        head += [f"{k} = {v!r}" for k, v in self.signature().items()] + [RUNTIME]
        head += [embedded(validate), embedded(clip)]
        self.lines = []
        self.checks_fn()
        self.sizes_fn()
        self.init_fn()
        self.public_fns()
        self.forward_fn()
        self.outputs_fn()
        self.backward_fn()
        return "\n".join(head + self.lines) + "\n"

    def signature(self):
        m = self.m
        dims = lambda s: tuple(str(x) for x in _user_dims(s, m.head_dim))  # noqa: E731
        return {
            "SIZES": tuple(m.dims_),
            "PARAMS": {p.name: dims(p) for p in m.params},
            "INPUTS": {s.name: self.user_dims(s) for s in m.inputs + m.targets},
            "ONEHOT": tuple(s.name for s in m.targets if s.role == "onehot"),
            "MASKS": tuple(s.name for s in m.targets if s.role == "mask"),
            "INITIAL": {n + "0": ("B",) + dims(m.declared[n]) for n in m.states},
            "OUTPUTS": {o: self.user_dims(m.declared[o]) if o != m.loss_name else ("B",)
                        for o in m.outputs},
            "LOSS": m.loss_name,
        }

    def checks_fn(self):
        """The checks every public function makes first: a wrong array, size or option is an
        InputError naming it (as the Compiled object in symgrad raises)."""
        self.emit("", 0)
        self.emit("class InputError(ValueError):", 0)
        self.emit('"""An array or option that does not fit this model: which, and what it should be."""')
        self.emit("", 0)
        self.emit("", 0)
        self.emit(f"_SIGNATURE = {{{', '.join(f'{k!r}: {k}' for k in validate.KEYS)}}}", 0)
        self.emit("", 0)
        self.emit("", 0)
        self.emit("def _check(params, inputs, cotangents=None, truncate=None):", 0)
        self.emit("check_call(_SIGNATURE, params, inputs, cotangents, error=InputError)")
        self.emit("if truncate is not None:")
        if self.seq:
            self.emit("if isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1:", 2)
            self.emit('raise InputError(f"truncate must be a whole number of steps ≥ 1, not {truncate!r}")', 3)
        else:
            self.emit(f'raise InputError("truncate: the model {self.m.name} has no steps to cut")', 2)

    def size_reads(self):
        """[(size, store, array, axis)]: where the generated code reads each size off the arrays."""
        sig = self.signature()
        return [(dim, store, name, i) for store, table in (("params", sig["PARAMS"]), ("inputs", sig["INPUTS"]))
                for name, dims in table.items() for i, dim in enumerate(dims) if dim in self.m.dims_]

    def sizes_fn(self):
        self.emit("", 0)
        self.emit("def _sizes(params, inputs):", 0)
        self.emit('"""The sizes, read off the arrays."""')
        self.emit("sizes = {}")
        for dim, store, name, i in self.size_reads():
            self.emit(f"sizes.setdefault({dim!r}, np.shape({store}[{name!r}])[{i}])")
        self.emit("return sizes")

    def init_fn(self):
        self.emit("", 0)
        self.emit("def init_params(sizes, seed=0):", 0)
        self.emit('"""Random parameters: N(0, 1/fan_in) for matrices, N(0, 0.25) for vectors."""')
        self.emit("check_seed(seed, InputError)")
        self.emit("sizes = check_sizes(_SIGNATURE, sizes, InputError)")
        self.emit("rng = np.random.default_rng(seed)")
        self.emit("params = {}")
        self.emit("for name, dims in PARAMS.items():")
        self.emit("shape = tuple(sizes[d] for d in dims)", 2)
        self.emit("scale = 1.0 / np.sqrt(shape[-2]) if len(shape) >= 2 else 0.5", 2)
        self.emit("params[name] = (scale * rng.standard_normal(shape)).astype(DTYPE)", 2)
        self.emit("return params")

    def public_fns(self):
        self.emit("", 0)
        self.emit("def forward(params, inputs):", 0)
        self.emit('"""The model\'s outputs for a batch."""')
        self.emit("_check(params, inputs)")
        self.emit("return _outputs(_forward_values(params, inputs))")
        self.emit("", 0)
        self.emit("def vjp(params, inputs, cotangents, truncate=None):", 0)
        self.emit('"""Gradients of every parameter, input and initial state, given the outputs\' '
                  'cotangents;\n    truncate=k cuts the chain every k steps (truncated BPTT)."""')
        self.emit("_check(params, inputs, cotangents, truncate)")
        self.emit("return _backward(_forward_values(params, inputs, outputs=False), cotangents, truncate)")
        self.emit("", 0)
        self.emit("def value_and_grad(params, inputs, cotangents, truncate=None):", 0)
        self.emit('"""forward and vjp in one pass: (outputs, gradients)."""')
        self.emit("_check(params, inputs, cotangents, truncate)")
        self.emit("_v = _forward_values(params, inputs)")
        self.emit("return _outputs(_v), _backward(_v, cotangents, truncate)")

    def unpack(self):
        """Local variables for sizes, and every array in its internal shape."""
        m, K = self.m, self.lag
        self.emit("_size = _sizes(params, inputs)")
        for d in m.dims_:
            self.emit(f"{d} = _size[{d!r}]")
        data = m.inputs + m.targets
        if self.seq:
            first = next(x.name for x in data if _on_axis(x, "t"))
            self.emit(f"T_, B_ = np.shape(inputs[{first!r}])[:2]")
        else:
            self.emit(f"B_ = np.shape(inputs[{data[0].name!r}])[{1 if self.positions_first(data[0]) else 0}]")
        for p in m.params:
            self.emit(f"{p.name} = np.reshape(np.asarray(params[{p.name!r}], dtype=DTYPE), {self.internal(p)})")
        for x in data:
            arr = self.to_internal(x, f"inputs[{x.name!r}]")
            padded = isinstance(x, Seq) and self.storage.get(x.name) == PADDED
            self.emit(f"{x.name} = _pad({arr}, {K})" if padded else f"{x.name} = {arr}")
        for x in m.symbols("causal"):
            self.emit(f"{x.name} = _causal({self.shape(x)[0]})")

    def allocate(self, sym, name):
        kind = self.storage.get(name, PADDED)
        if kind in (TEMP, PLAIN):       # a per-step buffer, or assigned whole when computed
            return
        shape = self.internal(sym)[1:-1].split(", ")[1:]   # without the step axis
        if kind == ROLLING:
            self.emit(f"{name} = np.zeros((2, {', '.join(shape)}), dtype=DTYPE)")
        else:
            length = self.lead(sym)[0]
            self.emit(f"{name} = np.zeros(({length} + {2 * self.lag}, {', '.join(shape)}), dtype=DTYPE)")

    def forward_fn(self):
        m = self.m
        self.emit("", 0)
        self.emit("def _forward_values(params, inputs, outputs=True):", 0)
        self.emit('"""The values the outputs (when asked) and the backward pass read; also sizes and parameters."""')
        self.unpack()
        for lhs, _ in self.forward:
            if isinstance(lhs, Seq):
                self.allocate(lhs, lhs.name)
        for name, offset in m.states.items():
            sym = m.declared[name]
            boundary = f"{self.lag - 1}" if offset < 0 else f"{self.lead(sym)[0]} + {self.lag}"
            if self.storage.get(name) == ROLLING:
                boundary = f"({boundary}) % 2"
            self.emit(f"if inputs.get({name + '0'!r}) is not None:")
            self.emit(f"{name}[{boundary}] = np.reshape(np.asarray(inputs[{name + '0'!r}], dtype=DTYPE), "
                      f"{self.internal(sym, ['B_'])})", 2)
        comments = {lhs.name: self.comments.get(lhs.name) or f"{lhs.name} = {rhs}  (kept for the backward pass)"
                    for lhs, rhs in self.forward}
        self.stacks, mark = Stacks(), len(self.lines)
        # what the backward pass reads first; what only the outputs need, only when asked
        late = self.late
        self.schedule(self.forward, [gd for gd in self.fwd_groups if gd not in late], "", comments)
        self.lines[mark:mark] = ["    " + line for line in self.stacks.lines()]
        names = self.value_names()
        early = [n for n in names if n not in self.late_names]
        self.emit("_v = {" + ", ".join(f"{n!r}: {n}" for n in early) + "}")
        if late:
            self.emit("if outputs:    # the outputs alone need these; the vjp does not compute them")
            self.indent += 1
            self.schedule(self.forward, late, "", comments)
            self.emit("_v.update({" + ", ".join(f"{n!r}: {n}" for n in names if n not in early) + "})")
            self.indent -= 1
        self.emit("return _v")

    def value_names(self):
        """Every name the forward pass leaves for the outputs and the backward pass (an
        intermediate value nothing reads later is dropped with the forward pass)."""
        m = self.m
        nodes = [lhs.name for lhs, _ in self.forward if lhs.name in self.needed]
        return (list(m.dims_) + [p.name for p in m.params] + [s.name for s in m.inputs + m.targets]
                + [s.name for s in m.symbols("causal")] + nodes + (["T_"] if self.seq else []) + ["B_"])

    def outputs_fn(self):
        m = self.m
        self.emit("", 0)
        self.emit("def _outputs(_v):", 0)
        self.emit('"""The model\'s outputs in the user\'s layout."""')
        if m.dims_:
            self.emit(", ".join(m.dims_) + ", = " + ", ".join(f"_v[{d!r}]" for d in m.dims_) + ",")
        if self.seq:
            self.emit("T_, B_ = _v['T_'], _v['B_']")
        else:
            self.emit("B_ = _v['B_']")
        out = []
        for o in m.outputs:
            sym = m.declared[o]
            val = f"_v[{o!r}]" + (self.printer("all").index(o, sym.axis, sym.axis_name) if isinstance(sym, Seq) else "")
            out.append(f"{o!r}: {self.to_user(val, sym, self.lead(sym))}")
        self.emit("return {" + ", ".join(out) + "}")

    def schedule(self, eqs, groups, prefix, comments, cut=False):
        """All equations in dependency order: each recurrence a loop over its axis in its own
        direction; any other per-step equation one vectorized expression over all steps;
        static ones as they are. A recurrent sum's terms that read nothing of their own
        recurrence, but something per step, are computed for all steps before its loop.
        Products sharing an operand are fused (``fusion``). With ``cut`` (the backward pass),
        terms that read a delta of another step are dropped past the ends of their axis and
        where truncated BPTT cuts the chain."""
        K = self.lag
        every, step, static = self.printer("all"), self.printer("step"), self.printer("static")
        rhs_of = {lhs.name: rhs for lhs, rhs in eqs}
        lhs_of = {lhs.name: lhs for lhs, _ in eqs}
        for group, direction in groups:
            if not direction:
                name, = group
                lhs, rhs = lhs_of[name], rhs_of[name]
                self.emit(_comment(comments[name]))
                if isinstance(lhs, Sym):
                    self.emit(f"{prefix}{name} = {static.code(self.fuse(rhs, prefix, static))}")
                else:
                    length = self.lead(lhs)[0]
                    code = self.cut_all(rhs, prefix, every, lhs.axis_name) if cut \
                        else every.code(self.fuse(rhs, prefix, every))
                    whole = self.storage.get(prefix + name) == PLAIN
                    self.emit(f"{prefix}{name}{'' if whole else f'[{K}:{K} + {length}]'} = {code}")
                continue
            axis = lhs_of[group[0]].axis_name
            mine = {(n, k) for n in group for k in (-1, 0, 1)}
            hoisted, looped = {}, {}
            for name in group:
                terms = _terms(rhs_of[name])
                fixed = [a for a in terms if not step_reads(a, prefix) & mine]
                fixed = [a for a in fixed if lhs_of[name].axis_name in free_axes(a)]  # Σₜ x: no step
                if fixed:
                    hoisted[name] = fixed
                looped[name] = [a for a in terms if name not in hoisted or a not in fixed]
            pending, hoisted = self.fuse_terms(hoisted, prefix, every)
            for _, line in pending:
                self.emit(line)
            fused = {tmp for tmp, _ in pending}
            for name, terms in hoisted.items():
                first = terms[0]
                if not prefix and isinstance(first, Computed) and first.name.split("[")[0] in fused:
                    # this member's rows of the fused product become its hoisted terms, in place
                    self.emit(f"_in_{name} = {first.name}")
                    for line in every.accumulate(f"_in_{name}", terms[1:]):
                        self.emit(line)
                    continue
                code = self.cut_all(add(*terms), prefix, every, axis) if cut \
                    else every.code(self.fuse(add(*terms), prefix, every))
                self.emit(f"_in_{prefix}{name} = {code}")
            pending, looped = self.fuse_terms(looped, prefix, step)
            length = self.lead(lhs_of[group[0]])[0]
            order = f"range({K}, {K} + {length})" if direction < 0 else f"reversed(range({K}, {K} + {length}))"
            for name in group:     # one buffer per per-step value, reused by every step
                if self.storage.get(prefix + name) == TEMP:
                    shape = self.internal(lhs_of[name])[1:-1].split(", ")[1:]
                    self.emit(f"{prefix}{name} = np.empty(({', '.join(shape)}), dtype=DTYPE)")
            self.emit(f"for _t in {order}:")
            if cut:
                crossed = self.lag - 1 if direction > 0 else self.lag    # the step _t - crossed ends a chunk
                self.emit(f"_flows = {f'_t - {crossed}' if crossed else '_t'} not in {_ends(axis)}", 2)
            for name in group:
                lhs, terms = lhs_of[name], looped[name]
                for tmp, line in [p for p in pending if any(tmp_used(p[0], t) for t in terms)]:
                    self.emit(line, 2)
                    pending.remove((tmp, line))
                self.emit(_comment(comments[name]), 2)
                for line in self.step_lines(prefix + name, lhs, name in hoisted, terms, cut, step):
                    self.emit(line, 2)

    def step_lines(self, name, lhs, hoisted, terms, cutting, step):
        """The lines computing one value of a loop at step _t, in place in its buffer; with
        truncation, the terms from a neighbouring step are added only where the chain flows."""
        prefix = "δ" if name.startswith("δ") else ""
        target = name + step.index(name, lhs.axis, lhs.axis_name)
        within = [a for a in terms if not (cutting and _crosses(a, prefix))]
        across = [a for a in terms if cutting and _crosses(a, prefix)]
        first = [Computed(f"_in_{name}[_t - {self.lag}]", lhs.rows, lhs.cols)] if hoisted else []
        if within:
            within = list(_terms(self.fuse(add(*within), prefix, step)))
        lines = step.into(target, add(*(first + within))) if first + within else [f"{target}[...] = 0.0"]
        if across:
            lines.append("if _flows:")
            lines += ["    " + line for line in step.accumulate(target, _terms(self.fuse(add(*across), prefix, step)))]
        return lines

    def fuse(self, rhs, prefix, printer):
        """One expression with its shared-operand products fused (backward: Σ Pᵀ δ over a block)."""
        if not prefix:
            return rhs
        return add(*fuse_backward(list(_terms(rhs)), self.blocks, printer, self.stacks, printer.dim))

    def fuse_terms(self, terms_of, prefix, printer):
        """Term lists of several equations computed together, products fused across them:
        ([(temporary, line)], new term lists)."""
        if prefix:       # the backward pass fuses where it prints (after truncation splits terms)
            return [], terms_of
        counter = [self.fused]
        lines, out = fuse_forward(terms_of, printer, self.stacks, counter, printer.dim)
        self.fused = counter[0]
        return lines, out

    def cut_all(self, rhs, prefix, every, axis):
        """rhs for all steps at once, its terms that read a delta of a neighbouring step set to
        zero at the ends of the axis and where truncation cuts the chain."""
        terms = _terms(rhs)
        within = [a for a in terms if not _crosses(a, prefix)]
        parts = [every.code(self.fuse(add(*within), prefix, every))] if within else []
        for direction in (1, -1):
            across = [a for a in terms if _crosses(a, prefix) == direction]
            if across:
                parts.append(f"_cut({every.code(self.fuse(add(*across), prefix, every))}, {_ends(axis)}, "
                             f"{direction})")
        return " + ".join(parts)

    def backward_fn(self):
        m, K = self.m, self.lag
        self.emit("", 0)
        self.emit("def _backward(_v, cotangents, truncate):", 0)
        self.emit('"""The vector-Jacobian product from the forward values."""')
        names = [n for n in self.value_names() if n not in self.late_names]
        self.emit("(" + ", ".join(names) + ",) = (" + ", ".join(f"_v[{n!r}]" for n in names) + ",)")
        if self.seq:
            self.emit("_ends = _cuts(truncate, T_)   # the steps after which no gradient flows back")
            for axis, (length, _) in self.lengths.items():
                if axis != "t":
                    self.emit(f"{_ends(axis)} = _cuts(None, {length})")
        else:
            self.emit("if truncate is not None:")
            self.emit(f"raise ValueError({'truncate: the model ' + m.name + ' has no steps to cut'!r})", 2)
        self.stacks, mark = Stacks(), len(self.lines)
        if m.loss_name:
            self.emit(f"_scale = float(cotangents.get({m.loss_name!r}, 1.0))")
        for o in m.outputs:
            if o == m.loss_name:
                continue
            sym = m.declared[o]
            src = self.to_internal(sym, f"cotangents[{o!r}]")
            padded = isinstance(sym, Seq) and self.storage.get("Δ" + o) == PADDED
            self.emit(f"Δ{o} = _pad({src}, {K})" if padded else f"Δ{o} = {src}")
        in_blocks = {m.name for b in self.blocks for m in b.members}
        for block in self.blocks:
            self.block_alloc(block)
        for var, _, _ in self.deltas:
            if isinstance(var, Seq) and var.name not in in_blocks:
                self.allocate(var, "δ" + var.name)
        comments = {v.name: text for v, _, text in self.deltas}
        self.schedule([(v, r) for v, r, _ in self.deltas], self.delta_groups, "δ", comments,
                      cut=self.seq)
        self.emit("grads = {}")
        for var, rhs, text in self.input_grads:
            self.emit(_comment(text))
            p = self.printer("all" if self.seq else "static")
            val = p.code(self.fuse(rhs, "δ", p))
            self.emit(f"grads[{var.name!r}] = {self.to_user(val, var, self.lead(var))}")
        for var, rhs, text in self.initial_grads:
            self.emit(_comment(text))
            p = self.printer("static")
            val = p.code(self.fuse(rhs, "δ", p))
            self.emit(f"grads[{var.name + '0'!r}] = {self.to_user(val, var, ('B_',))}")
        done = set()
        for block, x, members in fused_param_grads(self.param_grads, self.blocks):
            self.fused_param_grad(block, x, members)
            done.update(var.name for var, _ in members)
        for var, rhs, text in self.param_grads:
            if var.name not in done:
                self.emit(_comment(text))
                self.emit(f"grads[{var.name!r}] = {self.param_grad(var, rhs)}")
        self.lines[mark:mark] = ["    " + line for line in self.stacks.lines()]
        if m.loss_name:
            self.emit("return grads if _scale == 1.0 else {name: _scale * g for name, g in grads.items()}")
        else:
            self.emit("return grads")

    def block_alloc(self, block):
        """One array for a block of deltas; each member a view of its rows."""
        first = block.members[0]
        rows = sum((mbr.rows for mbr in block.members), sp.Integer(0))
        p = self.printer("static")
        self.emit(f"{block.name} = np.zeros(({self.lead(first)[0]} + {2 * self.lag}, B_, {p.dim(rows)}, "
                  f"{p.dim(first.cols)}), dtype=DTYPE)")
        for mbr, (a, b) in zip(block.members, offsets([mbr.rows for mbr in block.members], p.dim)):
            self.emit(f"δ{mbr.name} = {block.name}[..., {a}:{b}, :]")

    def fused_param_grad(self, block, x, members):
        """The gradients Σₜ δu xₜᵀ (or Σₜ δu) of a whole block as one product, then its rows."""
        every = self.printer("all")
        first = block.members[0]
        for _, text in members:
            self.emit(_comment(text))
        deltas = block.name + every.index(block.name, first.axis, first.axis_name)
        lead = f"({self.lead(first)[0]}, B_,)"
        total = f"_lead_sum({deltas}, {lead})" if x is None else \
            f"_mm_sum({deltas}, _T({every.code(x)}), {lead})"
        self.fused += 1
        self.emit(f"_g{self.fused} = {total}")
        for (var, _), (a, b) in zip(members, offsets([mbr.rows for mbr in block.members], every.dim)):
            self.emit(f"grads[{var.name!r}] = np.reshape(_g{self.fused}[{a}:{b}], {self.user_shape(var, ())})")

    def param_grad(self, sym, rhs):
        """Σ over the examples of each term (a term the same for every example, a weight
        penalty, counts once per example), and over the steps of a Σₜ term; a product δ xᵀ
        becomes one matrix product."""
        parts = []
        heads = ("1",) if self.m.head_dim is not None else ()   # a shared value's head axis
        for term in _terms(rhs):
            coef, core = split_coef(term)
            steps = (self.lengths[core.axis][0],) if isinstance(core, TimeSum) else ()
            body = core.x if steps else core
            lead = "(" + ", ".join(steps + ("B_",) + heads) + ",)"
            p = self.printer("all" if steps else "static")
            if sym.per_head:      # the batch is summed below
                code = p.code(body, core)
            elif isinstance(body, MatMul) and _batched(body):
                left = MatMul(*body.args[:-1]) if len(body.args) > 2 else body.args[0]
                code = f"_mm_sum({p.code(left)}, {p.code(body.args[-1])}, {lead})"
            else:
                code = f"_lead_sum({p.code(body)}, {lead})"
            negative = coef.could_extract_minus_sign()
            size = -coef if negative else coef
            parts.append((" - " if negative else " + ") + (code if size == 1 else f"{p.coef(size)} * {code}"))
        total = "".join(parts).removeprefix(" + ")
        total = "-" + total[3:] if total.startswith(" - ") else total
        if sym.per_head:    # one gradient per head: sum the batch only
            total = f"np.sum(np.broadcast_to({total}, {self.internal(sym, ['B_'])}), axis=0)"
        return f"np.reshape({total}, {self.user_shape(sym, ())})"


def _on_axis(sym, axis):
    """Does the data symbol run along the axis (one value per step, not one per example)?"""
    return isinstance(sym, Seq) and sym.axis_name == axis


def _closure(reads, fwd_reads):
    """The forward values the backward pass reads, and every value they are computed from."""
    todo, seen = list(reads), set()
    while todo:
        name = todo.pop()
        if name in fwd_reads and name not in seen:
            seen.add(name)
            todo.extend(u for u, _ in fwd_reads[name])
    return seen


def _terms(rhs):
    return rhs.args if isinstance(rhs, Add) else (rhs,)


def _ends(axis):
    """The generated code's name for the steps of an axis after which no gradient flows."""
    return "_ends" if axis == "t" else f"_ends_{axis}"


def _crosses(term, prefix):
    """+1 or −1: the term reads a delta of the next (previous) step; 0: of its own step only."""
    offsets = [k for _, k in step_reads(term, prefix) if k] if prefix else []
    return max(offsets, key=abs) if offsets else 0


def module_source(derivation, dtype="float64"):
    """The source of the standalone NumPy module for a derivation. Whatever style it prints
    in, the code computes the expanded one: σ′(ō) is o ⊙ (1 − o), from the kept activation."""
    return Writer(expanded(derivation), dtype).module()


def expanded(derivation):
    """The derivation with every backward equation in the expanded style (the same
    equations, derivatives written through the nodes the forward pass computes)."""
    if derivation.style == "expanded":
        return derivation
    model = derivation.model

    def rewrite(eqs):
        return [replace(eq, rhs=name_nodes(expand_derivatives(eq.rhs), model)) for eq in eqs]
    return replace(derivation, style="expanded", deltas=rewrite(derivation.deltas),
                   inputs=rewrite(derivation.inputs), initial=rewrite(derivation.initial),
                   params=rewrite(derivation.params))


def tmp_used(tmp, term):
    """Whether a term reads the fused temporary ``tmp``."""
    return any(s.name.startswith(tmp + "[") for s in term.atoms(Sym) if s.role == "fused")
