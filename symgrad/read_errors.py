"""The errors of reading a hand derivation, each knowing where in the equation text it is.

``index`` is a position in the text being parsed (None when unknown); the reader turns it
into the line and column the person wrote.
"""
from .errors import SymgradError


class ParseError(SymgradError):
    """Text that cannot be read: why, and where."""

    def __init__(self, reason, index=None):
        super().__init__(reason)
        self.reason = reason
        self.index = index


class ShapeMismatch(ParseError):
    """An equation that reads but whose products or sums do not fit: in a hand derivation a
    wrong equation (usually a product in the wrong order), not unreadable text."""


class Uncheckable(ParseError):
    """Read, but outside what an identity test can decide (a closed form over time)."""
