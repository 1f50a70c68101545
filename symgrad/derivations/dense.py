"""A two-layer densely connected network with a softmax output and cross-entropy loss.

h = σ(W₁ x + b₁), ŷ = softmax(W₂ h + b₂), L = −yᵀ log ŷ — the network of the
backpropagation chapters of Bishop, Pattern Recognition and Machine Learning (2006),
§5.3, and Goodfellow et al., Deep Learning (2016), §6.5.
"""
from symgrad.dsl import Model, cross_entropy, sigma, softmax

SUMMARY = "two-layer network: sigmoid hidden layer, softmax output, cross-entropy"
SOURCE = ("Bishop. Pattern Recognition and Machine Learning. Springer, 2006, §5.3; "
          "Goodfellow, Bengio, Courville. Deep Learning. MIT Press, 2016, §6.5")
CHECK_SIZES = {"m": 4, "n": 5, "k": 3}
REFERENCE = "symgrad.references.dense"


def build():
    M = Model("dense", title="Two-layer dense network", source=SOURCE, style="expanded")
    m, n, k = M.dims("m n k")
    x = M.input("x", m)
    y = M.target("y", k, onehot=True)
    W1, b1 = M.param("W1", n, m), M.param("b1", n)
    W2, b2 = M.param("W2", k, n), M.param("b2", k)
    z1 = M.define("z1", W1 @ x + b1)
    h = M.define("h", sigma(z1))
    z2 = M.define("z2", W2 @ h + b2)
    yhat = M.define("yhat", softmax(z2))
    M.loss(M.define("L", cross_entropy(yhat, y)))
    return M
