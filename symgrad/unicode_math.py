"""Unicode math as the grammar's tokens: shared by the plain-text and LaTeX readers.

symgrad prints Unicode (δz̄ₜ₊₁, W_z⁽²→←⁾ᵀ), and people paste it into LaTeX too. Greek letters
and operators are their LaTeX commands (δ is ``\\delta``, ⊙ is ``\\odot``), a run of
subscript or superscript characters (ₜ₋₁, ⁽¹→⁾) is a script group, and an accent, combining
(z̄) or precomposed (ī), is ``\\bar`` around its letter.
"""
import unicodedata

COMMANDS = {"δ": r"\delta", "Δ": r"\Delta", "σ": r"\sigma", "ℓ": r"\ell", "γ": r"\gamma",
            "β": r"\beta", "α": r"\alpha", "μ": r"\mu", "ε": r"\epsilon", "τ": r"\tau",
            "∂": r"\partial", "∇": r"\nabla", "Σ": r"\sum", "∑": r"\sum", "√": r"\sqrt",
            "⊙": r"\odot", "∘": r"\circ", "·": r"\cdot", "×": r"\times", "⊘": r"\oslash",
            "⟨": r"\langle", "⟩": r"\rangle", "⊤": r"\top", "λ": r"\lambda", "θ": r"\theta",
            "η": r"\eta", "𝟏": r"\one", "→": r"\rightarrow", "←": r"\leftarrow", "⋆": r"\star",
            "≔": r"\coloneqq", "…": r"\dots", "ϵ": r"\epsilon", "∏": r"\prod", "≠": r"\neq",
            "≤": r"\leq", "≥": r"\geq", "𝟙": r"\one", "⟦": r"\llbracket", "⟧": r"\rrbracket"}
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "0123456789+-=()aehijklmnoprstuvx"))
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", "0123456789+-=()ni"))
ACCENTS = {"\u0304": r"\bar", "\u0305": r"\bar", "\u0302": r"\hat", "\u0303": r"\tilde"}


def command(c):
    """The LaTeX command of a Greek letter or math sign, or None."""
    if c in COMMANDS:
        return COMMANDS[c]
    name = unicodedata.name(c, "")
    if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
        word = name.split("LETTER ")[1].lower()
        return "\\" + (word.capitalize() if "CAPITAL" in name else word)
    return None


def latin(c):
    """(base letter, accent command or None) of a Latin letter, precomposed or not; else None."""
    parts = unicodedata.normalize("NFD", c)
    if parts[0].isascii() and parts[0].isalpha():
        return parts[0], ACCENTS.get(parts[1:2]) if len(parts) > 1 else None
    return None


def script_run(text, i):
    """('_' or '^', the run as ASCII, where it ends) for a run of Unicode sub- or
    superscripts starting at i (⁽¹→⁾ keeps its arrows); None if there is none."""
    table, mark = (SUBSCRIPTS, "_") if text[i] in SUBSCRIPTS else (SUPERSCRIPTS, "^") \
        if text[i] in SUPERSCRIPTS else (None, None)
    if table is None:
        return None
    j, out = i, []
    while j < len(text) and (text[j] in table or mark == "^" and text[j] in "→←" and "⁽" in text[i:j]):
        out.append(table.get(text[j], text[j]))
        j += 1
    return mark, "".join(out), j
