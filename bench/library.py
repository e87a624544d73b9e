"""Benchmark of the prompt library at scale: get, log, search and save against their targets.

Builds a library of 100,000 versions across 1,000 prompts (one of them a 1,000-version
lineage) and 200,000 generation records with bulk inserts (``executemany`` in one
transaction, the rows computed exactly as ``Library.save`` computes them: wire, canonical
form, both hashes, search text), then times the public API::

    .venv/bin/python bench/library.py                 # full size (about 1-2 minutes)
    .venv/bin/python bench/library.py --versions 10000 --prompts 100 --generations 20000

Targets: get by reference < 5 ms, log of a 1,000-version lineage (summaries included) < 50 ms,
search across all versions < 200 ms, save < 5 ms median.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fibo_prompts.library import Library
from fibo_prompts.library._search import search_body
from fibo_prompts.prompt._canonical import canonical_text

ROOT = Path(__file__).resolve().parent.parent
LONG = "long-lineage"
STAMP = "2026-01-01T00:00:00.000000Z"


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plan(versions: int, prompts: int) -> list[tuple[str, int]]:
    """(name, number of versions): one 1,000-version lineage, the rest spread evenly."""
    long_count = min(1000, versions // 2)
    rest, others = versions - long_count, prompts - 1
    plan = [(LONG, long_count)]
    for i in range(others):
        plan.append((f"prompt-{i:04d}", rest // others + (1 if i < rest % others else 0)))
    return plan


def build(lib: Library, versions: int, prompts: int, generations: int) -> dict[str, float]:
    """Fill an empty library with bulk inserts; return timings of the phases."""
    examples = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "examples").glob("*.json"))
    ]
    rng = random.Random(7)
    started = time.perf_counter()
    prompt_rows, version_rows, parent_rows, text_rows, tag_rows, label_rows = [], [], [], [], [], []
    vid = 0
    for pid, (name, count) in enumerate(_plan(versions, prompts), start=1):
        base = examples[pid % len(examples)]
        prompt_rows.append((pid, name, name.casefold(), STAMP, count))
        for number in range(1, count + 1):
            vid += 1
            data: dict[str, Any] = json.loads(json.dumps(base))
            data["context"] = f"{base.get('context', '')} Variant {name} {number}."
            if number % 3 == 0:
                data.setdefault("lighting", {})["conditions"] = f"light {rng.randrange(50)}"
            wire = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            canonical = canonical_text(data)
            summary = "initial version" if number == 1 else "1 change: context (1)"
            version_rows.append(
                (vid, pid, number, _sha(wire), _sha(canonical), wire, canonical, f"v{number}",
                 "bench", STAMP, None, None, None, None, summary)
            )  # fmt: skip
            if number > 1:
                parent_rows.append((vid, 0, vid - 1))
            text_rows.append((vid, search_body(json.loads(canonical))))
            if number % 10 == 0:
                tag_rows.append((vid, "reviewed"))
        label_rows.append((pid, "production", vid - count // 2 if count > 1 else vid, STAMP, "b"))
    prepared = time.perf_counter()
    gen_rows = [
        (g + 1, 1 + g % vid, "preview", f"req-{g}", "succeeded", g, '{"steps": 30}', None,
         None, None, "image/png", 1024, 1024, 0.1, 2.0, 2.1, 0.04, 1, None, None, None, None,
         STAMP)
        for g in range(generations)
    ]  # fmt: skip
    with lib._backend.write() as cur:
        cur.many(
            "INSERT INTO prompts (id, name, name_key, created_at, version_count) "
            "VALUES (?, ?, ?, ?, ?)",
            prompt_rows,
        )
        cur.many(
            "INSERT INTO versions (id, prompt_id, number, version_hash, content_hash, wire, "
            "canonical, message, author, created_at, kit_name, kit_version, template_name, "
            "template_variables, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            version_rows,
        )
        cur.many("INSERT INTO version_parents VALUES (?, ?, ?)", parent_rows)
        cur.many("INSERT INTO version_text VALUES (?, ?)", text_rows)
        cur.many("INSERT INTO version_tags VALUES (?, ?)", tag_rows)
        cur.many(
            "INSERT INTO labels (prompt_id, label, version_id, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?)",
            label_rows,
        )
        cur.many(
            "INSERT INTO generations (id, version_id, backend, request_id, status, seed, "
            "parameters, text, image_sha256, image_path, media_type, width, height, queue_s, "
            "inference_s, total_s, cost, preview, returned_prompt, error, submitted_at, "
            "completed_at, created_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            gen_rows,
        )
    done = time.perf_counter()
    return {"prepare_s": prepared - started, "insert_s": done - prepared}


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _report(label: str, samples: list[float], target_ms: float) -> bool:
    median = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    ok = median < target_ms
    print(
        f"{label:<44} median {median:8.2f} ms  p95 {p95:8.2f} ms  "
        f"target < {target_ms:g} ms  {'OK' if ok else 'MISSED'}"
    )
    return ok


def main() -> None:
    """Build, measure, print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--prompts", type=int, default=1_000)
    parser.add_argument("--generations", type=int, default=200_000)
    parser.add_argument("--path", type=Path, default=None, help="Library file (default: temp).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or Path(tmp) / "bench.sqlite"
        with Library(path, author="bench") as lib:
            total = time.perf_counter()
            phases = build(lib, args.versions, args.prompts, args.generations)
            size_mb = path.stat().st_size / 1e6
            print(
                f"built {args.versions:,} versions / {args.prompts:,} prompts / "
                f"{args.generations:,} generations in {time.perf_counter() - total:.1f} s "
                f"(prepare {phases['prepare_s']:.1f} s, insert {phases['insert_s']:.1f} s), "
                f"{size_mb:.0f} MB"
            )
            rng = random.Random(1)
            plan = _plan(args.versions, args.prompts)
            with lib._backend.read() as cur:
                hashes = [str(r[0]) for r in cur.all(
                    "SELECT version_hash FROM versions WHERE id % 997 = 0"
                )]  # fmt: skip

            def some_ref() -> str:
                name, count = plan[rng.randrange(len(plan))]
                kind = rng.randrange(4)
                if kind == 0:
                    return name
                if kind == 1:
                    return f"{name}@{rng.randint(1, count)}"
                if kind == 2:
                    return f"{name}@production"
                return hashes[rng.randrange(len(hashes))][:19]

            refs = [some_ref() for _ in range(400)]
            it = iter(refs)
            results = [
                _report(
                    "get by reference (name, @N, @label, hash)",
                    _times(lambda: lib.get(next(it)), len(refs)),
                    5,
                ),
                _report(
                    f"log of the {plan[0][1]:,}-version lineage",
                    _times(lambda: lib.log(LONG), 20),
                    50,
                ),
                _report(
                    "search text, no match (full scan)",
                    _times(lambda: lib.search("no such words anywhere"), 10),
                    200,
                ),
                _report(
                    "search field path = value",
                    _times(lambda: lib.search(where={"lighting.conditions": "light 7"}), 10),
                    200,
                ),
                _report(
                    "search text + tag",
                    _times(lambda: lib.search("variant prompt-0999", tag="reviewed"), 10),
                    200,
                ),
                _report(
                    "search field with [*] wildcard",
                    _times(lambda: lib.search(where=["objects[*].location=center"]), 10),
                    200,
                ),
            ]
            base = lib.get(f"{plan[1][0]}").prompt
            prompts = [base.set("context", f"Saved in the bench {i}.") for i in range(200)]
            names = [plan[1 + i % (len(plan) - 1)][0] for i in range(200)]
            pairs = iter(zip(prompts, names, strict=True))

            def save_one() -> None:
                prompt, name = next(pairs)
                lib.save(prompt, name, message="bench")

            results.append(
                _report("save (new version, summary included)", _times(save_one, 200), 5)
            )
            print("all targets met" if all(results) else "some targets MISSED")


if __name__ == "__main__":
    main()
