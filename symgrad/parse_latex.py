"""Parsing equations written in LaTeX, as papers print them, into symgrad expressions.

    \\delta c_t = \\delta y_t \\odot o_t \\odot h'(c_t) + p_o \\odot \\delta\\bar{o}_t + \\delta c_{t+1} \\odot f_{t+1}
    \\nabla_{h^{(t)}} L = W^\\top \\operatorname{diag}(1 - (h^{(t+1)})^2) \\nabla_{h^{(t+1)}} L + V^\\top \\nabla_{o^{(t)}} L

Juxtaposition is the matrix product; ``\\odot`` and ``\\circ`` the Hadamard product; ``^T``,
``^\\top``, ``^{\\top}`` the transpose; ``_t``, ``_{t+1}`` and Goodfellow's ``^{(t)}`` a step;
``\\delta x``, ``\\nabla_{x} L`` and ``\\frac{\\partial L}{\\partial x}`` the delta of x;
``\\sum_t`` (any range written: δ after the last step are zero) sums the product after it;
``\\langle a, b\\rangle`` is a bᵀ; ``\\operatorname{diag}(v) A`` is v ⊙ A. Everything is parsed
by hand, never evaluated.
"""
import re

import sympy as sp

from . import algebra
from .parse import MINUS, ParseError, Parser, Token, scan
from .symbols import T, Delta, Seq, t
from .tensor import Tensor

_TOKEN = re.compile(r"""
    (?P<ws>\s+|\\[,;!:\ ]|\\quad|\\qquad|\\left|\\right|\\big|\\Big|\\bigg|&|\\\\)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<cmd>\\[A-Za-z]+)
  | (?P<letter>[A-Za-zα-ωΑ-Ω])
  | (?P<op>[=+\-−*/(){}\[\]^_,'′⊙∘ᵀ|]|\\\{|\\\})
""", re.VERBOSE)

ACCENTS = {r"\bar": "bar", r"\overline": "bar", r"\hat": "hat", r"\widehat": "hat", r"\tilde": "tilde"}
GREEK = {r"\alpha", r"\beta", r"\gamma", r"\epsilon", r"\eta", r"\lambda", r"\mu", r"\tau", r"\ell"}
FUNCTIONS = {r"\sigma": "sigma", r"\tanh": "tanh", r"\exp": "exp", r"\log": "log"}
TRANSPOSES = {"T", r"\top", r"\intercal", r"\mathsf{T}", "ᵀ"}
CONNECTIVES = {r"\rangle", r"\odot", r"\circ", r"\cdot", r"\times"}
UNICODE = {"δ": r"\delta", "Δ": r"\Delta", "σ": r"\sigma", "ℓ": r"\ell", "γ": r"\gamma", "β": r"\beta"}


def _latex_token(kind, text, col):
    """Unicode letters as their commands (δ → \\delta), − as -, ∘ as ⊙, \\{ as {."""
    if text in UNICODE:
        text, kind = UNICODE[text], "cmd"
    return Token(kind, {"−": "-", "∘": "⊙", r"\{": "{", r"\}": "}"}.get(text, text), col)


def tokenize_latex(line, where):
    return scan(line, where, _TOKEN, _latex_token)


class _Diag:
    """diag(v), waiting for the matrix it multiplies: diag(v) A is v ⊙ A."""

    def __init__(self, v):
        self.v = v


class LatexParser(Parser):
    """The plain-text grammar with LaTeX atoms and products by juxtaposition."""

    def term(self):
        node = self.factor()
        while True:
            tok = self.tok
            if tok.text in ("*", "⊙", r"\odot", r"\circ"):
                self.i += 1
                node = self.combine(algebra.had, node, self.unary(), tok)
            elif tok.text in (r"\cdot", r"\times"):
                self.i += 1
                node = self.product(node, self.unary(), tok)
            elif tok.text == "/":
                self.i += 1
                node = self.combine(algebra.had, node, algebra.epow(self.unary(), -1), tok)
            elif self.starts_atom(tok):
                node = self.product(node, self.factor(), tok)
            else:
                return node

    def factor(self):
        """The next factor; diag(v) takes the one after it at once: A diag(v) g is A (v ⊙ g)."""
        x = self.unary()
        if isinstance(x, _Diag):
            tok = self.tok
            if not self.starts_atom(tok):
                self.error("diag(v) must multiply a matrix or a vector", tok)
            x = self.product(x, self.factor(), tok)
        return x

    @staticmethod
    def starts_atom(tok):
        """Can tok begin a factor written right after another (a product by juxtaposition)?"""
        if tok.kind in ("letter", "num") or tok.text in ("(", "{"):
            return True
        return tok.kind == "cmd" and tok.text not in CONNECTIVES

    def product(self, a, b, tok):
        """Juxtaposition: the matrix product, diag(v) A = v ⊙ A, a number a scalar factor."""
        if isinstance(a, _Diag):
            if not isinstance(b, Tensor):
                self.error("diag(v) must multiply a matrix or a vector", tok)
            return self.combine(algebra.had, algebra.spread(a.v, b.cols) if b.cols != 1 else a.v, b, tok)
        if isinstance(b, _Diag):
            self.error("diag(v) must come before what it multiplies", tok)
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            return self.combine(algebra.had, a, b, tok)
        return self.combine(algebra.matmul, a, b, tok)

    def unary(self):
        if self.take(*MINUS):
            return self.negate(self.unary())
        if self.tok.text == r"\sum":
            return self.sum()
        return self.power()

    def negate(self, x):
        return algebra.neg(x) if isinstance(x, Tensor) else -x

    def sum(self):
        self.i += 1
        if self.take("_"):
            self.group_text()
        if self.take("^"):
            self.group_text()
        inner = self.term()
        return algebra.timesum(inner)

    def postfix(self):
        node = self.atom()
        while self.tok.text in ("^", "ᵀ", "'", "′"):
            if self.tok.text in ("'", "′"):
                self.error("a prime belongs to a function: write h'(c_t)")
            if self.take("ᵀ"):
                node = algebra.transpose(node)
                continue
            self.i += 1
            sup = self.group_text()
            node = self.superscript(node, sup)
        return node

    def superscript(self, node, sup):
        """^T / ^\\top transposes, ^2 is an element-wise power, ^{(t)} was taken by the symbol."""
        sup = sup.replace(" ", "")
        if sup in TRANSPOSES:
            return algebra.transpose(node) if isinstance(node, Tensor) else node
        if sup.isdigit():
            return algebra.epow(node, int(sup)) if isinstance(node, Tensor) else node ** int(sup)
        if sup in ("-1",):
            return algebra.epow(node, -1)
        self.error(f"unknown superscript {sup!r}: use ^\\top, ^T or a whole-number power")

    # -- atoms -------------------------------------------------------------------------------
    def atom(self):
        tok = self.tok
        if tok.text in ("(", "{"):
            self.i += 1
            inner = self.expr()
            self.expect(")" if tok.text == "(" else "}")
            return inner
        if tok.kind == "num":
            self.i += 1
            return sp.Rational(tok.text)
        if tok.text == r"\langle":
            self.i += 1
            a = self.expr()
            self.expect(",")
            b = self.expr()
            self.expect(r"\rangle")
            return self.combine(algebra.matmul, a, algebra.transpose(b), tok)
        if tok.text in (r"\frac",):
            return self.fraction()
        if tok.text == r"\nabla":
            self.i += 1
            self.expect("_")
            target = self.subscript_atom()
            self.loss_name()
            return self.as_delta(target, tok)
        if tok.text == r"\delta":
            self.i += 1
            return self.as_delta(self.symbol(self.tok), tok)
        if tok.text in (r"\mathbf", r"\boldsymbol", r"\mathbb"):
            self.i += 1
            inner = self.group_text()
            if inner.strip() == "1":
                return sp.Integer(1)
            return self.resolve_name(inner.strip(), None, tok)
        if tok.text in (r"\operatorname", r"\mathrm", r"\text") or tok.text in FUNCTIONS:
            return self.function(tok)
        if tok.kind in ("letter", "cmd"):
            name_tok = self.tok
            if tok.kind == "letter" and self.peek_call():
                return self.function(tok)
            return self.symbol(name_tok)
        self.error(f"expected a symbol, a number or '(', found {tok.text!r}" if tok.kind != "end"
                   else "the line ends in the middle of an expression")

    def peek_call(self):
        j = self.i + 1
        while self.toks[j].text in ("'", "′"):
            j += 1
        return self.toks[j].text == "(" and self.toks[self.i].text in self.scope.functions

    def function(self, tok):
        self.i += 1
        name = FUNCTIONS.get(tok.text, tok.text)
        if tok.text in (r"\operatorname", r"\mathrm", r"\text"):
            name = self.group_text().strip()
        prime = False
        while self.take("'", "′"):
            prime = True
        if name == "diag":
            self.expect("(")
            v = self.expr()
            self.expect(")")
            return _Diag(v)
        if self.tok.text != "(":
            self.error(f"{name} needs its argument in parentheses")
        self.expect("(")
        if self.tok.text == r"\cdot":
            self.error(f"write the argument of {name}{'′' if prime else ''} instead of ·")
        arg = self.expr()
        self.expect(")")
        if name == "softmax" and not prime:
            return algebra.softmax(arg)
        functions = self.scope.functions
        if name not in functions:
            self.error(f"unknown function {name}; this model has: {', '.join(sorted(functions))}", tok)
        return algebra.fn(name, functions[name], arg, 1 if prime else 0)

    def fraction(self):
        """\\frac{\\partial L}{\\partial x}: the delta of x."""
        tok = self.tok
        self.i += 1
        self.expect("{")
        if not self.take(r"\partial"):
            self.error(r"only \frac{\partial L}{\partial x} is understood, as the delta of x", tok)
        self.loss_name()
        self.expect("}")
        self.expect("{")
        self.expect(r"\partial")
        target = self.symbol(self.tok)
        self.expect("}")
        return self.as_delta(target, tok)

    def loss_name(self):
        tok = self.tok
        if tok.kind in ("letter", "cmd") and tok.text in ("L", "E", r"\mathcal", r"\ell"):
            self.i += 1
            if tok.text == r"\mathcal":
                self.group_text()
            return
        self.error("expected the loss (L) after the gradient")

    def subscript_atom(self):
        """The x in \\nabla_{x} L: a symbol with its step, braces optional."""
        if self.take("{"):
            target = self.symbol(self.tok)
            self.expect("}")
            return target
        return self.symbol(self.tok)

    def as_delta(self, target, tok):
        if isinstance(target, Delta):
            self.error("a delta of a delta", tok)
        if not isinstance(target, Tensor):
            self.error("δ needs a symbol of the model", tok)
        return Delta(target)

    def symbol(self, tok):
        """A letter or command with accents, subscripts and a Goodfellow step superscript."""
        if tok.text in ACCENTS:
            self.i += 1
            inner = self.group_text().strip().replace(" ", "")
            base = inner.lstrip("\\") + ACCENTS[tok.text]
        elif tok.text == r"\Delta":
            self.i += 1
            base = "Delta"
        elif tok.text in GREEK or tok.kind == "letter":
            self.i += 1
            base = tok.text.lstrip("\\")
        else:
            self.error(f"unknown symbol {tok.text}", tok)
        sub = self.group_text() if self.take("_") else None
        time = None
        if self.tok.text == "^" and self.toks[self.i + 1].text == "{" and self.toks[self.i + 2].text == "(":
            self.i += 1
            sup = self.group_text().replace(" ", "")
            m = re.match(r"^\(([^)]*)\)(.*)$", sup)
            time = self.step_text(m.group(1), tok)
            rest = m.group(2)
            node = self.resolve_name(base, sub, tok, time)
            return algebra.transpose(node) if rest in TRANSPOSES else node
        return self.resolve_name(base, sub, tok, time)

    def resolve_name(self, base, sub, tok, time=None):
        """The model's symbol for a base, a subscript (a step, a name part, or both) and a step."""
        if base == "Delta":
            step = self.step_text(sub, tok) if sub is not None else time
            return self.resolve("Delta", step, tok)
        parts = [p.strip() for p in (sub or "").split(",") if p.strip()]
        step, names = time, []
        for p in parts:
            if _is_step(p) and (self.is_sequence(base, names) or time is None and not _is_name_part(base, p, self)):
                step = self.step_text(p, tok)
            else:
                names.append(p.replace("\\", ""))
        name = self.scope.alias(base, names)
        if name is None:
            self.error(f"unknown symbol {base}{'_' + '_'.join(names) if names else ''}", tok)
        return self.resolve(name, step, tok)

    def is_sequence(self, base, names):
        name = self.scope.alias(base, names)
        return name is not None and isinstance(self.scope.declared.get(name), Seq)

    def step_text(self, text, tok):
        text = text.replace(" ", "")
        m = re.match(r"^(t|T|\d+)(?:([+\-])(\d+))?$", text)
        if not m:
            self.error(f"a step is t, t+1, t-1, a number, T or T+1, not {text!r}", tok)
        base = t if m.group(1) == "t" else T if m.group(1) == "T" else sp.Integer(int(m.group(1)))
        if m.group(2):
            base = base + int(m.group(3)) if m.group(2) == "+" else base - int(m.group(3))
        return base

    def group_text(self):
        """The raw text of {…} (nested braces kept) or of the single token after _ or ^."""
        if self.take("{"):
            depth, out = 1, []
            while True:
                tok = self.tok
                if tok.kind == "end":
                    self.error("an unclosed {")
                self.i += 1
                if tok.text == "{":
                    depth += 1
                elif tok.text == "}":
                    depth -= 1
                    if depth == 0:
                        return "".join(out)
                out.append(tok.text if tok.kind != "cmd" else tok.text + " ")
        tok = self.tok
        if tok.kind == "end":
            self.error("a subscript or superscript is missing")
        self.i += 1
        return tok.text


def _is_step(text):
    return re.match(r"^(t|T|\d+)([+\-]\d+)?$", text.replace(" ", "")) is not None


def _is_name_part(base, part, parser):
    return parser.scope.alias(base, [part]) is not None and parser.scope.alias(base, []) is None


def parse_latex_equation(line, scope, where="<text>:1"):
    """(lhs, rhs) of one LaTeX equation line."""
    parser = LatexParser(tokenize_latex(line, where), scope, where)
    lhs, rhs = parser.equation()
    if isinstance(rhs, _Diag) or not isinstance(rhs, Tensor):
        raise ParseError(f"{where}:1: the right-hand side is not an expression of the model")
    return lhs, rhs

