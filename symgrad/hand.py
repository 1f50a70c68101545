"""Reading a hand derivation: which lines hold equations, and what each one says.

A file is read line by line into ``HandEquation``s, each judged later on its own
(``verify.py``): one unreadable line never hides the verdicts on the others. An equation
may give several right-hand sides (``a = b = c``: a chain-rule form, then the final form);
each is a ``Form`` with its own column, and its own verdict.

Kinds of equation:
- ``backward``: a delta or gradient on the left (δh_t, ∇_W L, ∂L/∂x, dW);
- ``forward``: a node of the model on the left (h_t = tanh(a_t)), judged against the model;
- ``definition``: a name of the person's own (D = rowsum(dO ⊙ O)), used by later lines;
- ``unreadable``: the line cannot be read; ``error`` says where and why;
- ``uncheckable``: readable, but outside what an identity test can decide; ``error`` says why.
"""
import re
from dataclasses import dataclass, field

from .parse import ParseError, Scope, ShapeMismatch, parse_equation
from .parse_latex import parse_latex_equation
from .tensor import Tensor


@dataclass
class Form:
    """One right-hand side as written: parsed (``expr``), wrong on its face (``problem``,
    e.g. a product whose shapes do not chain) or unreadable (``error``)."""
    col: int
    text: str
    expr: Tensor | None = None
    problem: str | None = None
    error: str | None = None
    notes: tuple = ()


@dataclass
class HandEquation:
    """One equation of the file: where it is, what kind, its left-hand side and its forms."""
    line: int
    source: str
    kind: str
    lhs: Tensor | None = None
    lhs_text: str = ""
    forms: list = field(default_factory=list)
    error: str | None = None


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


def read_file(lines):
    """The directives and the lines of a hand derivation."""
    model, options, aliases = directives(lines)
    return HandFile(model, options, aliases, list(lines))


_WRAPPERS = re.compile(r"^\s*(\\begin\{[a-z]+\*?\}|\\end\{[a-z]+\*?\}|\\\[|\\\]|\$\$)\s*$")


def equation_lines(lines):
    """(line number, text) of each equation: comments, math delimiters and environments off."""
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith(("%", "#", "model:", "alias:")) or _WRAPPERS.match(text):
            continue
        text = re.split(r"(?<!\\)%", text)[0]
        if "\\" not in text:
            text = text.split("#", 1)[0]
        text = text.strip().strip("$").strip()
        text = re.sub(r"^\\\[|\\\]$", "", text).strip()
        text = re.sub(r"(\\\\|[,.;])\s*$", "", text).strip()
        if text:
            yield number, text


def is_latex(text):
    return "\\" in text or "_{" in text or "^{" in text


def read(lines, derivation, path="<text>", aliases=None):
    """Every equation of a hand derivation, read against the model of ``derivation``."""
    scope = Scope(derivation)
    scope.aliases.update(aliases or {})
    out = []
    for number, text in equation_lines(lines):
        where = f"{path}:{number}"
        parse_line = parse_latex_equation if is_latex(text) else parse_equation
        lhs_text, _, rhs_text = text.partition("=")
        col = len(lhs_text) + 2
        try:
            lhs, rhs = parse_line(text, scope, where)
        except ShapeMismatch as err:
            out.append(HandEquation(number, text, "backward", None, lhs_text.strip(),
                                    [Form(col, rhs_text.strip(), problem=err.detail)]))
            continue
        except ParseError as err:
            out.append(HandEquation(number, text, "unreadable", lhs_text=lhs_text.strip(),
                                    error=str(err).removeprefix(where + ":")))
            continue
        out.append(HandEquation(number, text, "backward", lhs, lhs_text.strip(),
                                [Form(col, rhs_text.strip(), rhs)]))
    return out
