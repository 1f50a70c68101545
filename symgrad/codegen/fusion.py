"""Matrix products that share an operand, done as one BLAS call.

Forward: W_z xₜ, W_i xₜ, W_f xₜ, W_o xₜ become one product [W_z; W_i; W_f; W_o] xₜ, whose
row blocks the equations read. Backward: the deltas of such a family live side by side in
one array, so Σ R_⋆ᵀ δ⋆ₜ₊₁ is one product [R_z; R_i; R_f; R_o]ᵀ [δz̄; δī; δf̄; δō]ₜ₊₁, and the
gradients Σₜ δ⋆ xₜᵀ of the whole family one product over all steps and rows.

A fused value enters an expression as a ``Computed`` leaf: a symbol whose name is the NumPy
code that reads it (``_p1[..., n:2*n, :]``).
"""
from dataclasses import dataclass

import sympy as sp

from ..ops import Add, MatMul, TimeSum, Transpose
from ..symbols import Delta, Seq, Sym


class Computed(Sym):
    """A value the generated code has already computed, printed as its code."""

    def __new__(cls, code, rows, cols, role="fused", per_head=False):
        return super().__new__(cls, code, rows, cols, role, per_head)


def _product(term):
    """(P, X) for a term P X with P a parameter matrix shared by every example and X a data
    or node leaf; else None."""
    if isinstance(term, MatMul) and len(term.args) == 2:
        p, x = term.args
        if isinstance(p, Sym) and p.role == "param" and not p.per_head and 1 not in p.shape \
                and isinstance(x, (Seq, Sym)) and x.role != "param" and not isinstance(x, Computed):
            return p, x
    return None


def families(eqs):
    """{operand: [(node, P)]} over the forward equations: the nodes whose sums hold P X for
    one operand X (two or more)."""
    found = {}
    for lhs, rhs in eqs:
        for term in rhs.args if isinstance(rhs, Add) else (rhs,):
            pair = _product(term)
            if pair:
                found.setdefault(pair[1], []).append((lhs, pair[0]))
    return {x: members for x, members in found.items()
            if len(members) > 1 and len({lhs.name for lhs, _ in members}) == len(members)}


def offsets(shapes, dim):
    """[(start, stop)] as code, for row blocks of the given row counts laid end to end."""
    out, start = [], sp.Integer(0)
    for rows in shapes:
        out.append((dim(start), dim(start + rows)))
        start = start + rows
    return out


class Stacks:
    """The stacked parameter matrices a function needs, each concatenated once at its top."""

    def __init__(self):
        self.names = {}

    def name(self, params):
        key = tuple(p.name for p in params)
        if key not in self.names:
            self.names[key] = f"_cat{len(self.names) + 1}"
        return self.names[key]

    def lines(self):
        return [f"{name} = np.concatenate([{', '.join(key)}])" for key, name in self.names.items()]


def fuse_forward(terms_of, printer, stacks, counter, dim):
    """Replace the products P X that share X across the members' term lists ({name: [term]})
    by row blocks of one product; returns ([(temporary, code line computing it)], new term
    lists)."""
    by_operand = {}
    for name, terms in terms_of.items():
        for term in terms:
            pair = _product(term)
            if pair:
                by_operand.setdefault(pair[1], []).append((name, term, pair[0]))
    lines, replace = [], {}
    for x, uses in by_operand.items():
        if len(uses) < 2 or len({name for name, _, _ in uses}) < len(uses):
            continue
        counter[0] += 1
        tmp = f"_p{counter[0]}"
        cat = stacks.name([p for _, _, p in uses])
        lines.append((tmp, f"{tmp} = _mm({cat}, {printer.code(x)})"))
        for (name, term, p), (a, b) in zip(uses, offsets([p.rows for _, _, p in uses], dim)):
            replace[(name, term)] = Computed(f"{tmp}[..., {a}:{b}, :]", p.rows, x.cols)
    return lines, {name: [replace.get((name, t), t) for t in terms] for name, terms in terms_of.items()}


@dataclass
class Block:
    """Deltas of one family stored side by side in one array: ``members`` in order."""
    name: str
    members: list        # node symbols
    params: dict         # operand → [P] in member order, for each family over these members


def delta_blocks(fams, storage_of, has_delta):
    """Blocks for the families whose members all have a padded delta on one axis."""
    blocks, placed = [], set()
    for x, members in sorted(fams.items(), key=lambda kv: -len(kv[1])):
        nodes = [lhs for lhs, _ in members]
        if any(n.name in placed for n in nodes) or not all(isinstance(n, Seq) and has_delta(n.name)
                                                             and storage_of("δ" + n.name) == "padded"
                                                             for n in nodes):
            continue
        if len({(n.axis_name, n.cols) for n in nodes}) != 1:
            continue
        blocks.append(Block(f"_δblock{len(blocks) + 1}", nodes, {}))
        placed.update(n.name for n in nodes)
    for block in blocks:
        order = [n.name for n in block.members]
        for x, members in fams.items():
            if [lhs.name for lhs, _ in members] == order:
                block.params[x] = [p for _, p in members]
    return blocks


def fuse_backward(terms, blocks, printer, stacks, dim):
    """Replace Σ Pᵀ δu over neighbouring members of a block at one step by one product with
    the stacked P (the whole block: [R_z; …; R_o]ᵀ [δz̄; …; δō]ₜ₊₁; the GRU's r̄, z̄ rows
    beside the a row its reset gate keeps apart); returns the new term list."""
    found = {}
    for term in terms:
        if isinstance(term, MatMul) and len(term.args) == 2 and isinstance(term.args[0], Transpose) \
                and isinstance(term.args[1], Delta) and isinstance(term.args[1].var, Seq):
            p, v = term.args[0].args[0], term.args[1].var
            for block in blocks:
                order = [m.name for m in block.members]
                if v.name in order:
                    found.setdefault((block.name, v.time), []).append((order.index(v.name), term, p, v, block))
    out = list(terms)
    for uses in found.values():
        uses.sort(key=lambda u: u[0])
        if len({u[0] for u in uses}) < len(uses):
            continue
        for run in _runs(uses):
            block, v = run[0][4], run[0][3]
            rows = [m.rows for m in block.members]
            (a, _), (_, b) = offsets(rows, dim)[run[0][0]], offsets(rows, dim)[run[-1][0]]
            whole = len(run) == len(block.members)
            cat = stacks.name([u[2] for u in run])
            index = block.name + printer.index(block.name, v.time, v.axis_name)
            code = f"_mm(_T({cat}), {index if whole else index + f'[..., {a}:{b}, :]'})"
            first = out.index(run[0][1])
            for u in run:
                out.remove(u[1])
            out.insert(min(first, len(out)), Computed(code, run[0][2].cols, v.cols))
    return out


def _runs(uses):
    """The maximal runs of two or more members at consecutive positions."""
    runs, current = [], [uses[0]]
    for u in uses[1:]:
        if u[0] == current[-1][0] + 1:
            current.append(u)
        else:
            runs.append(current)
            current = [u]
    runs.append(current)
    return [r for r in runs if len(r) > 1]


def fused_param_grads(param_grads, blocks):
    """[(block, operand or None, [(param symbol, equation text)])]: parameter gradients
    Σₜ δu xₜᵀ (operand x) or Σₜ δu (None) over every member of a block, in member order."""
    shapes = {}
    for var, rhs, text in param_grads:
        if not isinstance(rhs, TimeSum):
            continue
        body = rhs.x
        if isinstance(body, Delta):
            v, x = body.var, None
        elif isinstance(body, MatMul) and len(body.args) == 2 and isinstance(body.args[0], Delta) \
                and isinstance(body.args[1], Transpose) and isinstance(body.args[1].args[0], (Seq, Sym)):
            v, x = body.args[0].var, body.args[1].args[0]
        else:
            continue
        if not isinstance(v, Seq) or v.offset != 0:
            continue
        for block in blocks:
            if v.name in [m.name for m in block.members]:
                shapes.setdefault((block.name, x), {})[v.name] = (var, text)
    out = []
    for (name, x), by_member in shapes.items():
        block = next(b for b in blocks if b.name == name)
        if set(by_member) == {m.name for m in block.members}:
            out.append((block, x, [by_member[m.name] for m in block.members]))
    return out
