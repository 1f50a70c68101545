"""The LaTeX output compiles in a minimal amsmath document, and the PDF says what we printed."""
import shutil
import subprocess
import unicodedata

import pytest

import symgrad
from symgrad import catalog
from symgrad.render.latex import escape, standalone


def compile_pdf(tex, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is not installed; .ci/run installs texlive-latex-base")
    (tmp_path / "doc.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                           "doc.tex"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return tmp_path / "doc.pdf"


# what the typeset equations read as, through pdftotext (subscripts flattened)
TYPESET = {
    "rnn": ["δot = ŷt − yt", "δht = V ⊤ δot + W ⊤ δat+1", "δat = δht ⊙ (1 − ht ⊙ ht )",
            "δh0 = W ⊤ δa1", "δxt = U ⊤ δat"],
    "dense": ["δz2 = ŷ − y", "δx = W1 ⊤ δz1", "δW2 = δz2 h⊤"],
}


@pytest.mark.parametrize("name", catalog.names())
def test_latex_compiles(name, tmp_path):
    pdf = compile_pdf(standalone(symgrad.derive(symgrad.model(name)).to_latex()), tmp_path)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing $" not in log
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    text = unicodedata.normalize("NFC", text)
    for line in TYPESET.get(name, []):
        assert unicodedata.normalize("NFC", line) in text


def test_escape_makes_user_text_inert():
    assert escape(r"a_b & 50% #1 {x} \cmd") == r"a\_b \& 50\% \#1 \{x\} \textbackslash{}cmd"


def test_notebooks_get_one_display_block_and_markdown():
    d = symgrad.derive(symgrad.model("dense"))
    tex = d._repr_latex_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$") and "%" not in tex
    assert r"\delta z_{2} &= \hat{y} - y" in tex
    md = d._repr_markdown_()
    assert "#### Deltas" in md and "#### Parameter gradients" in md and r"\delta W_{2} &=" in md
