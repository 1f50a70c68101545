"""Text that remembers where each of its characters came from in a file.

A hand derivation is cut, joined and rewritten before it is parsed: LaTeX rows are split
on ``\\\\``, wrapped rows joined, macros expanded, comments removed. An error must still
name the line and column the person wrote, so every piece of text carries, per
character, the (line, column) it stands for. Inserted text (a macro's body) stands for
the place of what it replaced.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Located:
    text: str
    where: tuple          # (line, col) of each character, 1-based

    @classmethod
    def line(cls, text, number, first_col=1):
        return cls(text, tuple((number, first_col + i) for i in range(len(text))))

    def __len__(self):
        return len(self.text)

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError("slice a Located text")
        return Located(self.text[key], self.where[key])

    def __add__(self, other):
        return Located(self.text + other.text, self.where + other.where)

    def at(self, index):
        """(line, col) of the character at ``index``; past the end, just after the last one."""
        if not self.where:
            return (0, 1)
        if index < len(self.where):
            return self.where[max(index, 0)]
        line, col = self.where[-1]
        return (line, col + 1)

    def replace(self, start, end, text):
        """The text with [start, end) replaced by ``text``, which stands where start stood."""
        spot = self.at(start)
        return Located(self.text[:start] + text + self.text[end:],
                       self.where[:start] + (spot,) * len(text) + self.where[end:])

    def strip(self):
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return self[left:right] if right > left else self[0:0]

    @staticmethod
    def join(parts, sep=" "):
        """Pieces joined by ``sep``, which stands where the next piece starts."""
        out = None
        for p in parts:
            if out is None:
                out = p
            else:
                out = out + Located(sep, (p.at(0),) * len(sep)) + p
        return out if out is not None else Located("", ())
