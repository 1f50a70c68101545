"""An RNN encoder–decoder with additive attention, Bahdanau, Cho & Bengio, "Neural Machine
Translation by Jointly Learning to Align and Translate" (ICLR 2015), §3 and App. A.

The encoder is a bidirectional RNN over the source steps j = 1…T_x; its states, stacked
as the rows of H→ and H←, are the annotations. At each target step t = 1…T_y the decoder
scores every annotation, e_tj = v_aᵀ tanh(W_a s_{t-1} + U_a h_j) (eq. 6), i.e. in matrix form
E_t = tanh(1 (W_a s_{t-1})ᵀ + H→ U→ᵀ + H← U←ᵀ), e_t = E_t v_a, α_t = softmax(e_t),
c_t = H→ᵀ α_t ⊕ H←ᵀ α_t (eqs. 5–6). The decoder state is a tanh RNN,
s_t = tanh(W s_{t-1} + U u_t + C c_t + b), fed the previous target word's vector u_t;
the paper's gated unit and maxout output are simplified to this RNN and a softmax
output, which leaves the attention and the routes through time as the paper has them.
"""
from symgrad.dsl import Model, cross_entropy, ones, softmax, sum_t, tanh

from ._stack import input_terms, stack as stack_layers
from .rnn import cell as rnn_cell

SUMMARY = "RNN encoder–decoder with additive (Bahdanau) attention over the encoder states"
SOURCE = ("Bahdanau, Cho, Bengio. Neural Machine Translation by Jointly Learning to Align and "
          "Translate. ICLR 2015, §3, App. A (gated units and maxout simplified to tanh RNNs)")
CHECK_SIZES = {"m": 2, "n": 3, "k": 3, "a": 2, "T_x": 3}
REFERENCE = "symgrad.references.seq2seq_attention"


def build():
    M = Model("seq2seq-attention", sequence=True, title="Encoder–decoder with additive attention",
              source=SOURCE, style="expanded")
    m, n, k, a = M.dims("m n k a")
    j = M.axis("j", "T_x")
    with M.along(j):
        x = M.input("x", m)
        annotations = stack_layers(M, lambda M, inputs, tag, reverse: rnn_cell(M, inputs, tag, reverse, n),
                                   x, 1, True)
    H = {d: M.define("H__" + d, M.stack(h), show_delta=True) for h, d in annotations}
    u = M.input("u", m)                       # the previous target word, as a vector
    y = M.target("y", k, onehot=True)
    s = M.state("s", n)
    W_a, v_a = M.param("W_a", a, n), M.param("v_a", a)
    T_x = M.axes["j"]
    E = M.define("E", tanh(ones(T_x) @ (W_a @ s.prev).T
                           + input_terms(M, "U_a", "__", [(H[d], d) for d in H], a, transpose=True)))
    alpha = M.define("alpha", softmax(E @ v_a))
    contexts = [(M.define("c__" + d, H[d].T @ alpha), d) for d in H]
    W, U, b = M.param("W", n, n), M.param("U", n, m), M.param("b", n)
    M.define(s, tanh(W @ s.prev + U @ u + input_terms(M, "C", "__", contexts, n) + b))
    V, c = M.param("V", k, n), M.param("c", k)
    yhat = M.define("yhat", softmax(M.define("o", V @ s + c)))
    M.loss(M.define("L", sum_t(M.define("ell", cross_entropy(yhat, y)))))
    return M
