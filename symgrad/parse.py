"""Reading equations written in plain text or Unicode, as symgrad prints them and as people
type them.

    δcₜ = p_o ⊙ δōₜ + δyₜ ⊙ oₜ ⊙ h′(cₜ) + p_i ⊙ δīₜ₊₁ + p_f ⊙ δf̄ₜ₊₁ + δcₜ₊₁ ⊙ fₜ₊₁
    dc[t] = dy[t] * o[t] * h'(c[t]) + p_o * dobar[t] + dc[t+1] * f[t+1]
    dW_z = sum_t(dzbar[t] @ x[t].T)

This module turns characters into the tokens of ``grammar.py``: Unicode subscripts
(ₜ₋₁) and superscripts (⁽¹→⁾) become script groups, combining accents (z̄) become
``\\bar``, Greek letters their commands; ``@`` is the matrix product, ``*`` NumPy's
element-wise product, ``.T`` and ``ᵀ`` the transpose, ``[t+1]`` a step. What the
symbols mean is decided by ``interpret.py``. Text is parsed, never evaluated.
"""
import re

from .grammar import Grammar, Token
from .interpret import read_equation
from .read_errors import ParseError, ShapeMismatch  # noqa: F401  (the errors of reading)
from .scope import Scope  # noqa: F401  (what names mean for a model)
from .unicode_math import ACCENTS, command, latin, script_run

OPS = set("=+-*/()[]{}^_,'|:;<>") | {"−", "′", "ᵀ", "⊤", "@"}
_STEP_SUB = re.compile(r"_(?:\(([^()]*)\)|((?:T_x|T|τ|t|j|[A-Za-z]+_[A-Za-z0-9]+)[+\-−]\d+|"
                       r"[A-Za-z]+_[A-Za-z0-9]+(?=[⁽\s)]|$)))")
_HADAMARD_POWER = re.compile(r"\^⊙(\d+|\([^()]*\))")


def tokenize(text):
    """The grammar's tokens for a plain-text or Unicode equation."""
    tokens, i, space, n = [], 0, False, len(text)

    def add(kind, t, at):
        nonlocal space
        tokens.append(Token(kind, t, at, space))
        space = False

    def add_script(mark, inner, at):
        add("op", mark, at)
        add("op", "{", at)
        tokens.extend(Token(t.kind, t.text, at, False) for t in tokenize(inner)[:-1])
        add("op", "}", at)

    while i < n:
        c = text[i]
        if c.isspace():
            i, space = i + 1, True
            continue
        run = script_run(text, i)
        if run:
            add_script(run[0], run[1], i)
            i = run[2]
            continue
        m = _HADAMARD_POWER.match(text, i)
        if m:
            add_script("^", "⊙" + m.group(1).strip("()"), i)
            i = m.end()
            continue
        m = _STEP_SUB.match(text, i)
        if m:
            add_script("_", m.group(1) if m.group(1) is not None else m.group(2), i)
            i = m.end()
            continue
        if text.startswith(".T", i) and not (i + 2 < n and (text[i + 2].isalnum() or text[i + 2] == "_")):
            add("op", ".T", i)
            i += 2
            continue
        if text.startswith("**", i):
            add("op", "**", i)
            i += 2
            continue
        m = re.match(r"\d+(?:\.\d+)?", text[i:])
        if m:
            add("num", m.group(), i)
            i += m.end()
            continue
        letter = latin(c)
        if letter:
            j = i + 1
            while j < n and (text[j].isascii() and text[j].isalnum()):
                j += 1
            accent = letter[1]
            if j < n and text[j] in ACCENTS:
                accent = ACCENTS[text[j]]
                j_end = j + 1
            else:
                j_end = j
            word = letter[0] + text[i + 1:j]
            if accent:
                if len(word) > 1:
                    raise ParseError(f"an accent on the word {word!r}: put it on one letter", i)
                add("cmd", accent, i)
                add("op", "{", i)
                add("letter", word, i)
                add("op", "}", i)
            else:
                add("letter" if len(word) == 1 else "word", word, i)
            i = j_end
            continue
        greek = command(c)
        if greek:
            add("cmd", greek, i)
            i += 1
            continue
        if c in OPS:
            add("op", {"−": "-", "′": "'", "⊤": "ᵀ"}.get(c, c), i)
            i += 1
            continue
        raise ParseError(f"unexpected character {c!r}", i)
    tokens.append(Token("end", "", n, space))
    return tokens


def read_chain(text):
    """The syntax tree of each side of a plain-text equation (a ParseError for a side that fails)."""
    return Grammar(tokenize(text)).chain()


def parse_equation(line, scope, where="<text>:1"):
    """(lhs, rhs) of one backward equation line; ``where`` is "file:line" for errors."""
    return read_equation(read_chain(line), scope, where)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ParseError(f"{path}: cannot read: {err}") from None
