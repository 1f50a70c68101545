"""The symgrad command: every subcommand, its formats, and one-line errors with exit code 2."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from symgrad.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_list_names_every_model_with_its_source():
    out = run("list").output
    assert "rnn" in out and "dense" in out and "Goodfellow" in out


def test_derive_rnn_prints_sections_and_unicode():
    out = run("derive", "rnn").output
    for expected in ("Forward pass", "Deltas", "Parameter gradients", "Initial-state gradients",
                     "δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁", "δW = Σₜ δaₜ hₜ₋₁ᵀ", "⊙"):
        assert expected in out


def test_derive_text_is_plain_and_latex_is_amsmath():
    text = run("derive", "rnn", "--format", "text").output
    assert "\x1b[" not in text and "## Deltas" in text and "δoₜ = ŷₜ − yₜ" in text
    tex = run("derive", "rnn", "--format", "latex").output
    assert r"\begin{align*}" in tex and r"\odot" in tex and r"^{\top}" in tex
    assert r"\delta h_{t} &= {V}^{\top} \delta o_{t} + {W}^{\top} \delta a_{t+1}" in tex


def test_output_file(tmp_path):
    path = tmp_path / "rnn.tex"
    assert run("derive", "rnn", "--format", "latex", "-o", str(path)).exit_code == 0
    assert r"\begin{align*}" in path.read_text(encoding="utf-8")


def test_codegen_writes_a_module(tmp_path):
    path = tmp_path / "dense.py"
    assert run("codegen", "dense", "-o", str(path)).exit_code == 0
    assert "def vjp(params, inputs, cotangents, truncate=None):" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["rnn", "dense"])
def test_check_exits_zero_and_prints_the_table(name):
    result = run("check", name)
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "vs finite differences" in result.output


@pytest.mark.parametrize("args, message", [
    (["derive", "nosuch"], "unknown model 'nosuch'"),
    (["derive", "rnn", "--heads", "2"], "unknown option --heads"),
    (["derive", "lstm", "--layers", "two"], "option --layers takes a whole number, not 'two'"),
    (["derive", "lstm", "--variant"], "option --variant needs a value"),
    (["derive", "rnn", "--style", "odd"], "Invalid value for '--style'"),
    (["frobnicate"], "No such command"),
    (["derive", "missing_model.py"], "model file missing_model.py does not exist"),
])
def test_user_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


MODEL_FILE = '''
from symgrad.dsl import Model, tanh
SUMMARY = "a user's model"


def build(width=3):
    M = Model("mine", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    W, U = M.param("W", n, n), M.param("U", n, m)
    h = M.state("h", n)
    M.define(h, tanh(W @ h.prev + U @ x))
    M.output(h)
    return M
'''


def test_a_model_file_derives_with_its_options(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(MODEL_FILE, encoding="utf-8")
    result = run("derive", str(path), "--width", "4", "--format", "text")
    assert result.exit_code == 0, result.output
    assert "δhₜ = Δₜ + Uᵀ" not in result.output
    assert "δh₀ =" in result.output and "Δₜ" in result.output


def test_a_model_file_with_a_shape_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(MODEL_FILE.replace("U @ x", "W @ x"), encoding="utf-8")
    result = run("derive", str(path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "broken.py:12:" in result.output and "matrix product of W (n×n) and xₜ (m×1)" in result.output


def test_a_model_file_with_a_python_error(tmp_path):
    path = tmp_path / "typo.py"
    path.write_text(MODEL_FILE.replace("tanh(W", "tanhh(W"), encoding="utf-8")
    result = run("derive", str(path))
    assert result.exit_code == 2 and "NameError" in result.output and "line 12" in result.output


def test_installed_command_runs_outside_the_repo(tmp_path):
    exe = Path(sys.executable).with_name("symgrad")
    exe = str(exe) if exe.exists() else shutil.which("symgrad") or pytest.fail("symgrad is not installed")
    proc = subprocess.run([exe, "derive", "dense", "--format", "text"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "δz₂ = ŷ − y" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "symgrad", "derive", "nosuch"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and not bad.stdout
