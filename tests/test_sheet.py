"""Derivation sheets, the routes of the chain rule, and the graph."""
import shutil
import subprocess
import unicodedata

import pytest
from click.testing import CliRunner

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


def pdf_text(pdf):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
    return unicodedata.normalize("NFKC", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                                       text=True).stdout)


@pytest.mark.parametrize("name, expected", [
    ("lstm", ["Routes from yt", "Routes from ct", "Entry by entry", "Greff", "δct = po ⊙ δōt"]),
    ("transformer", ["Routes from R2", "colsum", "Vaswani", "δWiQ = X ⊤ δQi"]),
])
def test_sheet_compiles_with_every_section_and_no_overfull_box(tmp_path, name, expected):
    result = CliRunner().invoke(main, ["sheet", name, "-o", str(tmp_path), "--pdf"])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / f"{name}.pdf"
    log = pdf.with_suffix(".log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log and "LaTeX Error" not in log
    body = pdf_text(pdf)
    for section in ("The model", "Notation", "Forward pass", "Computational graph",
                    "The chain rule, route by route", "Deltas and gradients", "How it was checked",
                    "All agree", "References"):
        assert section in body, section
    for fragment in expected:
        assert fragment in body, fragment
    assert (tmp_path / f"{name}_graph.pdf").exists()


def test_user_text_is_escaped(tmp_path):
    model_file = tmp_path / "odd_model.py"
    model_file.write_text(
        "from symgrad.dsl import Model, tanh\n"
        "SOURCE = 'A & B, 50% of #1 {x} \\\\hack'\n"
        "def build():\n"
        "    M = Model('odd-model', title='Tom & Jerry 100%', source=SOURCE)\n"
        "    n = M.dims('n')\n"
        "    x = M.input('x', n)\n"
        "    M.output(M.define('h', tanh(M.param('W_1', n, n) @ x)))\n"
        "    return M\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sheet", str(model_file), "-o", str(tmp_path / "out"), "--pdf"])
    assert result.exit_code == 0, result.output
    body = pdf_text(next((tmp_path / "out").glob("*.pdf")))
    assert "Tom & Jerry 100%" in body and "A & B, 50% of #1 {x} \\hack" in body


def test_sheet_needs_a_model_or_all(tmp_path):
    result = CliRunner().invoke(main, ["sheet", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "give a MODEL or --all" in result.output


def test_a_model_name_must_be_a_name():
    with pytest.raises(symgrad.SymgradError, match="model name 'a b&c' must be"):
        symgrad.Model("a b&c")
