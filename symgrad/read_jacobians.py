"""Jacobians as written, ∂u/∂v between two column-vector nodes, and their layouts.

∂u/∂v is the derivative of u through the equations of u's step (``local.py``): every route
within the step summed, the states of the step before held as independent coordinates, as
``symgrad jacobian`` prints its blocks. Numerator layout has the rows of u, denominator
layout the rows of v. Where the shapes decide, they decide; a square Jacobian takes the
file's layout (``layout:``), or that of the form's other Jacobians where their shapes
decided it.

On the left (∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W) the Jacobian is the numerator-layout matrix;
a form written in the denominator layout is transposed to compare with it. A Jacobian
between steps further apart than the model reads v (∂hₜ/∂hₜ₋₂, ∂h_T/∂hₜ) is a product of
one-step Jacobians: a closed form over time, not checked.
"""
import sympy as sp

from . import algebra, indices
from .ops import Jacobian, Transpose
from .read_errors import Uncheckable
from .render.printer import text
from .symbols import Seq


class JacobianReading:
    """How a Reader reads ∂u/∂v (it holds ``model``, ``notation``, ``notes`` and the form's
    ``toggled`` layouts, ``jacobians`` (positions) and ``_jacobian_at``)."""

    def jacobian(self, node, u, ref):
        """∂u/∂v written at node, in the layout chosen for it (entries, where written with indices)."""
        self.span(u.sym, ref.sym)
        position = node.pos
        self.jacobians.append(position)
        jac = algebra.jacobian(u.sym, ref.sym)
        self._jacobian_at[position] = jac
        if self.denominator(position):
            jac = algebra.transpose(jac)
        if u.rows or ref.rows:
            rows, cols = (ref.rows, u.rows) if self.denominator(position) else (u.rows, ref.rows)
            return indices.entry(jac, rows, cols)
        return jac

    def span(self, u, v):
        """Refuse a Jacobian that reaches v only through other steps: it is the product of the
        one-step Jacobians between them, which the equations of u's step do not give."""
        if not (isinstance(u, Seq) and isinstance(v, Seq)) or u.axis_name != v.axis_name:
            return
        name = f"∂{text(u)}/∂{text(v)}"
        k = sp.simplify(v.time - u.time)
        if not k.is_Integer:
            raise Uncheckable(f"{name} spans the steps from {v.time} to {u.time}: a product of one-step "
                              "Jacobians, a closed form over time, not checked (symgrad checks "
                              "recurrences one step at a time)")
        k = int(k)
        reads = {leaf.offset for d in self.model.definitions for leaf in d.rhs.atoms(Seq)
                 if leaf.name == v.name and leaf.offset is not None}
        if any(r * k > 0 and abs(r) < abs(k) for r in reads):
            raise Uncheckable(f"{name} spans {abs(k)} steps: a product of one-step Jacobians, a closed "
                              "form over time, not checked (symgrad checks recurrences one step at a time)")

    def denominator(self, pos):
        """Is the Jacobian written at pos read in denominator layout?"""
        return (pos in self.toggled) != (self.notation.layout == "denominator")

    def _square(self, pos):
        j = self._jacobian_at.get(pos)
        return j is not None and j.of.rows == j.wrt.rows

    def _decided(self):
        """The form's Jacobians whose shapes put them in the layout the file did not name."""
        return {p for p in self.toggled if not self._square(p)}

    def oriented(self, value, lhs):
        """A form of the Jacobian on the left as the numerator-layout matrix: transposed where it
        is written in the denominator layout, and a note saying which layout was read."""
        name = text(lhs)
        if lhs.rows != lhs.cols:
            if value.shape == (lhs.cols, lhs.rows):
                self.notes.append(f"{name} on the left read in denominator layout (rows of {text(lhs.wrt)}): "
                                  "the shapes decide")
                return algebra.transpose(value)
            self.notes.append(f"{name} on the left read in numerator layout (rows of {text(lhs.of)}): "
                              "the shapes decide")
            return value
        decided = bool(self._decided())
        denominator = decided != (self.notation.layout == "denominator")
        layout = "denominator" if denominator else "numerator"
        if decided:
            self.notes.append(f"{name} on the left read in {layout} layout, as the form's Jacobians, "
                              "whose shapes decide")
        else:
            self.notes.append(f"{name} on the left read in {layout} layout: it is square, so the shapes "
                              "cannot decide" + (" (write layout: denominator to change)" if not denominator else ""))
        return algebra.transpose(value) if denominator else value

    def layout_notes(self):
        notes = []
        for pos in self.jacobians:
            j = self._jacobian_at.get(pos)
            if j is None:
                continue
            name = f"∂{text(j.of)}/∂{text(j.wrt)}"
            layout = "denominator" if self.denominator(pos) else "numerator"
            if j.of.rows == j.wrt.rows and self._decided():
                notes.append(f"{name} read in {layout} layout, as the form's other Jacobians, whose "
                             "shapes decide")
            elif j.of.rows == j.wrt.rows:
                notes.append(f"{name} read in {layout} layout: it is square, so the shapes cannot "
                             "decide" + (" (write layout: denominator to change)" if layout == "numerator" else ""))
            else:
                notes.append(f"{name} read in {layout} layout "
                             f"({'rows of ' + text(j.of) if layout == 'numerator' else 'rows of ' + text(j.wrt)}): "
                             "the shapes decide")
        return notes


def numerator(value):
    """A Jacobian read on the left, as the numerator-layout matrix (entries relabelled)."""
    if isinstance(value, Transpose) and isinstance(value.args[0], Jacobian):
        return value.args[0]
    if isinstance(value, indices.Indexed):
        f = value.terms[0].factors[0]
        if isinstance(f, indices.Factor) and isinstance(f.x, Transpose):
            return indices.entry(f.x.args[0], f.cols, f.rows)
    return value
