"""The two page languages a derivation is written in: LaTeX (sheets) and GitHub/Jupyter
Markdown (the repository's derivations/). Content functions take one and stay agnostic.

Markdown math is written so GitHub's renderer cannot misread it: GitHub runs its Markdown
parser over the math first, so an underscore can open emphasis (``}_{`` … ``W_{``) and a
backslash before punctuation is eaten. Every ``_`` in math is followed by a space (TeX
ignores it; a ``_`` before a space can never open emphasis), and symgrad's printers emit no
backslash before punctuation (tests/test_derivations.py checks every committed page).
"""
import re
from dataclasses import dataclass
from typing import Callable

from .escape import latex_text, markdown_text


@dataclass(frozen=True)
class Markup:
    text: Callable       # user text, escaped
    code: Callable       # a name in monospace
    bold: Callable
    math: Callable       # LaTeX math → inline math

    def rich(self, s):
        """LaTeX text with $…$ math (what notes, notation and operator rows are) in this markup."""
        return _MATH.sub(lambda m: self.math(m.group(1)), s)


_MATH = re.compile(r"\$([^$]+)\$")


def github_math(tex):
    """LaTeX math as GitHub's renderer reads it right: ``x_ {t}``, never ``x_{t}``."""
    return re.sub(r"_(?! )", "_ ", tex)


LATEX = Markup(latex_text, lambda s: r"\texttt{" + latex_text(s) + "}", lambda s: r"\textbf{" + s + "}",
               lambda m: f"${m}$")
MARKDOWN = Markup(markdown_text, lambda s: "`" + one_tick(s) + "`", lambda s: f"**{s}**",
                  lambda m: f"${github_math(m)}$")


def one_tick(s):
    """A name for a Markdown code span: no backtick can end it early."""
    return str(s).replace("`", "'")
