"""The LaTeX output compiles in a minimal amsmath document, fits the page, and the PDF says
what we printed; user text in it stays text."""
import re
import shutil
import subprocess
import unicodedata

import pytest

import symgrad
from symgrad import catalog
from symgrad.render.editions import editions, slug
from symgrad.render.escape import latex_text
from symgrad.render.latex import standalone


def compile_pdf(tex, tmp_path, name="doc"):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is not installed; .ci/run installs texlive-latex-base")
    (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                           f"{name}.tex"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return tmp_path / f"{name}.pdf"


def pdf_text(pdf):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    return unicodedata.normalize("NFC", text)


# what the typeset equations read as, through pdftotext (subscripts flattened): written by hand
# from Goodfellow et al. eqs. 10.18–10.22 and Bishop §5.3
TYPESET = {
    "rnn": ["δot = ŷt − yt", "δht = V ⊤ δot + W ⊤ δat+1", "δat = δht ⊙ (1 − ht ⊙ ht )",
            "δh0 = W ⊤ δa1", "δxt = U ⊤ δat"],
    "dense": ["δz2 = ŷ − y", "δx = W1 ⊤ δz1", "δW2 = δz2 h⊤"],
}


def test_the_latex_of_every_edition_fits_an_article_page(tmp_path):
    """All fragments in one 10 pt article (345 pt lines, the paper they are pasted into): no line
    too wide, no block taller than a page (the local \\allowdisplaybreaks lets long ones break)."""
    bodies = []
    for name, options in editions():
        d = symgrad.derive(catalog.model(name, **options))
        bodies.append(f"\\section*{{{slug(name, options)}}}\n" + d.to_latex())
    pdf = compile_pdf(standalone("\n".join(bodies)), tmp_path)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing $" not in log
    assert re.findall(r"Overfull \\[hv]box.*", log) == []
    text = pdf_text(pdf)
    for name, lines in TYPESET.items():
        for line in lines:
            assert unicodedata.normalize("NFC", line) in text, (name, line)


def test_long_equations_break_before_a_plus_or_minus_only():
    """The transformer's layer-norm deltas are one long product: they break at the − inside
    its parenthesis, never before ⊙ (which would split a product across lines)."""
    tex = symgrad.derive(symgrad.model("transformer")).to_latex()
    continued = re.findall(r"&\\quad (.*)", tex)
    assert continued, "the transformer has equations too long for one line"
    assert all(line.startswith(("+ ", "- ")) for line in continued), continued
    assert all(not line.startswith("\\odot") for line in continued)


def test_a_newline_in_a_title_stays_in_the_comment(tmp_path):
    """A title or source holding a newline and TeX specials cannot end the % header and run."""
    model_file = tmp_path / "odd.py"
    model_file.write_text(
        "from symgrad.dsl import Model, tanh\n"
        "def build():\n"
        "    M = Model('odd', title='A\\n\\\\undefinedmacro 50% #1', source='x\\r\\n\\\\end{document} ^^M')\n"
        "    n = M.dims('n')\n"
        "    x = M.input('x', n)\n"
        "    M.output(M.define('h', tanh(M.param('W', n, n) @ x)))\n"
        "    return M\n", encoding="utf-8")
    tex = symgrad.derive(catalog.model(str(model_file))).to_latex()
    header = tex.split("\n\n")[0].splitlines()
    assert all(line.startswith("% ") for line in header), header
    compile_pdf(standalone(tex), tmp_path)
    assert "Undefined control sequence" not in (tmp_path / "doc.log").read_text(errors="replace")


def test_latex_text_prints_user_text_as_written(tmp_path):
    """Specials, whitespace, Greek and characters pdflatex cannot set, through the real PDF."""
    tricky = "Tom & Jerry\n50% #1 a_b {x} ~ ^ \\cmd $5 <b>|é č – σ-RNN Σ 中"
    pdf = compile_pdf(standalone(latex_text(tricky) + "\n\n"), tmp_path)
    text = " ".join(pdf_text(pdf).split())
    # the default (OT1) fonts draw _ as a rule, which pdftotext reads as a space, and ~ ^ as ˜ ˆ
    assert "Tom & Jerry 50% #1 a b {x} ˜ ˆ \\cmd $5 <b>|é č – σ-RNN Σ [U+4E2D]" in text, text
    assert latex_text("a_b") == r"a\_b"


def test_notebooks_get_one_display_block_and_markdown():
    d = symgrad.derive(symgrad.model("dense"))
    tex = d._repr_latex_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$") and "%" not in tex
    assert r"\delta z_{2} &= \hat{y} - y" in tex
    md = d._repr_markdown_()
    assert "#### Deltas" in md and "#### Parameter gradients" in md and r"\delta W_{2} &=" in md
