"""Polling efficiency: our AsyncClient vs the segmind SDK's ``wait()`` on the same jobs.

    .venv/bin/python bench/polling.py [--jobs 300] [--duration 5]

The emulator (a separate process) runs jobs with log-normal durations around ``--duration``
seconds (sigma 0.25). Figures: polls per job, median completion-detection lag (detected minus
the job's true end), wall time of the whole batch, and client CPU per job. The SDK is sync
only, so its jobs run in one thread each. The job count defaults to 300 (not the issue's
1,000) to keep a run, SDK included, under two minutes; pass ``--jobs 1000`` for the full run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx
from drill import start_emulator, stop

from fibo_prompts.generate import AsyncClient, GenerationRequest, PollPolicy

WIRE = (
    '{"short_description":"x","background_setting":"y","lighting":{},"aesthetics":{},"context":"z"}'  # noqa: E501
)


def figures(url: str, detected: dict[str, float], cpu: float, wall: float, label: str) -> None:
    stats = httpx.get(f"{url}/_emulator/stats", timeout=30).json()["jobs"]
    polls = [stats[rid]["polls"] for rid in detected]
    lags = [detected[rid] - stats[rid]["ends_at"] for rid in detected]
    print(
        f"{label}: {len(detected)} jobs, wall {wall:.1f} s, polls/job mean "
        f"{statistics.mean(polls):.2f}, median lag {statistics.median(lags):.3f} s, "
        f"p95 lag {sorted(lags)[int(len(lags) * 0.95)]:.3f} s, "
        f"CPU/job {1000 * cpu / len(detected):.2f} ms"
    )


async def ours(url: str, n: int, duration: float) -> tuple[dict[str, float], float, float]:
    detected: dict[str, float] = {}
    poll = PollPolicy(expected_duration=duration, timeout=120)
    async with AsyncClient(
        "segmind", api_key="k", base_url=url, poll=poll, journal=False
    ) as client:
        # warm the estimator with a few jobs, as a long-lived client would have
        for i in range(5):
            await client.generate(GenerationRequest(text="warm", seed=i + 1))

        async def one(i: int) -> None:
            job = await client.poll(
                await client.submit(GenerationRequest(text=f"j{i}", seed=i + 1))
            )
            detected[job.request_id] = time.time()
            await client.result(job)

        c0, t0 = time.process_time(), time.perf_counter()
        async with anyio.create_task_group() as group:
            for i in range(n):
                group.start_soon(one, i)
        return detected, time.process_time() - c0, time.perf_counter() - t0


def sdk(url: str, n: int) -> tuple[dict[str, float], float, float] | None:
    try:
        import segmind
    except ImportError:
        print("segmind SDK not installed: skipping the comparison")
        return None
    client = segmind.SegmindClient(api_key="k", base_url=f"{url}/v1")
    detected: dict[str, float] = {}

    def one(i: int) -> None:
        job = client.submit_async("bria-fibo-generate", structured_prompt=WIRE, seed=i + 1)
        job.wait()  # defaults: 1.0 s interval, 600 s timeout
        detected[job.request_id] = time.time()

    c0, t0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))
    return detected, time.process_time() - c0, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    config = {"duration_s": args.duration, "duration_sigma": 0.25, "seed": 3, "image_size": 64}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_emulator(config, Path(tmp))
        try:
            detected, cpu, wall = anyio.run(ours, url, args.jobs, args.duration)
            figures(url, detected, cpu, wall, "fibo_prompts AsyncClient")
            result = sdk(url, args.jobs)
            if result is not None:
                figures(url, *result, "segmind 1.3.0 wait()   ")
        finally:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
