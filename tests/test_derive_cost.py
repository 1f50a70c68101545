"""The derivation costs O(E) in the number of equations E, and any catalog model is quick.

Timings on a shared machine are noisy, so each is the best of a few runs, and the linear
bound leaves room above the ideal 10× (a quadratic engine gives about 100× here; before the
per-model index in name_nodes and the delta index in _inline it was over 60×).
"""
import time

import pytest

import symgrad
from symgrad import catalog


def best_time(model, runs=3):
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        symgrad.derive(model)
        best = min(best, time.process_time() - start)
    return best


def test_deriving_ten_times_the_layers_costs_about_ten_times():
    small, large = symgrad.model("lstm", layers=5), symgrad.model("lstm", layers=50)
    assert len(large.definitions) == 10 * len(small.definitions)
    ratio = best_time(large) / best_time(small)
    assert ratio < 15, f"lstm --layers 50 took {ratio:.1f}× --layers 5"


@pytest.mark.parametrize("name", catalog.names())
def test_every_catalog_model_derives_in_under_a_fifth_of_a_second_warm(name):
    model = symgrad.model(name)
    symgrad.derive(model)
    assert best_time(model) < 0.2
