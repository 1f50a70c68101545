"""symgrad's own output reads back right (issues 9 and 12): for every catalog model and
variant, ``symgrad derive M --format latex|text -o f`` then ``symgrad verify f --model M`` exits
0 with every equation right (backward) or forward, none missing. The text format's title,
``Source:``, ``## Section`` and ``- note`` lines are prose, not unreadable equations.

The same holds for the output with Iverson's brackets (a loss at the last step, an input at
the first, truncated BPTT's cut judged with ``--truncate K``), and for ``symgrad jacobian M``:
each printed block is right, the products over steps and the block matrix are not checkable,
and the routes and the bound are prose."""
import json

import pytest
from click.testing import CliRunner

import symgrad
from symgrad import catalog
from symgrad.cli import main
from symgrad.render.printer import text

LSTM_VARIANTS = ["vanilla", "NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR"]
MASKS = [[], ["--causal"], ["--padding"], ["--causal", "--padding"]]
CASES = (
    [("dense", []), ("layernorm", []), ("seq2seq-attention", []),
     ("rnn", []), ("rnn", ["--layers", "2", "--bidirectional"]),
     ("rnn", ["--task", "many-to-one"]), ("rnn", ["--task", "one-to-many"]),
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


def _judged(tmp_path, name, args, fmt, derive_args=(), verify_args=(), command="derive"):
    """(the file written by ``symgrad COMMAND``, the verify report as JSON, verify's exit code)."""
    path = tmp_path / f"{name}.{'tex' if fmt == 'latex' else 'txt'}"
    runner = CliRunner()
    written = runner.invoke(main, [command, name, *args, *derive_args, "--format", fmt, "-o", str(path)])
    assert written.exit_code == 0, written.output
    result = runner.invoke(main, ["verify", str(path), "--model", name, *args, *verify_args, "--format", "json"])
    return path.read_text(encoding="utf-8"), json.loads(result.output), result.exit_code


@pytest.mark.parametrize("fmt", ["latex", "text"])
@pytest.mark.parametrize("task, bracket", [("many-to-one", "t = T"), ("one-to-many", "t = 1")])
def test_iverson_brackets_read_back_right(tmp_path, task, bracket, fmt):
    """The bracket is printed, and the line that holds it is judged right, not just readable."""
    written, report, code = _judged(tmp_path, "rnn", ["--task", task], fmt)
    assert bracket in written
    holding = [e for e in report["equations"] if bracket in e["source"]]
    assert holding and all(e["status"] in ("right", "forward") for e in holding)
    assert code == 0


TRUNCATED = [("rnn", [], 2), ("rnn", ["--bidirectional"], 2), ("lstm", [], 3),
             ("gru", ["--variant", "cho"], 2), ("gru", ["--variant", "cudnn"], 3)]


@pytest.mark.parametrize("fmt", ["latex", "text"])
@pytest.mark.parametrize("name, args, k", TRUNCATED, ids=[" ".join([n, *a, str(k)]) for n, a, k in TRUNCATED])
def test_truncated_derivations_read_back_right_with_truncate(tmp_path, name, args, k, fmt):
    written, report, code = _judged(tmp_path, name, args, fmt, ["--truncate", str(k)], ["--truncate", str(k)])
    cut = f"mod {k}" if fmt == "text" else rf"\bmod {k}"
    assert cut in written
    bad = [(e["line"], e["status"], e["source"], e["problems"]) for e in report["equations"]
           if e["status"] not in ("right", "forward")]
    assert not bad and code == 0
    d = symgrad.derive(catalog.model(name, **_options(args)), truncate=k)
    assert report["counts"]["right"] == len(d.backward) and report["not_checked"] == []


def test_the_cut_is_judged_against_the_truncation_asked_for(tmp_path):
    """Without --truncate the lines with the cut are wrong (so the cut is read, not skipped);
    a 'truncate: K' line in the file does what --truncate does."""
    written, report, code = _judged(tmp_path, "lstm", [], "latex", ["--truncate", "2"])
    wrong = [e["source"] for e in report["equations"] if e["status"] == "wrong"]
    assert code == 1 and len(wrong) == 2 and all(r"\bmod 2" in line for line in wrong)
    path = tmp_path / "lstm.tex"
    path.write_text("% truncate: 2\n" + written, encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--model", "lstm", "--format", "json"])
    assert result.exit_code == 0, result.output


JACOBIANS = [("rnn", []), ("lstm", []), ("gru", ["--variant", "cho"]), ("gru", ["--variant", "cudnn"])]
CLOSED_FORMS = {"a product over steps (∏): a closed form over time, not checked (symgrad checks "
                "recurrences one step at a time)",
                "a block matrix: symgrad checks each block as an equation of its own"}


@pytest.mark.parametrize("fmt", ["latex", "text"])
@pytest.mark.parametrize("name, args", JACOBIANS, ids=[" ".join([n] + a) for n, a in JACOBIANS])
def test_printed_jacobians_read_back_right(tmp_path, name, args, fmt):
    """Every block symgrad jacobian prints is an equation judged right; the product over steps
    (and the LSTM's block matrix) are not checkable; route lists and the bound are prose."""
    _, report, code = _judged(tmp_path, name, args, fmt, command="jacobian")
    statuses = {(e["lhs"], e["status"]) for e in report["equations"]}
    blocks = symgrad.jacobians(catalog.model(name, **_options(args))).blocks
    assert {(text(b.lhs), "right") for b in blocks} <= statuses
    right = [e for e in report["equations"] if e["status"] == "right"]
    closed = [e for e in report["equations"] if e["status"] == "not checkable"]
    assert len(right) == len(blocks)
    assert closed and all(set(e["problems"]) <= CLOSED_FORMS for e in closed)
    assert len(right) + len(closed) == len(report["equations"]) and code == 0
