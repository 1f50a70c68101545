"""One grammar for equations as people write them, over tokens from either reader.

The plain-text reader (``parse.py``) and the LaTeX reader (``parse_latex.py``) turn their
characters into the same tokens (``\\delta`` for δ, ``_ { t - 1 }`` for ₜ₋₁, ``\\odot`` for
⊙); this recursive-descent parser builds the syntax tree of ``mathtree.py`` from them.
It knows nothing of models: which product is a matrix product, which subscript a step,
is decided later (``interpret.py``). Nesting is bounded, so deep input is a clean error,
never a RecursionError.
"""
from dataclasses import dataclass, fields

import sympy as sp

from . import mathtree as mt
from .read_errors import ParseError

MAX_DEPTH = 50
PRODUCT_OPS = {"*": "star", "@": "matmul", r"\odot": "odot", r"\circ": "odot", r"\cdot": "cdot",
               r"\times": "times", r"\oslash": "oslash", "/": "div", r"\ast": "star",
               r"\bullet": "cdot"}
RELATIONS = {"=", r"\coloneqq", "≔", r"\triangleq", r"\equiv", r"\doteq", r"\eqqcolon"}
FONTS = {r"\mathbf", r"\boldsymbol", r"\bm", r"\vec", r"\mathit", r"\mathrm", r"\textrm", r"\text",
         r"\textbf", r"\mathsf", r"\mathcal", r"\mathbb", r"\pmb", r"\mathnormal", r"\textit",
         r"\operatorname", r"\mathtt", r"\mbox", r"\textnormal", r"\mathscr", r"\mathfrak",
         r"\bold", r"\ensuremath", r"\mathbbm"}
ACCENTS = {r"\bar": "bar", r"\overline": "bar", r"\hat": "hat", r"\widehat": "hat",
           r"\tilde": "tilde", r"\widetilde": "tilde"}
GREEK = {r"\alpha", r"\beta", r"\gamma", r"\epsilon", r"\varepsilon", r"\eta", r"\lambda",
         r"\mu", r"\tau", r"\ell", r"\theta", r"\phi", r"\varphi", r"\psi", r"\omega", r"\xi",
         r"\rho", r"\pi", r"\nu", r"\kappa", r"\zeta", r"\chi", r"\sigma", r"\Sigma",
         r"\Omega", r"\Phi", r"\Theta", r"\Lambda", r"\Gamma", r"\iota", r"\upsilon", r"\star"}
FUNCTION_CMDS = {r"\tanh": "tanh", r"\exp": "exp", r"\log": "log", r"\ln": "log",
                 r"\max": "max", r"\min": "min"}
CLOSERS = {"(": ")", "{": "}", "[": "]", r"\{": r"\}", r"\llbracket": r"\rrbracket"}
CONDITIONS = {"=": "=", r"\neq": "≠", r"\ne": "≠", "<": "<", ">": ">", r"\le": "≤", r"\leq": "≤",
              r"\leqslant": "≤", r"\ge": "≥", r"\geq": "≥", r"\geqslant": "≥"}
MODULO = {"mod", r"\bmod", r"\mod"}
MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "matrix", "smallmatrix", "array"}
STOP = "stop"        # the kind of token that ends the math of a row (\quad, \text{for all t})
NOT_ATOMS = set(PRODUCT_OPS) | RELATIONS | {
    r"\rangle", r"\top", r"\intercal", r"\to", r"\rightarrow", r"\leftarrow", r"\le", r"\leq",
    r"\ge", r"\geq", r"\neq", r"\approx", r"\propto", r"\in", r"\dots", r"\ldots", r"\cdots",
    r"\mid", r"\prime", r"\rrbracket"}


@dataclass(frozen=True)
class Token:
    kind: str             # num, letter, word, cmd, op, stop, end
    text: str
    index: int            # position in the equation text
    space: bool = False   # whitespace right before it


@dataclass(frozen=True)
class _Differential:
    """∂x or dx while a fraction is read (dL/dx, ∂u/∂v); alone, dx is the delta of x."""
    x: object
    partial: bool
    pos: int


def _replace(node, **changes):
    values = {f.name: getattr(node, f.name) for f in fields(node)}
    values.update(changes)
    return type(node)(**values)


class Grammar:
    def __init__(self, tokens, depth=0):
        self.toks, self.i, self.depth = tokens, 0, depth

    # -- helpers -------------------------------------------------------------------------------
    @property
    def tok(self):
        return self.toks[self.i]

    def at(self, j):
        return self.toks[min(j, len(self.toks) - 1)]

    def error(self, message, tok=None):
        raise ParseError(message, (tok or self.tok).index)

    def take(self, *texts):
        if self.tok.kind != "end" and self.tok.text in texts:
            self.i += 1
            return self.toks[self.i - 1]
        return None

    def expect(self, text, opening=None):
        if not self.take(text):
            found = repr(self.tok.text) if self.tok.kind != "end" else "the end of the line"
            self.error(f"expected {text!r}, found {found}" +
                       (f" (to close the {opening.text!r})" if opening else ""))

    def nested(self, read):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"nested too deeply (more than {MAX_DEPTH} levels)")
        try:
            return read()
        finally:
            self.depth -= 1

    def call_follows(self, j, tight=False):
        """Is there a '(' at j, after primes and one superscript or subscript (with no space
        before it, if ``tight``)?"""
        while self.at(j).text in ("'", "′"):
            j += 1
        if self.at(j).text in ("^", "_"):
            j += 1
            if self.at(j).text == "{":
                depth = 0
                while self.at(j).kind != "end":
                    depth += (self.at(j).text == "{") - (self.at(j).text == "}")
                    j += 1
                    if depth == 0:
                        break
            else:
                j += 1
            while self.at(j).text in ("'", "′"):
                j += 1
        return self.at(j).text == "(" and not (tight and self.at(j).space)

    # -- equations ------------------------------------------------------------------------------
    def chain(self):
        """The sides of an equation, split at top-level relations and each parsed alone; the
        math stops at a \\quad, a phrase of prose (``\\text{for all } t``) or a comma after
        the first relation."""
        cuts, depth, end = [], 0, len(self.toks) - 1
        relation = "="
        for k, tok in enumerate(self.toks[:-1]):
            if _opens(tok) or tok.text == r"\langle":
                depth += 1
            elif _closes(tok) or tok.text == r"\rangle":
                depth -= 1
            elif tok.kind == STOP and depth <= 0 or depth == 0 and cuts and tok.text == ",":
                end = k          # \quad, prose, or a clause after a comma (", sₜ = (cₜ, yₜ)")
                break
            elif depth == 0 and (tok.text in RELATIONS and not (tok.text == "=" and k and
                                                                  self.toks[k - 1].text == ":")):
                cuts.append(k)
                relation = tok.text
            elif depth == 0 and tok.text == ":" and self.toks[k + 1].text == "=":
                cuts.append(k)
                relation = ":="
        while end > 0 and self.toks[end - 1].text in (",", ";", "."):
            end -= 1
        bounds, start = [], 0
        for c in cuts:
            bounds.append((start, c))
            start = c + (2 if self.toks[c].text == ":" else 1)
        bounds.append((start, end))
        chain = mt.Chain(relation=relation)
        for a, b in bounds:
            stop = self.at(b).index if b < len(self.toks) else self.toks[-1].index
            tokens = list(self.toks[a:b]) + [Token("end", "", stop)]
            chain.starts.append(tokens[0].index)
            try:
                chain.sides.append(Grammar(tokens).side())
            except ParseError as err:
                chain.sides.append(err)
        return chain

    def side(self):
        if self.tok.kind == "end":
            self.error("nothing here: this side of the equation is empty")
        node = self.expr()
        if self.tok.kind != "end":
            self.error(f"unexpected {self.tok.text!r}")
        return node

    @staticmethod
    def settle(node):
        """A differential that was not part of a fraction: dx is δx; ∂x alone is an error."""
        if isinstance(node, _Differential):
            if node.partial:
                raise ParseError("∂x alone: write ∂L/∂x, or ∂u/∂v for a Jacobian", node.pos)
            return mt.Deriv(node.pos, None, node.x)
        return node

    # -- expressions ----------------------------------------------------------------------------
    def expr(self):
        return self.nested(self._expr)

    def _expr(self):
        start = self.tok
        sign = 1
        if self.tok.kind == "op" and self.tok.text in ("-", "−"):
            sign, self.i = -1, self.i + 1
        elif self.take("+"):
            pass
        terms = [(sign, self.settle(self.term()))]
        while self.tok.kind == "op" and self.tok.text in ("+", "-", "−"):
            sign = 1 if self.tok.text == "+" else -1
            self.i += 1
            terms.append((sign, self.settle(self.term())))
        if len(terms) == 1:
            return terms[0][1] if sign == 1 else mt.Neg(start.index, terms[0][1])
        return mt.Sum(start.index, tuple(terms))

    def term(self):
        """A product chain; a lone differential is returned as is (a fraction may want it), and
        a differential over another is a derivative wherever it stands (∂yₜ/∂cₜ ∂cₜ/∂cₜ₋₁)."""
        start = self.tok
        factors = [(None, self.factor())]
        while True:
            tok = self.tok
            if tok.kind in ("op", "cmd") and tok.text in PRODUCT_OPS:
                self.i += 1
                op, right = PRODUCT_OPS[tok.text], self.factor()
                prev = factors[-1][1]
                if op == "div" and isinstance(prev, _Differential) and isinstance(right, _Differential):
                    factors[-1] = (factors[-1][0], mt.Deriv(prev.pos, prev.x, right.x))
                    continue
                factors.append((op, right))
            elif self.starts_atom(tok):
                factors.append(("juxt", self.factor()))
            else:
                break
        if len(factors) == 1:
            return factors[0][1]
        return mt.Product(start.index, tuple((op, self.settle(f)) for op, f in factors))

    def factor(self):
        tok = self.tok
        if tok.kind == "op" and tok.text in ("-", "−"):
            self.i += 1
            return mt.Neg(tok.index, self.settle(self.nested(self.factor)))
        if tok.text in (r"\sum", r"\prod", "Σ"):
            return self.sigma()
        if tok.text == r"\begin":
            return self.block_matrix()
        return self.postfix()

    def starts_atom(self, tok):
        """Can tok begin a factor written right after another (a product by juxtaposition)?"""
        if tok.kind in ("letter", "word", "num"):
            return True
        if tok is self.tok and self.condition_end(self.i) is not None:
            return True                                   # Vᵀ δo [t = T]
        if tok.kind == "op":
            return tok.text in ("(", "{", r"\{")
        return tok.kind == "cmd" and tok.text not in NOT_ATOMS

    def sigma(self):
        """Σ_{t=1}^{T} body, Σ_t body, sum_t(body): the body is the rest of the product; ∏ the
        same (read, never evaluated)."""
        tok = self.tok
        self.i += 1
        index, lower, upper = "", None, None
        for _ in range(2):
            if self.take("_"):
                index, lower = _bound(self.script())
            elif self.take("^"):
                script = self.script()
                upper = script.parts[0] if script.parts else None
        body = self.settle(self.nested(self.term))
        if tok.text in (r"\prod", "∏"):
            return mt.StepProduct(tok.index)
        return mt.Sigma(tok.index, index, lower, upper, body)

    # -- postfix: scripts, primes, transposes ---------------------------------------------------
    def postfix(self):
        node = self.atom()
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ("ᵀ", ".T", "'", "′"):
                self.i += 1
                node = mt.Transpose(tok.index, node)
            elif tok.text == "**":
                self.i += 1
                exp = self.tok
                if exp.kind != "num":
                    self.error("** takes a whole number")
                self.i += 1
                node = mt.Power(tok.index, node, _script([exp], exp.index, self.depth + 1))
            elif tok.text == "^":
                self.i += 1
                script = self.script()
                node = _replace(node, sup=script) if isinstance(node, mt.Name) and node.sup is None \
                    else mt.Power(tok.index, node, script)
            elif tok.text == "_":
                self.i += 1
                start = self.i
                script = self.script()
                if isinstance(node, mt.Name) and node.sub is None:
                    node = _replace(node, sub=script)
                elif isinstance(node, mt.Ones):
                    node = self.indicator(node, script, self.toks[start:self.i])
                else:
                    node = mt.Entry(tok.index, node, script)
            elif tok.text == "[" and isinstance(node, mt.Name) and node.step is None and not tok.space:
                self.i += 1
                node = _replace(node, step=self.bracket_step(tok))
            elif isinstance(node, mt.Ones) and self.condition_end(self.i) is not None:
                node = self.iverson()                     # 𝟙[t = T], \mathbb{1}\{t = T\}
            else:
                return node

    def indicator(self, ones, script, tokens):
        """1_{i=y} (the one-hot class), or 1_{t=T} (Iverson's bracket of a step): the reader
        decides which, by whether the index is a step."""
        parts = script.parts
        if len(parts) == 1 and isinstance(parts[0].tree, tuple):
            if tokens and tokens[0].text == "{":
                tokens = tokens[1:-1]
            try:
                condition = _condition(tokens, script.pos)
            except ParseError:
                condition = None
            return mt.Indicator(ones.pos, _index_name(parts[0].tree[1], script), parts[0].tree[2],
                                condition)
        if len(parts) == 2 and parts[1].tree is not None and not isinstance(parts[1].tree, tuple):
            return mt.Indicator(ones.pos, parts[0].raw, parts[1].tree)
        raise ParseError("write the indicator as 1_{i=y} or 1_{i,y}", script.pos)

    # -- Iverson's bracket and other brackets that are no grouping ------------------------------
    def condition_end(self, j):
        """Where the bracket opening at j closes, if it holds a condition, a relation at its top
        level ([t = T], [[t = T]], ⟦t = T⟧, and (t = T) or \\{t = T\\} after 𝟙); else None."""
        double = self.at(j).text == "[" and self.at(j + 1).text == "["
        return self.bracket_holding(j, CONDITIONS, 2 if double else 1)

    def bracket_holding(self, j, texts, inner=1):
        """Where the bracket opening at j closes, if one of ``texts`` stands in it at depth
        ``inner``; else None."""
        if not _opens(self.at(j)):
            return None
        depth, found = 0, False
        while self.at(j).kind != "end":
            tok = self.at(j)
            if _opens(tok):
                depth += 1
            elif _closes(tok):
                depth -= 1
                if depth <= 0:
                    return j if found else None
            elif depth == inner and tok.text in texts:
                found = True
            j += 1
        return None

    def iverson(self):
        """[P], [[P]] (LaTeX's [\\![P]\\!]), ⟦P⟧: the condition P, read at its relation."""
        opening = self.tok
        end = self.condition_end(self.i)
        double = opening.text == "[" and self.at(self.i + 1).text == "["
        if double and self.at(end - 1).text != "]":
            self.error("a double bracket [[P]] closes with ]]", opening)
        tokens = self.toks[self.i + 1 + double:end - double]
        self.i = end + 1
        return _condition(tokens, opening.index)

    def kronecker(self, tok):
        """δ_{tT}, δ_{t,T}: Kronecker's delta of two steps, [t = T]."""
        self.i += 1
        start = self.i
        script = self.script()
        parts = script.parts
        if len(parts) == 2:
            sides = [p.raw for p in parts]
        else:
            inner = [t for t in self.toks[start:self.i] if t.text not in ("{", "}")]
            if len(inner) != 2:
                raise ParseError("δ needs the name of what it is the delta of, as δx; Kronecker's "
                                 "delta of two steps is δ_{tT} or δ_{t,T}", tok.index)
            sides = [t.text for t in inner]
        return mt.Iverson(tok.index, mt.StepTerm(sides[0], None, script.pos), "=",
                          mt.StepTerm(sides[1], None, script.pos), kronecker=True)

    def block_matrix(self):
        """\\begin{pmatrix} … \\end{pmatrix} (or bmatrix, array, …), [A B; C D]: a block
        matrix, skipped whole."""
        tok = self.tok
        if tok.text == "[":
            self.i = self.bracket_holding(self.i, {";"}) + 1
            return mt.Block(tok.index)
        env = self.environment(self.i + 1)
        if env not in MATRIX_ENVS:
            self.error(f"\\begin{{{env}}} inside an equation is not understood")
        depth = 0
        while self.tok.kind != "end":
            if self.tok.text in (r"\begin", r"\end"):
                depth += 1 if self.tok.text == r"\begin" else -1
                self.i += 1
                self.skip_group()
                if depth == 0:
                    return mt.Block(tok.index)
                continue
            self.i += 1
        self.error(f"\\begin{{{env}}} without its \\end", tok)

    def environment(self, j):
        """The name in the {…} group at j (\\begin{pmatrix} → pmatrix)."""
        if self.at(j).text != "{":
            self.error("\\begin needs {name}")
        name = []
        j += 1
        while self.at(j).text != "}" and self.at(j).kind != "end":
            name.append(self.at(j).text)
            j += 1
        return "".join(name)

    def bracket_step(self, opening):
        start, depth = self.i, 0
        while not (self.tok.text == "]" and depth == 0):
            if self.tok.kind == "end":
                self.error("an unclosed [", opening)
            depth += (self.tok.text == "[") - (self.tok.text == "]")
            self.i += 1
        tokens = self.toks[start:self.i]
        self.i += 1
        return _script(tokens, opening.index, self.depth + 1)

    def script(self):
        """The tokens of a sub- or superscript: a {…} group, or one token (a command with its
        group, as in ^\\mathsf{T})."""
        tok = self.tok
        if tok.kind == "end":
            self.error("a subscript or superscript is missing")
        if tok.text == "{":
            start = self.i + 1
            self.skip_group()
            return _script(self.toks[start:self.i - 1], tok.index, self.depth + 1)
        self.i += 1
        tokens = [tok]
        if tok.text == "(":       # m^(-2), as SymPy and plain text write a negative power
            depth = 1
            while depth and self.tok.kind != "end":
                depth += (self.tok.text == "(") - (self.tok.text == ")")
                tokens.append(self.tok)
                self.i += 1
        if tok.text in ("-", "−") and self.tok.kind == "num":    # x^-1
            tokens.append(self.tok)
            self.i += 1
        if tok.text == r"\odot":      # a Hadamard power unbraced: x^⊙2, x^⊙-2
            if self.tok.text in ("-", "−") and self.toks[self.i + 1].kind == "num":
                tokens.append(self.tok)
                self.i += 1
            if self.tok.kind == "num":
                tokens.append(self.tok)
                self.i += 1
        if tok.kind == "cmd" and (tok.text in FONTS or tok.text in ACCENTS) and self.tok.text == "{":
            start = self.i
            self.skip_group()
            tokens += self.toks[start:self.i]
        return _script(tokens, tok.index, self.depth + 1)

    def skip_group(self):
        opening, depth = self.tok, 0
        while True:
            t = self.tok
            if t.kind == "end":
                self.error("an unclosed {", opening)
            depth += (t.text == "{") - (t.text == "}")
            self.i += 1
            if depth == 0:
                return

    # -- atoms ----------------------------------------------------------------------------------
    def atom(self):
        tok = self.tok
        if self.condition_end(self.i) is not None:
            return self.iverson()
        if tok.text == "[" and self.bracket_holding(self.i, {";"}) is not None:
            return self.block_matrix()
        if _opens(tok):
            self.i += 1
            inner = self.settle(self.expr())
            self.expect(CLOSERS[tok.text], tok)
            return inner
        if tok.kind == "num":
            self.i += 1
            return mt.Num(tok.index, sp.Rational(tok.text))
        if tok.kind in ("letter", "word"):
            return self.word(tok)
        if tok.kind == "cmd":
            return self.command(tok)
        if tok.kind == "end":
            self.error("the line ends in the middle of an expression")
        self.error(f"expected a symbol, a number or '(', found {tok.text!r}")

    def word(self, tok):
        """A letter or word: a name, a function applied, or d before a name (dx)."""
        nxt = self.at(self.i + 1)
        if tok.text == "d" and not nxt.space and self.starts_name(nxt):
            self.i += 1
            return _Differential(self.target(), False, tok.index)
        if tok.text.startswith("sum_") and nxt.text == "(":
            self.i += 1
            opening = self.take("(")
            body = self.expr()
            self.expect(")", opening)
            return mt.Sigma(tok.index, tok.text[4:], None, None, body)
        if tok.text in ("sum", "Σ") and nxt.text == "_":
            return self.sigma()
        single = tok.kind == "letter" and nxt.text not in ("'", "′")
        if self.call_follows(self.i + 1, tight=single) and (tok.kind == "word" or not nxt.space):
            return self.function(tok, tok.text, maybe=single)
        return self.name_atom()

    def starts_name(self, tok):
        return tok.kind in ("letter", "word") or tok.kind == "cmd" and (
            tok.text in GREEK or tok.text in ACCENTS or tok.text in FONTS)

    def name_atom(self):
        """A name with its accent: z, \\bar{z}, \\hat y, \\mathbf{h}, W (scripts come after)."""
        tok = self.tok
        if tok.kind in ("letter", "word"):
            self.i += 1
            return mt.Name(tok.index, tok.text, word=tok.kind == "word")
        if tok.text in ACCENTS:
            self.i += 1
            inner = self.braced(self.name_atom) if self.tok.text == "{" else self.name_atom()
            if not isinstance(inner, mt.Name):
                self.error("an accent belongs on a name", tok)
            return _replace(inner, accent=ACCENTS[tok.text], pos=tok.index)
        if tok.text in FONTS:
            node = self.font(tok)
            if not isinstance(node, mt.Name):
                self.error("expected a name", tok)
            return node
        if tok.text in GREEK:
            self.i += 1
            return mt.Name(tok.index, tok.text[1:])
        if tok.text == "{":
            return self.braced(self.name_atom)
        if tok.kind == "cmd":
            self.i += 1
            return mt.Name(tok.index, tok.text, word=True)
        self.error("expected a name" if tok.kind != "end" else "the line ends where a name belongs")

    def name_scripts(self, node):
        while self.tok.text in ("_", "^"):
            op = self.take("_", "^")
            script = self.script()
            slot = "sub" if op.text == "_" else "sup"
            if getattr(node, slot) is not None:
                self.error("a double subscript or superscript", op)
            node = _replace(node, **{slot: script})
        return node

    def braced(self, read):
        opening = self.take("{")
        node = read()
        if isinstance(node, mt.Name):
            node = self.name_scripts(node)
        self.expect("}", opening)
        return node

    def target(self):
        """What δ, ∇_x, ∂ apply to: a name with its scripts and step, or a parenthesized one."""
        if self.tok.kind == "end":
            self.error("the line ends where a name belongs")
        if self.tok.text == "(":
            return self.atom()
        node = self.name_scripts(self.name_atom())
        if self.tok.text == "[" and node.step is None and not self.tok.space:
            opening = self.take("[")
            node = _replace(node, step=self.bracket_step(opening))
        return node

    def font(self, tok):
        """\\mathbf{h} is h, \\mathbf{1} ones, \\text{softmax} a word, \\mathrm{d} the d of dx."""
        self.i += 1
        opening = self.tok
        if opening.text != "{":
            if tok.text == r"\operatorname":
                self.error("\\operatorname needs {name}")
            return self.name_atom()
        start = self.i + 1
        self.skip_group()
        inner = self.toks[start:self.i - 1]
        raw = "".join(t.text for t in inner)
        if not inner:
            self.error("an empty group", opening)
        if raw == "1":
            return mt.Ones(tok.index)
        if tok.text == r"\mathsf" and raw == "T":
            return mt.Name(tok.index, "T")
        if len(raw) > 1 and all(t.kind in ("letter", "word", "num") or t.text in ("-", "_")
                                for t in inner) and not inner[0].kind == "num":
            return mt.Name(tok.index, raw, word=True)
        sub = Grammar(list(inner) + [Token("end", "", self.toks[self.i - 1].index)])
        sub.depth = self.depth
        node = sub.settle(sub.expr())
        if sub.tok.kind != "end":
            sub.error(f"unexpected {sub.tok.text!r}")
        return node

    def command(self, tok):
        text = tok.text
        if text == r"\delta":
            self.i += 1
            if self.tok.text == "_":
                return self.kronecker(tok)
            if self.tok.text == "^":
                self.error("δ needs the name of what it is the delta of, as δx")
            return mt.Deriv(tok.index, None, self.target())
        if text == r"\Delta":
            return self.cotangent(tok)
        if text == r"\partial":
            self.i += 1
            if self.take("_"):
                bottom = _script_tree(self.script())
                return mt.Deriv(tok.index, self.target(), bottom)
            return _Differential(self.target(), True, tok.index)
        if text == r"\nabla":
            self.i += 1
            if not self.take("_"):
                self.error("∇ needs a subscript: ∇_x L")
            bottom = _script_tree(self.script())
            return mt.Deriv(tok.index, self.target(), bottom)
        if text in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.fraction(tok)
        if text == r"\sqrt":
            self.i += 1
            if self.tok.text == "[":
                self.error("only square roots are understood")
            return mt.Sqrt(tok.index, self.braced(self.expr) if self.tok.text == "{" else self.factor())
        if text == r"\langle":
            self.i += 1
            a = self.expr()
            self.expect(",")
            b = self.expr()
            self.expect(r"\rangle", tok)
            return mt.Angle(tok.index, a, b)
        if text in FUNCTION_CMDS:
            return self.function(tok, FUNCTION_CMDS[text])
        if text == r"\sigma" and self.call_follows(self.i + 1):
            return self.function(tok, "sigma")
        if text == r"\one":
            self.i += 1
            return mt.Ones(tok.index)
        if text in FONTS:
            node = self.font(tok)
            if isinstance(node, mt.Name) and node.stem == "d" and not node.word and self.starts_name(self.tok):
                return _Differential(self.target(), False, tok.index)
            if isinstance(node, mt.Name) and node.word and self.call_follows(self.i):
                return self.function(tok, node.stem, consumed=True)
            return node
        if text in (r"\top", r"\intercal"):
            self.error("a transpose sign with nothing before it")
        return self.name_atom()

    def cotangent(self, tok):
        """Δ, Δ_t, Δ^t, Δ[t], or Δy_t naming the output it reaches."""
        self.i += 1
        node = self.name_scripts(mt.Name(tok.index, "Delta"))
        if self.tok.text == "[" and not self.tok.space and node.sub is None:
            node = _replace(node, sub=self.bracket_step(self.take("[")))
        target = None
        if node.sub is None and node.sup is None and self.starts_name(self.tok) and \
                not (self.tok.text == "d" and self.starts_name(self.at(self.i + 1))):
            target = self.target()
        return mt.Cot(tok.index, target, node.sub, node.sup)

    def fraction(self, tok):
        """\\frac{a}{b}; \\frac{∂L}{∂x} and \\frac{dL}{dx} are derivatives, \\frac{∂}{∂x} L too."""
        self.i += 1
        operator = self.group_is(r"\partial", "d")
        if operator:
            self.skip_group()
            num = None
        else:
            num = self.fraction_side()
        den = self.fraction_side()
        if isinstance(den, _Differential) and (operator or isinstance(num, _Differential)):
            top = num.x if num is not None else self.settle(self.postfix())
            return mt.Deriv(tok.index, top, den.x)
        if isinstance(num, _Differential) or isinstance(den, _Differential):
            raise ParseError("write a derivative as \\frac{\\partial L}{\\partial x}", tok.index)
        return mt.Frac(tok.index, num, den)

    def group_is(self, *texts):
        return self.tok.text == "{" and self.at(self.i + 1).text in texts and self.at(self.i + 2).text == "}"

    def fraction_side(self):
        opening = self.take("{")
        if opening is None:
            return self.settle(self.factor())
        node = self.nested(self.term) if self.differential_next() else self.expr()
        self.expect("}", opening)
        return node

    def differential_next(self):
        tok, nxt = self.tok, self.at(self.i + 1)
        return tok.text == r"\partial" or tok.text == "d" and not nxt.space and self.starts_name(nxt) \
            or tok.text == r"\mathrm" and self.at(self.i + 2).text == "d"

    def function(self, tok, name, maybe=False, consumed=False):
        """f(x), f'(x), f^2(x), \\tanh^2 x, stack_j(x): a function and its argument. A single
        letter before a parenthesis (``maybe``) may instead be a product: decided later."""
        if not consumed:
            self.i += 1
        order, power, sub = 0, None, None
        while True:
            if self.take("'", "′"):
                order += 1
            elif self.tok.text == "^" and power is None:
                self.i += 1
                script = self.script()
                if script.raw in (r"\prime", "'"):
                    order += 1
                else:
                    power = script
            elif self.tok.text == "_" and sub is None:
                self.i += 1
                sub = self.script()
            else:
                break
        if self.tok.text == "(":
            opening = self.take("(")
            if self.tok.text == r"\cdot":
                self.error(f"write the argument of {name} instead of ·")
            arg = self.expr()
            self.expect(")", opening)
        else:
            if not self.starts_atom(self.tok):
                self.error(f"{name} needs an argument")
            arg = self.settle(self.nested(self.postfix))
        return mt.Apply(tok.index, ("?" if maybe else "") + name, arg, order, power, sub)


def _opens(tok):
    return tok.kind == "op" and tok.text in CLOSERS or tok.text == r"\llbracket"


def _closes(tok):
    return tok.kind == "op" and tok.text in CLOSERS.values() or tok.text == r"\rrbracket"


def _condition(tokens, pos):
    """Iverson's bracket of the condition in ``tokens``: its two sides, split at its relation
    (``==`` is ``=``, as code writes it)."""
    depth, at, width = 0, None, 1
    for k, t in enumerate(tokens):
        depth += _opens(t) - _closes(t)
        if depth == 0 and t.text in CONDITIONS and not (t.text == "=" and k and tokens[k - 1].text == "="):
            if at is not None:
                raise ParseError("a condition has one relation, as [t = T]", t.index)
            at = k
            width = 2 if t.text == "=" and k + 1 < len(tokens) and tokens[k + 1].text == "=" else 1
    if at is None or at == 0 or at + width >= len(tokens):
        raise ParseError("a condition needs a step on each side of its relation, as [t = T]", pos)
    return mt.Iverson(pos, _step_term(tokens[:at]), CONDITIONS[tokens[at].text],
                      _step_term(tokens[at + width:]))


def _step_term(tokens):
    """One side of a condition: a step, or a step modulo a number (t mod 2, t \\bmod 2,
    (t+1) \\operatorname{mod} 2)."""
    if len(tokens) > 2 and tokens[0].text == "(" and _closing(tokens) == len(tokens) - 1:
        tokens = tokens[1:-1]
    for k, t in enumerate(tokens):
        width = 1 if t.text in MODULO else \
            3 if _raw(tokens[k:k + 3]) == "mod" and all(x.kind == "letter" for x in tokens[k:k + 3]) else \
            6 if t.text in FONTS and _raw(tokens[k + 1:k + 6]) == "{mod}" else 0
        if width:
            return mt.StepTerm(_raw(tokens[:k]), _raw(tokens[k + width:]), tokens[0].index)
    return mt.StepTerm(_raw(tokens), None, tokens[0].index)


def _closing(tokens):
    """Where the bracket that opens ``tokens`` closes."""
    depth = 0
    for k, t in enumerate(tokens):
        depth += _opens(t) - _closes(t)
        if depth == 0:
            return k
    return None


def _raw(tokens):
    return "".join(t.text for t in tokens)


def _script(tokens, pos, depth):
    """A script's raw text and its comma-separated parts, each parsed where it parses."""
    if depth > MAX_DEPTH:
        raise ParseError(f"nested too deeply (more than {MAX_DEPTH} levels)", pos)
    raw = "".join(t.text for t in tokens)
    parts, level, start = [], 0, 0
    for k, t in enumerate(tokens):
        if t.text in ("{", "(", "["):
            level += 1
        elif t.text in ("}", ")", "]"):
            level -= 1
        elif t.text == "," and level == 0:
            parts.append(tokens[start:k])
            start = k + 1
    parts.append(tokens[start:])
    return mt.Script(raw, tuple(_part(p, depth) for p in parts if p), pos)


def _part(tokens, depth):
    raw = "".join(t.text for t in tokens)
    where = tokens[0].index
    end = Token("end", "", tokens[-1].index + len(tokens[-1].text))
    eq = next((k for k, t in enumerate(tokens) if t.text == "="), None)
    try:
        if eq is not None:
            left = Grammar(list(tokens[:eq]) + [end], depth).side()
            right = Grammar(list(tokens[eq + 1:]) + [end], depth).side()
            return mt.Part(raw, ("=", left, right), where)
        return mt.Part(raw, Grammar(list(tokens) + [end], depth).side(), where)
    except ParseError:
        return mt.Part(raw, None, where)


def _script_tree(script):
    if len(script.parts) != 1 or script.parts[0].tree is None or isinstance(script.parts[0].tree, tuple):
        raise ParseError("expected a name in the subscript", script.pos)
    return script.parts[0].tree


def _bound(script):
    """The index and lower bound of a sum's subscript: t=1 → ('t', Part 1); t → ('t', None)."""
    if not script.parts:
        return "", None
    part = script.parts[0]
    if isinstance(part.tree, tuple):
        left = part.tree[1]
        index = left.stem if isinstance(left, mt.Name) else part.raw.split("=")[0]
        return index, mt.Part(part.raw.split("=", 1)[1], part.tree[2], part.pos)
    return script.raw, None


def _index_name(node, script):
    if isinstance(node, mt.Name) and node.sub is None and node.sup is None:
        return node.stem
    raise ParseError("the indicator's index must be a letter, as 1_{i=y}", script.pos)
