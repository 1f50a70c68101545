"""Speed of symgrad: derivation time per model, and the compiled vjp against the
hand-written NumPy reference.

    python benchmarks/bench.py            # prints a table; no assertions (targets live here)

Derivation time is measured with the expression caches cleared before each run, so every
run pays the full cost. The vjp timing uses float64, B=32, n=m=k=128, T=50, one thread.
"""
import argparse
import importlib
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import symgrad  # noqa: E402
from symgrad.algebra import ckey  # noqa: E402
from symgrad.catalog import names, reference as reference_of  # noqa: E402
from symgrad.check import example  # noqa: E402


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def derivation_times(repeat):
    def derive_cold(name):
        ckey.cache_clear()
        symgrad.derive(symgrad.model(name))
    return {name: timed(lambda: derive_cold(name), repeat) for name in names()}


def vjp_times(name, sizes, T, B, repeat):
    compiled = symgrad.derive(symgrad.model(name)).compile()
    reference = importlib.import_module(reference_of(name, {}))
    params, inputs, cot = example(compiled, sizes, T=T, B=B, seed=0)
    return (timed(lambda: compiled.vjp(params, inputs, cot), repeat),
            timed(lambda: reference.vjp(params, inputs, cot), repeat))


def verify_time(repeat):
    """Verifying Greff et al.'s published LSTM equations, derivation included."""
    from pathlib import Path
    from symgrad.hand import directives
    from symgrad.verify import verify_lines
    path = Path(symgrad.__file__).parent / "derivations" / "published" / "greff2017_lstm.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    name, _, _ = directives(lines)

    def run():
        ckey.cache_clear()
        verify_lines(lines, symgrad.derive(symgrad.model(name)), str(path))
    return timed(run, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("derivation (median / best of %d, caches cleared)" % args.repeat)
    for name, (med, best) in derivation_times(args.repeat).items():
        print(f"  {name:<24} {1e3 * med:8.1f} ms  {1e3 * best:8.1f} ms")
    med, best = verify_time(args.repeat)
    print(f"verify Greff's LSTM file      {1e3 * med:8.1f} ms  {1e3 * best:8.1f} ms")
    print("compiled vjp vs hand-written reference (median / best), B=32, m=n=k=128, T=50")
    sizes = {"m": 128, "n": 128, "k": 128}
    for name in ("rnn", "dense"):
        (cm, cb), (rm, rb) = vjp_times(name, sizes, T=50, B=32, repeat=args.repeat)
        print(f"  {name:<8} symgrad {1e3 * cm:7.2f} / {1e3 * cb:7.2f} ms   "
              f"reference {1e3 * rm:7.2f} / {1e3 * rb:7.2f} ms   ratio {cm / rm:5.2f}")


if __name__ == "__main__":
    main()
