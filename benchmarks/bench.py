"""How fast symgrad's compiled code is, against the hand-written reference, PyTorch (eager
autograd and its fused modules) and jax.jit, in float64 and float32, at 1 and 2 threads;
peak memory; and how long derivations take.

    python benchmarks/bench.py            # the whole table (minutes on an idle 2-core machine)
    python benchmarks/bench.py --quick    # tiny sizes, one run each: a smoke test

Every peer of one model, size and dtype is timed in one process, interleaved (each round
runs every peer once), and the median of the rounds is reported. Peers' times are given as
a fraction of symgrad's at the same dtype: below 1 the peer is faster. Thread counts are set
in the benchmark's own worker processes only (BLAS, torch, XLA); nothing else is changed.
torch and jax are optional: their columns read "n/a" when they are not installed.
"""
import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECURRENT = [("lstm", {}), ("lstm", {"variant": "NP"}), ("gru", {"variant": "cudnn"}), ("rnn", {})]
ATTENTION = ["mha", "transformer"]
COLUMNS = ["symgrad", "reference", "torch eager", "torch nn", "jax.jit"]


@dataclass
class Case:
    """One model at one size: the arrays every peer starts from (float64, step-first)."""
    model: str
    options: dict
    sizes: dict
    T: int
    B: int
    params: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    cot: dict = field(default_factory=dict)

    @property
    def label(self):
        variant = self.options.get("variant")
        return self.model + (f" {variant}" if variant else "")


def cases(quick):
    """The models and sizes of the table (B=32, T=50 for recurrent models; B=8 for attention)."""
    ns = [16] if quick else [128, 256, 512]
    T, B = (5, 4) if quick else (50, 32)
    out = [Case(model, options, {"m": n, "n": n, "k": n}, T, B) for model, options in RECURRENT for n in ns]
    T, d, h = (8, 16, 2) if quick else (512, 256, 4)
    for model in ATTENTION:
        sizes = {"T": T, "d_model": d, "h": h, "d_k": d // h, "d_v": d // h, "d_ff": 4 * d}
        if model == "mha":
            del sizes["d_ff"]
        out.append(Case(model, {}, sizes, T, 2 if quick else 8))
    return out


def timed_rounds(peers, repeat):
    """{name: median seconds}: every round runs each peer once, in turn."""
    times = {name: [] for name in peers}
    for _ in range(repeat):
        for name, run in peers.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def peers_of(case, dtype, symgrad_f, torch_peers, jax_peers):
    """{column: function running forward and backward once} for one dtype."""
    import numpy as np
    from symgrad.catalog import reference
    cast = lambda arrays: {k: np.asarray(v, dtype=dtype) if hasattr(v, "shape") else v  # noqa: E731
                           for k, v in arrays.items()}
    P, X, C = cast(case.params), cast(case.inputs), cast(case.cot)
    peers = {"symgrad": lambda: symgrad_f.vjp(P, X, C)}
    ref = reference(case.model, case.options)
    if dtype == "float64" and ref is not None:
        module = importlib.import_module(ref if isinstance(ref, str) else ref[0])
        options = ref[1] if isinstance(ref, tuple) else {}
        if getattr(module, "LAYOUT", None) == "batch-first":
            from symgrad.check import position_arrays, swapped
            module = swapped(module, position_arrays(symgrad_f))
            peers["reference"] = lambda: module.vjp(case.params, case.inputs, case.cot)
        else:
            peers["reference"] = lambda: module.vjp(case.params, case.inputs, case.cot, **options)
    if torch_peers is not None:
        import torch
        tdtype = getattr(torch, dtype)
        for column, make in (("torch eager", torch_peers.make_eager), ("torch nn", torch_peers.make_module)):
            run = make(case, tdtype)
            if run is not None:
                peers[column] = run
    if jax_peers is not None:
        run = jax_peers.make(case, getattr(__import__("jax.numpy").numpy, dtype))
        if run is not None:
            peers["jax.jit"] = run
    return peers


def optional(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def worker(threads, quick, repeat, columns, models):
    """One thread count: time every case, print one JSON line per (case, dtype)."""
    import numpy as np
    import symgrad
    from symgrad.check import example
    sys.path.insert(0, str(HERE))
    torch_peers = optional("peers_torch") if {"torch eager", "torch nn"} & set(columns) else None
    jax_peers = optional("peers_jax") if "jax.jit" in columns else None
    if torch_peers is not None:
        import torch
        torch.set_num_threads(threads)
    limits = optional("threadpoolctl")
    if limits is not None:
        limits.threadpool_limits(threads)
    for case in cases(quick):
        if models and case.label not in models:
            continue
        d = symgrad.derive(symgrad.model(case.model, **case.options))
        f64 = d.compile()
        case.params, case.inputs, case.cot = example(f64, case.sizes, T=case.T, B=case.B, seed=0)
        for dtype in ("float64", "float32"):
            compiled = f64 if dtype == "float64" else d.compile("float32")
            peers = {k: v for k, v in peers_of(case, dtype, compiled, torch_peers, jax_peers).items()
                     if k == "symgrad" or k in columns}
            for run in peers.values():       # warm up: first-call allocations and caches
                run()
            medians = timed_rounds(peers, repeat)
            print(json.dumps({"label": case.label, "size": _size(case), "dtype": dtype,
                              "threads": threads, "ms": {k: 1e3 * v for k, v in medians.items()},
                              "module": torch_peers.name_of_module(case) if torch_peers else ""}),
                  flush=True)
    np.asarray(0)


def _size(case):
    if case.model in ATTENTION:
        return f"T={case.T}, d={case.sizes['d_model']}"
    return str(case.sizes["n"])


def thread_env(threads):
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    return env


def run_worker(args, threads):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(threads), "--repeat", str(args.repeat)]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--peers", *args.peers] + (["--models", *args.models] if args.models else [])
    out = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark worker ({threads} threads) failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def table(rows, threads):
    """The issue's table: symgrad's ms, each peer as a fraction of symgrad's time."""
    lines = [f"\n## {threads} thread{'s' if threads > 1 else ''}\n",
             "| model, size | symgrad f64 ms | hand ref | torch eager f64 | torch nn.* f64 | jax.jit f64 "
             "| symgrad f32 ms | torch eager f32 | torch nn.* f32 | jax.jit f32 |",
             "|---|" + "---|" * 9]
    by = {}
    for r in rows:
        by.setdefault(r["label"], {}).setdefault(r["size"], {})[r["dtype"]] = r
    misses = []
    for label, sizes in by.items():
        cells = {k: [] for k in range(10)}
        for size, dt in sizes.items():
            d64, d32 = dt["float64"], dt["float32"]
            s64, s32 = d64["ms"]["symgrad"], d32["ms"]["symgrad"]
            ratio = lambda d, k, s: f"{d['ms'][k] / s:.2f}" if k in d["ms"] else "—"  # noqa: E731
            cells[0].append(f"{s64:.1f}")
            cells[1].append(ratio(d64, "reference", s64))
            cells[2].append(ratio(d64, "torch eager", s64))
            cells[3].append(ratio(d64, "torch nn", s64))
            cells[4].append(ratio(d64, "jax.jit", s64))
            cells[5].append(f"{s32:.1f}")
            cells[6].append(ratio(d32, "torch eager", s32))
            cells[7].append(ratio(d32, "torch nn", s32))
            cells[8].append(ratio(d32, "jax.jit", s32))
            misses += _misses(label, size, d64, d32)
        module = next(iter(sizes.values()))["float64"]["module"]
        names = " / ".join(sizes)
        row = [f"{label} {names}"] + [" / ".join(cells[k]) for k in range(9)]
        if module and any(c != "—" for c in cells[3]):
            row[4] = f"{module} {row[4]}"
        lines.append("| " + " | ".join(row) + " |")
    lines.append("\nTargets (f64: ≤ 1.0× the reference and torch eager; f32: ≤ 1.0× torch eager, "
                 "≤ 1.5× jax.jit): " + ("all met" if not misses else "missed: " + "; ".join(misses)))
    return "\n".join(lines)


def _misses(label, size, d64, d32):
    out = []
    for d, peer, limit in ((d64, "reference", 1.0), (d64, "torch eager", 1.0), (d32, "torch eager", 1.0),
                           (d32, "jax.jit", 1.0 / 1.5)):
        if peer in d["ms"] and d["ms"][peer] / d["ms"]["symgrad"] < limit:
            out.append(f"{label} {size} {d['dtype']} vs {peer} "
                       f"({d['ms']['symgrad'] / d['ms'][peer]:.2f}× its time)")
    return out


# -- peak memory ------------------------------------------------------------------------

MEMORY = ["symgrad", "reference", "nn.LSTM"]


def memory_worker(impl, quick):
    """Peak resident memory added by one forward and backward pass, in MiB (VmHWM, reset
    after setup where the kernel allows, else the high-water mark's growth)."""
    import numpy as np
    import symgrad
    from symgrad.check import example
    n, T, B = (16, 10, 4) if quick else (512, 200, 32)
    d = symgrad.derive(symgrad.model("lstm"))
    f = d.compile()
    params, inputs, cot = example(f, {"m": n, "n": n}, T=T, B=B, seed=0)
    if impl == "symgrad":
        run = lambda: f.vjp(params, inputs, cot)  # noqa: E731
    elif impl == "reference":
        from symgrad.references import lstm
        run = lambda: lstm.vjp(params, inputs, cot)  # noqa: E731
    else:
        import torch
        net = torch.nn.LSTM(n, n).double()
        x = torch.tensor(inputs["x"], requires_grad=True)
        state = (torch.tensor(inputs["y0"])[None], torch.tensor(inputs["c0"])[None])
        c = torch.tensor(cot["y"])
        run = lambda: (net(x, state)[0] * c).sum().backward()  # noqa: E731
    np.asarray(0)
    before = _reset_peak()
    run()
    print(json.dumps({"impl": impl, "mib": (_peak() - before) / 1024}))


def _status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return _status("VmRSS")


def _peak():
    return _status("VmHWM")


def memory(args):
    out = []
    for impl in MEMORY:
        if impl == "nn.LSTM" and ("torch nn" not in args.peers or optional("torch") is None):
            continue
        cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-worker", impl]
        cmd += ["--quick"] if args.quick else []
        run = subprocess.run(cmd, env=thread_env(1), capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"memory worker {impl} failed:\n{run.stderr}")
        out.append(json.loads(run.stdout.strip().splitlines()[-1]))
    size = "n=16, T=10, B=4" if args.quick else "n=512, T=200, B=32"
    return f"\nPeak memory of one vjp, lstm {size}, float64: " + ", ".join(
        f"{r['impl']} {r['mib']:.0f} MiB" for r in out)


# -- derivation time ----------------------------------------------------------------------

def derivation(repeat, quick):
    import symgrad
    from symgrad.catalog import names

    def best(model):
        symgrad.derive(model)
        runs = []
        for _ in range(repeat):
            gc.collect()             # garbage of earlier runs is not this run's cost
            start = time.perf_counter()
            symgrad.derive(model)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)
    lines = ["\nDerivation, warm (median):"]
    for name in names():
        lines.append(f"  {name:<20} {1e3 * best(symgrad.model(name)):7.1f} ms")
    lines.append(f"  verify Greff's LSTM file {1e3 * verify_time(repeat):7.1f} ms (derivation included)")
    few, many = (1, 10) if quick else (5, 50)
    small, large = best(symgrad.model("lstm", layers=few)), best(symgrad.model("lstm", layers=many))
    lines.append(f"  lstm --layers {few} {1e3 * small:.0f} ms, --layers {many} {1e3 * large:.0f} ms: "
                 f"{large / small:.1f}× for 10× the equations")
    return "\n".join(lines)


def verify_time(repeat):
    """Median time to verify Greff et al.'s published LSTM equations, derivation included."""
    import symgrad
    from symgrad.hand import directives
    from symgrad.verify import verify_lines
    path = Path(symgrad.__file__).parent / "derivations" / "published" / "greff2017_lstm.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    name, _, _ = directives(lines)
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        verify_lines(lines, symgrad.derive(symgrad.model(name)), str(path))
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def machine():
    import numpy as np
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, NumPy {np.__version__}"]
    limits = optional("threadpoolctl")
    if limits is not None:
        for pool in limits.threadpool_info():
            lines.append(f"  {pool['user_api']}: {pool['internal_api']} {pool.get('version')} "
                         f"({pool.get('architecture')}), {pool['num_threads']} threads by default")
    for name in ("torch", "jax"):
        mod = optional(name)
        lines.append(f"  {name}: {mod.__version__ if mod else 'not installed'}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per timing (default 7; 1 with --quick)")
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts (default 1 2)")
    parser.add_argument("--peers", nargs="+", choices=COLUMNS[1:], default=COLUMNS[1:],
                        help="which peers to time besides symgrad (default: all installed)")
    parser.add_argument("--models", nargs="+", help="only these rows (e.g. lstm 'gru cudnn' mha)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 7)
    if args.worker:
        return worker(args.worker, args.quick, args.repeat, args.peers, args.models)
    if args.memory_worker:
        return memory_worker(args.memory_worker, args.quick)
    print(machine())
    print(derivation(args.repeat, args.quick))
    for threads in args.threads or ([1] if args.quick else [1, 2]):
        print(table(run_worker(args, threads), threads), flush=True)
    print(memory(args))


if __name__ == "__main__":
    main()
