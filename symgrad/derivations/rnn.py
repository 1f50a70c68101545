"""The simple RNN of Goodfellow, Bengio & Courville, Deep Learning (2016), §10.2.

Forward, eqs. 10.8–10.11: a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t), o_t = c + V h_t,
ŷ_t = softmax(o_t); the loss is the cross-entropy with the target class summed over
time, L = Σ_t L_t (eqs. 10.12–10.14). The book's BPTT equations are 10.17–10.28.
"""
from symgrad.dsl import Model, cross_entropy, softmax, sum_t, tanh

SUMMARY = "simple RNN with softmax output and cross-entropy per step (BPTT)"
SOURCE = ("Goodfellow, Bengio, Courville. Deep Learning. MIT Press, 2016, §10.2, "
          "eqs. 10.8–10.11 (forward) and 10.17–10.28 (backward)")
CHECK_SIZES = {"m": 3, "n": 4, "k": 3}
REFERENCE = "symgrad.references.rnn"


def build():
    M = Model("rnn", sequence=True, title="Simple recurrent network", source=SOURCE,
              style="expanded")
    m, n, k = M.dims("m n k")
    x = M.input("x", m)
    y = M.target("y", k, onehot=True)
    U, W, V = M.param("U", n, m), M.param("W", n, n), M.param("V", k, n)
    b, c = M.param("b", n), M.param("c", k)
    h = M.state("h", n)
    a = M.define("a", b + W @ h.prev + U @ x)
    M.define(h, tanh(a))
    o = M.define("o", c + V @ h)
    yhat = M.define("yhat", softmax(o))
    ell = M.define("ell", cross_entropy(yhat, y))
    M.loss(M.define("L", sum_t(ell)))
    return M
