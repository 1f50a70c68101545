"""User text (a model's title, its source, option values) made inert where LaTeX or Markdown
embeds it: it prints as written and never acts as markup.

Both collapse every run of whitespace and control characters (a newline too) to one space,
so user text can end neither a LaTeX ``%`` comment nor a Markdown paragraph or table row.
"""
import re
import unicodedata

_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")

_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
          "×": r"$\times$", "÷": r"$\div$", "·": r"$\cdot$", "§": r"\S{}", "¶": r"\P{}"}
_TYPOGRAPHY = set("–—‘’“”…•")     # pdflatex's utf8 input knows these
_GREEK_SMALL = set("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho "
                   "sigma tau upsilon phi chi psi omega".split())
_GREEK_CAPITAL = set("gamma delta theta lambda xi pi sigma upsilon phi psi omega".split())

# ASCII characters with a meaning in Markdown where user text can land (mid-line, in a table cell)
_MARKDOWN = set("\\`*_[]<>|$~&#")


def one_line(text):
    """Whitespace and control characters collapsed to single spaces, ends trimmed."""
    return _SPACE.sub(" ", str(text)).strip()


def latex_text(text):
    """Text for a LaTeX text run or a ``%`` comment: specials escaped, Greek as math, and any
    character pdflatex cannot set shown as its code point [U+…] rather than failing the build."""
    return "".join(_latex_char(c) for c in one_line(text))


def _latex_char(c):
    if c in _LATEX:
        return _LATEX[c]
    if c.isascii() or c in _TYPOGRAPHY or ("\u00c0" <= c <= "\u017f" and c.isalpha()):
        return c
    name = unicodedata.name(c, "").split()
    if name[:1] == ["GREEK"] and "LETTER" in name:
        letter = name[-1].lower()
        if "CAPITAL" in name and letter in _GREEK_CAPITAL:
            return f"$\\{letter.capitalize()}$"
        if "SMALL" in name and letter in _GREEK_SMALL:
            return f"$\\{letter}$"
    return f"[U+{ord(c):04X}]"


def latex_comment(text):
    """Text for a ``%`` comment line: one line, and no ``^^`` that TeX would read as a newline."""
    return one_line(text).replace("^^", "^ ^")


def markdown_text(text):
    """Text for a Markdown line or table cell: markup characters backslash-escaped, so a title
    holding ``*``, ``_``, ``|``, ``$`` or ``<b>`` prints literally on GitHub and in Jupyter."""
    return "".join("\\" + c if c in _MARKDOWN else c for c in one_line(text))
