"""Reading equations written in LaTeX, as papers and books print them.

    \\delta y^t = \\Delta^t + R_z^T \\delta\\bar{z}^{t+1} + R_i^T \\delta\\bar{i}^{t+1} + …
    \\nabla_{\\mathbf{h}^{(t)}} L = \\Big(\\frac{\\partial \\mathbf{h}^{(t+1)}}{\\partial \\mathbf{h}^{(t)}}\\Big)^\\top (\\nabla_{\\mathbf{h}^{(t+1)}} L) + …

This module only turns LaTeX characters into the tokens of ``grammar.py``: spacing and
sizing commands (``\\,``, ``\\left``, ``\\Big``, ``&``) are space; ``\\quad`` and prose in
``\\text{…}`` end the math of a row; Unicode letters are their commands (δ is ``\\delta``).
Unicode pasted into LaTeX (δz̄ₜ, ⁽¹←⁾) reads as in plain text (``unicode_math.py``). What
the symbols mean is decided by ``interpret.py``. Text is parsed, never evaluated.
"""
import re

from .grammar import STOP, Grammar, Token
from .interpret import read_equation
from .read_errors import ParseError
from .unicode_math import ACCENTS, command, latin, script_run

SPACE_CMDS = {r"\left", r"\right", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr",
              r"\Bigl", r"\Bigr", r"\biggl", r"\biggr", r"\Biggl", r"\Biggr", r"\bigm", r"\Bigm",
              r"\middle", r"\displaystyle", r"\textstyle", r"\scriptstyle", r"\limits",
              r"\nolimits", r"\nonumber", r"\notag", r"\hfill", r"\phantom", r"\mkern",
              r"\allowbreak", r"\nobreak"}
STOP_CMDS = {r"\quad", r"\qquad", r"\forall", r"\iff", r"\implies",
             r"\Rightarrow", r"\Longrightarrow", r"\qedhere"}
TEXT_CMDS = {r"\text", r"\textrm", r"\mbox", r"\textnormal", r"\textit", r"\textbf", r"\mathrm"}
PROSE = {"for", "where", "if", "and", "with", "when", "since", "all", "otherwise", "else", "s.t.",
         "such", "i.e.", "e.g.", "because", "as", "at", "by", "using", "so", "then", "hence",
         "is", "the", "of", "each"}
OPS = set("=+-*/(){}[]^_,'|<>:;.!") | {"−", "′", "ᵀ"}
_TEXT = re.compile(r"\{([^{}]*)\}")


def _prose(content):
    words = content.strip().split()
    return len(words) > 1 or (len(words) == 1 and words[0].lower() in PROSE) or not words


def tokenize_latex(text):
    """The grammar's tokens for a LaTeX equation; a character no reading knows is an error."""
    tokens, i, space = [], 0, False
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace() or c in "&~":
            i, space = i + 1, True
            continue
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+)|\\(.)", text[i:])
            if m is None:
                raise ParseError("a lone backslash", i)
            if m.group(1) is None:
                ch = m.group(2)
                if ch in ",;!:> \\":
                    i, space = i + 2, True
                    continue
                if ch in "{}|":
                    tokens.append(Token("op", "\\" + ch, i, space))
                    i, space = i + 2, False
                    continue
                raise ParseError(f"unexpected \\{ch}", i)
            name, end = "\\" + m.group(1), i + m.end()
            if name in SPACE_CMDS:         # sizing, not spacing: g\left( is still g(
                if name in (r"\left", r"\right") and text[end:end + 1] == ".":
                    end += 1
                i = end
                continue
            if name in TEXT_CMDS:
                g = _TEXT.match(text, _skip_space(text, end))
                if g and name != r"\mathrm" and _prose(g.group(1)):
                    tokens.append(Token(STOP, name, i, space))
                    i, space = g.end(), True
                    continue
            if name in STOP_CMDS:
                tokens.append(Token(STOP, name, i, space))
            else:
                tokens.append(Token("cmd", name, i, space))
            i, space = end, False
            continue
        m = re.match(r"\d+(?:\.\d+)?", text[i:])
        if m:
            tokens.append(Token("num", m.group(), i, space))
            i, space = i + m.end(), False
            continue
        run = script_run(text, i)              # pasted Unicode: ₜ₋₁, ⁽¹←⁾, z̄, ī
        if run:
            inner = [Token(t.kind, t.text, i) for t in tokenize_latex(run[1])[:-1]]
            tokens += [Token("op", run[0], i, space), Token("op", "{", i)] + inner + [Token("op", "}", i)]
            i, space = run[2], False
            continue
        letter = latin(c)
        if c in ACCENTS and tokens and tokens[-1].kind == "letter":
            base = tokens.pop()
            tokens += [Token("cmd", ACCENTS[c], base.index, base.space), Token("op", "{", base.index),
                       base, Token("op", "}", base.index)]
        elif letter and letter[1]:
            tokens += [Token("cmd", letter[1], i, space), Token("op", "{", i),
                       Token("letter", letter[0], i), Token("op", "}", i)]
        elif letter:
            tokens.append(Token("letter", c, i, space))
        elif command(c):
            tokens.append(Token("cmd", command(c), i, space))
        elif c in OPS:
            tokens.append(Token("op", {"−": "-", "′": "'"}.get(c, c), i, space))
        else:
            raise ParseError(f"unexpected character {c!r}", i)
        i, space = i + 1, False
    tokens.append(Token("end", "", n, space))
    return tokens


def _skip_space(text, i):
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def read_chain(text):
    """The syntax tree of each side of a LaTeX equation (a ParseError for a side that fails)."""
    return Grammar(tokenize_latex(text)).chain()


def parse_latex_equation(line, scope, where="<text>:1"):
    """(lhs, rhs) of one LaTeX backward equation line; ``where`` is "file:line" for errors."""
    return read_equation(read_chain(line), scope, where)
