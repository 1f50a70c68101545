"""What names mean for one model: its symbols as people write them, its functions, sizes,
time axes, loss and outputs.

A model symbol is found by its written form, not its code name: ``\\bar{z}``, ``z̄`` and
``zbar`` are the same, ``W_{z}^{(2\\rightarrow\\leftarrow)}`` is ``W_z__2fb``, Vaswani's
``W_i^Q`` is the per-head ``W_Q``. Each code name is indexed by its signature: stem,
accent, the parts of its subscript, and its layer/direction tag. An unknown name gets a
message with the closest names the model has.
"""
import difflib
import re

from .ops import Fn, LayerNorm, RowStd, TimeSum
from .render.names import _parts, text_name
from .symbols import T, Seq

FUNCTION_NAMES = {"tanh": "tanh", "sigma": "sigma", "sigmoid": "sigma", "σ": "sigma",
                  "relu": "relu", "step": "step", "exp": "exp", "log": "log", "ln": "log",
                  "gelu": "gelu"}
MAX_LISTED = 24
LOSS_STEMS = {"L", "E", "J", "ell", "l", "C", "mathcalL"}
_FONT = re.compile(r"\\(?:mathrm|text|textrm|mathit|mathbf|boldsymbol|bm|mathsf|operatorname)\{([^{}]*)\}")
_ACCENT = re.compile(r"\\(bar|hat|tilde|overline|widehat|widetilde)\{?\\?([A-Za-z]+)\}?")
_ARROWS = {r"\rightarrow": "f", r"\to": "f", "→": "f", r"\leftarrow": "b", r"\gets": "b", "←": "b"}
ACCENT_NAMES = {"overline": "bar", "widehat": "hat", "widetilde": "tilde"}


def normal_part(raw):
    """A written subscript part as a name part: \\mathrm{pad} → pad, \\bar{z} → zbar, \\gamma → gamma."""
    raw = _FONT.sub(lambda m: m.group(1), raw)
    raw = _ACCENT.sub(lambda m: m.group(2) + ACCENT_NAMES.get(m.group(1), m.group(1)), raw)
    return raw.replace("\\", "").replace("{", "").replace("}", "").replace(" ", "")


def tag_of(raw):
    """The layer/direction tag of a superscript: (1→) → 1f, (2→←) → 2fb, (→) → f; else None."""
    text = raw.replace(" ", "")
    if not (text.startswith("(") and text.endswith(")")):
        return None
    inner = text[1:-1]
    for arrow, letter in sorted(_ARROWS.items(), key=lambda kv: -len(kv[0])):
        inner = inner.replace(arrow, letter)
    return inner if re.fullmatch(r"\d*[fb]*", inner) and inner else None


class Scope:
    """The names of one model, and the file's own aliases for them."""

    def __init__(self, derivation):
        model = derivation.model
        self.derivation = derivation
        self.model = model
        self.declared = dict(model.declared)
        self.outputs = [o for o in model.outputs if o != model.loss_name]
        self.loss = model.loss_name
        self.step_loss = _step_loss(model)
        self.dims = dict(model.dims_)
        self.axes = dict(model.axes)
        if model.sequence:          # the number of steps is a size too (Σₜ c = T c)
            self.dims.setdefault(str(T), T)
        for length in self.axes.values():
            self.dims.setdefault(str(length), length)
        self.heads = model.head_dim is not None
        self.functions = {name: impl for name, impl in FUNCTION_NAMES.items()}
        for eq in derivation.forward:
            for f in eq.rhs.atoms(Fn):
                self.functions[f.name] = f.impl
                self.functions[f.name.lower()] = f.impl
        self.eps = next((n.eps for eq in derivation.forward for n in eq.rhs.atoms(LayerNorm, RowStd)), None)
        self.aliases = {}
        self._index = {}
        for name, sym in self.declared.items():
            stem, acc, sub, sup = _parts(name)
            parts = tuple(p for p in sub.split(",") if p) if sub else ()
            self._index[(stem, acc or "", frozenset(parts), sup)] = name

    # -- finding symbols ---------------------------------------------------------------------------
    def find(self, stem, accent, parts, tag=""):
        """The code name for a written stem, accent, name parts and tag; None if none."""
        stem = {"mathcalL": "L"}.get(stem, stem)
        key = (stem, accent or "", frozenset(parts), tag or "")
        name = self._index.get(key)
        if name is None and "i" in parts:          # Vaswani's head index on a per-head symbol
            name = self._index.get((key[0], key[1], frozenset(p for p in parts if p != "i"), key[3]))
            if name is not None and not getattr(self.declared[name], "per_head", False):
                name = None
        if name is None and any(p.endswith(("bar", "hat", "tilde")) for p in parts):
            plain = frozenset(re.sub(r"(bar|hat|tilde)$", "", p) for p in parts)
            name = self._index.get((key[0], key[1], plain, key[3]))
        return name

    def alias(self, written):
        """The model's name for a name as the file writes it, through its aliases."""
        return self.aliases.get(written)

    def code(self, word):
        """A code name written as such (zbar, W_z, yhat), directly or through an alias."""
        word = self.aliases.get(word, word)
        return word if word in self.declared else None

    def is_sequence(self, name):
        return isinstance(self.declared.get(name), Seq)

    def axis_of(self, name):
        sym = self.declared.get(name)
        return sym.axis_name if isinstance(sym, Seq) else None

    def function(self, written):
        """The implementation of a function as written (tanh, σ, g, GELU), or None."""
        return self.functions.get(written) or self.functions.get(written.lower())

    # -- messages ----------------------------------------------------------------------------------
    def printed(self):
        """The model's symbols as the text printer writes them."""
        return [text_name(name, head=getattr(sym, "per_head", False)) for name, sym in self.declared.items()]

    def unknown(self, written):
        """The message for a name the model does not have, with the closest one."""
        printed = self.printed()
        plain = written.lstrip("\\")
        guess = None
        for prefix in ("boldsymbol", "mathbf", "bm", "V", "M", "v", "m", "b", "S", "R", "T"):
            rest = plain[len(prefix):]
            if plain.startswith(prefix) and rest and (rest in self.declared or rest in printed):
                guess = text_name(rest) if rest in self.declared else rest
                break
        if guess is None:
            close = difflib.get_close_matches(plain, list(self.declared) + printed, n=1, cutoff=0.6)
            if close:
                guess = text_name(close[0]) if close[0] in self.declared else close[0]
        hint = f"; did you mean {guess}?" if guess else ""
        shown = ", ".join(printed[:MAX_LISTED]) + (", …" if len(printed) > MAX_LISTED else "")
        return f"unknown symbol {written}{hint} (the model has {shown})"


def _step_loss(model):
    """The per-step loss node the loss sums (ℓ in L = Σₜ ℓₜ), or None."""
    if model.loss_name is None:
        return None
    rhs = model.definition(model.loss_name).rhs
    if isinstance(rhs, TimeSum) and isinstance(rhs.x, Seq):
        return rhs.x.name
    return None

