"""Benchmark: how long the ``fibo`` command line takes to start.

Prints figures only; nothing here is a test. Run from the repository root:

    .venv/bin/python bench/cli.py [--runs 20]

Target (issue 16 item 7): ``fibo --help`` under 150 ms. Each figure is the best and the
median wall time of ``--runs`` runs, beside ``python -c pass`` (the interpreter's own start)
measured in the same run, and what importing the CLI loads (no pydantic, httpx, rich or PIL:
the commands import the library when they run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 150.0
HEAVY = ("pydantic", "httpx", "rich", "PIL", "anyio", "jinja2")


def timings(command: list[str], runs: int) -> list[float]:
    """Wall times of ``command`` in milliseconds, one per run (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    """Print the start-up figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    fibo = shutil.which("fibo", path=str(Path(sys.executable).parent)) or "fibo"
    example = str(ROOT / "examples" / "product_shot.json")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fibo --help": [fibo, "--help"],
        "fibo generate --help": [fibo, "generate", "--help"],
        "fibo lib --help": [fibo, "lib", "--help"],
        "fibo validate product_shot.json": [fibo, "validate", example],
    }
    # interleaved, so a busy moment of the machine hits every command alike
    results: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            results[name] += timings(command, 1)
    base = min(results["python -c pass"])
    print(f"{'command':<34}{'best':>9}{'median':>9}   beside python -c pass")
    for name, times in results.items():
        best, median = min(times), statistics.median(times)
        extra = "" if name == "python -c pass" else f"   +{best - base:.0f} ms"
        print(f"{name:<34}{best:>7.0f} ms{median:>6.0f} ms{extra}")
    help_best = min(results["fibo --help"])
    verdict = "ok" if help_best < TARGET_MS else "OVER"
    print(f"fibo --help: {help_best:.0f} ms, target < {TARGET_MS:.0f} ms: {verdict}")
    probe = f"import sys, fibo_prompts.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"heavy modules loaded by importing the CLI: {loaded}")


if __name__ == "__main__":
    main()
