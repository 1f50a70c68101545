"""The benchmark script runs: its quick mode prints the whole table, so it cannot rot.

jax is left out here (its compile takes most of a minute); the lead's full run includes it."""
import subprocess
import sys
from pathlib import Path


SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_quick_benchmark_prints_the_table_memory_and_derivation_times():
    peers = ["reference", "torch eager", "torch nn"]
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--peers", *peers],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "blas:" in out and "## 1 thread" in out
    for row in ("| lstm 16 |", "| lstm NP 16 |", "| gru cudnn 16 |", "| rnn 16 |",
                "| mha T=8, d=16 |", "| transformer T=8, d=16 |"):
        assert row in out
    assert "Peak memory of one vjp" in out and "symgrad" in out and "reference" in out
    assert "lstm --layers 1" in out and "--layers 10" in out and "verify Greff's LSTM file" in out
    rows = [line for line in out.splitlines() if line.startswith("| lstm 16 |")]
    cells = rows[0].split("|")
    assert float(cells[2]) > 0 and float(cells[3]) > 0      # symgrad ms and the reference's ratio


def test_a_bad_option_is_an_argparse_error():
    run = subprocess.run([sys.executable, str(SCRIPT), "--peers", "nobody"], capture_output=True, text=True)
    assert run.returncode == 2 and "invalid choice" in run.stderr
