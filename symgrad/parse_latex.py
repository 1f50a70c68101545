"""Reading equations written in LaTeX, as papers and books print them.

    \\delta y^t = \\Delta^t + R_z^T \\delta\\bar{z}^{t+1} + R_i^T \\delta\\bar{i}^{t+1} + …
    \\nabla_{\\mathbf{h}^{(t)}} L = \\Big(\\frac{\\partial \\mathbf{h}^{(t+1)}}{\\partial \\mathbf{h}^{(t)}}\\Big)^\\top (\\nabla_{\\mathbf{h}^{(t+1)}} L) + …

This module only turns LaTeX characters into the tokens of ``grammar.py``: spacing and
sizing commands (``\\,``, ``\\left``, ``\\Big``, ``&``) are space; ``\\quad`` and prose in
``\\text{…}`` end the math of a row; Unicode letters are their commands (δ is ``\\delta``).
What the symbols mean is decided by ``interpret.py``. Text is parsed, never evaluated.
"""
import re

from .grammar import STOP, Grammar, Token
from .interpret import read_equation
from .read_errors import ParseError

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
UNICODE = {"δ": r"\delta", "Δ": r"\Delta", "σ": r"\sigma", "ℓ": r"\ell", "γ": r"\gamma",
           "β": r"\beta", "α": r"\alpha", "μ": r"\mu", "ε": r"\epsilon", "τ": r"\tau",
           "∂": r"\partial", "∇": r"\nabla", "Σ": r"\sum", "∑": r"\sum", "√": r"\sqrt",
           "⊙": r"\odot", "∘": r"\circ", "·": r"\cdot", "×": r"\times", "⊘": r"\oslash",
           "⟨": r"\langle", "⟩": r"\rangle", "⊤": r"\top", "λ": r"\lambda", "θ": r"\theta",
           "η": r"\eta", "𝟏": r"\one", "→": r"\rightarrow", "←": r"\leftarrow", "⋆": r"\star",
           "≔": r"\coloneqq", "…": r"\dots", "ϵ": r"\epsilon"}
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
        if "a" <= c.lower() <= "z":
            tokens.append(Token("letter", c, i, space))
        elif c in UNICODE:
            tokens.append(Token("cmd", UNICODE[c], i, space))
        elif c in OPS:
            tokens.append(Token("op", {"−": "-", "′": "'"}.get(c, c), i, space))
        elif c.isalpha():
            tokens.append(Token("letter", c, i, space))
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
