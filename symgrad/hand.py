"""Reading a hand derivation: which lines hold equations, and what each one says.

A file is read into ``HandEquation``s, each judged later on its own (``verify.py``): one
unreadable line never hides the verdicts on the others. The file may be plain text (one
equation a line), a LaTeX fragment, or a whole LaTeX document, of which only the math is
read (``latex_doc.py``); its macros are expanded. An equation may run over several lines
or ``align`` rows: a row that starts with ``=`` or ``&=`` gives another form of the equation
above, a row that starts with an operator (or follows one that ends with an operator or
leaves a bracket open) continues it. An equation may give several right-hand sides
(``a = b = c``: a chain-rule form, then the final form); each is a ``Form`` with its own
column, and its own verdict. A template over ⋆ (Greff's ``δW_⋆ = …`` after
``⋆ ∈ {z̄, ī, f̄, ō}``) is one equation per member.

Kinds of equation:
- ``backward``: a delta or gradient on the left (δh_t, ∇_W L, ∂L/∂x, dW, (∇_o L)_i), or a
  one-step Jacobian (∂hₜ/∂hₜ₋₁ = diag(1 − hₜ ⊙ hₜ) W), judged as the blocks ``symgrad
  jacobian`` prints;
- ``forward``: a node of the model on the left (h_t = tanh(a_t)); ``lhs`` is the node symbol;
- ``definition``: a name of the person's own (D = rowsum(dO ⊙ O)), used by later lines;
- ``unreadable``: the line cannot be read; ``col`` and ``error`` ("col: reason") say where
  and why;
- ``uncheckable``: readable, but outside what an identity test can decide; ``error`` says why.
Entry-by-entry equations (δc_j^t = …) are read as the vector equation they stand for.
"""
import re
from dataclasses import dataclass, field

from . import latex_doc
from .interpret import Notation, Reader
from .located import Located
from .parse import read_chain as read_text
from .parse_latex import read_chain as read_latex
from .read_errors import ParseError
from .render.printer import text as printed
from .scope import Scope
from .tensor import Tensor


@dataclass
class Form:
    """One right-hand side as written: parsed (``expr``), wrong on its face (``problem``,
    e.g. a product whose shapes do not chain) or unreadable (``error``, the reason, with
    ``col`` where it is). ``notes`` say how the notation was read where it was a choice
    (a layout, a product, a broadcast). ``line`` is where the form is written."""
    col: int
    text: str
    expr: object = None
    problem: str | None = None
    error: str | None = None
    notes: tuple = ()
    line: int = 0


@dataclass
class HandEquation:
    """One equation of the file: where it is, what kind, its left-hand side and its forms."""
    line: int
    source: str
    kind: str
    lhs: object = None
    lhs_text: str = ""
    forms: list = field(default_factory=list)
    error: str | None = None
    col: int = 1


@dataclass
class HandFile:
    """The directives of a file (model, its options, aliases) and its lines."""
    model: str | None
    options: list
    aliases: dict
    lines: list


def directives(lines):
    """model: NAME [--option VALUE …] and alias: THEIRS = OURS lines, comment marks allowed."""
    model, options, aliases = None, [], {}
    for number, raw in enumerate(lines, 1):
        text = raw.strip().lstrip("%#").strip()
        if text.startswith("model:"):
            words = text[len("model:"):].split()
            if not words:
                raise ParseError(f"line {number}: 'model:' needs a model name")
            model, options = words[0], words[1:]
        elif text.startswith("alias:"):
            pair = text[len("alias:"):].split("=")
            if len(pair) != 2 or not all(p.strip() for p in pair):
                raise ParseError(f"line {number}: write an alias as 'alias: theirs = ours'")
            aliases[pair[0].strip()] = pair[1].strip()
    return model, options, aliases


def truncation(lines):
    """``truncate: K``: the derivation is truncated BPTT in chunks of K steps (None if not said)."""
    for number, raw in enumerate(lines, 1):
        text = raw.strip().lstrip("%#").strip()
        if text.startswith("truncate:"):
            word = text[len("truncate:"):].strip()
            if not word.isdigit() or int(word) < 1:
                raise ParseError(f"line {number}: write 'truncate: K' with K a whole number of steps ≥ 1, "
                                 f"not {word!r}")
            return int(word)
    return None


def notation(lines):
    """``steps: 0..T`` (the file counts steps from 0, as Greff et al.) and ``layout:
    denominator`` (Jacobians ∂u/∂v with the rows of v, where the shapes cannot decide)."""
    out = Notation()
    for number, raw in enumerate(lines, 1):
        text = raw.strip().lstrip("%#").strip()
        if text.startswith("steps:"):
            m = re.search(r"(-?\d+)\s*(?:\.\.|…|\\dots|\\ldots|,)", text)
            if not m:
                raise ParseError(f"line {number}: write the steps as 'steps: 0..T' or 'steps: 1..T'")
            out.first_step = int(m.group(1))
        elif text.startswith("layout:"):
            word = text[len("layout:"):].strip().lower()
            if word not in ("numerator", "denominator"):
                raise ParseError(f"line {number}: the layout is numerator or denominator, not {word!r}")
            out.layout = word
    return out


def read_file(lines):
    """The directives and the lines of a hand derivation."""
    model, options, aliases = directives(lines)
    return HandFile(model, options, aliases, list(lines))


# -- logical equations -------------------------------------------------------------------------

RELATION_START = re.compile(r"^(=|:=|≔|\\coloneqq|\\triangleq|\\equiv)")
OPERATOR_START = re.compile(r"^([+\-−*/@⊙∘·×]|\\(odot|circ|cdot|times|oslash)(?![A-Za-z]))")
OPERATOR_END = re.compile(r"([+\-−*/@⊙∘·×=(]|\\(odot|circ|cdot|times|oslash|left\(|Big\(|big\())$")
LEADING = re.compile(r"^(?:\s|&|\\q?quad(?![A-Za-z])|\\[,;:!]|\\hspace\{[^}]*\})*")
_TEMPLATE = re.compile(r"^\s*(?:\\star|⋆)\s*(?:\\in|∈)\s*(?:\\\{(.*)\\\}|\{(.*)\})\s*$")


@dataclass
class _Equation:
    text: Located
    latex: bool
    inline: bool


def _unbalanced(text):
    opens = text.count("(") + text.count("{") + text.count("[")
    closes = text.count(")") + text.count("}") + text.count("]")
    return opens > closes


def logical_equations(rows):
    """Rows joined into equations: a row that continues the one above joins it."""
    current = None
    for row in rows:
        text = row.text
        lead = LEADING.match(text.text).end()
        text = text[lead:]
        latex = row.env is not None or row.inline or "\\" in text.text
        if not text.text:
            continue
        if row.inline:
            if current is not None:
                yield current
                current = None
            yield _Equation(text, latex, True)
            continue
        if current is not None and _continues(current.text.text, text.text):
            current = _Equation(Located.join([current.text, text]), current.latex or latex, False)
            continue
        if current is not None:
            yield current
        current = _Equation(text, latex, False)
    if current is not None:
        yield current


def _continues(above, row):
    """Does this row continue the equation above: it starts with = or an operator, the row
    above ends with one or leaves a bracket open, and this row is no equation of its own?"""
    above = above.rstrip()
    return bool(RELATION_START.match(row) or OPERATOR_START.match(row) or
                (OPERATOR_END.search(above) or _unbalanced(above)) and not _has_relation(row))


def _has_relation(text):
    """A relation outside brackets: the = of [t = T] or 1_{i=y} makes no equation of its own."""
    depth = 0
    for k, c in enumerate(text):
        depth += (c in "([{") - (c in ")]}")
        if depth <= 0 and (c in "=≔" or text.startswith(r"\coloneqq", k)):
            return True
    return False


def _expanded_templates(equations):
    """Each equation with ⋆ once per member of the last ``⋆ ∈ {…}`` line; that line itself is
    no equation."""
    members = None
    for eq in equations:
        m = _TEMPLATE.match(eq.text.text)
        if m:
            members = _split_members(m.group(1) if m.group(1) is not None else m.group(2))
            continue
        spots = [k.start() for k in re.finditer(r"\\star(?![A-Za-z])|⋆", eq.text.text)]
        if not spots or members is None:
            yield eq
            continue
        for member in members:
            text = eq.text
            for start in reversed(spots):
                end = start + (5 if text.text.startswith(r"\star", start) else 1)
                text = text.replace(start, end, "{" + member + "}")
            yield _Equation(text, eq.latex, eq.inline)


def _split_members(body):
    parts, depth, start = [], 0, 0
    for i, c in enumerate(body):
        depth += (c == "{") - (c == "}")
        if c == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


# -- reading -----------------------------------------------------------------------------------

def read(lines, derivation, path="<text>", aliases=None):
    """Every equation of a hand derivation, read against the model of ``derivation``."""
    scope = Scope(derivation)
    scope.aliases.update(aliases or {})
    reader = Reader(scope, notation(lines))
    joined = "\n".join(lines)
    macros = latex_doc.macros(joined) if "\\" in joined else {}
    out = []
    rows = latex_doc.math_rows(lines)
    for eq in _expanded_templates(logical_equations(rows)):
        out.extend(_read_equation(reader, eq, macros))
    return out


def _read_equation(reader, eq, macros):
    raw = eq.text
    source = raw.text
    line = raw.at(0)[0]
    text = raw
    try:
        text = latex_doc.expand(raw, macros) if eq.latex else raw
        chain = (read_latex if eq.latex else read_text)(text.text)
    except ParseError as err:
        return [] if eq.inline else [_unreadable(line, source, "", text, err)]
    except RecursionError:
        return [] if eq.inline else [HandEquation(line, source, "unreadable", error="1: nested too deeply")]
    if len(chain.sides) < 2:
        return []
    lhs_text = _slice(raw, text, chain, 0)
    reading = reader.equation(chain)
    if reading.kind == "unreadable":
        if eq.inline:
            return []
        return [_unreadable(line, source, lhs_text, text, reading.error)]
    forms, closed = [], []
    for k, f in enumerate(reading.forms, 1):
        form_line, col = text.at(f.index)
        form = Form(col, _slice(raw, text, chain, k), f.expr, f.problem, None, f.notes, form_line)
        if f.error is not None:
            form.line, form.col = text.at(f.error.index if f.error.index is not None else f.index)
            form.error = f.error.reason
        if f.uncheckable is not None:
            closed.append((form, f.uncheckable))
            continue
        forms.append(form)
    if eq.inline and (reading.kind not in ("backward", "forward", "definition") or not forms or
                      any(f.error or f.problem for f in forms) or
                      reading.kind == "definition" and not isinstance(forms[0].expr, Tensor)):
        return []                   # math in a sentence that is no equation of the model
    kind = reading.kind
    out = []
    lhs = reading.lhs
    shown = printed(lhs) if lhs is not None else lhs_text
    if forms:
        out.append(HandEquation(line, source, kind, lhs, shown, forms))
    if closed:
        reasons = list(dict.fromkeys(reason for _, reason in closed))
        out.append(HandEquation(line, source, "uncheckable", lhs, shown, [f for f, _ in closed],
                                "; ".join(reasons), closed[0][0].col))
    return out


def _unreadable(line, source, lhs_text, text, err):
    where = err.index if err.index is not None else 0
    err_line, col = text.at(where)
    return HandEquation(err_line or line, source, "unreadable", lhs_text=lhs_text,
                        error=f"{col}: {err.reason}", col=col)


def _slice(raw, text, chain, k):
    """Side k of an equation as the file writes it (before its macros were expanded)."""
    start = text.at(chain.starts[k])
    end = text.at(chain.starts[k + 1] - 1) if k + 1 < len(chain.starts) else (10 ** 9, 0)
    piece = "".join(c for c, at in zip(raw.text, raw.where) if start <= at < end).strip()
    return re.sub(r"^[&=\s]+|[&=\s]+$", "", piece)
