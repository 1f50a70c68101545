"""Iverson's bracket as written, as the step condition symgrad's ``Indicator`` tests.

symgrad prints [t = T] Vᵀ δo (a loss read at the last step only), [t = 1] U x (an input fed
at the first step) and [t mod k ≠ 0] (…) (truncated BPTT's cut); people also write 𝟙[t = T],
\\mathbf{1}_{t=T}, ⟦t = T⟧ or Kronecker's δ_{tT}. Each side of the condition is a step as the
file writes it (t, t+1, T, τ, a number counted as the file counts its steps) or a step
modulo a whole number compared with a whole number. The bracket is a number that multiplies
the rest of its product, wherever it stands in it.
"""
import re

import sympy as sp

from . import algebra, indices, products
from . import mathtree as mt
from .read_errors import ParseError
from .render.printer import text

RELATIONS = {"=": sp.Eq, "≠": sp.Ne, "<": sp.Lt, ">": sp.Gt, "≤": sp.Le, "≥": sp.Ge}
NOT_BESIDE = ("div", "oslash", "matmul")       # [P] is a number: it multiplies, and only that


class StepConditions:
    """How a Reader reads Iverson's bracket (it holds ``scope``, ``bound`` and ``step_expr``)."""

    def v_Iverson(self, node):
        raise ParseError("Iverson's bracket multiplies a term, as [t = T] X", node.pos)

    def step_condition(self, node):
        """The SymPy relation of a factor that is Iverson's bracket, else None."""
        if isinstance(node, mt.Indicator) and node.condition is not None and self._steps_index(node.index):
            node = node.condition
        if not isinstance(node, mt.Iverson):
            return None
        errors = []
        for axis in self.scope.axes:
            try:
                cond = RELATIONS[node.relation](*self._sides(node, axis))
            except ParseError as err:
                errors.append(err)
                continue
            self._truncation_note(cond)
            return cond
        if not errors:
            raise ParseError("this model has no steps for Iverson's bracket to test", node.pos)
        if node.kronecker:
            raise ParseError(f"δ_{{{node.left.raw}{node.right.raw}}} is read as Kronecker's delta of two "
                             f"steps (δ_{{tT}} is [t = T]): {errors[0].reason}", node.pos)
        raise errors[0]

    def _truncation_note(self, cond):
        """A cut every k steps in a file judged against an untruncated derivation: say how to
        judge it against truncated BPTT."""
        moduli = {m.args[1] for m in cond.atoms(sp.Mod)}
        if moduli and self.scope.derivation.truncate is None:
            k = min(moduli)
            self.notes.append(f"[{text(cond)}] reads as truncated BPTT's cut, but the derivation is not "
                              f"truncated: add 'truncate: {k}' to the file (or --truncate {k}) to judge "
                              "against truncated BPTT")

    def _steps_index(self, letter):
        return letter in self.scope.axes or letter in self.bound

    def _sides(self, node, axis):
        left, right = node.left, node.right
        if left.modulus is None and right.modulus is None:
            return (self.step_expr(left.raw, left.pos, axis), self.step_expr(right.raw, right.pos, axis))
        return self._modular(left, axis), self._modular(right, axis)

    def _modular(self, side, axis):
        """t mod k, or the whole number it is compared with (not a step: not shifted)."""
        if side.modulus is None:
            if not re.fullmatch(r"\d+", side.raw):
                raise ParseError(f"compare a step modulo a number with a whole number, not {side.raw!r}",
                                 side.pos)
            return sp.Integer(int(side.raw))
        modulus = side.modulus.strip("{}")
        if not re.fullmatch(r"\d+", modulus) or int(modulus) == 0:
            raise ParseError(f"a step modulo {modulus!r}: the modulus is a whole number ≥ 1", side.pos)
        return sp.Mod(self.step_expr(side.raw, side.pos, axis), int(modulus))

    def conditioned(self, node, conditions):
        """A product with Iverson's brackets among its factors: the rest, where they hold."""
        rest, previous = [], None
        for (op, factor), cond in zip(node.factors, conditions):
            if cond is not None or previous is not None:
                if op in NOT_BESIDE:
                    raise ParseError("Iverson's bracket is a number: it multiplies, as [t = T] X", node.pos)
            if cond is None:
                rest.append((op if rest else None, factor))
            previous = cond
        if not rest:
            raise ParseError("Iverson's bracket multiplies a term, as [t = T] X", node.pos)
        value = self.value(rest[0][1]) if len(rest) == 1 else self.v_Product(mt.Product(node.pos, tuple(rest)))
        for cond in conditions:
            if cond is not None:
                value = _bracketed(value, cond, node)
        return value


def _bracketed(value, cond, node):
    if isinstance(value, indices.Indexed):
        return value.wrapped(lambda m: algebra.indicator(m, cond))
    if products.scalar(value):
        raise ParseError("Iverson's bracket multiplies a vector or a matrix here, not a number", node.pos)
    return algebra.indicator(value, cond)

