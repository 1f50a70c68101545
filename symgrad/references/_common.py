"""Small pieces every recurrent reference needs, written once."""
import numpy as np


def sigmoid(z):
    """Logistic sigmoid via tanh, exact and free of overflow for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def initial_state(inputs, key, units):
    """An initial state from the inputs, zeros when none is given (the usual start)."""
    if key in inputs:
        return np.asarray(inputs[key], dtype=np.float64)
    return np.zeros((np.shape(inputs["x"])[1], units))
