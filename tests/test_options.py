"""Model options: typed by build()'s defaults, with choices, minimum and help from OPTIONS;
checked in Python and on the command line, never silently reinterpreted."""
import numpy as np
import pytest

import symgrad
from symgrad import catalog
from symgrad.errors import OptionError, SymgradError


@pytest.mark.parametrize("name, options, message", [
    ("attention", {"causal": "no"}, "model attention: option causal takes True or False, not 'no'"),
    ("attention", {"causal": 1}, "option causal takes True or False, not 1"),
    ("attention", {"heads": 2}, "unknown option 'heads' (options: causal, padding)"),
    ("lstm", {"layers": 0}, "option layers must be ≥ 1, not 0"),
    ("lstm", {"layers": 2.0}, "option layers takes a whole number, not 2.0"),
    ("lstm", {"layers": True}, "option layers takes a whole number, not True"),
    ("lstm", {"variant": 3}, "option variant takes text, not 3"),
    ("gru", {"variant": "pytorch"}, "option variant: unknown choice 'pytorch'; choose one of: cho, cudnn"),
])
def test_a_bad_option_value_is_an_error_naming_the_option(name, options, message):
    with pytest.raises(OptionError) as err:
        symgrad.model(name, **options)
    assert message in str(err.value)
    assert isinstance(err.value, SymgradError)


def test_the_string_no_does_not_turn_the_causal_mask_on():
    """Before options were checked, any non-empty string was true: 'no' built the mask."""
    with pytest.raises(OptionError):
        symgrad.model("attention", causal="no")
    assert "M" not in symgrad.model("attention", causal=False).declared
    assert "M" in symgrad.model("attention", causal=np.bool_(True)).declared


def test_choices_match_case_insensitively_and_numpy_integers_count():
    m = symgrad.model("lstm", variant="cifg", layers=np.int64(2))
    assert m.options["variant"] == "CIFG" and m.options["layers"] == 2


def test_each_catalog_models_options_are_described():
    specs = {s.name: s for s in catalog.option_specs("lstm")}
    assert list(specs) == ["variant", "layers", "bidirectional"]
    assert specs["variant"].default == "vanilla" and "CIFG" in specs["variant"].choices
    assert specs["variant"].choices["CIFG"].startswith("coupled input and forget gate")
    assert (specs["layers"].type, specs["layers"].minimum) == (int, 1)
    assert specs["bidirectional"].type is bool and specs["bidirectional"].usage() == "--bidirectional"
    assert [s.flag for s in catalog.option_specs("transformer")] == ["--pre-ln", "--causal", "--padding", "--gelu"]
    for name in catalog.names():      # every option says what it does
        assert all(s.help for s in catalog.option_specs(name)), name


def _model_file(tmp_path, signature, extra=""):
    path = tmp_path / "mine.py"
    path.write_text(f'''
from symgrad.dsl import Model, Option, tanh
{extra}

def build({signature}):
    M = Model("mine", sequence=True)
    m, n = M.dims("m n")
    x = M.input("x", m)
    h = M.state("h", n)
    M.define(h, tanh(M.param("W", n, n) @ h.prev + M.param("U", n, m) @ x))
    M.output(h)
    return M
''', encoding="utf-8")
    return str(path)


def test_a_model_files_options_come_from_its_build_and_options(tmp_path):
    path = _model_file(tmp_path, "act='tanh', depth=2, scale=0.5, wide=False",
                       'OPTIONS = {"act": Option(choices=("tanh", "relu"), help="the activation")}')
    specs = {s.name: s for s in catalog.option_specs(path)}
    assert {k: (s.type, s.default) for k, s in specs.items()} == {
        "act": (str, "tanh"), "depth": (int, 2), "scale": (float, 0.5), "wide": (bool, False)}
    assert specs["act"].usage() == "--act tanh|relu"
    with pytest.raises(OptionError, match="option act: unknown choice 'sigmoid'"):
        symgrad.model(path, act="sigmoid")
    with pytest.raises(OptionError, match="option scale takes a number, not 'big'"):
        symgrad.model(path, scale="big")


@pytest.mark.parametrize("signature, extra, message", [
    ("width", "", "build() option width has no default; the default gives its type"),
    ("width=None", "", "build() option width needs a default of type bool, int, float or str"),
    ("**options", "", "build() takes *options; every option must be named"),
    ("", 'OPTIONS = {"depth": Option(help="x")}', "OPTIONS describes depth, which build() does not take"),
])
def test_a_model_files_options_must_be_typed(tmp_path, signature, extra, message):
    path = _model_file(tmp_path, signature, extra)
    with pytest.raises(OptionError) as err:
        symgrad.model(path)
    assert message in str(err.value) and "mine.py" in str(err.value)
