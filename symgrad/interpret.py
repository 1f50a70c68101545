"""Giving a written equation its meaning in a model.

The syntax tree (``mathtree.py``) says what was written; a ``Reader`` says what it means
for one model (``scope.py``): which name is which symbol and at which step (``h_t``,
``h^{(t)}``, ``h^{\\langle t\\rangle}``, ``h[t]``, or no step in a per-step equation), which
subscript is part of a name (W_z), a step or an entry index (δc_j^t), what a derivative
is (δx, ∇_x L, ∂L/∂x and dx are the delta of x; ∂u/∂v between two nodes a Jacobian, in
its layout: ``read_jacobians.py``), which product each product is (``products.py``), what
a sum over steps with its bounds adds up to, which steps Iverson's bracket keeps
(``step_conditions.py``), and how index notation reads as vectors (``indices.py``).

Each side of an equation is read alone, so one unreadable form does not hide the others.
A product whose shapes do not chain is a form with a ``problem`` (a wrong equation, not
unreadable text); a closed form over time (a sum whose range depends on a step, a product
over steps) or a block matrix is ``uncheckable`` with the reason.
"""
from dataclasses import dataclass, field
from itertools import combinations

import sympy as sp

from . import algebra, indices, products
from . import mathtree as mt
from .errors import ShapeError
from .local_grad import copy_delta, entry_vjp
from .ops import Jacobian
from .read_errors import ParseError, ShapeMismatch, Uncheckable
from .render.printer import text
from .read_names import TRANSPOSES, NameReading, exponent, is_index, raw_text, short, superscript_kind
from .scope import LOSS_STEMS
from .read_jacobians import JacobianReading, numerator
from .step_conditions import StepConditions
from .step_sums import StepSums
from .symbols import Cotangent, Delta, Ones, Seq, step_variable
from .tensor import Tensor

MAX_SHOWN = 6          # factors named in a message about a product that does not chain
PRODUCT_OVER_STEPS = ("a product over steps (∏): a closed form over time, not checked (symgrad checks "
                      "recurrences one step at a time)")
BLOCK_MATRIX = "a block matrix: symgrad checks each block as an equation of its own"


@dataclass
class Notation:
    """What a file says about its notation: its first step (Greff counts from 0) and the
    Jacobian layout when the shapes cannot decide."""
    first_step: int = 1
    layout: str = "numerator"


@dataclass
class FormReading:
    index: int
    expr: Tensor | None = None
    problem: str | None = None
    error: ParseError | None = None
    uncheckable: str | None = None
    notes: tuple = ()


@dataclass
class EquationReading:
    kind: str                      # backward, forward, definition, unreadable
    lhs: Tensor | None = None
    forms: list = field(default_factory=list)
    error: ParseError | None = None


class Reader(NameReading, StepSums, StepConditions, JacobianReading):
    """Reads the equations of one file against one model, in order (definitions carry on)."""

    def __init__(self, scope, notation=None):
        self.scope = scope
        self.model = scope.model
        self.notation = notation or Notation()
        self.definitions = {}
        self._form_state(None)

    def _form_state(self, default):
        self.notes = []
        self.bound = {}               # a sum's index letter → the time axis it runs over
        self.default = default or {}  # time axis → the step of a sequence written without one
        self.toggled = frozenset()    # Jacobians (by position) read in the other layout
        self.jacobians = []
        self._jacobian_at = {}

    # -- equations -----------------------------------------------------------------------------
    def equation(self, chain):
        if len(chain.sides) < 2:
            return EquationReading("unreadable", error=ParseError("an equation needs '='", 0))
        lhs_node = chain.sides[0]
        if isinstance(lhs_node, ParseError):
            return EquationReading("unreadable", error=lhs_node)
        try:
            kind, lhs, target, default = self.left(lhs_node)
        except ParseError as err:
            return _closed_form(chain, err)
        forms = [self.form(node, start, target, default)
                 for node, start in zip(chain.sides[1:], chain.starts[1:])]
        if kind == "definition":
            readable = [f for f in forms if f.expr is not None]
            if readable:
                key, labels = lhs
                value = readable[0].expr
                self.definitions[key] = (value, labels)
            lhs = None
        return EquationReading(kind, lhs, forms)

    def left(self, node):
        """The kind of an equation, its left-hand side, and what each form must be (the lhs
        value with its entry labels), from the left-hand side as written."""
        self._form_state(self._lhs_default())
        labels = (None, None)
        inner = node
        if isinstance(node, mt.Entry) and isinstance(node.x, (mt.Deriv, mt.Name)):
            labels = self.entry_labels(node.sub, node.x)
            inner = node.x
        if isinstance(inner, mt.Deriv):
            value = self.deriv(inner)                     # a delta, or a Jacobian (∂hₜ/∂hₜ₋₁ = …)
            if isinstance(value, indices.LocalGrad):
                raise ParseError("∇_W u_i on the left-hand side: write it inside a chain rule, as "
                                 "∇_W L = Σ_i (∂L/∂u_i) ∇_W u_i", node.pos)
            kind = "backward"
        elif isinstance(inner, mt.Name) and not self.is_definition(inner):
            ref = self.resolve(inner)
            value = self.named(ref, inner)
            kind = "backward" if ref.delta else "forward"
        elif isinstance(inner, mt.Name):
            if self.scope.axes and (inner.stem in self.scope.axes or inner.stem in ("T", "tau") or
                                    inner.stem in map(str, self.scope.axes.values())):
                raise ParseError(f"{inner.stem} is a step of the model, not a name to define", inner.pos)
            if inner.step is not None:
                raise ParseError("a name of your own cannot have a step in brackets", inner.pos)
            key = (inner.stem, inner.accent)
            index = [p.raw for p in inner.sub.parts] if inner.sub else []
            if index and not all(is_index(p, self.scope) for p in index):
                key = (inner.stem, inner.accent, inner.sub.raw)
                index = []
            return "definition", (key, tuple(index)), None, None
        else:
            raise ParseError("the left-hand side must be a delta (δh, ∇_h L, ∂L/∂h), a node of "
                             "the model or a name of your own", node.pos)
        written = labels != (None, None) and not isinstance(value, indices.Indexed)
        if written:
            value = indices.entry(value, *labels)
        value = numerator(value)        # a Jacobian as the numerator layout's matrix, entries relabelled
        if written:
            entries = value.terms[0].factors[0]
            target = (entries.x, entries.rows, entries.cols)
        elif isinstance(value, indices.Indexed):
            rows, cols = _labels_of(value)
            tensor = indices.to_matrix(value, rows, cols)
            target = (tensor, rows, cols)
        else:
            target = (value, None, None)
        lhs = target[0]
        default = self._step_default(lhs)
        return kind, lhs, target, default

    def _lhs_default(self):
        return {axis: step_variable(axis) for axis in self.scope.axes}

    def _step_default(self, lhs):
        """A per-step equation (its left-hand side at a step in t) may omit the steps."""
        axes = {s.axis_name for s in lhs.atoms(Seq) if s.axis in s.time.free_symbols}
        return {axis: step_variable(axis) for axis in axes}

    def is_definition(self, node):
        """A plain name the model does not have (D, μ, τ): a name of the person's own."""
        if node.word and node.stem[:1] in ("d", "δ") and len(node.stem) > 1:
            return False
        if node.stem == "Delta":
            return False
        try:
            self.resolve(node, standard=False)
            return False
        except ParseError:
            return node.stem not in LOSS_STEMS and not node.stem.startswith("\\")

    def form(self, node, start, target, default):
        """One right-hand side read; a Jacobian is read in the layout the shapes decide (the
        file's layout where they cannot, the same as the others of the form where those decide)."""
        if isinstance(node, ParseError):
            return FormReading(start, error=node)
        reading, error = self.attempt(node, start, target, default, frozenset())
        jacobians = list(self.jacobians)
        if reading is None and error is not None and jacobians:
            for flip in _subsets(jacobians):
                reading, _ = self.attempt(node, start, target, default, flip)
                if reading is not None:
                    break
        if reading is not None and self.toggled:
            squares = {j for j in jacobians if self._square(j)}
            decided = self.toggled - squares
            if decided and squares - self.toggled:
                again, _ = self.attempt(node, start, target, default, self.toggled | squares)
                reading = again or reading
        if reading is not None:
            return reading
        reason = error.reason if isinstance(error, ParseError) else str(error)
        return FormReading(start, problem=reason)

    def attempt(self, node, start, target, default, toggled):
        """(reading, None) or (None, the shape error) for one choice of Jacobian layouts."""
        self._form_state(default)
        self.toggled = toggled
        try:
            expr = self.finish(self.value(node), target)
        except Uncheckable as err:
            return FormReading(start, uncheckable=err.reason), None
        except (ShapeMismatch, ShapeError) as err:
            return None, err
        except ParseError as err:
            return FormReading(start, error=err), None
        except RecursionError:
            return FormReading(start, error=ParseError("nested too deeply", node.pos)), None
        notes = tuple(dict.fromkeys(self.notes + self.layout_notes()))
        return FormReading(start, expr=expr, notes=notes), None

    def finish(self, value, target):
        """The value of a form as the matrix the left-hand side is, sized like it."""
        if target is None:
            if isinstance(value, indices.Indexed):
                rows, cols = _labels_of(value)
                return indices.to_matrix(value, rows, cols, local_vjp=self.local_vjp)
            return value
        lhs, rows, cols = target
        if isinstance(value, indices.Indexed):
            free = value.free()
            if not free <= {rows, cols} - {None}:
                extra = sorted(free - {rows, cols})[0]
                raise ParseError(f"the index {extra} is neither summed nor on the left-hand side")
            value = indices.to_matrix(value, rows, cols, sizes=_sizes_of(lhs, rows, cols),
                                      local_vjp=self.local_vjp)
        elif rows is not None:
            raise ParseError("the left-hand side is one entry; write the right-hand side entry by entry too")
        if products.scalar(value):
            value = algebra.scale(value, Ones(*lhs.shape))
        if isinstance(lhs, Jacobian) and rows is None:
            value = self.oriented(value, lhs)
        value = products.settle(value, lhs.shape)
        if value.shape != lhs.shape:
            raise ShapeMismatch(f"the right-hand side is {algebra.shape_str(value.shape)}, "
                                f"{text(lhs)} is {algebra.shape_str(lhs.shape)}")
        return value

    # -- values --------------------------------------------------------------------------------
    def value(self, node):
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            raise ParseError(f"{type(node).__name__} is not understood here", node.pos)
        return method(node)

    def v_Num(self, node):
        return node.value

    def v_Ones(self, node):
        return products.ones_column()

    def v_Name(self, node):
        if node.stem == "Delta":
            return self.v_Cot(mt.Cot(node.pos, None, node.sub, node.sup or node.step))
        own = self.own_name(node)
        if own is not None:
            return own
        ref = self.resolve(node)
        return self.named(ref, node)

    def own_name(self, node):
        """A name the file defined earlier: as defined, or entry by entry (D_i)."""
        if node.sub is not None:
            found = self.definitions.get((node.stem, node.accent, node.sub.raw))
            if found is not None:
                return found[0]
        found = self.definitions.get((node.stem, node.accent))
        if found is None:
            return None
        value, labels = found
        written = [p.raw for p in node.sub.parts] if node.sub else []
        if labels and written:
            if len(written) != len(labels):
                raise ParseError(f"{node.stem} was defined with {len(labels)} index(es)", node.pos)
            if isinstance(value, Tensor):
                return indices.entry(value, *(written + [None])[:2]) if value.cols == 1 else \
                    indices.entry(value, *written)
        if written and not labels:
            letters = "".join(written)
            if isinstance(value, Tensor) and is_index(letters, self.scope, self.bound) and \
                    len(letters) == (1 if 1 in value.shape else 2):
                rows, cols = (letters, None) if value.cols == 1 else \
                    (None, letters) if value.rows == 1 else (letters[0], letters[1])
                return indices.entry(value, rows, cols)
            raise ParseError(f"{node.stem} was defined without a subscript", node.pos)
        return self._sup(value, node.sup, node)

    def named(self, ref, node):
        sym = Delta(ref.sym) if ref.delta else ref.sym
        if ref.copy is not None:
            raise ParseError(f"{text(ref.sym)} has no step; {text(ref.sym)}⁽ᵗ⁾ (its copy at one step) "
                             "belongs in a derivative", node.pos)
        value = indices.entry(sym, ref.rows, ref.cols) if ref.rows or ref.cols else sym
        if ref.transpose:
            value = self.transposed(value)
        if ref.power is not None:
            value = self.powered(value, ref.power, node)
        return value

    def v_Indicator(self, node):
        if self.step_condition(node) is not None:
            return self.v_Iverson(node)
        ref = self.resolve(node.target)
        if getattr(ref.sym, "role", None) != "onehot":
            raise ParseError(f"1_{{{node.index}={text(ref.sym)}}}: {text(ref.sym)} must be the model's "
                             "one-hot target", node.pos)
        if not is_index(node.index, self.scope):
            raise ParseError(f"{node.index} cannot be an entry index here", node.pos)
        return indices.entry(ref.sym, node.index, None)

    def v_Neg(self, node):
        return self.negated(self.value(node.x))

    def negated(self, v):
        if isinstance(v, indices.Indexed):
            return v.scaled(-1)
        return -v if products.scalar(v) else algebra.neg(v)

    def v_Sum(self, node):
        values = []
        for sign, term in node.terms:
            v = self.value(term)
            values.append(v if sign > 0 else self.negated(v))
        if any(isinstance(v, indices.Indexed) for v in values):
            out = None
            for v in values:
                v = self.as_indexed(v, node)
                out = v if out is None else out + v
            return out
        try:
            return products.add(values, self.notes)
        except ShapeError as err:
            raise ShapeMismatch(f"the terms of a sum have different shapes: {err}", node.pos) from None

    def as_indexed(self, v, node):
        if isinstance(v, indices.Indexed):
            return v
        if products.scalar(v) or v.shape == (1, 1):
            return indices.constant(v)
        raise ParseError(f"{text(v)} is a whole {algebra.shape_str(v.shape)} matrix among entries "
                         "(index notation)", node.pos)

    def v_Product(self, node):
        conditions = [self.step_condition(f) for _, f in node.factors]
        if any(c is not None for c in conditions):
            return self.conditioned(node, conditions)
        values = [(op, self.value(f)) for op, f in node.factors]
        ops = [op for op, _ in node.factors[1:]]
        for i, (op, f) in enumerate(node.factors):   # 1 written as a factor is a column of ones:
            beside = ([op] if i else []) + ops[i:i + 1]   # "1 1ᵀ", "X 1", "1/2 1", "1 γ"
            if isinstance(f, mt.Num) and f.value == 1 and "juxt" in beside:
                values[i] = (op, products.ones_column())
        if any(isinstance(v, (indices.Indexed, indices.LocalGrad)) for _, v in values):
            return self.entry_product(values, node)
        acc = values[0][1]
        try:
            for op, v in values[1:]:
                acc = products.multiply(op, acc, v, self.notes)
        except ShapeError as err:
            if len(values) == 2:
                raise ShapeMismatch(str(err), node.pos) from None
            shown = [_described(v) for _, v in values[:MAX_SHOWN]]
            more = f" · … ({len(values)} factors)" if len(values) > MAX_SHOWN else ""
            raise ShapeMismatch(f"the factors do not chain: {' · '.join(shown)}{more}", node.pos) from None
        return acc

    def entry_product(self, values, node):
        out = None
        for op, v in values:
            if isinstance(v, indices.LocalGrad):
                v = indices.Indexed((indices.Term(sp.Integer(1), (v,)),))
            elif op in ("div", "oslash"):
                v = indices.elementwise(self.as_indexed(v, node), lambda x: algebra.epow(x, -1)) \
                    if not products.scalar(v) else indices.constant(sp.Integer(1) / v)
            elif op == "matmul":
                raise ParseError("@ between entries: entries multiply as numbers", node.pos)
            v = self.as_indexed(v, node)
            try:
                out = v if out is None else out.times(v)
            except ParseError as err:
                raise ParseError(err.reason, node.pos) from None
        return out

    def v_Frac(self, node):
        num, den = self.value(node.num), self.value(node.den)
        if isinstance(num, indices.Indexed) or isinstance(den, indices.Indexed):
            return self.entry_product([(None, num), ("div", den)], node)
        try:
            return products.divide(num, den, self.notes)
        except ShapeError as err:
            raise ShapeMismatch(str(err), node.pos) from None

    def v_Sqrt(self, node):
        x = self.value(node.x)
        if isinstance(x, indices.Indexed):
            return indices.elementwise(x, lambda t: algebra.epow(t, sp.Rational(1, 2)))
        return sp.sqrt(x) if products.scalar(x) else algebra.epow(x, sp.Rational(1, 2))

    def v_Transpose(self, node):
        if isinstance(node.x, mt.Num) and node.x.value == 1:
            return products.ones_row()
        return self.transposed(self.value(node.x))

    def transposed(self, v):
        if isinstance(v, indices.Indexed) or products.scalar(v):
            return v
        return algebra.transpose(v)

    def v_Power(self, node):
        if isinstance(node.base, mt.Num) and node.base.value == 1 and raw_text(node.exp) in TRANSPOSES:
            return products.ones_row()
        return self._sup(self.value(node.base), node.exp, node)

    def _sup(self, value, script, node):
        if script is None:
            return value
        if raw_text(script) in TRANSPOSES:
            return self.transposed(value)
        return self.powered(value, script, node)

    def powered(self, value, script, node):
        raw = raw_text(script).replace("⊙", r"\odot")
        elementwise = raw.startswith(r"\odot")
        p = exponent(script)
        if p is None:
            if isinstance(value, Tensor) and value.rows == value.cols and value.rows != 1:
                raise Uncheckable(f"({text(value)})^{{{short(script.raw)}}} is a matrix power with a symbolic "
                                  "exponent: a closed form over time. symgrad checks recurrences one "
                                  "step at a time at fixed sizes, so this form is not checked")
            raise ParseError(f"unknown superscript {short(script.raw)!r}: use ^\\top, ^T or a number", script.pos)
        if isinstance(value, indices.Indexed):
            return indices.elementwise(value, lambda t: algebra.epow(t, p))
        if products.scalar(value):
            return value ** p
        if not elementwise and value.rows == value.cols and value.rows != 1 and p != -1:
            self.notes.append(f"({text(value)})^{p} read element-wise ({text(value)}^⊙{p})")
        try:
            return algebra.epow(value, p)
        except ShapeError as err:
            raise ShapeMismatch(str(err), node.pos) from None

    def v_Entry(self, node):
        x = self.value(node.x)
        if isinstance(x, indices.Indexed) or products.scalar(x):
            raise ParseError("entries of an expression that is already entries", node.pos)
        parts = [p.raw for p in node.sub.parts]
        if len(parts) == 2 and parts[1] == ":":
            axis, time = self.step_of_row(parts[0], node)
            return algebra.transpose(algebra.step_row(x, time, axis))
        rows, cols = self.entry_labels(node.sub, None)
        if cols is None and x.cols != 1 and x.rows == 1:
            rows, cols = None, rows
        return indices.entry(x, rows, cols)

    def v_Angle(self, node):
        a, b = self.value(node.a), self.value(node.b)
        try:
            return products.multiply("matmul", a, algebra.transpose(b), self.notes)
        except ShapeError as err:
            raise ShapeMismatch(str(err), node.pos) from None

    def v_Deriv(self, node):
        return self.deriv(node)

    # -- functions -----------------------------------------------------------------------------
    def v_Apply(self, node):
        name = node.name
        if name.startswith("?"):
            name = name[1:]
            if self.scope.function(name) is None:        # h (c) with h no function: a product
                factor = mt.Name(node.pos, name, sub=node.sub, sup=node.power)
                return self.v_Product(mt.Product(node.pos, ((None, factor), ("juxt", node.arg))))
        lower = name.lower()
        if node.order > 1:
            raise ParseError(f"{name}: second derivatives are not understood", node.pos)
        arg = self.value(node.arg)
        special = getattr(self, "f_" + lower, None)
        if special is not None and node.order == 0 and lower not in self.model_function_names():
            if isinstance(arg, indices.Indexed):
                raise ParseError(f"{name} of entries: write it on the whole vector", node.pos)
            if products.scalar(arg) or any(products.is_placeholder(d) for d in arg.shape):
                # softmax(0), softmax(tanh(0)): of a column, or row by row of a matrix?
                raise ParseError(f"{name}(…) of a number: the text does not say its shape", node.pos)
            try:
                out = special(arg, node)
            except ShapeError as err:
                raise ShapeMismatch(str(err), node.pos) from None
        else:
            impl = self.scope.function(name)
            if impl is None:
                raise ParseError(f"unknown function {name}; this model has: "
                                 f"{', '.join(sorted(set(self.model_function_names())))}", node.pos)
            written = name if name in self.model_function_names() else impl
            fn = lambda x: algebra.fn(written, impl, x, node.order)  # noqa: E731
            if isinstance(arg, indices.Indexed):
                out = indices.elementwise(arg, fn)
            else:        # element-wise, f of a number c is f of c 𝟏 𝟏ᵀ: ones sized where they land
                out = fn(algebra.scale(arg, products.ones_open()) if products.scalar(arg) else arg)
        if node.power is not None:
            out = self.powered(out, node.power, node)
        return out

    def model_function_names(self):
        return [n for n in self.scope.functions if n not in ("σ", "sigmoid", "ln")]

    def f_softmax(self, x, node):
        return algebra.softmax(x) if x.cols == 1 else algebra.row_softmax(x)

    def f_diag(self, x, node):
        return algebra.diag(x)

    def f_rowsum(self, x, node):
        return algebra.rowsum(x)

    def f_colsum(self, x, node):
        return algebra.matmul(Ones(1, x.rows), x)

    def f_rowmean(self, x, node):
        return algebra.scale(sp.Integer(1) / x.cols, algebra.rowsum(x))

    def f_mean(self, x, node):
        if x.cols == 1:
            return algebra.scale(sp.Integer(1) / x.rows, algebra.matmul(Ones(1, x.rows), x))
        self.notes.append(f"mean({text(x)}) read row by row (rows are positions)")
        return self.f_rowmean(x, node)

    def f_std(self, x, node):
        return algebra.rowstd(x, self._eps(node))

    def f_ln(self, x, node):
        return algebra.layernorm(x, self._eps(node))

    f_layernorm = f_ln

    def f_sqrt(self, x, node):
        return algebra.epow(x, sp.Rational(1, 2))

    def f_stack(self, x, node):
        axis = self._axis_script(node)
        return algebra.stack(x, axis, self.scope.axes[axis])

    def f_row(self, x, node):
        if node.sub is None:
            raise ParseError("row needs its step: row_j(G)", node.pos)
        axis, time = self.step_of_row(node.sub.raw, node)
        return algebra.transpose(algebra.step_row(x, time, axis))

    def _axis_script(self, node):
        raw = node.sub.raw if node.sub else ""
        if raw not in self.scope.axes:
            raise ParseError(f"stack needs the axis of its steps, as stack_j (axes: "
                             f"{', '.join(self.scope.axes) or 'none'})", node.pos)
        return raw

    def _eps(self, node):
        if self.scope.eps is None:
            raise ParseError("this model has no layer norm", node.pos)
        return self.scope.eps

    # -- sums ----------------------------------------------------------------------------------
    def v_Sigma(self, node):
        index = node.index.replace(" ", "")
        axis = self.sum_axis(index, node)
        if axis is not None:
            return self.time_sum(node, index, axis)
        if self.scope.heads and index == "i":
            body = self.value(node.body)
            if isinstance(body, indices.Indexed):
                raise ParseError("Σ over the heads i of entries", node.pos)
            if products.scalar(body):          # Σᵢ 1 = h, the number of heads
                return body * self.scope.model.head_dim
            return algebra.headsum(body)
        if not is_index(index, self.scope):
            raise ParseError(f"Σ over {index!r}: not a step, a head or an entry index", node.pos)
        body = self.value(node.body)
        if not isinstance(body, indices.Indexed):
            raise ParseError(f"Σ over {index}: the summand has no index {index}", node.pos)
        summed = body.summed_over(index)
        if summed.free():
            return summed
        try:                                  # no index left: a vector or a number from here on
            return indices.to_matrix(summed, None, None, local_vjp=self.local_vjp)
        except ShapeError as err:
            raise ShapeMismatch(str(err), node.pos) from None

    def v_StepProduct(self, node):
        raise Uncheckable(PRODUCT_OVER_STEPS)

    def v_Block(self, node):
        raise Uncheckable(BLOCK_MATRIX)

    # -- derivatives and the delta from above ---------------------------------------------------
    def deriv(self, node):
        top, bottom = node.top, node.bottom
        if not isinstance(bottom, mt.Name):
            raise ParseError("the derivative's variable must be a name of the model", node.pos)
        ref = self.resolve(bottom, allow_copy=True)
        if ref.delta:
            raise ParseError("a derivative with respect to a delta", node.pos)
        if top is None or self.is_loss(top):
            if ref.copy is not None:
                self.notes.append(f"{text(ref.sym)} with a step is the copy of {text(ref.sym)} used "
                                  f"at step {ref.copy} only")
                sym = copy_delta(self.model, ref.sym, ref.copy)
            else:
                sym = Delta(ref.sym)
            value = indices.entry(sym, ref.rows, ref.cols) if ref.rows or ref.cols else sym
            return self.transposed(value) if ref.transpose else value
        if not isinstance(top, mt.Name):
            raise ParseError("the derivative's quantity must be a name of the model", node.pos)
        u = self.resolve(top)
        if u.copy is not None or u.delta:
            raise ParseError("a derivative of a delta", node.pos)
        if ref.copy is not None:
            self.notes.append(f"{text(ref.sym)} with a step is the copy of {text(ref.sym)} used at "
                              f"step {ref.copy} only")
        if u.rows and ref.sym.cols != 1:
            return indices.LocalGrad(u.sym, u.rows, ref.sym)
        if u.sym.cols != 1 or ref.sym.cols != 1:
            raise ParseError(f"∂{text(u.sym)}/∂{text(ref.sym)}: a Jacobian needs two column vectors; "
                             "for a matrix write Σ_i (∂L/∂u_i) ∇_W u_i", node.pos)
        return self.jacobian(node, u, ref)

    def local_vjp(self, u, wrt, g):
        return entry_vjp(self.model, u, wrt, g)

    def v_Cot(self, node):
        """Δ, Δ_t, Δ^t, Δ[t], Δy_t (the output named), Δ_j^t (entry j)."""
        outs = self.scope.outputs
        if not outs:
            raise ParseError("this model has no delta from above (Δ): it ends in its loss", node.pos)
        if node.target is not None:
            ref = self.resolve(node.target)
            if ref.sym.name not in outs or ref.delta:
                raise ParseError(f"Δ{text(ref.sym)}: {text(ref.sym)} is not an output; the outputs "
                                 f"are {', '.join(outs)}", node.pos)
            value = Cotangent(ref.sym, short=len(outs) == 1)
            return indices.entry(value, ref.rows, ref.cols) if ref.rows or ref.cols else value
        out, steps, labels = None, [], ""
        for part in node.sub.parts if node.sub else ():
            if part.raw in outs:
                out = part.raw
            elif is_index(part.raw, self.scope, self.bound):
                labels += part.raw
            else:
                steps.append((part.raw, part.pos))
        if node.sup is not None:
            sup = superscript_kind(node.sup)
            steps.append((sup.get("step", node.sup.raw), node.sup.pos))
        if out is None:
            if len(outs) != 1:
                raise ParseError(f"Δ is ambiguous with outputs {', '.join(outs)}: write Δ with the "
                                 "output, as Δy_t", node.pos)
            out = outs[0]
        sym = self.scope.declared[out]
        if isinstance(sym, Seq):
            if len(steps) > 1:
                raise ParseError("Δ has two steps", node.pos)
            time = self.step_expr(*steps[0], axis=sym.axis_name) if steps else self.default.get(sym.axis_name)
            if time is None:
                raise ParseError(f"Δ for {out} needs its step, as Δ_t", node.pos)
            sym = Seq(sym.name, time, *sym.shape, sym.role, sym.axis_name)
        elif steps:
            raise ParseError(f"{out} has no step", node.pos)
        value = Cotangent(sym, short=len(outs) == 1)
        if labels:
            return indices.entry(value, labels[0], labels[1] if len(labels) > 1 else None)
        return value


# -- helpers ---------------------------------------------------------------------------------------

def _closed_form(chain, err):
    """An equation whose left-hand side cannot be read (or spans steps): not checkable if every
    right-hand side is a closed form over time or a block matrix, which would not be checked
    whatever it equals (∂s_T/∂s_k = ∏_{t=k+1}^{T} ∂sₜ/∂sₜ₋₁), else unreadable."""
    reasons = [_closed(side) for side in chain.sides[1:]]
    if all(reasons):
        return EquationReading("backward", forms=[FormReading(start, uncheckable=reason)
                                                  for reason, start in zip(reasons, chain.starts[1:])])
    if isinstance(err, Uncheckable):
        return EquationReading("backward", forms=[FormReading(start, uncheckable=err.reason)
                                                  for start in chain.starts[1:]])
    return EquationReading("unreadable", error=err)


def _closed(side):
    """Why a side as written is a closed form over time or a block matrix (None if it is not)."""
    if isinstance(side, ParseError):
        return None
    for node in mt.subtrees(side):
        if isinstance(node, mt.StepProduct):
            return PRODUCT_OVER_STEPS
        if isinstance(node, mt.Block):
            return BLOCK_MATRIX
    return None


def _subsets(items, limit=4):
    """The non-empty subsets of up to ``limit`` items, smallest first."""
    items = items[:limit]
    return [frozenset(c) for k in range(1, len(items) + 1) for c in combinations(items, k)]


def _labels_of(indexed):
    labels = sorted(indexed.free())
    if len(labels) > 2:
        raise ParseError(f"more than two free indices ({', '.join(labels)})")
    return (labels + [None, None])[0], (labels + [None, None])[1]


def _sizes_of(lhs, rows, cols):
    sizes = {}
    if rows:
        sizes[rows] = lhs.rows
    if cols:
        sizes[cols] = lhs.cols
    return sizes


def _described(v):
    if products.scalar(v):
        return str(v)
    if isinstance(v, (indices.Indexed, indices.LocalGrad)):
        return "entries"
    return f"{text(v)} ({algebra.shape_str(v.shape)})"


def read_equation(tokens_chain, scope, where, notation=None):
    """(lhs, rhs) of one backward equation (its first form), for callers that take one line:
    an unreadable line is a ParseError naming ``where`` and the column."""
    reading = Reader(scope, notation).equation(tokens_chain)
    err = reading.error
    if err is None and reading.kind != "backward":
        err = ParseError("the left-hand side must be a delta such as dh[t] or δW", 0)
    if err is not None:
        raise ParseError(f"{where}:{(err.index or 0) + 1}: {err.reason}", err.index)
    form = reading.forms[0]
    if form.error is not None:
        raise ParseError(f"{where}:{(form.error.index or 0) + 1}: {form.error.reason}", form.error.index)
    if form.problem is not None:
        raise ShapeMismatch(f"{where}:{form.index + 1}: {form.problem}", form.index)
    if form.uncheckable is not None:
        raise Uncheckable(f"{where}:{form.index + 1}: {form.uncheckable}", form.index)
    return reading.lhs, form.expr
