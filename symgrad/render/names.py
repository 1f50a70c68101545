"""How a symbol's code name reads in print: ``zbar`` → z̄ / \\bar{z}, ``W1`` → W₁ / W_{1}.

Code names are identifiers; decorations are suffixes (bar, hat, tilde), a trailing number
or an ``_x`` part is a subscript, Greek letters are spelled out, and a ``__tag`` part is a
superscript for layer and direction: ``y__2b`` → y⁽²←⁾ (layer 2, backward), ``W_z__2fb``
→ W_z⁽²→←⁾ (layer 2 forward, reading the backward direction below).

A subscript is one group in every renderer: unicode subscripts where every character has
one (hₜ₊₁), a single name after ``_`` (W_z, a_T), else braces (h_{T+1}, h_{T_x+1}). In
LaTeX a subscript word of three or more letters is upright text (d_{\\text{model}}).
"""
import re
import unicodedata

import sympy as sp

GREEK = {
    "alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
    "delta": ("δ", r"\delta"), "epsilon": ("ε", r"\epsilon"), "eta": ("η", r"\eta"),
    "lambda": ("λ", r"\lambda"), "mu": ("μ", r"\mu"), "sigma": ("σ", r"\sigma"),
    "tau": ("τ", r"\tau"), "ell": ("ℓ", r"\ell"), "Delta": ("Δ", r"\Delta"),
}
ACCENTS = {"bar": ("\u0304", r"\bar"), "hat": ("\u0302", r"\hat"), "tilde": ("\u0303", r"\tilde")}
SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx",
                    "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_NAME = re.compile(r"^(?P<stem>[A-Za-z]+?)(?P<acc>bar|hat|tilde)?(?P<num>\d*)"
                   r"(?:_(?P<sub>[A-Za-z0-9]+))?(?:__(?P<sup>[0-9fb]+))?$")
SUP = str.maketrans("0123456789fb", "⁰¹²³⁴⁵⁶⁷⁸⁹→←")
SUP_LATEX = {"f": r"\rightarrow ", "b": r"\leftarrow "}


def _parts(name):
    m = _NAME.match(name)
    if not m or not m.group("stem"):
        return name, None, "", ""
    sub = m.group("num") or ""
    if m.group("sub"):
        sub = (sub + "," if sub else "") + m.group("sub")
    return m.group("stem"), m.group("acc"), sub, m.group("sup") or ""


def _head_parts(sub, head):
    """Per head, Vaswani's W^Q_i: a capital-letter subscript goes up, the head index i down."""
    if not head:
        return sub, ""
    return ("i", sub) if len(sub) == 1 and sub.isupper() else (",".join(filter(None, (sub, "i"))), "")


def text_name(name, time=None, head=False):
    stem, acc, sub, sup = _parts(name)
    sub, upper = _head_parts(sub, head)
    stem = GREEK.get(stem, (stem,))[0]
    if acc:
        stem = unicodedata.normalize("NFC", stem + ACCENTS[acc][0])
    subs = ",".join(s for s in (sub, time_text(time)) if s)
    if subs:  # letter subscripts stay W_z (unicode has ᵢ but no z), steps and digits go low
        plain = sub.isdigit() or not sub or (head and sub == "i")
        stem += text_sub(subs, unicode=plain)
    stem += "^" + upper if upper else ""
    return stem + "⁽" + sup.translate(SUP) + "⁾" if sup else stem


def latex_name(name, time=None, head=False):
    stem, acc, sub, sup = _parts(name)
    sub, upper = _head_parts(sub, head)
    stem = GREEK.get(stem, (None, stem))[1]
    if acc:
        stem = ACCENTS[acc][1] + "{" + stem + "}"
    subs = [s for s in (_latex_word(sub), time_latex(time)) if s]
    out = stem + "_{" + ",".join(subs) + "}" if subs else stem
    tags = [upper] if upper else []
    if sup:
        tags.append("(" + "".join(SUP_LATEX.get(c, c) for c in sup).strip() + ")")
    return out + "^{" + "".join(tags) + "}" if tags else out


def text_sub(s, unicode=True):
    """Unicode subscripts where every character has one, else ``_s`` for one name, else ``_{s}``."""
    if unicode and all(c in "0123456789+-=()aehijklmnoprstuvx" for c in s):
        return s.translate(SUB)
    return "_" + s if re.fullmatch(r"[A-Za-z0-9]+", s) else "_{" + s + "}"


def _latex_word(sub):
    """A subscript word (model, pad) upright; letters, digits and two-letter indices (W_ir) stay math."""
    return ",".join(r"\text{" + p + "}" if re.fullmatch(r"[A-Za-z]{3,}", p) else p for p in sub.split(",")) \
        if sub else sub


def time_text(time):
    return None if time is None else sp.sstr(time).replace(" ", "")


def time_latex(time):
    """t-1, T+1, T_{x}+1: SymPy's LaTeX of the step, without spaces."""
    return None if time is None else sp.latex(time).replace(" ", "")
