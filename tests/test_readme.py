"""The README's examples are true: its Python runs as written, its output excerpts are what
symgrad prints, its tables render, its links lead somewhere."""
import re
from pathlib import Path

from click.testing import CliRunner

import course_lstm
import symgrad
from symgrad.cli import main
from symgrad.render.markup import github_math
from symgrad.render.printer import latex

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language):
    return re.findall(r"```" + language + r"\n(.*?)```", README, re.S)


def test_every_python_block_runs_as_written(capsys):
    """Each block in a fresh namespace; a model file's build() is also derived. The worked
    example's course LSTM (lstm_forward, lstm_backward, which the README names but does not
    print) is tests/course_lstm.py."""
    python = blocks("python")
    assert len(python) >= 2
    for code in python:
        namespace = {"__name__": "readme", "lstm_forward": course_lstm.lstm_forward,
                     "lstm_backward": course_lstm.lstm_backward}
        exec(compile(code, "README.md", "exec"), namespace)    # our own README, not user input
        if "build" in namespace:
            assert symgrad.derive(namespace["build"]()).deltas
    printed = capsys.readouterr().out
    assert "δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁" in printed and "'h0': (2, 8)" in printed


def test_the_opening_excerpt_is_what_derive_prints():
    excerpt = README.split("```\n$ symgrad derive rnn\n")[1].split("```")[0]
    printed = CliRunner().invoke(main, ["derive", "rnn", "--format", "text"]).output
    lines = [line.strip() for line in excerpt.splitlines() if line.strip() not in ("", "…")]
    assert lines and all(line in printed for line in lines), lines


def test_the_notebook_display_shows_a_real_equation():
    shown = re.search(r"## Notebook\n.*?\$\$\n(.*?)\n\$\$", README, re.S).group(1)
    d = symgrad.derive(symgrad.model("rnn"))
    assert shown in [f"{github_math(latex(eq.lhs))} = {github_math(latex(eq.rhs))}" for eq in d.deltas]


def test_the_commands_table_is_one_table_naming_every_command():
    section = README.split("## Commands\n")[1].split("\n## ")[0]
    rows = [line for line in section.strip().split("\n\n")[0].splitlines()]
    assert all(line.startswith("|") for line in rows), "a blank line or text splits the table"
    for command in main.commands:
        assert f"`symgrad {command}" in "\n".join(rows), command


def test_links_lead_to_files_in_the_repository():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
    assert "../shared" not in README and "DESIGN.md" not in README
