"""Benchmark: the diff engine against DeepDiff, and a 1,000-version lineage.

Prints figures only; nothing here is a test. Run from the repository root:

    .venv/bin/python bench/diff.py

Targets (issue 4): median time to diff a real prompt pair <= 1 ms and >= 4x faster than
``DeepDiff(a, b)`` with default options on the same pairs in the same run; a 1,000-version
lineage diffed pair by pair in under 1 s. Long fields (issue 13): ``fibo diff`` of two prompts
whose ``context`` is 12, 30 or 60 KB of text with one word in 50 changed, text rendering (word
diff) included; target: the 60 KB pair under 1 s.

Pairs: Bria's refine (zebra -> elephant, original and raw caption against the edit), the raw
caption against its cleaned copy, generate against inspire, and four refinements of every
example prompt (one field; a multi-field refine of lighting, mood and an object; objects
reordered; an object added). Ours diffs two parsed ``StructuredPrompt`` objects (reading their
data is included); DeepDiff gets the two dicts ready-made.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff

from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import diff

ROOT = Path(__file__).resolve().parent.parent
BRIA = ROOT.parent / "shared" / "reference" / "examples"
BRIA_PAIRS = [
    ("fibo_examples_outputs_refine_original.json", "fibo_examples_outputs_refine_edited.json"),
    ("fibo_default_json_caption.json", "fibo_examples_outputs_refine_edited.json"),
    ("fibo_default_json_caption.json", "fibo_examples_outputs_refine_original.json"),
    ("fibo_examples_outputs_generate.json", "fibo_examples_outputs_inspire.json"),
]


def load(path: Path) -> StructuredPrompt:
    return StructuredPrompt.parse(path.read_text(encoding="utf-8"), lenient=True)


def refinements(prompt: StructuredPrompt) -> list[StructuredPrompt]:
    """Four refinements of the kinds FIBO users make."""
    out = [prompt.set("lighting.conditions", "golden hour, low warm sun")]
    refined = prompt.set("lighting.direction", "backlit").set(
        "aesthetics.mood_atmosphere", "quiet, nostalgic"
    )
    data = prompt.to_dict()
    objects = data.get("objects") or []
    if objects:
        refined = refined.set("objects[0].relative_size", "small")
    out.append(refined)
    if len(objects) > 1:
        out.append(StructuredPrompt.parse({**data, "objects": objects[::-1]}, lenient=True))
    balloon = {"description": "A red balloon.", "location": "top-left", "relationship": "floats"}
    index = len(objects) if isinstance(data.get("objects"), list) else 0
    path = f"objects[{index}]" if index else "objects"
    out.append(prompt.set(path, balloon if index else [balloon]))
    return out


def pairs() -> list[tuple[StructuredPrompt, StructuredPrompt]]:
    paths = sorted((ROOT / "examples").glob("*.json"))
    if BRIA.is_dir():
        paths += sorted(BRIA.glob("*.json"))
    out = []
    for path in paths:
        prompt = load(path)
        out.extend((prompt, refined) for refined in refinements(prompt))
    if BRIA.is_dir():
        out.extend((load(BRIA / a), load(BRIA / b)) for a, b in BRIA_PAIRS)
    return out


def seconds_per_call(work: Callable[[], Any], budget: float = 0.2) -> float:
    """Best average over short batches (timeit's method: the minimum is the steadiest)."""
    start = time.perf_counter()
    work()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(0.02 / once))
    repeat = max(3, int(budget / (number * once)))
    return min(timeit.repeat(work, number=number, repeat=repeat)) / number


def lineage(size: int) -> list[StructuredPrompt]:
    """``size`` versions, each a small refinement (one or two fields) of the previous one."""
    rng = random.Random(4)
    words = "warm cool soft hard golden blue dusk dawn misty clear bright dim quiet bold".split()
    paths = [
        "lighting.conditions",
        "lighting.shadows",
        "aesthetics.mood_atmosphere",
        "aesthetics.color_scheme",
        "photographic_characteristics.camera_angle",
        "objects[0].pose",
        "objects[1].relationship",
        "short_description",
    ]
    version = (
        load(BRIA / BRIA_PAIRS[0][0])
        if BRIA.is_dir()
        else load(ROOT / "examples" / "product_shot.json")
    )
    out = [version]
    while len(out) < size:
        for _ in range(rng.randint(1, 2)):
            path = rng.choice(paths)
            value = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
            version = version.set(path, value)
        out.append(version)
    return out


def long_field_pair(size: int, seed: int = 7) -> tuple[StructuredPrompt, StructuredPrompt]:
    """Two prompts whose ``context`` is ``size`` characters of prose from a small vocabulary
    (the hard case for word alignment), one word in 50 changed."""
    rng = random.Random(seed)
    vocab = (
        "the a warm soft light falls on an old wooden table with a brass kettle and two "
        "ceramic cups near the window under a pale morning sky ,"
    ).split()
    words: list[str] = []
    length = 0
    while length < size:
        words.append(rng.choice(vocab))
        length += len(words[-1]) + 1
    changed = list(words)
    for _ in range(len(words) // 50):
        changed[rng.randrange(len(changed))] = rng.choice(vocab)
    base = load(ROOT / "examples" / "product_shot.json")
    return base.set("context", " ".join(words)), base.set("context", " ".join(changed))


def long_fields() -> None:
    for size in (12_000, 30_000, 60_000):
        a, b = long_field_pair(size)
        start = time.perf_counter()
        text = diff(a, b).to_text()
        elapsed = time.perf_counter() - start
        target = "   (target < 1000 ms)" if size == 60_000 else ""
        print(
            f"long field {size // 1000:>2} KB: diff + text rendering {elapsed * 1000:6.0f} ms "
            f"({len(text):,} characters of output){target}"
        )


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    cases = pairs()
    ours: list[float] = []
    theirs: list[float] = []
    for a, b in cases:
        data_a, data_b = json.loads(a.wire), json.loads(b.wire)
        ours.append(seconds_per_call(lambda a=a, b=b: diff(a, b)))
        theirs.append(seconds_per_call(lambda x=data_a, y=data_b: DeepDiff(x, y), budget=0.1))
    ours_us = statistics.median(ours) * 1e6
    theirs_us = statistics.median(theirs) * 1e6
    ratios = [t / o for o, t in zip(ours, theirs, strict=True)]
    print(f"{len(cases)} real prompt pairs")
    print(f"diff (fibo_prompts)   median {ours_us:8.1f} us/pair   (target <= 1000)")
    print(f"DeepDiff(a, b)        median {theirs_us:8.1f} us/pair")
    print(
        f"speed-up              {theirs_us / ours_us:8.1f}x (medians; per-pair worst "
        f"{min(ratios):.1f}x)   (target >= 4x)"
    )
    print(f"slowest pair (ours)          {max(ours) * 1e6:8.1f} us")

    versions = lineage(1000)
    start = time.perf_counter()
    changes = sum(len(diff(x, y)) for x, y in zip(versions, versions[1:], strict=False))
    elapsed = time.perf_counter() - start
    print(
        f"1,000-version lineage: {len(versions) - 1} diffs, {changes} changes in "
        f"{elapsed * 1000:.0f} ms   (target < 1000 ms)"
    )
    long_fields()


if __name__ == "__main__":
    main()
