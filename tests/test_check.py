"""symgrad check passes on correct derivations and fails when a VJP rule is wrong."""
import pytest

import symgrad
from symgrad import rules
from symgrad.algebra import matmul, transpose
from symgrad.catalog import entry, reference
from symgrad.check import check, rel_err
from symgrad.ops import Fn, MatMul


def run(name):
    mod = entry(name)
    return check(symgrad.derive(symgrad.model(name)), mod.CHECK_SIZES, reference(name, {}))


@pytest.mark.parametrize("name", ["rnn", "dense"])
def test_catalog_models_pass(name):
    report = run(name)
    assert report.passed, report.problems
    assert report.worst_fd <= 1e-6 and report.worst_ref <= 1e-10
    assert {r.array for r in report.rows} >= {"x"}


def _matmul_without_transpose(e, g, out):
    """The classic hand-derivation slip: W g instead of Wᵀ g (only visible for square W)."""
    a, b = e.args[0], e.args[-1]
    if len(e.args) == 2 and a.shape[0] == a.shape[1] == b.shape[0]:
        return [(a, matmul(g, transpose(b))), (b, matmul(a, g))]
    return rules._matmul(e, g, out)


def _derivative_with_wrong_sign(e, g, out):
    (x, cot), = rules._fn(e, g, out)
    return [(x, -cot)]


@pytest.mark.parametrize("name, op, wrong", [
    ("rnn", MatMul, _matmul_without_transpose),
    ("dense", Fn, _derivative_with_wrong_sign),
])
def test_a_wrong_vjp_rule_fails_the_check(monkeypatch, name, op, wrong):
    monkeypatch.setitem(rules.VJP, op, wrong)
    report = run(name)
    assert not report.passed
    assert report.worst_fd > 1e-3 and report.worst_ref > 1e-3


def test_wrong_rule_fails_the_cli_check(monkeypatch):
    from click.testing import CliRunner
    from symgrad.cli import main
    monkeypatch.setitem(rules.VJP, MatMul, _matmul_without_transpose)
    result = CliRunner().invoke(main, ["check", "rnn"])
    assert result.exit_code == 1 and "FAIL" in result.output


def test_relative_error_definition():
    assert rel_err([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_err([1.0, 2.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert rel_err([0.0], [0.0]) == 0.0
    assert rel_err([1.0], [[1.0]]) == float("inf")
