"""Parsing equations people write, in plain text, into symgrad expressions.

    dc[t] = dy[t] * o[t] * h'(c[t]) + p_o * dobar[t] + dc[t+1] * f[t+1]
    dW_z = sum_t(dzbar[t] @ x[t].T)

``@`` is the matrix product, ``*`` (or ⊙) the Hadamard product, ``.T`` (or ᵀ) the
transpose, ``f'(x)`` (or ``df(x)``, ``f′(x)``) a derivative, ``d`` or δ prefixes a delta,
``Delta`` or Δ is the delta from above, ``[t+1]`` a step, ``sum_t(…)`` the sum over steps.
``@`` and ``*`` bind equally and left to right, as in NumPy. The grammar is parsed by
hand, never evaluated: a malformed line is a ParseError naming its line and column.
"""
import re
from dataclasses import dataclass

import sympy as sp

from . import algebra
from .errors import ShapeError, SymgradError
from .ops import Fn
from .symbols import T, Cotangent, Delta, Seq, t
from .tensor import Tensor

_TOKEN = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>(?:(?!ᵀ)[^\W\d])(?:(?!ᵀ)\w)*)
  | (?P<op>\*\*|\.T|[@*⊙+\-−=()\[\],'′ᵀ/])
""", re.VERBOSE)

PRIMES = ("'", "′")
MINUS = ("-", "−")


class ParseError(SymgradError):
    """Text that does not parse, with where."""


class ShapeMismatch(ParseError):
    """An equation that parses but whose products do not fit: in a hand derivation, a wrong
    equation (usually a product in the wrong order) rather than unreadable text."""

    def __init__(self, where, detail):
        super().__init__(f"{where}: {detail}")
        self.detail = detail


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    col: int


def scan(line, where, pattern, token=Token):
    """Tokens of a line by a regex of named groups (``ws`` skipped), then an end token."""
    tokens, pos = [], 0
    while pos < len(line):
        m = pattern.match(line, pos)
        if not m:
            raise ParseError(f"{where}:{pos + 1}: unexpected character {line[pos]!r}")
        if m.lastgroup != "ws":
            tokens.append(token(m.lastgroup, m.group(), pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(line) + 1))
    return tokens


def tokenize(line, where):
    return scan(line, where, _TOKEN)


class Scope:
    """What names mean for one model: its symbols, its outputs, its functions."""

    def __init__(self, derivation):
        model = derivation.model
        self.declared = dict(model.declared)
        self.outputs = [o for o in model.outputs if o != model.loss_name]
        self.functions = {"tanh": "tanh", "sigma": "sigma", "σ": "sigma", "relu": "relu",
                          "exp": "exp", "log": "log"}
        for eq in derivation.forward:
            for f in eq.rhs.atoms(Fn):
                self.functions[f.name] = f.impl
        self.loss = model.loss_name
        self.aliases = {}

    def alias(self, base, parts=()):
        """The model's name for a base and subscript parts (W, [z] → W_z; W, [1] → W1), through
        the file's own aliases first; None if there is none."""
        joined = "_".join(parts)
        candidates = [base + "_" + joined, base + joined] if parts else [base]
        for c in candidates:
            c = self.aliases.get(c, c)
            if c in self.declared:
                return c
        return None

    def symbol(self, name, time, tok, where):
        sym = self.declared.get(name)
        if sym is None:
            return None
        if isinstance(sym, Seq):
            if time is None:
                raise ParseError(f"{where}:{tok.col}: {name} is a sequence: give its step, e.g. {name}[t]")
            return Seq(sym.name, time, *sym.shape, sym.role)
        if time is not None:
            raise ParseError(f"{where}:{tok.col}: {name} has no step; write it without [..]")
        return sym


class Parser:
    """Recursive descent over one line's tokens."""

    def __init__(self, tokens, scope, where):
        self.toks, self.i, self.scope, self.where = tokens, 0, scope, where

    # -- helpers ---------------------------------------------------------------
    @property
    def tok(self):
        return self.toks[self.i]

    def error(self, message, tok=None):
        raise ParseError(f"{self.where}:{(tok or self.tok).col}: {message}")  # where = file:line

    def take(self, *texts):
        if self.tok.text in texts:
            self.i += 1
            return self.toks[self.i - 1]
        return None

    def expect(self, text):
        if not self.take(text):
            found = repr(self.tok.text) if self.tok.kind != "end" else "the end of the line"
            self.error(f"expected {text!r}, found {found}")

    def combine(self, fn, a, b, tok):
        """fn(a, b), where a number beside a matrix stands for that number times ones
        (in a sum) or a scalar factor (in a product)."""
        numbers = [not isinstance(x, Tensor) for x in (a, b)]
        if all(numbers):
            return {algebra.add: a + b, algebra.had: a * b}.get(fn) if fn != algebra.matmul \
                else self.error("a matrix product needs matrices", tok)
        try:
            if any(numbers):
                if fn is algebra.matmul:
                    self.error("a matrix product needs matrices; use * for a scalar factor", tok)
                if fn is algebra.add:
                    return algebra.add(*(algebra.lift(x, b if numbers[0] else a) for x in (a, b)))
                number, tensor = (a, b) if numbers[0] else (b, a)
                return algebra.scale(number, tensor)
            return fn(a, b)
        except ShapeError as err:
            raise ShapeMismatch(f"{self.where}:{tok.col}", str(err)) from None

    # -- grammar -----------------------------------------------------------------
    def equation(self):
        start = self.tok
        lhs = self.postfix()
        if not isinstance(lhs, Delta):
            self.error("the left-hand side must be a delta such as dh[t] or δW", start)
        self.expect("=")
        rhs = self.expr()
        if self.tok.kind != "end":
            self.error(f"unexpected {self.tok.text!r}")
        return lhs, rhs

    def expr(self):
        node = self.term()
        while self.tok.text in ("+",) + MINUS:
            tok = self.tok
            self.i += 1
            right = self.term()
            node = self.combine(algebra.add, node, right if tok.text == "+" else _neg(right), tok)
        return node

    def term(self):
        node = self.unary()
        while self.tok.text in ("@", "*", "⊙", "/"):
            tok = self.tok
            self.i += 1
            right = self.unary()
            if tok.text == "@":
                node = self.combine(algebra.matmul, node, right, tok)
            elif tok.text == "/":
                node = self.combine(algebra.had, node, _power(right, -1), tok)
            else:
                node = self.combine(algebra.had, node, right, tok)
        return node

    def unary(self):
        if self.take(*MINUS):
            return _neg(self.unary())
        return self.power()

    def power(self):
        base = self.postfix()
        if self.take("**"):
            tok = self.tok
            if tok.kind != "num" or "." in tok.text:
                self.error("an element-wise power takes a whole number")
            self.i += 1
            return _power(base, int(tok.text))
        return base

    def postfix(self):
        node = self.atom()
        while self.take(".T", "ᵀ"):
            node = algebra.transpose(node) if isinstance(node, Tensor) else node
        return node

    def atom(self):
        tok = self.tok
        if self.take("("):
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind == "num":
            self.i += 1
            return sp.Rational(tok.text)
        if tok.kind != "name":
            self.error(f"expected a symbol, a number or '(', found {tok.text!r}" if tok.kind != "end"
                       else "the line ends in the middle of an expression")
        self.i += 1
        return self.named(tok)

    def named(self, tok):
        name = tok.text
        if name in ("sum_t", "Σ_t", "Σₜ"):
            self.expect("(")
            inner = self.expr()
            self.expect(")")
            return algebra.timesum(inner)
        prime = self.take(*PRIMES) is not None
        if self.tok.text == "(":
            return self.call(name, prime, tok)
        if prime:
            self.error(f"{name}' must be applied to an argument, as {name}'(x)", tok)
        time = self.step() if self.tok.text == "[" else None
        return self.resolve(name, time, tok)

    def call(self, name, prime, tok):
        functions = self.scope.functions
        if self.toks[self.i + 1].kind == "num":
            self.error(f"{name}(…) takes an expression of the model's symbols", tok)
        order = 1 if prime else 0
        if name not in functions and not prime and name[:1] in ("d", "δ") and name[1:] in functions:
            name, order = name[1:], 1
        if name == "softmax" and not prime:
            self.expect("(")
            arg = self.expr()
            self.expect(")")
            return algebra.softmax(arg)
        if name not in functions:
            self.error(f"unknown function {name}; this model has: {', '.join(sorted(functions))}", tok)
        self.expect("(")
        arg = self.expr()
        self.expect(")")
        return algebra.fn(name, functions[name], arg, order)

    def step(self):
        self.expect("[")
        tok = self.tok
        if tok.kind == "num" and "." not in tok.text:
            self.i += 1
            base = sp.Integer(int(tok.text))
        elif tok.text in ("t", "T"):
            self.i += 1
            base = t if tok.text == "t" else T
            sign = self.take("+", *MINUS)
            if sign:
                k = self.tok
                if k.kind != "num" or "." in k.text:
                    self.error("a step is t, t+1, t-1, a number, T or T+1")
                self.i += 1
                base = base + int(k.text) if sign.text == "+" else base - int(k.text)
        else:
            self.error("a step is t, t+1, t-1, a number, T or T+1")
        self.expect("]")
        return base

    def resolve(self, name, time, tok):
        scope, where = self.scope, self.where
        name = scope.aliases.get(name, name)
        sym = scope.symbol(name, time, tok, where)
        if sym is not None:
            return sym
        if name in ("Delta", "Δ") or name.startswith(("Delta_", "Δ")):
            target = (None if name in ("Delta", "Δ") else
                      name.split("_", 1)[1] if name.startswith("Delta_") else name[1:])
            outs = scope.outputs
            if target is None and len(outs) != 1:
                self.error(f"Δ is ambiguous with outputs {', '.join(outs)}: write Delta_<output>", tok)
            out = target or (outs[0] if outs else None)
            if out not in outs:
                self.error(f"Δ needs an output; this model's outputs are: {', '.join(outs) or 'none'}", tok)
            return Cotangent(scope.symbol(out, time, tok, where), short=len(outs) == 1)
        target = scope.aliases.get(name[1:], name[1:])
        if name[:1] in ("d", "δ") and target in scope.declared:
            return Delta(scope.symbol(target, time, tok, where))
        self.error(f"unknown symbol {name}", tok)


def _neg(x):
    return algebra.neg(x) if isinstance(x, Tensor) else -x


def _power(x, p):
    return algebra.epow(x, p) if isinstance(x, Tensor) else x ** p


def parse_equation(line, scope, where="<text>:1"):
    """(lhs, rhs) of one equation line; ``where`` is "file:line" for error messages."""
    parser = Parser(tokenize(line, where), scope, where)
    lhs, rhs = parser.equation()
    if not isinstance(rhs, Tensor):
        raise ParseError(f"{where}:1: the right-hand side is a bare number, not an expression")
    return lhs, rhs


def read_equations(path, scope):
    """Every equation line of a plain-text file, parsed against the model's scope."""
    out = []
    for number, line in enumerate(read_lines(path), 1):
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("model:"):
            lhs, rhs = parse_equation(text, scope, f"{path}:{number}")
            out.append((number, text, lhs, rhs))
    return out


def read_header(path):
    """The model line of a hand-derivation file: ``model: NAME [--option VALUE …]``."""
    from .hand import directives
    model, options, _ = directives(read_lines(path))
    return model, options


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ParseError(f"{path}: cannot read: {err}") from None
