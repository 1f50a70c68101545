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
            out.update(zip(spec.names(), np.split(p[stacked], 3)))
        return out

    def backward(params, inputs, cotangents):
        ours = {"x": np.swapaxes(inputs["x"], 0, 1), "h0": inputs["h0"]}
        grads = gru_cudnn.vjp(unstack(params), ours, {"h": np.swapaxes(cotangents["h"], 0, 1)})
        if bug == "transposed":
            grads["W_hz"] = grads["W_hz"].T
        out = {name: np.concatenate([grads[p] for p in spec.names()]) for name, spec in CUDNN.items()}
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


# -- a course's LSTM: packed gates i, f, o, g, row vectors, batch first, c0 fixed at zero --

from course_lstm import lstm_backward, lstm_forward  # noqa: E402
from symgrad.errors import LayoutError, SymgradError  # noqa: E402
from symgrad.testing import Indices, Reshaped  # noqa: E402

COURSE = dict(variant="NP",   # Greff's LSTM without peepholes is the course's LSTM
              params={"Wx": Transposed(Stacked(["W_i", "W_f", "W_o", "W_z"])),
                      "Wh": Transposed(Stacked(["R_i", "R_f", "R_o", "R_z"])),
                      "b": Stacked(["b_i", "b_f", "b_o", "b_z"])},
              inputs={"x": Permuted("x", (1, 0, 2)), "h0": "y0"},
              outputs={"h": Permuted("y", (1, 0, 2))})


def course_backward(bug=None, dtype=np.float64):
    def backward(params, inputs, cotangents):
        _, caches = lstm_forward(inputs["x"], inputs["h0"], params["Wx"], params["Wh"], params["b"], dtype)
        dx, dh0, dWx, dWh, db = lstm_backward(cotangents["h"], caches, bug)
        return {"x": dx, "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db}
    return backward


def test_a_course_lstm_in_row_vector_layout_with_gates_i_f_o_g_matches():
    assert_gradients_match("lstm", course_backward(), zero_initial=["c0"], **COURSE)


def test_the_course_lstm_runs_against_an_independent_forward():
    """The adapters put our arrays where the course expects them: its forward, fed the
    converted parameters, gives the compiled forward's outputs (checked independently of
    any gradient)."""
    import symgrad
    from symgrad.check import example
    from symgrad.testing import _convert
    compiled = symgrad.derive(symgrad.model("lstm", variant="NP")).compile()
    params, inputs, _ = example(compiled, {"m": 3, "n": 4}, T=5, B=2, seed=4)
    inputs["c0"] = np.zeros_like(inputs["c0"])
    theirs = _convert(params, COURSE["params"])
    h, _ = lstm_forward(np.swapaxes(inputs["x"], 0, 1), inputs["y0"], theirs["Wx"], theirs["Wh"], theirs["b"])
    np.testing.assert_allclose(np.swapaxes(h, 0, 1), compiled.forward(params, inputs)["y"], rtol=1e-12)


def test_code_that_starts_from_a_zero_cell_state_is_told_to_say_so():
    with pytest.raises(AssertionError) as err:
        assert_gradients_match("lstm", course_backward(), **COURSE)
    text = str(err.value)
    assert "c0: not returned (zero_initial=['c0'] if your code starts from zero" in text
    assert "from zero initial states (y0, c0 = 0) every gradient agrees" in text


def test_a_missing_initial_state_gradient_is_diagnosed():
    with pytest.raises(AssertionError) as err:
        assert_gradients_match("lstm", course_backward("no dh0"), zero_initial=["c0"], **COURSE)
    text = str(err.value)
    assert "h0: relative error 1.0e+00" in text
    assert "your h0 is zero: does your code start from a zero state? Then pass zero_initial=['y0']" in text
    assert "Wx" not in text and "Wh" not in text


def test_a_bug_that_only_a_non_zero_initial_state_shows_is_diagnosed():
    """The kind of bug found in a research library: the recurrent gradient misses the
    first step, whose input h0 is zero in most uses."""
    with pytest.raises(AssertionError) as err:
        assert_gradients_match("lstm", course_backward("first step of dWh"), zero_initial=["c0"], **COURSE)
    text = str(err.value)
    assert "  Wh: relative error" in text and "  Wx:" not in text
    assert "your code mishandles a non-zero initial state" in text


def test_a_wrong_gate_order_is_named_per_array():
    wrong = {**COURSE, "params": {**COURSE["params"], "b": Stacked(["b_i", "b_f", "b_z", "b_o"])}}
    with pytest.raises(AssertionError, match=r"b: relative error"):
        assert_gradients_match("lstm", course_backward(), zero_initial=["c0"], **wrong)


def test_float32_code_gets_a_tolerance_hint_and_passes_with_it():
    with pytest.raises(AssertionError, match=r"your gradients are float32, which rounds at about this "
                                             r"size: pass tol=0\.0001"):
        assert_gradients_match("lstm", course_backward(dtype=np.float32), zero_initial=["c0"], **COURSE)
    assert_gradients_match("lstm", course_backward(dtype=np.float32), zero_initial=["c0"], tol=1e-4, **COURSE)


def test_skip_leaves_out_a_gradient_the_code_does_not_compute():
    def no_dx(params, inputs, cotangents):
        grads = course_backward()(params, inputs, cotangents)
        del grads["x"]
        return grads
    with pytest.raises(AssertionError, match=r"x: not returned \(skip=\['x'\] if your code does not compute it\)"):
        assert_gradients_match("lstm", no_dx, zero_initial=["c0"], **COURSE)
    assert_gradients_match("lstm", no_dx, zero_initial=["c0"], skip=["x"], **COURSE)


# -- a loss averaged over the batch, integer labels, column layouts, a bias kept as a column --

def cs231n_mean(params, inputs, cotangents):
    """CS231n's two-layer net: integer labels, loss averaged over the batch."""
    x, y = inputs["x"], inputs["y"]
    N = x.shape[0]
    h = 1 / (1 + np.exp(-(x @ params["Wx"] + params["b1"])))
    z2 = h @ params["Wh"] + params["b2"]
    p = np.exp(z2 - z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz2 = p.copy()
    dz2[np.arange(N), y] -= 1
    dz2 /= N
    dz1 = (dz2 @ params["Wh"].T) * h * (1 - h)
    return {"Wh": h.T @ dz2, "b2": dz2.sum(0), "Wx": x.T @ dz1, "b1": dz1.sum(0), "x": dz1 @ params["Wx"].T}


MEAN = dict(params={"Wx": Transposed("W1"), "Wh": Transposed("W2")}, inputs={"y": Indices("y")})


def test_a_loss_averaged_over_the_batch_is_recognised():
    with pytest.raises(AssertionError) as err:
        assert_gradients_match("dense", cs231n_mean, **MEAN)
    assert "it is 0.333333 × the expected one: is your loss scaled (averaged over the batch?): " \
           "pass loss_scale='mean'" in str(err.value)
    assert_gradients_match("dense", cs231n_mean, loss_scale="mean", **MEAN)
    assert_gradients_match("dense", cs231n_mean, loss_scale=1 / 3, **MEAN)


def column_dense(params, inputs, cotangents):
    """The same net with examples as columns (X is m × N) and biases as columns (n × 1)."""
    X, Y = inputs["X"], inputs["Y"]
    A1 = 1 / (1 + np.exp(-(params["W1"] @ X + params["b1"])))
    Z2 = params["W2"] @ A1 + params["b2"]
    P = np.exp(Z2 - Z2.max(0, keepdims=True))
    P /= P.sum(0, keepdims=True)
    dZ2 = P - Y
    dZ1 = (params["W2"].T @ dZ2) * A1 * (1 - A1)
    return {"W2": dZ2 @ A1.T, "b2": dZ2.sum(1, keepdims=True), "W1": dZ1 @ X.T,
            "b1": dZ1.sum(1, keepdims=True), "X": params["W1"].T @ dZ1}


def test_column_layouts_a_target_entry_and_column_biases():
    """A layout entry for the target Y crashed with KeyError: 'y' (a target has no gradient)."""
    assert_gradients_match("dense", column_dense,
                           params={"b1": Reshaped("b1", (-1, 1)), "b2": Reshaped("b2", (-1, 1))},
                           inputs={"X": Transposed("x"), "Y": Transposed("y")})


def test_a_gradient_in_the_wrong_shape_says_which_adapter_would_fit():
    def flat_biases(params, inputs, cotangents):
        grads = column_dense(params, inputs, cotangents)
        return {**grads, "b1": grads["b1"].ravel(), "W1": grads["W1"].T}
    with pytest.raises(AssertionError) as err:
        assert_gradients_match("dense", flat_biases,
                               params={"b1": Reshaped("b1", (-1, 1)), "b2": Reshaped("b2", (-1, 1))},
                               inputs={"X": Transposed("x"), "Y": Transposed("y")})
    text = str(err.value)
    assert "b1: shape (5,), expected (5, 1); the same numbers in another shape" in text
    assert "W1: shape (4, 5), expected (5, 4); it is the transpose of the expected one" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(params={"Wx": Transposed("W_xx")}), r"params: Wx → Transposed\('W_xx'\): dense has no 'W_xx' among its params; they are: W1, b1, W2, b2"),
    (dict(params={"Wx": Transposed("W1")}, skip=["dWx"]), r"skip: 'dWx' are not gradients of dense"),
    (dict(params={"W2": Transposed("W1")}), r"params: W2 names one of yours and also dense's own W2"),
    (dict(params={"b1": Transposed("b1")}), r"Transposed\('b1'\): 'b1' has shape \(5,\), nothing to transpose"),
    (dict(params={"b": Stacked(["b1", "W2"])}), r"these do not stack along axis 0: 'b1' \(5,\), 'W2' \(3, 5\)"),
    (dict(params={"b1": Reshaped("b1", (2, 2))}), r"Reshaped\('b1', \(2, 2\)\): 'b1' has shape \(5,\)"),
    (dict(params={"W1": 3}), r"a layout entry is a name or an adapter"),
    (dict(zero_initial=["h0"]), r"zero_initial: True or a list of initial states of dense \(none\)"),
    (dict(loss_scale="sum"), r"loss_scale: a non-zero number or 'mean' \(1/B\), not 'sum'"),
    (dict(variant="NP"), r"unknown option 'variant' \(options: none\)"),
])
def test_a_layout_that_cannot_mean_anything_is_a_clear_error(kwargs, message):
    with pytest.raises(SymgradError, match=message):
        assert_gradients_match("dense", cs231n_dense, **kwargs)


def test_zero_initial_names_an_initial_state_of_the_model():
    with pytest.raises(LayoutError, match=r"initial states of lstm \(y0, c0\), not \['h0'\]"):
        assert_gradients_match("lstm", course_backward(), zero_initial=["h0"], **COURSE)
    with pytest.raises(LayoutError, match=r"inputs: h0 → 'y0': lstm has no 'y0' among its inputs "
                                          r"\(pinned at zero by zero_initial, so not passed\)"):
        assert_gradients_match("lstm", course_backward(), zero_initial=True, **COURSE)


def test_a_flipped_sign_is_named():
    def ascent(params, inputs, cotangents):
        grads = cs231n_dense(params, inputs, cotangents)
        return {**grads, "b2": -grads["b2"]}
    with pytest.raises(AssertionError, match=r"b2: relative error 2\.0e\+00.*it is -1 × the expected one: a sign flipped"):
        assert_gradients_match("dense", ascent, params={"Wx": Transposed("W1"), "Wh": Transposed("W2")})
