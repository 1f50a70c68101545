"""The README's examples work as written: its model file derives and checks, its worked
example of assert_gradients_match passes on a course's LSTM (and fails on a broken one),
and the error lines it shows are the ones the code raises."""
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import symgrad
from symgrad.check import example
from symgrad.cli import main

import course_lstm

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def block(containing):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"README has {len(found)} python blocks with {containing!r}"
    return found[0]


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(block("def build(act="), encoding="utf-8")
    return str(path)


def test_the_readme_model_derives_the_textbook_bptt_equations(model_file):
    out = CliRunner().invoke(main, ["derive", model_file, "--format", "text"]).output
    # Goodfellow et al. eqs. 10.18-10.21, written with a = pre-activation
    for line in ("δoₜ = ŷₜ − yₜ", "δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁", "δW = Σₜ δaₜ hₜ₋₁ᵀ", "δh₀ = Wᵀ δa₁"):
        assert line in out
    assert "δoₜ = ŷₜ − yₜ" in README and "δhₜ = Vᵀ δoₜ + Wᵀ δaₜ₊₁" in README


@pytest.mark.parametrize("args", [[], ["--act", "relu"]])
def test_the_readme_model_checks_as_written_without_check_sizes(model_file, args):
    assert "CHECK_SIZES" not in block("def build(act=").split("def build")[0]
    result = CliRunner().invoke(main, ["check", model_file, *args])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_the_readme_model_lists_its_option(model_file):
    out = CliRunner().invoke(main, ["derive", model_file, "--help"], terminal_width=200).output
    assert "--act tanh|relu" in out and "the hidden layer's activation" in out


def run_worked_example(backward_module):
    namespace = {"lstm_forward": backward_module.lstm_forward, "lstm_backward": backward_module.lstm_backward}
    exec(compile(block("assert_gradients_match("), "README.md", "exec"), namespace)  # the README's own code


def test_the_worked_example_passes_on_a_course_lstm():
    run_worked_example(course_lstm)


def test_the_worked_example_catches_a_broken_lstm():
    class Broken:
        lstm_forward = staticmethod(course_lstm.lstm_forward)

        @staticmethod
        def lstm_backward(dh, caches):
            return course_lstm.lstm_backward(dh, caches, bug="no dh0")
    with pytest.raises(AssertionError, match="your h0 is zero: does your code start from a zero state"):
        run_worked_example(Broken)


def test_the_error_lines_the_readme_shows_are_the_ones_raised():
    shown = re.search(r"```\n(x: expected .*?)\n(h0: expected .*?)\n```", README)
    f = symgrad.derive(symgrad.model("rnn")).compile()
    params, inputs, cot = example(f, {"m": 3, "n": 4, "k": 3}, T=5, B=3)
    unbatched = {**inputs, "x": inputs["x"][:, 0, :]}
    short = {**inputs, "h0": inputs["h0"][:2]}
    for bad, line in ((unbatched, shown.group(1)), (short, shown.group(2))):
        with pytest.raises(symgrad.InputError) as err:
            f.vjp(params, bad, cot)
        assert str(err.value) == line


def test_every_adapter_the_readme_lists_exists():
    import symgrad.testing as testing
    table = README.split("| adapter |")[1].split("\n\n")[0]
    names = re.findall(r"^\| `(\w+)\(", table, flags=re.M)
    assert names == ["Renamed", "Transposed", "Permuted", "Reshaped", "Stacked", "Indices"]
    assert all(issubclass(getattr(testing, n), testing.Adapter) for n in names)
