"""Which model symbol a written name stands for, at which step, with which entries.

A name as written (``mathtree.Name``: stem, accent, subscript, superscript, bracketed step)
is matched against the model's symbols (``scope.py``): each part of its subscript may be
part of the name (W_z), a step (h_{t-1}) or an entry index (δc_j), its superscript a step
(Goodfellow's h^{(t)}, Greff's y^t, h^{\\langle t\\rangle}), a layer tag (⁽¹→⁾), a head's
name (W_i^Q), a transpose or a power. The reading that makes the most of the name is
taken. Names the model lacks may still be the loss (L, ℒ, E, J, ℓ; L^{(t)} the loss at a
step), a size (d_k), the file's alias, or layer norm's μ, σ, σ², ε; else the message names
the closest symbols. Steps are read for the file's convention (``steps: 0..T``).
"""
import re
from dataclasses import dataclass
from itertools import product as assignments

import sympy as sp

from . import algebra
from . import mathtree as mt
from .ops import LayerNorm
from .read_errors import ParseError, Uncheckable
from .render.names import _parts
from .render.printer import text
from .scope import LOSS_STEMS, normal_part, tag_of
from .symbols import Ones, Seq, step_variable

TRANSPOSES = {"T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathsfT", "ᵀ", r"{\top}", r"\textsf{T}",
              r"\mathrm{T}", r"\mathrmT", r"\sf{T}", r"\sfT"}
_STEP = re.compile(r"^(?P<base>T_\{?x\}?|T|\\tau|τ|tau|[a-zA-Z]|\d+)(?:(?P<sign>[+\-])(?P<k>\d+))?$")


@dataclass
class Ref:
    """A written name resolved: the symbol (at its step), entry labels, and what its
    superscript adds (a transpose, a power); ``copy`` is the step a parameter was written
    at (W^{(t)}, its copy at that step)."""
    sym: object
    rows: str | None = None
    cols: str | None = None
    transpose: bool = False
    power: object = None
    copy: object = None
    delta: bool = False




class NameReading:
    """How a Reader resolves names; it holds ``scope``, ``notation``, ``model``, the steps
    a sum binds (``bound``), the default step of a per-step equation (``default``) and the
    form's ``notes``."""

    def is_loss(self, node):
        """Is the quantity on top of a derivative the loss (L, ℒ, E, J, ℓ), not a node?"""
        if not isinstance(node, mt.Name) or node.sub or node.sup or node.step:
            return False
        alias = self.scope.alias(node.stem)
        if alias is not None:
            return alias == self.scope.loss
        code = self.scope.find(node.stem, node.accent or "", ())
        if code is not None:        # ℓ written without a step is the loss, not ℓ at some step
            return code in (self.scope.loss, self.scope.step_loss)
        return node.stem in LOSS_STEMS

    def step_of_row(self, raw, node):
        """(axis, step) for the row index of a matrix whose rows are the steps of an axis."""
        for axis in self.scope.axes:
            try:
                return axis, self.step_expr(raw, node.pos, axis)
            except ParseError:
                continue
        raise ParseError(f"row {raw}: a row of stacked steps is written (G)_{{j,:}}", node.pos)

    def entry_labels(self, script, x):
        letters = "".join(p.raw for p in script.parts)
        if not all(is_index(c, self.scope) for c in letters) or not 1 <= len(letters) <= 2:
            raise ParseError(f"{script.raw!r} is not an entry index (a letter such as i, or ij)", script.pos)
        return (letters[0], letters[1] if len(letters) == 2 else None)

    def resolve(self, node, allow_copy=False, fallbacks=True, standard=True):
        """The model symbol a written name stands for, at its step, with its entry labels."""
        if not isinstance(node, mt.Name):
            raise ParseError("expected a name of the model", node.pos)
        sup = superscript_kind(node.sup)
        parts = [p.raw for p in node.sub.parts] if node.sub else []
        best, failure = None, None
        for stem, accent, extra, delta in self.stems(node):
            for roles in assignments(("name", "step", "index"), repeat=len(parts)):
                try:
                    found = self.candidate(stem, accent, extra, parts, roles, sup, node, allow_copy)
                except ParseError as err:
                    failure = failure or err
                    continue
                if found is None:
                    continue
                ref, score = found
                ref.delta = delta
                if best is None or score > best[1]:
                    best = (ref, score)
        if best is not None:
            return best[0]
        fallback = self.fallback(node, sup, parts, standard) if fallbacks else None
        if fallback is not None:
            return fallback
        if failure is not None:
            raise failure
        raise ParseError(self.scope.unknown(as_written(node, sup=False)), node.pos)

    def stems(self, node):
        """(stem, accent, name parts already known, is a delta) readings of a written name."""
        stem = node.stem
        out = []
        aliased = self.scope.alias(stem)
        if aliased is not None and aliased in self.scope.declared and node.accent is None:
            out.append(("=" + aliased, None, [], False))
        out.append((stem, node.accent, [], False))
        if node.word:
            if self.scope.code(stem):
                out.append(("=" + self.scope.code(stem), None, [], False))
            m = re.fullmatch(r"([A-Za-z]+?)(\d+)", stem)
            if m:
                out.append((m.group(1), node.accent, [m.group(2)], False))
            if stem[0] in "dδ" and len(stem) > 1:
                rest = stem[1:]
                for reading in self.stems(mt.Name(node.pos, rest, node.accent, word=len(rest) > 1)):
                    out.append(reading[:3] + (True,))
        return out

    def candidate(self, stem, accent, extra, parts, roles, sup, node, allow_copy):
        positions = [p.pos for p in node.sub.parts] if node.sub else []
        names = list(extra) + [normal_part(p) for p, r in zip(parts, roles) if r == "name"]
        steps = [(p, at) for p, at, r in zip(parts, positions, roles) if r == "step"]
        letters = "".join(p for p, r in zip(parts, roles) if r == "index")
        if "part" in sup:
            names.append(sup["part"])
        tag = sup.get("tag", "")
        if stem.startswith("="):
            code = stem[1:] if not names and not tag else None
        else:
            code = self.scope.find(stem, accent, names, tag)
            if code is None and tag:
                code = self.scope.find(stem, accent, names, "")
                if code is not None and "tag_step" in sup:
                    steps.append((sup["tag_step"], node.sup.pos))
                    tag = ""
                else:
                    code = None
        if code is None:
            return None
        sym = self.scope.declared[code]
        if "step" in sup:
            steps.append((sup["step"], node.sup.pos))
        if node.step is not None:
            steps.append((node.step.raw, node.step.pos))
        if len(steps) > 1:
            return None
        if letters and not (all(is_index(c, self.scope, self.bound) for c in letters) and len(letters) <= 2):
            return None
        ref = Ref(sym, transpose=sup.get("transpose", False), power=sup.get("power"))
        if isinstance(sym, Seq):
            if steps:
                time = self.step_expr(*steps[0], axis=sym.axis_name)
            else:
                time = self.default.get(sym.axis_name)
                if time is None:
                    raise ParseError(f"{as_written(node)} is a sequence: give its step, as "
                                     f"{as_written(node)}_{step_variable(sym.axis_name)}", node.pos)
            ref.sym = Seq(sym.name, time, *sym.shape, sym.role, sym.axis_name)
        elif steps:
            if not (allow_copy and sym.role == "param"):
                raise ParseError(f"{as_written(node)} has no step; write it without one", node.pos)
            ref.copy = self.step_expr(*steps[0], axis="t") if self.scope.axes else None
            if ref.copy is None:
                raise ParseError(f"{as_written(node)} has no step", node.pos)
        if letters:
            if ref.sym.cols == 1 and len(letters) == 1:
                ref.rows = letters
            elif ref.sym.rows == 1 and len(letters) == 1:
                ref.cols = letters
            elif len(letters) == 2 and ref.sym.cols != 1:
                ref.rows, ref.cols = letters[0], letters[1]
            elif len(letters) == 1 and not isinstance(ref.sym, Seq):
                ref.cols = letters                 # x_j: entry j of each row (rows are positions)
            else:
                return None
        score = (len(names), len(steps), -len(letters))
        return ref, score

    def fallback(self, node, sup, parts, standard=True):
        """Loss names (L, ℒ, E, J, ℓ; with a step the loss at that step), sizes, the file's
        aliases, and the standard names of layer norm (μ, σ, σ²)."""
        stem = node.stem
        written = stem + ("_" + "_".join(parts) if parts else "")
        alias = self.scope.alias(written) or self.scope.alias(stem) if not parts else self.scope.alias(written)
        if alias is not None:
            if alias in self.scope.dims:
                return Ref(self.scope.dims[alias])
            if alias in self.scope.declared:
                stem, accent = _parts(alias)[:2]
                if node.accent is None or not accent:
                    return self.resolve(mt.Name(node.pos, stem, node.accent or accent, node.sub, node.sup,
                                                node.step), fallbacks=False)
        name = "_".join([stem] + parts) if parts else stem
        if name in self.scope.dims:          # a size, or a power of it (T^2, m^{1/2})
            power = exponent(node.sup) if node.sup else sp.Integer(1)
            if power is not None:
                return Ref(self.scope.dims[name] ** power)
        if stem in LOSS_STEMS and not node.accent:
            steps = parts + ([sup["step"]] if "step" in sup else []) + ([node.step.raw] if node.step else [])
            if steps and self.scope.step_loss:
                sym = self.scope.declared[self.scope.step_loss]
                time = self.step_expr(steps[0], node.pos, sym.axis_name)
                self.notes.append(f"{as_written(node)} read as {text(Seq(sym.name, time, *sym.shape, sym.role))}, "
                                  "the loss at that step")
                return Ref(Seq(sym.name, time, *sym.shape, sym.role, sym.axis_name))
            if not steps and self.scope.loss:
                return Ref(self.scope.declared[self.scope.loss])
        found = self.standard_name(node, sup, parts) if standard else None
        if found is not None:
            return found
        if len(stem) == 1 and stem.isalpha():
            other = mt.Name(node.pos, stem.swapcase(), node.accent, node.sub, node.sup, node.step)
            try:
                ref = self.resolve(other, fallbacks=False)
            except ParseError:
                return None
            self.notes.append(f"{as_written(node)} read as {text(ref.sym)}")
            return ref
        return None

    def standard_name(self, node, sup, parts):
        """μ, σ (σ²) and ε of layer norm: the row mean of its input, √(var + ε) (the variance),
        and its ε."""
        if self.scope.eps is None or node.stem not in ("mu", "sigma", "epsilon", "varepsilon"):
            return None
        if node.stem in ("epsilon", "varepsilon"):
            return Ref(self.scope.eps)
        norms = [(d.symbol, d.rhs) for d in self.model.definitions if isinstance(d.rhs, LayerNorm)]
        if parts:
            norms = [(s, r) for s, r in norms if s.name.endswith("_" + "_".join(parts))]
        if len(norms) != 1:
            return None
        out, ln = norms[0]
        x = ln.x
        if node.stem == "mu":
            self.notes.append(f"μ read as the row mean of {text(x)}")
            return Ref(algebra.scale(sp.Integer(1) / x.cols, algebra.rowsum(x)))
        std = algebra.rowstd(x, ln.eps)
        if sup.get("power") is not None and exponent(sup["power"]) == 2:
            self.notes.append(f"σ² read as the variance of the rows of {text(x)}")
            return Ref(algebra.add(algebra.epow(std, 2), algebra.scale(-ln.eps, Ones(*std.shape))))
        self.notes.append(f"σ read as √(var + ε) of the rows of {text(x)}, what layer norm divides by")
        return Ref(std, transpose=sup.get("transpose", False), power=sup.get("power"))

    def step_expr(self, raw, pos=0, axis="t", bound=False):
        """A written step (t, t+1, (t), ⟨t⟩, τ, T, T_x+1, 0) on an axis, as a SymPy expression."""
        text_ = re.sub(r"\\left|\\right|\s|[{}]", "", raw)
        for pattern in (r"^\((.*)\)$", r"^\\langle(.*)\\rangle$", r"^<(.*)>$"):
            m = re.match(pattern, text_)
            if m:
                text_ = m.group(1)
        text_ = text_.replace("−", "-")
        m = _STEP.match(text_)
        if not m:
            if re.search(r"[a-zA-Z].*[+\-].*[a-zA-Z]", text_):
                raise Uncheckable(f"the step {raw} depends on the index of a sum: a closed form over "
                                  "time, not checked (symgrad checks recurrences one step at a time)")
            raise ParseError(f"a step is t, t+1, t-1, a number, T or T+1, not {short(raw)!r}", pos)
        base = m.group("base")
        var = step_variable(axis)
        length = self.scope.axes.get(axis)
        if base.isdigit():
            value = sp.Integer(int(base) - self.notation.first_step + 1)
        elif base in ("T", r"\tau", "τ", "tau") or base.replace("{", "").replace("}", "") == "T_x":
            if length is None or (base.startswith("T_") and str(length) != "T_x") or \
                    (base in ("T", r"\tau", "τ", "tau") and str(length) != "T"):
                raise ParseError(f"{base} is not the last step of the axis {axis}", pos)
            value = length
        elif base == str(var) or self.bound.get(base) == axis:
            value = var
        elif base in self.scope.axes or self.bound.get(base):
            raise ParseError(f"{base} is a step of another axis: this symbol runs over {var}", pos)
        else:
            raise ParseError(f"a step is {var}, {var}+1, {var}-1, a number, T or T+1, not {short(raw)!r}", pos)
        if m.group("sign"):
            k = int(m.group("k"))
            value = value + k if m.group("sign") == "+" else value - k
        if not bound and value.free_symbols - {var, length} - {v for v in [length] if v is not None}:
            raise ParseError(f"a step is t, t+1, t-1, a number, T or T+1, not {short(raw)!r}", pos)
        return value


# -- helpers ---------------------------------------------------------------------------------------

def raw_text(script):
    return script.raw.replace(" ", "") if script is not None else ""


def superscript_kind(script):
    """What a name's superscript says: a transpose, a step, a layer tag, a name part (W^Q),
    a power, or a step and a transpose (h^{(t)\\top}, Goodfellow's h^{(t)^\\top})."""
    if script is None:
        return {}
    raw = raw_text(script)
    if raw in TRANSPOSES:
        return {"transpose": True}
    m = re.fullmatch(r"(\(.+\)|\\langle.+\\rangle|<.+>)\^?\{?(\\top|T|\\intercal|ᵀ)\}?", raw)
    if m:
        tag = tag_of(m.group(1))
        return {"tag": tag, "transpose": True} if tag and not tag.isdigit() else \
            {"step": m.group(1), "transpose": True}
    tag = tag_of(raw)
    if tag is not None:
        out = {"tag": tag}
        inner = raw[1:-1]
        if re.fullmatch(r"\d+", inner):
            out["tag_step"] = raw
        return out
    if re.fullmatch(r"\(.+\)|\\langle.+\\rangle|<.+>", raw):
        return {"step": raw}
    if re.fullmatch(r"[A-Z]", raw) and raw != "T":
        return {"part": raw}
    m = re.fullmatch(r"([A-Z])(\\top|\\intercal|ᵀ|')", raw)
    if m and m.group(1) != "T":
        return {"part": m.group(1), "transpose": True}
    if exponent(script) is not None:
        return {"power": script}
    if re.fullmatch(r"([a-z]|\\tau|τ)([+\-]\d+)?|T[+\-]\d+", raw):
        return {"step": raw}
    return {"power": script}


def exponent(script):
    """A rational exponent written in a superscript (2, -1, \\odot 2, -1/2, \\frac{1}{2}), or None."""
    raw = raw_text(script).replace("⊙", r"\odot").replace(r"\odot", "").replace("−", "-")
    if re.fullmatch(r"\((-?[^()]*)\)", raw):        # (-2), (1/2)
        raw = raw[1:-1]
    m = re.fullmatch(r"(-?)\(?(\d+)(?:/(\d+))?\)?", raw) or \
        re.fullmatch(r"(-?)\\frac\{?(\d+)\}?\{?(\d+)\}?", raw)
    if not m:
        return None
    p = sp.Rational(int(m.group(2)), int(m.group(3) or 1))
    return -p if m.group(1) else p


def is_index(letters, scope, bound=None):
    """Can these letters be entry indices (i, j, k, ij), not steps or axes of the model?"""
    return bool(letters) and all(c.isalpha() and c.islower() and len(c) == 1 and c not in scope.axes
                                 and c != "t" and not (bound and c in bound)
                                 for c in letters)


def as_written(node, sup=True):
    """A name as written, for messages (\\hat{x}_{j}, L^{(t)})."""
    out = "\\" + node.accent + "{" + node.stem + "}" if node.accent else node.stem
    if node.sub is not None:
        out += "_" + (node.sub.raw if len(node.sub.raw) == 1 else "{" + node.sub.raw + "}")
    if sup and node.sup is not None:
        out += "^" + (node.sup.raw if len(node.sup.raw) == 1 else "{" + node.sup.raw + "}")
    return short(out)


def short(raw, most=40):
    return raw if len(raw) <= most else raw[:most - 1] + "…"


