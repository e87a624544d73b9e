"""Benchmark: strict validation, style-preserving edits, and CLI start-up.

Prints figures only; nothing here is a test. Run from the repository root:

    .venv/bin/python bench/validate.py

Targets (issue 2): >= 30,000 strict validations/s on one core and >= 40x jsonschema
Draft 2020-12 with the generated schema (both from strings, same run); >= 5,000 style-preserving
edit + serialize per second; `fibo --help` and `fibo validate` wall time beside `python -c pass`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import jsonschema

from fibo_prompts import StructuredPrompt
from fibo_prompts.prompt.schema import prompt_schema

ROOT = Path(__file__).resolve().parent.parent
BRIA = ROOT.parent / "shared" / "reference" / "examples"


def load_texts() -> dict[str, list[str]]:
    """The project's examples and, when present, Bria's eight reference examples."""
    sets = {"project": sorted((ROOT / "examples").glob("*.json"))}
    if BRIA.is_dir():
        sets["bria"] = sorted(BRIA.glob("*.json"))
    return {name: [p.read_text(encoding="utf-8") for p in paths] for name, paths in sets.items()}


def rate(work: Callable[[], None], items: int, seconds: float = 2.0) -> float:
    """Items per second: the best of many short timed batches (timeit's method: the minimum
    is the most repeatable estimate; garbage collection is off while timing)."""
    start = time.perf_counter()
    work()
    once = max(time.perf_counter() - start, 1e-6)
    number = max(1, int(0.05 / once))  # batches of ~50 ms
    repeat = max(5, int(seconds / (number * once)))
    best = min(timeit.repeat(work, number=number, repeat=repeat))
    return number * items / best


def wall(cmd: list[str], runs: int = 10) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _validation_rates(
    texts: list[str], validator: jsonschema.Draft202012Validator
) -> tuple[float, float]:
    def ours() -> None:
        for text in texts:
            StructuredPrompt.parse(text)

    def theirs() -> None:
        for text in texts:
            if not validator.is_valid(json.loads(text)):
                raise AssertionError("example rejected by the schema")

    return rate(ours, len(texts)), rate(theirs, len(texts))


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    sets = load_texts()
    texts = [text for group in sets.values() for text in group]
    print(f"{len(texts)} example prompts ({min(map(len, texts))}-{max(map(len, texts))} bytes)")
    validator = jsonschema.Draft202012Validator(prompt_schema())
    for name, group in [("all", texts), *sets.items()]:
        ours_rate, theirs_rate = _validation_rates(group, validator)
        print(f"[{name:>7}] strict validation (fibo_prompts) : {ours_rate:>9,.0f} prompts/s")
        print(f"[{name:>7}] jsonschema Draft 2020-12         : {theirs_rate:>9,.0f} prompts/s")
        print(f"[{name:>7}] ratio                            : {ours_rate / theirs_rate:>9.1f}x")
    print("targets: >= 30,000 prompts/s and >= 40x jsonschema")

    prompts = [StructuredPrompt.parse(text) for text in texts]
    edits = [
        ("lighting.conditions", "golden hour"),
        ("aesthetics.mood_atmosphere", "quiet, nostalgic"),
        ("short_description", "A short, rewritten description of the scene."),
        ("objects[0].location", "top-left"),
    ]
    for prompt in prompts:
        prompt.syntax_tree()  # parsed once per prompt, as in an editing session

    jobs = [
        (prompt, path, value)
        for prompt in prompts
        for path, value in edits
        if prompt.objects or not path.startswith("objects")
    ]

    def edit() -> None:
        for prompt, path, value in jobs:
            prompt.set(path, value).wire  # noqa: B018 - the serialization is the work

    edit_rate = rate(edit, len(jobs))
    print(f"edit + serialize                 : {edit_rate:>10,.0f} edits/s     (target >= 5,000)")

    fibo = shutil.which("fibo", path=str(Path(sys.executable).parent)) or "fibo"
    example = str(ROOT / "examples" / "product_shot.json")
    print(f"python -c pass                   : {wall([sys.executable, '-c', 'pass']):>10.1f} ms")
    print(
        f"fibo --help                      : {wall([fibo, '--help']):>10.1f} ms      (target < 150)"
    )
    print(f"fibo validate {Path(example).name:<18} : {wall([fibo, 'validate', example]):>10.1f} ms")


if __name__ == "__main__":
    main()
