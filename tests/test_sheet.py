"""Derivation sheets, the routes of the chain rule, and the graph."""
import html
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

import symgrad
from symgrad import catalog
from symgrad.algebra import add, ckey
from symgrad.cli import main
from symgrad.render.paths import ordered_routes
from symgrad.render.printer import text
from symgrad.symbols import Delta
from symgrad.verify import Verifier


def test_routes_of_the_lstm_cell_state_are_greffs():
    """Greff's δc_t has exactly five terms, one per route: y_t, ō_t, ī_{t+1}, f̄_{t+1}, c_{t+1}."""
    d = symgrad.derive(symgrad.model("lstm"))
    _, routes, total = ordered_routes(d, "c")
    assert [(text(w), text(term)) for w, term in routes] == [
        ("ōₜ", "p_o ⊙ δōₜ"), ("yₜ", "δyₜ ⊙ oₜ ⊙ h′(cₜ)"), ("īₜ₊₁", "p_i ⊙ δīₜ₊₁"),
        ("f̄ₜ₊₁", "p_f ⊙ δf̄ₜ₊₁"), ("cₜ₊₁", "δcₜ₊₁ ⊙ fₜ₊₁")]
    assert ckey(add(*(term for _, term in routes))) == ckey(total)
    out = CliRunner().invoke(main, ["paths", "lstm", "c"]).output
    assert text(d.equation("δcₜ").rhs) in out and out.count("│") > 10


@pytest.mark.parametrize("name", catalog.names())
def test_every_delta_is_the_sum_of_its_routes(name):
    """Equal by exact evaluation: the printed delta may be factored (δh ⊙ (hₜ₋₁ − h̃ₜ))."""
    d = symgrad.derive(symgrad.model(name))
    judge = Verifier(d)
    for node in d.routes:
        if d.delta_rhs(node) is not None and d.model.declared[node].role == "node":
            _, routes, total = ordered_routes(d, node)
            summed = add(*(term for _, term in routes))
            equal, _ = judge.identical(summed, total, judge.envs(Delta(d.model.declared[node])))
            assert equal, node


def test_paths_of_an_unknown_node_is_a_one_line_error():
    result = CliRunner().invoke(main, ["paths", "rnn", "q"])
    assert result.exit_code == 2 and "rnn has no node 'q'" in result.output


def test_graph_marks_the_recurrent_edges(tmp_path):
    path = tmp_path / "lstm.dot"
    assert CliRunner().invoke(main, ["graph", "lstm", "-o", str(path)]).exit_code == 0
    dot = path.read_text(encoding="utf-8")
    assert '"y" -> "zbar" [style=dashed' in dot and 'label="t-1"' in dot
    assert '"x" -> "zbar";' in dot and '"c" -> "y";' in dot
    if shutil.which("dot") is None:
        pytest.fail("graphviz's dot is not installed; .ci/run installs graphviz")
    svg = tmp_path / "lstm.svg"
    assert CliRunner().invoke(main, ["graph", "lstm", "-o", str(svg)]).exit_code == 0
    assert svg.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    bad = CliRunner().invoke(main, ["graph", "lstm", "-o", str(tmp_path / "g.jpeg")])
    assert bad.exit_code == 2 and "suffix" in bad.output


DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"
SHEETS = sorted(DERIVATIONS.glob("*.tex"))
SECTIONS = ("The model", "Notation", "Forward pass", "Computational graph", "The chain rule, route by route",
            "Deltas and gradients", "How it was checked", "Every gradient agrees")


def tools(*names):
    for name in names:
        if shutil.which(name) is None:
            pytest.fail(f"{name} is not installed; .ci/run installs it (texlive, poppler-utils, graphviz)")


def pdflatex(tex, cwd):
    tools("pdflatex")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                         cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-1500:]
    return tex.with_suffix(".pdf"), tex.with_suffix(".log").read_text(errors="replace")


def pdf_text(pdf):
    tools("pdftotext")
    return unicodedata.normalize("NFKC", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                                       text=True).stdout)


def pdf_pages(pdf):
    """[(page height, [(word, height, yMax)])] from pdftotext's bounding boxes."""
    tools("pdftotext")
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    pages = []
    for page in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', out, re.S):
        words = [(html.unescape(w), float(y1) - float(y0), float(y1)) for y0, y1, w in
                 re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', page[1])]
        pages.append((float(page[0]), words))
    return pages


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_every_sheet_compiles_clean_and_fills_its_pages(tmp_path, sheet):
    """Each committed sheet compiles on its own: no overfull box, no float too large, every
    section there; every page of text but the last is filled, so no page is left half empty."""
    tex = tmp_path / sheet.name
    shutil.copy(sheet, tex)
    pdf, log = pdflatex(tex, tmp_path)
    assert re.findall(r"Overfull \\[hv]box.*|Float too large.*|LaTeX Warning: .*", log) == []
    body = pdf_text(pdf)
    for section in SECTIONS:
        assert section in body, section
    pages = pdf_pages(pdf)
    for number, (height, words) in enumerate(pages[:-1], 1):
        text = " ".join(w for w, _, _ in words)
        if "computational graph of" in text:
            continue                                       # a page of the graph, sized to it
        lowest = max((y for _, _, y in words[:-1]), default=0)   # the last word is the page number
        assert lowest > 0.7 * height, f"page {number} of {sheet.name} is less than 70 % full"


def test_graph_labels_are_at_least_8_pt(tmp_path):
    """The graphs of every sheet, as they are in it, measured in the PDF: no word smaller than a
    word set at 8 pt (label subscripts are exactly 8 pt: the script size of 11 pt text)."""
    preamble = SHEETS[0].read_text(encoding="utf-8").split("\\maketitle")[0]
    blocks = [re.search(r"% graph layout by Graphviz.*?% end of graph layout", s.read_text(encoding="utf-8"), re.S)
              for s in SHEETS]
    assert all(blocks)
    doc = (preamble + "{\\fontsize{8}{10}\\selectfont Calibration $W z$\\par}\\clearpage\n"
           + "\n\\clearpage\n".join(b.group(0) for b in blocks) + "\n\\end{document}\n")
    (tmp_path / "graphs.tex").write_text(doc, encoding="utf-8")
    pdf, log = pdflatex(tmp_path / "graphs.tex", tmp_path)
    assert "Overfull" not in log
    pages = pdf_pages(pdf)
    eight = max(h for w, h, _ in pages[0][1] if w in ("Calibration", "W", "z"))
    words = [(w, h) for _, ws in pages[1:] for w, h, _ in ws]
    assert len(words) > 40 * len(SHEETS)
    smallest = min(words, key=lambda wh: wh[1])
    assert smallest[1] >= eight - 0.01, f"{smallest[0]!r} is {smallest[1]:.2f} pt tall, 8 pt text is {eight:.2f}"


# how each operator a sheet prints is written in its operator table (pattern → table entry)
USES = [(r"\\operatorname\{(\w+)\}", r"\operatorname{{{0}}}"), (r"\\(tanh|exp|log)\\left\(", r"\{0}(x)"),
        (r"\\sigma'?\\left\(", r"\sigma(x)"), (r"\\odot(?! \d)", r"a \odot b"), (r"\\oslash", r"a \oslash b"),
        (r"\^\{\\odot", r"A^{{\odot k}}"), (r"\^\{\\top\}", r"A^{{\top}}"), (r"\\mathbf\{1\}", r"$\mathbf{{1}}$ &"),
        (r"\\sum_\{(\w+)\}", r"$\sum_{{{0}}}$"), (r"'\\left\(", "$f'(x)$"),
        (r"(?<![\\A-Za-z{}])([A-Za-z])'?\\left\(", "${0}(x)$")]


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_every_operator_a_sheet_uses_is_in_its_notation_table(sheet):
    tex = sheet.read_text(encoding="utf-8").split("\\maketitle")[1]
    table = re.search(r"operator & meaning(.*?)\\bottomrule", tex, re.S).group(1)
    rest = tex.replace(table, "")
    for pattern, entry in USES:
        for match in re.finditer(pattern, rest):
            needed = entry.format(*match.groups())
            assert needed in table, f"{sheet.name}: {match.group(0)} is used but {needed} is not defined"


def test_legend_names_only_the_edges_a_graph_has():
    """Attention reads no other step: its legend says nothing of dashed lines."""
    attention = (DERIVATIONS / "attention.tex").read_text(encoding="utf-8")
    lstm = (DERIVATIONS / "lstm.tex").read_text(encoding="utf-8")
    both = (DERIVATIONS / "rnn-bidirectional.tex").read_text(encoding="utf-8")
    assert "dashed" not in attention and "dotted" not in attention
    assert "dashed red line reads the previous step" in lstm and "dotted" not in lstm
    assert "dashed red" in both and "dotted blue line the next step" in both


def test_lstm_sheet_reads_as_greff_and_names_its_initial_states():
    body = (DERIVATIONS / "lstm.tex").read_text(encoding="utf-8")
    assert "Greff" in body.split("\\section{Notation}")[0] and "thebibliography" not in body
    assert "start from given values $y_{0}$, $c_{0}$" in body
    assert r"\delta c_{t} &= p_{o} \odot \delta \bar{o}_{t} + \delta y_{t} \odot o_{t} \odot h'" in body


def test_entries_cover_input_and_initial_state_gradients():
    """Entry by entry, written by hand from Goodfellow et al. eqs. 10.18–10.26 in index form."""
    body = (DERIVATIONS / "rnn.tex").read_text(encoding="utf-8").split("Entry by entry")[1]
    for line in (r"\delta a_{t,j} &= \delta h_{t,j} \left(1 - {h_{t,j}}^{2}\right)",
                 r"\delta x_{t,j} &= \sum_{k} U_{kj} \delta a_{t,k}",
                 r"\delta h_{0,j} &= \sum_{k} W_{kj} \delta a_{1,k}",
                 r"\delta W_{jk} &= \sum_{t} \delta a_{t,j} h_{t-1,k}",
                 r"\delta h_{t,j} &= \sum_{k} V_{kj} \delta o_{t,k} + \sum_{k} W_{kj} \delta a_{t+1,k}"):
        assert line in body, line


def test_user_text_is_escaped(tmp_path):
    model_file = tmp_path / "odd_model.py"
    model_file.write_text(
        "from symgrad.dsl import Model, tanh\n"
        "SOURCE = 'A & B, 50% of #1 {x} \\\\hack\\n\\\\end{document}'\n"
        "def build():\n"
        "    M = Model('odd-model', title='Tom & Jerry\\n100% *bold* [x](y) $z$ <b>', source=SOURCE)\n"
        "    n = M.dims('n')\n"
        "    x = M.input('x', n)\n"
        "    M.output(M.define('h', tanh(M.param('W_1', n, n) @ x)))\n"
        "    return M\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sheet", str(model_file), "-o", str(tmp_path / "out"), "--pdf", "--markdown"])
    assert result.exit_code == 0, result.output
    body = " ".join(pdf_text(tmp_path / "out" / "odd-model.pdf").split())
    assert "Tom & Jerry 100% *bold* [x](y) $z$ <b>" in body
    assert "A & B, 50% of #1 {x} \\hack \\end{document}" in body
    page = (tmp_path / "out" / "odd-model.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").enable("table").render(page)   # CommonMark (rich depends on it)
    heading = re.search(r"<h1>(.*?)</h1>", rendered).group(1)
    assert html.unescape(heading) == "Backpropagation: Tom & Jerry 100% *bold* [x](y) $z$ <b>"
    assert "A &amp; B, 50% of #1 {x} \\hack \\end{document}" in rendered and "<em>" not in rendered


def test_sheet_needs_a_model_or_all(tmp_path):
    result = CliRunner().invoke(main, ["sheet", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "give a MODEL or --all" in result.output


def test_a_model_name_must_be_a_name():
    with pytest.raises(symgrad.SymgradError, match="model name 'a b&c' must be"):
        symgrad.Model("a b&c")
