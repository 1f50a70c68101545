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
    (["check", "rnn", "--seed", "-5"], "Invalid value for '--seed': -5 is not in the range x>=0"),
    (["derive", "lstm", "--layers", "0"], "model lstm: option --layers must be ≥ 1, not 0"),
    (["derive", "lstm", "--bidirectional=yes"], "--bidirectional is a flag"),
    (["derive", "lstm", "--variant", "CIFX"], "option --variant: unknown choice 'CIFX'; choose one of: vanilla"),
    (["paths", "gru", "--variant", "cudnn", "nosuch"], "gru has no node 'nosuch'"),
    (["codegen", "rnn", "-o", "no/such/dir/rnn.py"], "directory no/such/dir does not exist"),
    (["derive", "rnn", "-o", "no/such/dir/rnn.txt"], "directory no/such/dir does not exist"),
    (["graph", "rnn", "-o", "no/such/dir/rnn.dot"], "directory no/such/dir does not exist"),
    (["graph", "rnn", "-o", "rnn.txt"], "the suffix must be one of .dot, .svg, .png, .pdf"),
    (["derive", "rnn", "extra"], "Got unexpected extra argument (extra)"),
    (["paths", "rnn"], "Missing argument 'NODE'"),
    (["sheet", "-o", "out"], "give a MODEL or --all, not both or neither"),
    (["verify", "pyproject.toml"], "pyproject.toml: no 'model:' line; name the model with --model"),
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


@pytest.mark.parametrize("args", [
    ["paths", "gru", "--variant", "cudnn", "h"],
    ["paths", "--variant", "cudnn", "gru", "h"],
    ["paths", "gru", "h", "--variant=cudnn"],
])
def test_model_options_may_come_before_or_after_the_positional_arguments(args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "W_hnᵀ (δaₜ₊₁ ⊙ rₜ₊₁)" in result.output     # the cuDNN form; Cho's has U_r


def test_a_flag_can_be_turned_off_again_and_values_take_both_spellings():
    on = run("derive", "--format", "text", "rnn", "--layers=2", "--bidirectional").output
    off = run("derive", "rnn", "--bidirectional", "--layers", "2", "--no-bidirectional", "--format", "text").output
    assert "bidirectional=True" in on and "bidirectional=False" in off and "layers=2" in off


def test_derive_help_lists_the_models_options_with_choices_and_defaults():
    out = CliRunner().invoke(main, ["derive", "lstm", "--help"], terminal_width=200).output
    assert "Options of model lstm" in out
    for expected in ("--variant vanilla|NIG|NFG|NOG|NIAF|NOAF|NP|CIFG|FGR", "coupled input and forget gate",
                     "--layers N", "whole number ≥ 1, default 1", "--bidirectional", "off by default"):
        assert expected in out
    assert "name the model to list them" in run("derive", "--help").output
    assert "--pre-ln" in run("check", "transformer", "--help").output


def test_list_shows_every_models_options():
    out = CliRunner().invoke(main, ["list"], terminal_width=200).output
    row = next(line for line in out.splitlines() if line.strip().startswith("gru"))
    assert "--variant cho|cudnn" in row
    assert "--causal" in next(line for line in out.splitlines() if line.strip().startswith("attention"))


def test_output_into_a_path_under_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    for args in (["sheet", "rnn", "-o", str(blocker / "sheets")], ["codegen", "rnn", "-o", str(blocker / "m.py")]):
        result = run(*args)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert f"{blocker} is not a directory" in result.output


def test_a_write_that_fails_midway_is_one_line(tmp_path, monkeypatch):
    """A directory that passes the early check but fails to write (disk full, permissions)."""
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "write_text", refuse)
    result = run("derive", "rnn", "--format", "text", "-o", str(tmp_path / "rnn.txt"))
    assert result.exit_code == 2
    assert result.output == f"symgrad: error: cannot write {tmp_path / 'rnn.txt'}: Permission denied\n"


def test_symgrad_alone_prints_the_help():
    result = run()
    assert result.exit_code == 0 and "Commands:" in result.output and "error" not in result.output


@pytest.mark.parametrize("text, message", [
    ('from symgrad.dsl import *\nCHECK_SIZES = {"m": 0, "n": 2}\n' + MODEL_FILE.split("\n", 2)[2], "sizes: m must be a whole number ≥ 1, not 0"),
    ("def build(:\n", "broken.py:1:11: invalid syntax"),
    ("def build():\n    return 3\n", "build() returned int, not a Model"),
    ("def build():\n    raise ValueError('boom')\n", "(line 2): ValueError: boom"),
])
def test_a_broken_model_file_is_one_line_for_check(tmp_path, text, message):
    path = tmp_path / "broken.py"
    path.write_text(text, encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output
