"""Benchmark of the prompt library at scale: get, log, search and save against their targets.

Builds a library of 100,000 versions across 1,000 prompts (one of them a 1,000-version
lineage) and 200,000 generation records with bulk inserts (``executemany`` in one
transaction on SQLite, ``COPY`` on PostgreSQL; the rows computed exactly as ``Library.save``
computes them: wire, canonical form, both hashes, search text), then times the public API,
and the throughput of 16 processes saving, labelling and recording generations at once::

    .venv/bin/python bench/library.py                 # SQLite, full size (about 1-2 minutes)
    .venv/bin/python bench/library.py --engine postgresql   # SQLite and PostgreSQL side by side
    .venv/bin/python bench/library.py --versions 10000 --prompts 100 --generations 20000

``--engine postgresql`` starts a throwaway server (fsync on, like SQLite's synchronous=FULL)
unless ``--url postgresql://...`` names one (its schema must be empty).

Targets: get by reference < 5 ms, log of a 1,000-version lineage (summaries included) < 50 ms,
search across all versions < 200 ms, save < 5 ms median.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fibo_prompts.jobs import Generation
from fibo_prompts.library import Library
from fibo_prompts.library._search import search_body
from fibo_prompts.prompt._canonical import canonical_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the throwaway server of the tests
from tests.library.pg_server import TempPostgres, find_binaries  # noqa: E402

#: a 1x1 PNG: what the concurrent writers record
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d7"
    "63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)
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
    tables = [
        ("prompts", "id, name, name_key, created_at, version_count", prompt_rows),
        (
            "versions",
            "id, prompt_id, number, version_hash, content_hash, wire, canonical, message, "
            "author, created_at, kit_name, kit_version, template_name, template_variables, "
            "summary",
            version_rows,
        ),
        ("version_parents", "version_id, position, parent_id", parent_rows),
        ("version_text", "version_id, body", text_rows),
        ("version_tags", "version_id, tag", tag_rows),
        ("labels", "prompt_id, label, version_id, updated_at, updated_by", label_rows),
        (
            "generations",
            "id, version_id, backend, request_id, status, seed, parameters, text, "
            "image_sha256, image_path, media_type, width, height, queue_s, inference_s, "
            "total_s, cost, preview, returned_prompt, error, submitted_at, completed_at, "
            "created_at",
            gen_rows,
        ),
    ]
    with lib._backend.write() as cur:
        for table, columns, rows in tables:
            if lib.engine == "postgresql":
                # COPY writes identity columns as given; the sequences are moved past them
                with cur._cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(rows[0]))
                cur.many(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        if lib.engine == "postgresql":
            for table in ("prompts", "versions", "generations"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
    if lib.engine == "postgresql":
        with lib._backend.write() as cur:
            cur.execute("ANALYZE")
    done = time.perf_counter()
    return {"prepare_s": prepared - started, "insert_s": done - prepared}


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _report(label: str, results: dict[str, list[float]], target_ms: float) -> bool:
    """One line: the figure's median (and p95) on each engine, against its target."""
    cells, ok = [], True
    for engine, samples in results.items():
        median = statistics.median(samples)
        p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
        ok = ok and median < target_ms
        cells.append(f"{engine} {median:8.2f} ms (p95 {p95:8.2f})")
    print(f"{label:<42} {'  '.join(cells)}  target < {target_ms:g} ms  {'OK' if ok else 'MISSED'}")
    return ok


def measure(lib: Library, plan: list[tuple[str, int]]) -> dict[str, list[float]]:
    """Time every figure on one built library: label -> samples (ms)."""
    rng = random.Random(1)
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
    out = {
        GET: _times(lambda: lib.get(next(it)), len(refs)),
        LOG: _times(lambda: lib.log(LONG), 20),
        "search text, no match (full scan)": _times(
            lambda: lib.search("no such words anywhere"), 10
        ),
        "search field path = value": _times(
            lambda: lib.search(where={"lighting.conditions": "light 7"}), 10
        ),
        "search text + tag": _times(lambda: lib.search("variant prompt-0999", tag="reviewed"), 10),
        "search field with [*] wildcard": _times(
            lambda: lib.search(where=["objects[*].location=center"]), 10
        ),
    }
    base = lib.get(f"{plan[1][0]}").prompt
    prompts = [base.set("context", f"Saved in the bench {i}.") for i in range(200)]
    names = [plan[1 + i % (len(plan) - 1)][0] for i in range(200)]
    pairs = iter(zip(prompts, names, strict=True))

    def save_one() -> None:
        prompt, name = next(pairs)
        lib.save(prompt, name, message="bench")

    out[SAVE] = _times(save_one, 200)
    return out


GET = "get by reference (name, @N, @label, hash)"
LOG = "log of the 1,000-version lineage"
SAVE = "save (new version, summary included)"
TARGETS = {GET: 5.0, LOG: 50.0, SAVE: 5.0}
WRITERS = 16


def _writer(location: str, worker: int, rounds: int, folder: str) -> int:
    """One of the concurrent writers: save, label, record a generation, ``rounds`` times."""
    png = Path(folder) / f"w{worker}.png"
    png.write_bytes(PNG)
    digest = hashlib.sha256(PNG).hexdigest()
    with Library(location, author=f"writer-{worker}", timeout=60) as lib:
        base = lib.get("prompt-0001").prompt
        for i in range(rounds):
            prompt = base.set("context", f"Writer {worker} round {i}.")
            version = lib.save(prompt, f"team-{i % 4}", message="concurrent")
            lib.set_label(version, "production")
            lib.record_generation(
                Generation(
                    backend="preview", request_id=f"{worker}-{i}", image_path=png,
                    image_sha256=digest, media_type="image/png", width=1, height=1,
                    wire=prompt.wire, seed=i,
                ),
                version.ref,
            )  # fmt: skip
    return rounds * 3


def throughput(location: str, rounds: int) -> float:
    """Writes per second of 16 processes at once (a save, a label move, a generation each)."""
    with tempfile.TemporaryDirectory() as folder:
        context = multiprocessing.get_context("fork")
        started = time.perf_counter()
        with context.Pool(WRITERS) as pool:
            done = sum(
                pool.starmap(_writer, [(location, w, rounds, folder) for w in range(WRITERS)])
            )
        return done / (time.perf_counter() - started)


def main() -> None:
    """Build, measure, print one line per figure (SQLite and PostgreSQL side by side)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--prompts", type=int, default=1_000)
    parser.add_argument("--generations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=20, help="Rounds per concurrent writer.")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default=None, help="PostgreSQL URL (default: a temp server).")
    parser.add_argument("--path", type=Path, default=None, help="Library file (default: temp).")
    args = parser.parse_args()
    plan = _plan(args.versions, args.prompts)
    results: dict[str, dict[str, list[float]]] = {}
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        locations = {"sqlite": str(args.path or Path(tmp) / "bench.sqlite")}
        if args.engine == "postgresql":
            url = args.url
            if url is None:
                binaries = find_binaries()
                if binaries is None:
                    raise SystemExit("no PostgreSQL binaries (initdb, pg_ctl); pass --url")
                server = TempPostgres(binaries, durable=True)
                stack.callback(server.cleanup)
                server.start()
                url = server.url()
            locations["postgresql"] = url
        for engine, location in locations.items():
            with Library(location, author="bench") as lib:
                total = time.perf_counter()
                phases = build(lib, args.versions, args.prompts, args.generations)
                print(
                    f"{engine}: built {args.versions:,} versions / {args.prompts:,} prompts / "
                    f"{args.generations:,} generations in {time.perf_counter() - total:.1f} s "
                    f"(prepare {phases['prepare_s']:.1f} s, insert {phases['insert_s']:.1f} s)"
                )
                for label, samples in measure(lib, plan).items():
                    results.setdefault(label, {})[engine] = samples
            rates[engine] = throughput(location, args.rounds)
    ok = [
        _report(label, by_engine, TARGETS.get(label, 200.0)) for label, by_engine in results.items()
    ]
    print(
        f"{WRITERS} concurrent writers (save + label + generation, {args.rounds} rounds each): "
        + "  ".join(f"{engine} {rate:,.0f} writes/s" for engine, rate in rates.items())
        + (
            f"  (postgresql/sqlite {rates['postgresql'] / rates['sqlite']:.2f}x)"
            if len(rates) > 1
            else ""
        )
    )
    print("all targets met" if all(ok) else "some targets MISSED")


if __name__ == "__main__":
    main()
