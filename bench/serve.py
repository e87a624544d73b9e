"""Benchmark of ``fibo serve``: page render times through the ASGI app on a 100k library.

Builds the same library as ``bench/library.py`` (100,000 versions across 1,000 prompts, one of
them a 1,000-version lineage, 200,000 generation records; bulk inserts), then requests pages
through the whole app (middleware, routing, the library, Jinja) with Starlette's TestClient,
beside a baseline in the same run: the stylesheet, which goes through the same middleware and
routing but touches neither the library nor a template::

    .venv/bin/python bench/serve.py                   # full size (about 1-2 minutes)
    .venv/bin/python bench/serve.py --versions 10000 --prompts 100 --generations 20000

Targets: the timeline of the 1,000-version prompt (its first page of 200, and its last page)
and a diff page each render in < 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from fibo_prompts.library import Library
from fibo_prompts.serve import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from library import LONG, build  # noqa: E402  (bench/library.py builds the library)

TARGET_MS = 200.0
#: without a token the app answers only to loopback names
LOCAL = "http://127.0.0.1"


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _get(client: TestClient, url: str) -> Callable[[], object]:
    def fetch() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        return response

    return fetch


def _report(label: str, samples: list[float], baseline: float, target: float | None) -> bool:
    median = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    ok = target is None or median < target
    verdict = "" if target is None else f"  target < {target:g} ms  {'OK' if ok else 'MISSED'}"
    print(
        f"{label:<46} median {median:8.2f} ms  p95 {p95:8.2f} ms  "
        f"x{median / baseline:6.1f} baseline{verdict}"
    )
    return ok


def main() -> None:
    """Build, measure, print one line per page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--prompts", type=int, default=1_000)
    parser.add_argument("--generations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        with Library(path, author="bench") as lib:
            started = time.perf_counter()
            build(lib, args.versions, args.prompts, args.generations)
            print(
                f"built {args.versions:,} versions / {args.prompts:,} prompts / "
                f"{args.generations:,} generations in {time.perf_counter() - started:.1f} s"
            )
            count = lib.get(LONG).number
            last_page = -(-count // 200)
            with TestClient(create_app(lib), base_url=LOCAL) as client:
                for url in ("/static/serve.css", f"/p/{LONG}"):  # warm up (templates compile)
                    _get(client, url)()
                base_samples = _times(_get(client, "/static/serve.css"), args.runs * 5)
                baseline = statistics.median(base_samples)
                _report("baseline: stylesheet (middleware + routing)", base_samples, baseline, None)
                pages = [
                    (f"timeline of {LONG} ({count:,} versions), page 1", f"/p/{LONG}", True),
                    (
                        f"timeline of {LONG}, last page ({last_page})",
                        f"/p/{LONG}?page={last_page}",
                        True,
                    ),
                    (
                        f"diff page {LONG}@1 -> @{count}",
                        f"/diff?a={LONG}@1&b={LONG}@{count}",
                        True,
                    ),
                    (f"version page {LONG}@{count // 2}", f"/p/{LONG}/v/{count // 2}", False),
                    (f"prompt list ({args.prompts:,} prompts)", "/", False),
                    ("search 'golden' (prompt list + text search)", "/?q=golden", False),
                ]
                results = [
                    _report(
                        label,
                        _times(_get(client, url), args.runs),
                        baseline,
                        TARGET_MS if targeted else None,
                    )
                    for label, url, targeted in pages
                ]
    if not all(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
