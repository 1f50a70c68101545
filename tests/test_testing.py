"""assert_gradients_match: a person's own backward, in their names and layouts, against
the derived gradients — it passes for a right one and names the array of a wrong one."""
import numpy as np
import pytest

from symgrad.references import gru_cudnn
from symgrad.testing import Permuted, Stacked, Transposed, assert_gradients_match

CUDNN = {"weight_ih": Stacked(["W_ir", "W_iz", "W_in"]), "weight_hh": Stacked(["W_hr", "W_hz", "W_hn"]),
         "bias_ih": Stacked(["b_ir", "b_iz", "b_in"]), "bias_hh": Stacked(["b_hr", "b_hz", "b_hn"])}


def torch_layout_gru(bug=None):
    """A GRU backward in PyTorch's layout: gates stacked (r, z, n), batch first."""
    def unstack(p):
        out = {}
        for stacked, spec in CUDNN.items():
            out.update(zip(spec.parts, np.split(p[stacked], 3)))
        return out

    def backward(params, inputs, cotangents):
        ours = {"x": np.swapaxes(inputs["x"], 0, 1), "h0": inputs["h0"]}
        grads = gru_cudnn.vjp(unstack(params), ours, {"h": np.swapaxes(cotangents["h"], 0, 1)})
        if bug == "transposed":
            grads["W_hz"] = grads["W_hz"].T
        out = {name: np.concatenate([grads[p] for p in spec.parts]) for name, spec in CUDNN.items()}
        return {**out, "x": np.swapaxes(grads["x"], 0, 1), "h0": grads["h0"]}
    return backward


LAYOUT = dict(params=CUDNN, inputs={"x": Permuted("x", (1, 0, 2))}, outputs={"h": Permuted("h", (1, 0, 2))})


def test_a_right_backward_in_its_own_layout_passes():
    assert_gradients_match("gru", torch_layout_gru(), variant="cudnn", **LAYOUT)


def test_a_wrong_backward_is_named():
    with pytest.raises(AssertionError, match=r"weight_hh: relative error \d") as err:
        assert_gradients_match("gru", torch_layout_gru("transposed"), variant="cudnn", **LAYOUT)
    assert "weight_ih" not in str(err.value)


def cs231n_dense(params, inputs, cotangents):
    """The two-layer net with row vectors, x·W, as CS231n writes it (weights transposed)."""
    x, y = inputs["x"], inputs["y"]
    z1 = x @ params["Wx"] + params["b1"]
    h = 1 / (1 + np.exp(-z1))
    z2 = h @ params["Wh"] + params["b2"]
    p = np.exp(z2 - z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz2 = (p - y) * cotangents["L"]
    dh = dz2 @ params["Wh"].T
    dz1 = dh * h * (1 - h)
    return {"Wh": h.T @ dz2, "b2": dz2.sum(0), "Wx": x.T @ dz1, "b1": dz1.sum(0),
            "x": dz1 @ params["Wx"].T}


def test_row_vector_conventions_map_by_transposition():
    assert_gradients_match("dense", cs231n_dense, params={"Wx": Transposed("W1"), "Wh": Transposed("W2")})


def test_a_missing_gradient_is_named():
    def partial(params, inputs, cotangents):
        grads = cs231n_dense(params, inputs, cotangents)
        del grads["b1"]
        return grads
    with pytest.raises(AssertionError, match="b1: not returned"):
        assert_gradients_match("dense", partial, params={"Wx": Transposed("W1"), "Wh": Transposed("W2")})
