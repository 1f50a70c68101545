"""The simple RNN of Goodfellow, Bengio & Courville, Deep Learning (2016), §10.2.

Forward, eqs. 10.8–10.11: a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t), o_t = c + V h_t,
ŷ_t = softmax(o_t); the loss is the cross-entropy with the target class summed over
time, L = Σ_t L_t (eqs. 10.12–10.14). The book's BPTT equations are 10.17–10.28.
With --layers and --bidirectional the hidden layer is stacked as in Graves et al. (2013),
and the output layer reads the top layer through one matrix V per direction.

--task many-to-one reads one output from the last step, o = c + V h_T, with one label per
sequence (the book's Fig. 10.5; a backward layer is read at its last step, h_1).
--task one-to-many feeds one input per example at the first step only,
a_t = b + W h_{t-1} + [t = 1] U x, and emits an output at every step (the image of a
caption generator, as Vinyals et al., Show and Tell, CVPR 2015, feed it once).
"""
from symgrad.dsl import Model, Option, cross_entropy, softmax, sum_t, tanh
from symgrad.errors import ModelError

from ._stack import LAYER_OPTIONS, input_terms, pick, previous, stack

SUMMARY = "simple RNN with softmax output and cross-entropy per step (BPTT)"
SOURCE = ("Goodfellow, Bengio, Courville. Deep Learning. MIT Press, 2016, §10.2, "
          "eqs. 10.8–10.11 (forward) and 10.17–10.28 (backward)")
CHECK_SIZES = {"m": 3, "n": 4, "k": 3}
TASKS = {
    "many-to-many": "an output and a loss at every step",
    "many-to-one": "one output, read from the last step, one label per sequence",
    "one-to-many": "one input per example, fed at the first step; an output at every step",
}
OPTIONS = {**LAYER_OPTIONS, "task": Option(choices=TASKS, help="where the inputs enter and the losses are")}


def reference(layers=1, bidirectional=False, task="many-to-many"):
    """The hand-written BPTT of the book, for its one-layer network with a loss at every step."""
    plain = layers == 1 and not bidirectional
    return "symgrad.references.rnn" if plain and pick("RNN task", task, TASKS) == "many-to-many" else None


def build(layers=1, bidirectional=False, task="many-to-many"):
    task = pick("RNN task", task, TASKS)
    if task == "one-to-many" and bidirectional:
        raise ModelError("model rnn: --task one-to-many generates a sequence step by step; "
                         "it cannot run backwards (drop --bidirectional)")
    title = "Simple recurrent network" + ("" if task == "many-to-many" else f", {task}")
    M = Model("rnn", sequence=True, title=title, source=SOURCE, style="expanded",
              options={"task": task})
    m, n, k = M.dims("m n k")
    x = M.input("x", m, per_step=task != "one-to-many")
    per_step = task != "many-to-one"
    y = M.target("y", k, onehot=True, per_step=per_step)
    first_only = task == "one-to-many"
    top = stack(M, lambda M, inputs, tag, reverse: cell(M, inputs, tag, reverse, n,
                                                        first_only and inputs[0][0] == x),
                x, layers, bidirectional)
    if not per_step:      # each direction read at the step it ends at
        top = [(M.at_step(h, 1) if suffix == "b" else M.last(h), suffix) for h, suffix in top]
    c = M.param("c", k)
    o = M.define("o", c + input_terms(M, "V", "__" if bidirectional else "", top, k))
    yhat = M.define("yhat", softmax(o))
    if per_step:
        ell = M.define("ell", cross_entropy(yhat, y))
        M.loss(M.define("L", sum_t(ell)))
    else:
        M.loss(M.define("L", cross_entropy(yhat, y)))
    return M


def cell(M, inputs, tag, reverse, n, first_only=False):
    """a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t) (h_{t+1} for a layer that runs backwards);
    ``first_only``: the input term at the first step only, [t = 1] U x."""
    b, W = M.param("b" + tag, n), M.param("W" + tag, n, n)
    h = M.state("h" + tag, n, reverse=reverse)
    inputs_term = input_terms(M, "U", tag, inputs, n)
    a = M.define("a" + tag, b + W @ previous(h, reverse)
                 + (M.only_at(1, inputs_term) if first_only else inputs_term))
    return M.define(h, tanh(a))
