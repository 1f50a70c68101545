"""The simple RNN of Goodfellow, Bengio & Courville, Deep Learning (2016), §10.2.

Forward, eqs. 10.8–10.11: a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t), o_t = c + V h_t,
ŷ_t = softmax(o_t); the loss is the cross-entropy with the target class summed over
time, L = Σ_t L_t (eqs. 10.12–10.14). The book's BPTT equations are 10.17–10.28.
With --layers and --bidirectional the hidden layer is stacked as in Graves et al. (2013),
and the output layer reads the top layer through one matrix V per direction.
"""
from symgrad.dsl import Model, cross_entropy, softmax, sum_t, tanh

from ._stack import LAYER_OPTIONS, input_terms, previous, stack

SUMMARY = "simple RNN with softmax output and cross-entropy per step (BPTT)"
SOURCE = ("Goodfellow, Bengio, Courville. Deep Learning. MIT Press, 2016, §10.2, "
          "eqs. 10.8–10.11 (forward) and 10.17–10.28 (backward)")
CHECK_SIZES = {"m": 3, "n": 4, "k": 3}
OPTIONS = LAYER_OPTIONS


def reference(layers=1, bidirectional=False):
    """The hand-written BPTT of the book, for its one-layer network."""
    return "symgrad.references.rnn" if layers == 1 and not bidirectional else None


def build(layers=1, bidirectional=False):
    M = Model("rnn", sequence=True, title="Simple recurrent network", source=SOURCE,
              style="expanded")
    m, n, k = M.dims("m n k")
    x = M.input("x", m)
    y = M.target("y", k, onehot=True)
    top = stack(M, lambda M, inputs, tag, reverse: cell(M, inputs, tag, reverse, n),
                x, layers, bidirectional)
    c = M.param("c", k)
    o = M.define("o", c + input_terms(M, "V", "__" if bidirectional else "", top, k))
    yhat = M.define("yhat", softmax(o))
    ell = M.define("ell", cross_entropy(yhat, y))
    M.loss(M.define("L", sum_t(ell)))
    return M


def cell(M, inputs, tag, reverse, n):
    """a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t) (h_{t+1} for a layer that runs backwards)."""
    b, W = M.param("b" + tag, n), M.param("W" + tag, n, n)
    h = M.state("h" + tag, n, reverse=reverse)
    a = M.define("a" + tag, b + W @ previous(h, reverse) + input_terms(M, "U", tag, inputs, n))
    return M.define(h, tanh(a))
