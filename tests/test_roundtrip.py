"""symgrad's own output reads back right (issue 9): for every catalog model and variant,
``symgrad derive M --format latex|text -o f`` then ``symgrad verify f --model M`` exits 0 with
every equation right (backward) or forward, none missing. The text format's title,
``Source:``, ``## Section`` and ``- note`` lines are prose, not unreadable equations."""
import json

import pytest
from click.testing import CliRunner

import symgrad
from symgrad import catalog
from symgrad.cli import main

LSTM_VARIANTS = ["vanilla", "NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR"]
MASKS = [[], ["--causal"], ["--padding"], ["--causal", "--padding"]]
CASES = (
    [("dense", []), ("layernorm", []), ("seq2seq-attention", []),
     ("rnn", []), ("rnn", ["--layers", "2", "--bidirectional"]),
     ("gru", ["--variant", "cho"]), ("gru", ["--variant", "cudnn"]),
     ("gru", ["--layers", "2", "--bidirectional"]),
     ("lstm", ["--layers", "2", "--bidirectional"])]
    + [("lstm", ["--variant", v]) for v in LSTM_VARIANTS]
    + [("attention", m) for m in MASKS] + [("mha", m) for m in MASKS]
    + [("transformer", o) for o in ([], ["--pre-ln"], ["--causal"], ["--padding"], ["--gelu"],
                                    ["--pre-ln", "--causal", "--padding", "--gelu"])]
)


def test_the_cases_cover_the_catalog():
    assert {name for name, _ in CASES} == set(catalog.names())


def _options(args):
    out, i = {}, 0
    while i < len(args):
        key = args[i][2:].replace("-", "_")
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[key], i = (int(args[i + 1]) if args[i + 1].isdigit() else args[i + 1]), i + 2
        else:
            out[key], i = True, i + 1
    return out


@pytest.mark.parametrize("fmt", ["latex", "text"])
@pytest.mark.parametrize("name, args", CASES, ids=[" ".join([n] + a) for n, a in CASES])
def test_derived_equations_verify_right(tmp_path, name, args, fmt):
    path = tmp_path / f"{name}.{'tex' if fmt == 'latex' else 'txt'}"
    runner = CliRunner()
    derived = runner.invoke(main, ["derive", name, *args, "--format", fmt, "-o", str(path)])
    assert derived.exit_code == 0, derived.output
    result = runner.invoke(main, ["verify", str(path), "--model", name, *args, "--format", "json"])
    report = json.loads(result.output)
    bad = [(e["line"], e["status"], e["source"], e["problems"]) for e in report["equations"]
           if e["status"] not in ("right", "forward")]
    assert not bad and result.exit_code == 0
    d = symgrad.derive(catalog.model(name, **_options(args)))
    assert report["counts"]["forward"] == len(d.forward)
    assert report["counts"]["right"] == len(d.backward) and report["not_checked"] == []
