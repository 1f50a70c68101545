"""Terminal output shows user text as written: rich markup in a file name is not applied."""
from click.testing import CliRunner

from symgrad.cli import main


def test_a_file_name_with_brackets_prints_as_written(tmp_path):
    hand = tmp_path / "a[bold]b.txt"
    hand.write_text("% model: rnn\ndW = sum_t(da[t] @ h[t-1].T)\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["verify", str(hand)]).output
    assert f"symgrad verify {hand}" in " ".join(out.split())
