"""A line-by-line pass over the public entry points with the mistakes a user makes: each is
a SymgradError with a message that names the problem, never a raw Python error (the CLI's
own cases, one line and exit code 2, are in test_cli.py)."""
import numpy as np
import pytest

import symgrad
from symgrad.check import example
from symgrad.dsl import Model, activation, cross_entropy, layernorm, ones, softmax, softmax_rows, sum_all, sum_t, tanh
from symgrad.errors import SymgradError
from symgrad.testing import assert_gradients_match


def model():
    M = Model("u")
    n = M.dims("n")
    return M, n, M.input("x", n), M.param("W", n, n)


def seq_model():
    M = Model("s", sequence=True)
    n = M.dims("n")
    return M, n, M.input("x", n)


def rnn():
    return symgrad.derive(symgrad.model("rnn"))


def compiled_rnn():
    c = rnn().compile()
    return c, example(c, {"m": 2, "n": 3, "k": 2})


CASES = {
    # symgrad.model, symgrad.derive and the Derivation
    "model(None)": (lambda: symgrad.model(None), "a model is a catalog name or a model file (.py), not None"),
    "model('nosuch')": (lambda: symgrad.model("nosuch"), "unknown model 'nosuch'; the catalog has:"),
    "model option of the wrong type": (lambda: symgrad.model("rnn", layers="2"), "option layers takes a whole number"),
    "derive of a name": (lambda: symgrad.derive("rnn"), "derive takes a Model (symgrad.model(name) builds one)"),
    "derive, unknown style": (lambda: symgrad.derive(symgrad.model("rnn"), "odd"), "unknown style 'odd'"),
    "paths of an unknown node": (lambda: rnn().paths("q"), "rnn has no node 'q' with a delta"),
    "equation of an unknown left-hand side": (lambda: rnn().equation("δq"), "rnn has no equation for 'δq'"),
    # the compiled model
    "init_params without a size": (lambda: rnn().compile().init_params({"m": 2}), "sizes: missing n"),
    "init_params, a negative seed": (lambda: rnn().compile().init_params({"m": 2, "n": 3, "k": 2}, seed=-1),
                                     "seed must be a whole number ≥ 0"),
    "forward without a dict": (lambda: rnn().compile().forward(None, {}), "params: expected a dict of arrays"),
    "vjp, a cotangent list": (lambda: (lambda c, e: c.vjp(e[0], e[1], [1.0]))(*compiled_rnn()),
                              "cotangents: expected a dict of arrays"),
    "compile a model without data": (lambda: _compiled_without_data(), "the compiled code needs an input"),
    "compile a size no array has": (lambda: (lambda M, n, x, W: (M.output(M.define("a", ones(M.dims("k")) @ (ones(1, n) @ x))),
                                                                 symgrad.derive(M).compile()))(*model()),
                                    "the size k is the size of no input or parameter"),
    # the DSL: declarations
    "Model(sequence='yes')": (lambda: Model("a", sequence="yes"), "sequence is True or False"),
    "Model('a b')": (lambda: Model("a b"), "model name 'a b' must be letters"),
    "dims(3)": (lambda: Model("a").dims(3), "dims takes names in one string"),
    "dims twice": (lambda: Model("a").dims("n n"), "size n is declared twice"),
    "a size given as its name": (lambda: Model("a").param("W", "n", 2), "not 'n' (the symbol M.dims returns"),
    "a size of 0": (lambda: Model("a").input("x", 0), "a whole number ≥ 1, not 0"),
    "a name that is not a string": (lambda: Model("a").param(3, 2), "a param name is a string, not 3"),
    "a reserved name": (lambda: Model("a").input("np", 2), "input name 'np' must be an identifier"),
    "declared twice": (lambda: (lambda M: (M.input("x", 2), M.param("x", 2)))(Model("a")), "x is declared twice"),
    "a state in a feed-forward model": (lambda: Model("a").state("h", 2), "a feed-forward model has no recurrent state"),
    "heads in a sequence model": (lambda: Model("a", sequence=True).heads("h"), "heads are for models whose rows are positions"),
    "a per-head parameter before the heads": (lambda: Model("a").param("W", 2, per_head=True), "declare the heads first"),
    "an axis in a feed-forward model": (lambda: Model("a").axis("j", "T_x"), "time axes are for sequence models"),
    "along something that is not an axis": (lambda: Model("a", sequence=True).along("j").__enter__(),
                                            "along takes an axis M.axis returned"),
    "stack of a parameter": (lambda: (lambda M: M.stack(M.param("W", 2)))(Model("a", sequence=True)),
                             "stack takes a time-indexed node"),
    # the DSL: equations
    "define with a number": (lambda: Model("a").define("a", 3), "right-hand side is not an expression: 3"),
    "output by name": (lambda: (lambda M, n, x, W: M.output("x"))(*model()), "output takes a node M.define returned, not 'x'"),
    "loss of a vector": (lambda: (lambda M, n, x, W: M.loss(M.define("L", W @ x)))(*model()), "must be a scalar (1×1)"),
    "no output": (lambda: symgrad.derive(Model("a")), "no output or loss declared"),
    "an undefined state": (lambda: (lambda M, n, x: (M.state("h", n), M.output(M.define("a", tanh(x))),
                                                     symgrad.derive(M)))(*seq_model()), "state h is declared but never defined"),
    "a cycle within one step": (lambda: _recurrence(lambda h, x: tanh(h + x), lambda M, h: M.output(h)),
                                "cycle within one time step"),
    "an input read at another step": (lambda: (lambda M, n, x: (M.output(M.define("a", tanh(x.prev))),
                                                                symgrad.derive(M)))(*seq_model()),
                                      "input xₜ₋₁ is read at another step"),
    "a parameter read at another step": (lambda: model()[3].prev, "W.prev: only a state of a sequence model"),
    "a sum that reads another step": (lambda: _recurrence(lambda h, x: tanh(h.prev + x),
                                                          lambda M, h: M.loss(M.define("L", sum_t(sum_all(h.prev))))),
                                      "a sum over the steps reads hₜ₋₁, another step"),
    # the DSL: operators and functions
    "matrix product with a number": (lambda: model()[3] @ 3, "W @ 3: a matrix product takes two expressions"),
    "matrix product of the wrong shapes": (lambda: (lambda M, n, x, W: x @ W)(*model()), "matrix product of x (n×1) and W (n×n)"),
    "sum with text": (lambda: model()[3] + "x", "W + 'x': an expression combines with expressions and numbers"),
    "Hadamard product of different shapes": (lambda: (lambda M, n, x, W: x * W)(*model()), "Hadamard product of operands of different shapes"),
    "division by zero": (lambda: model()[3] / 0, "W / 0: division by zero"),
    "a power of an expression": (lambda: (lambda W: W ** W)(model()[3]), "an element-wise power takes a number"),
    "a function of a number": (lambda: tanh(3), "tanh takes expressions of the model, not 3"),
    "an unknown activation": (lambda: activation("g", "swish"), "unknown element-wise function 'swish'"),
    "softmax of a matrix": (lambda: softmax(model()[3]), "softmax takes a column vector"),
    "softmax_rows of text": (lambda: softmax_rows("X"), "softmax_rows takes expressions of the model"),
    "layernorm with a bad eps": (lambda: layernorm(model()[3], eps=-1), "eps is a small positive number"),
    "ones of a name": (lambda: ones("n"), "ones: a size is a symbol from M.dims"),
    "cross_entropy of numbers": (lambda: cross_entropy(1, 2), "cross_entropy takes expressions of the model"),
    "Σₜ over two axes": (lambda: (lambda M: (lambda j: (lambda x: (lambda u: sum_t(x * u))(M.input("u", 2)))(
        _along_input(M, j)))(M.axis("j", "T_x")))(Model("a", sequence=True)), "reads the steps of two time axes"),
    # assert_gradients_match
    "a layout naming an unknown array": (lambda: assert_gradients_match("dense", _no_backward, params={"W": "W_x"}),
                                         "dense has no 'W_x' among its params"),
    "skip naming an unknown gradient": (lambda: assert_gradients_match("dense", _zeros, skip=["dW9"]),
                                        "skip: 'dW9' are not gradients of dense"),
    "a model that is not one": (lambda: assert_gradients_match(3, _no_backward),
                                "model: a catalog name, a model file, a Model or a Derivation, not 3"),
}


def _compiled_without_data():
    M = Model("nodata")
    n = M.dims("n")
    M.output(M.define("a", M.param("W", n, n) @ ones(n)))
    return symgrad.derive(M).compile()


def _recurrence(definition, finish):
    M, n, x = seq_model()
    h = M.state("h", n)
    M.define(h, definition(h, x))
    finish(M, h)
    return symgrad.derive(M)


def _along_input(M, j):
    with M.along(j):
        return M.input("x", 2)


def _no_backward(params, inputs, cotangents):
    raise AssertionError("not reached: the layout is checked first")


def _zeros(params, inputs, cotangents):
    return {k: np.zeros_like(v) for k, v in {**params, **inputs}.items() if k != "y"}


@pytest.mark.parametrize("name", list(CASES))
def test_a_user_error_is_a_symgrad_error_that_says_what_is_wrong(name):
    call, message = CASES[name]
    with pytest.raises(SymgradError) as err:
        call()
    assert message in str(err.value)
    assert "\n" not in str(err.value)
