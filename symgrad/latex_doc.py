"""Where the math is in a file, and the author's macros.

A hand derivation may be a whole LaTeX document (preamble, prose, sections, inline
``$…$``, ``equation``/``align``/``\\[…\\]`` environments), a fragment of one, or plain
text with one equation a line. ``math_rows`` returns the math: one ``Row`` per
``\\\\``-separated row of an environment, per display or inline formula, and per bare
line of a fragment that is not prose. ``macros``/``expand`` give ``\\newcommand``,
``\\renewcommand``, ``\\def`` and ``\\DeclareMathOperator`` their meaning, so a book's
``\\Vh`` reads as h.
"""
import re
from dataclasses import dataclass

from .located import Located
from .read_errors import ParseError

MATH_ENVS = {"equation", "align", "gather", "multline", "eqnarray", "flalign", "alignat",
             "math", "displaymath", "dmath"}
INNER_ENVS = {"split", "aligned", "gathered", "alignedat", "multlined"}
DIRECTIVES = ("model:", "alias:", "steps:", "layout:", "truncate:")
MAX_EXPANSIONS = 500        # per equation: a macro that expands itself stops here
MAX_LENGTH = 20000          # characters of one equation after expansion
_ENV = re.compile(r"\\(begin|end)\s*\{([A-Za-z]+)\*?\}")
_DROP = re.compile(r"\\(?:label|tag\*?|eqref|ref)\s*\{[^{}]*\}|\\(?:nonumber|notag|displaystyle"
                   r"|textstyle|limits|nolimits|allowbreak)(?![A-Za-z])")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z_])[A-Za-z]{2,}(?![A-Za-z_(])")
KNOWN_WORDS = {"tanh", "sigma", "sigmoid", "softmax", "diag", "rowsum", "colsum", "rowmean", "mean",
               "std", "relu", "gelu", "exp", "log", "sum", "stack", "row", "sqrt", "top", "bar",
               "hat", "tilde", "frac", "partial", "nabla", "delta", "Delta", "odot", "circ",
               "cdot", "operatorname", "mathbf", "text", "left", "right", "langle", "rangle",
               "pad", "model", "alias", "ell", "gamma", "beta", "alpha"}


@dataclass(frozen=True)
class Row:
    """One row of math; ``inline`` for ``$…$`` inside prose (read only if it reads well)."""
    text: Located
    inline: bool = False
    env: str | None = None


# -- macros --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Macro:
    nargs: int
    body: str
    default: str | None = None     # the optional first argument's default (\newcommand[n][d])


def macros(text):
    """The macros a file defines, by name (``\\Vh``)."""
    out = {}
    pos = 0
    pattern = re.compile(r"\\(?:(?:re|provide)?newcommand\*?|DeclareMathOperator\*?|def)(?![A-Za-z])")
    while True:
        m = pattern.search(text, pos)
        if not m:
            return out
        pos = m.end()
        kind = m.group()
        try:
            if kind.startswith(r"\def"):
                name, pos = _macro_name(text, pos)
                params = re.match(r"(#\d)*", text[pos:]).group()
                pos += len(params)
                body, pos = _group(text, pos)
                out[name] = Macro(len(params) // 2, body)
            elif kind.startswith(r"\Declare"):
                name, pos = _macro_name(text, pos)
                body, pos = _group(text, pos)
                out[name] = Macro(0, r"\operatorname{" + body + "}")
            else:
                name, pos = _macro_name(text, pos)
                nargs, default = 0, None
                opt = re.match(r"\s*\[(\d)\]", text[pos:])
                if opt:
                    nargs, pos = int(opt.group(1)), pos + opt.end()
                    dflt = re.match(r"\s*\[([^\]]*)\]", text[pos:])
                    if dflt:
                        default, pos = dflt.group(1), pos + dflt.end()
                body, pos = _group(text, pos)
                out[name] = Macro(nargs, body, default)
        except ParseError:
            continue


def _macro_name(text, pos):
    m = re.match(r"\s*(?:\{\s*(\\[A-Za-z]+)\s*\}|(\\[A-Za-z]+))", text[pos:])
    if not m:
        raise ParseError("a macro definition without a name")
    return m.group(1) or m.group(2), pos + m.end()


def _group(text, pos):
    """The content of the {…} group starting at pos (spaces first allowed), and where it ends."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        raise ParseError("expected {")
    depth, i = 0, pos
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1:i], i + 1
        i += 1
    raise ParseError("an unclosed {")


def _argument(text, pos):
    """A macro argument: a {…} group, a command, or one character."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        raise ParseError("a macro argument is missing", pos)
    if text[pos] == "{":
        return _group(text, pos)
    m = re.match(r"\\[A-Za-z]+|\\.|.", text[pos:])
    return m.group(), pos + m.end()


def expand(row, defs):
    """A located row with the file's macros expanded (their text stands where the macro was)."""
    if not defs:
        return row
    pattern = re.compile(r"\\[A-Za-z]+")
    pos, count = 0, 0
    while True:
        m = pattern.search(row.text, pos)
        if not m:
            return row
        macro = defs.get(m.group())
        if macro is None:
            pos = m.end()
            continue
        count += 1
        if count > MAX_EXPANSIONS or len(row.text) > MAX_LENGTH:
            raise ParseError(f"macro {m.group()} expands without end", m.start())
        end, args = m.end(), []
        try:
            for k in range(macro.nargs):
                if k == 0 and macro.default is not None:
                    opt = re.match(r"\s*\[([^\]]*)\]", row.text[end:])
                    if opt:
                        args.append(opt.group(1))
                        end += opt.end()
                    else:
                        args.append(macro.default)
                    continue
                arg, end = _argument(row.text, end)
                args.append(arg)
        except ParseError as err:
            raise ParseError(f"macro {m.group()}: {err.reason}", m.start()) from None
        body = re.sub(r"#(\d)", lambda g: args[int(g.group(1)) - 1] if int(g.group(1)) <= len(args)
                      else g.group(), macro.body)
        if re.match(r"[A-Za-z]", row.text[end:end + 1]) and re.search(r"\\[A-Za-z]+$", body):
            body += " "         # \Vh x must not become \mathit{h}x… with a merged command
        row = row.replace(m.start(), end, body)
        pos = m.start()


# -- where the math is ---------------------------------------------------------------------------

def strip_comment(text):
    """A line without its comment: LaTeX % (not \\%); # in a line without backslashes."""
    m = re.search(r"(?<!\\)%", text)
    if m:
        text = text[:m.start()]
    if "\\" not in text and "#" in text:
        text = text.split("#", 1)[0]
    return text


def is_directive(text):
    return text.strip().lstrip("%#").strip().startswith(DIRECTIVES)


_NOT_MATH = re.compile(r"^\\(?:(?:re|provide)?newcommand|def|let|DeclareMathOperator|usepackage|documentclass|"
                       r"(?:sub)*section|paragraph|chapter|title|author|date|maketitle|label|caption|"
                       r"item|cite|bibliography|include|input|hline|centering|noindent|vspace|hspace)"
                       r"(?![A-Za-z])")


def looks_like_prose(text):
    """A title, a bullet or a numbered item, a ``Source:`` line, a sentence (two words running,
    neither a name), or a LaTeX command that is no math (\\section, \\newcommand)."""
    s = text.strip()
    if _NOT_MATH.match(s):
        return True
    if "—" in s:
        return True
    if re.match(r"^[-*•]\s+[A-Za-z]", s) and not re.search(r"[=\\]", s.split(" ", 2)[1] if " " in s else ""):
        return True
    if re.match(r"^\d+[.)]\s+[a-z]{3,}\s(?!\s*[=(\[_^'′])", s):
        return True                 # a numbered item of a list: "1. through aₜ: diag(…) W"
    if re.match(r"^[A-Z][A-Za-z ]*:\s", s):
        return True
    words = [(m.start(), m.group()) for m in _PROSE_WORD.finditer(s)]
    for (i, a), (j, b) in zip(words, words[1:]):
        between = s[i + len(a):j]
        if re.fullmatch(r"[ ,;]*\s[ ]*|\s+", between) and max(len(a), len(b)) > 2 \
                and a.lower() not in KNOWN_WORDS and b.lower() not in KNOWN_WORDS:
            return True
    return False


def is_document(lines):
    return any(r"\begin{document}" in line or r"\documentclass" in line for line in lines)


def math_rows(lines):
    """Every row of math in a file's lines, located."""
    document = is_document(lines)
    scanner = _Scanner(document)
    for number, raw in enumerate(lines, 1):
        if is_directive(raw):
            continue
        scanner.line(Located.line(raw, number))
    return scanner.finish()


class _Scanner:
    """Walks the lines, inside and outside math, collecting rows."""

    def __init__(self, document):
        self.document = document
        self.in_body = not document
        self.rows = []
        self.math = None            # (closing delimiter, environment or None, inline?, pieces)

    def line(self, text):
        cut = len(strip_comment(text.text))
        text = text[:cut]
        if r"\begin{document}" in text.text:
            self.in_body = True
            text = text[text.text.index(r"\begin{document}") + len(r"\begin{document}"):]
        if r"\end{document}" in text.text:
            text = text[:text.text.index(r"\end{document}")]
        if not self.in_body:
            return
        outside, pos = [], 0
        while pos < len(text):
            if self.math is not None:
                pos = self._inside(text, pos)
                continue
            start, opener = self._next_opener(text.text, pos)
            if start is None:
                outside.append(text[pos:])
                break
            outside.append(text[pos:start])
            pos = self._open(text, start, opener)
        if self.math is not None and self.math[2]:       # inline math runs on: keep going
            return
        self._bare(outside, text)

    def _bare(self, outside, text):
        """A fragment's line outside any math delimiter: an equation unless it is prose."""
        if self.document or not outside or len(outside) != 1 or outside[0].text != text.text:
            return
        piece = outside[0].strip()
        if piece.text and not looks_like_prose(piece.text):
            piece = _strip_row_end(piece)
            if piece.text:
                self.rows.append(Row(piece))

    _OPENERS = re.compile(r"\\begin\s*\{([A-Za-z]+)\*?\}|\$\$|\$|\\\[|\\\(")

    def _next_opener(self, text, pos):
        for m in self._OPENERS.finditer(text, pos):
            if m.group().startswith(r"\begin") and m.group(1) not in MATH_ENVS:
                continue
            if m.start() > 0 and text[m.start() - 1] == "\\" and m.group().startswith("$"):
                continue
            return m.start(), m
        return None, None

    def _open(self, text, start, m):
        token = m.group()
        if token.startswith(r"\begin"):
            env = m.group(1)
            self.math = (re.compile(r"\\end\s*\{" + env + r"\*?\}"), env, False, [])
        elif token == "$$":
            self.math = (re.compile(r"\$\$"), None, False, [])
        elif token == "$":
            self.math = (re.compile(r"(?<!\\)\$"), None, True, [])
        elif token == r"\[":
            self.math = (re.compile(r"\\\]"), None, False, [])
        else:
            self.math = (re.compile(r"\\\)"), None, True, [])
        return start + len(token)

    def _inside(self, text, pos):
        closer, env, inline, pieces = self.math
        m = closer.search(text.text, pos)
        end = m.start() if m else len(text)
        pieces.append(text[pos:end])
        if not m:
            return len(text)
        self.math = None
        body = Located.join([p for p in pieces if p.text.strip()], " ")
        for row in split_rows(body):
            self.rows.append(Row(row, inline=inline, env=env))
        return m.end()

    def finish(self):
        if self.math is not None:
            closer, env, inline, pieces = self.math
            self.math = None
            body = Located.join([p for p in pieces if p.text.strip()], " ")
            self.rows.extend(Row(r, inline=inline, env=env) for r in split_rows(body))
        return self.rows


def split_rows(body):
    """An environment's body cut into rows at ``\\\\`` (not inside braces or inner arrays)."""
    text = body.text
    for m in reversed(list(_DROP.finditer(text))):
        body = body.replace(m.start(), m.end(), " ")
    for m in reversed(list(re.finditer(r"\\(?:begin|end)\s*\{(?:" + "|".join(INNER_ENVS) + r")\*?\}(?:\{\d+\})?",
                                       body.text))):
        body = body.replace(m.start(), m.end(), " ")
    rows, depth, inner, start, i = [], 0, 0, 0, 0
    text = body.text
    while i < len(text):
        c = text[i]
        if text.startswith(r"\\", i):
            if depth == 0 and inner == 0:
                rows.append(body[start:i])
                start = i + 2
            i += 2
            continue
        if c == "\\":
            env = _ENV.match(text, i)
            if env:
                inner += 1 if env.group(1) == "begin" else -1
                i = env.end()
                continue
            i += 2
            continue
        depth += (c == "{") - (c == "}")
        i += 1
    rows.append(body[start:])
    out = []
    for r in rows:
        r = _strip_row_end(r.strip())
        if r.text:
            out.append(r)
    return out


def _strip_row_end(row):
    """A row without its trailing punctuation (``,`` ``.`` ``;``) or ``\\\\``."""
    text = row.text
    m = re.search(r"(?:\s|\\\\|\\[,;!: ]|[,.;])*$", text)
    return row[:m.start()].strip() if m else row
