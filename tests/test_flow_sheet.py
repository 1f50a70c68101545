"""The "Gradient flow" section of a derivation sheet: the Jacobian route by route and the figure."""
import shutil
import subprocess
import unicodedata

import pytest
from click.testing import CliRunner

import symgrad
from symgrad.cli import main
from symgrad.render.flow_sheet import flow_section


def test_rnn_sheet_has_the_jacobian_the_bound_and_the_figure(tmp_path):
    result = CliRunner().invoke(main, ["sheet", "rnn", "-o", str(tmp_path), "--pdf"])
    assert result.exit_code == 0, result.output
    log = (tmp_path / "rnn.log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log and "LaTeX Error" not in log
    assert (tmp_path / "rnn_flow.pdf").read_bytes()[:4] == b"%PDF"
    tex = (tmp_path / "rnn.tex").read_text(encoding="utf-8")
    assert "\\section{Gradient flow}" in tex and "\\includegraphics[width=0.8\\linewidth]{rnn_flow.pdf}" in tex
    assert r"\operatorname{diag}\left(\mathbf{1} - h_{t} \odot h_{t}\right) W" in tex
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
    body = unicodedata.normalize("NFKC", subprocess.run(["pdftotext", str(tmp_path / "rnn.pdf"), "-"],
                                                        capture_output=True, text=True).stdout)
    assert "Gradient flow" in body and "Measured by symgrad flow" in body and "ρ = 1.5" in body


def test_a_model_flow_cannot_measure_gets_the_jacobian_without_a_figure():
    d = symgrad.derive(symgrad.model("rnn", bidirectional=True))
    tex = flow_section(d)
    assert "\\section{Gradient flow}" in tex and "includegraphics" not in tex
    assert r"\frac{\partial h_{t}^{(1\leftarrow)}}{\partial h_{t+1}^{(1\leftarrow)}}" in tex
    assert "&= 0" not in tex       # no block between states that run in opposite directions


def test_a_model_without_states_has_no_section():
    assert flow_section(symgrad.derive(symgrad.model("dense"))) == ""


def test_a_model_whose_jacobian_cannot_be_written_says_so():
    tex = flow_section(symgrad.derive(symgrad.model("seq2seq-attention")))
    assert "\\section{Gradient flow}" in tex and "not written out" in tex
