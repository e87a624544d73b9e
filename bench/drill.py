"""Reliability drill: many jobs through AsyncClient.generate_many against a faulty emulator.

    .venv/bin/python bench/drill.py [--jobs 1000] [--duration 0.5]

Fault mix (per request unless noted): 10% 429, 5% 5xx in the service's own error format, 2%
connection resets on GETs, 1% resets after an accepted submit, 1% gateway 502/504 HTML pages
after an accepted submit, 1% FAILED jobs; slow pollers meet expiry (phase 3);
inference.sh task streams broken mid-job (phase 4: 20% of streams). Job
durations are log-normal around ``--duration`` seconds (scaled down from FIBO's ~20 s so a run
takes well under two minutes). Phase 2 kills a child process mid-run (SIGKILL) and resumes
its journal. Prints the figures; exits 1 if an invariant fails. "Billed twice" is the
emulator's count of submit bodies it accepted more than once (the same request paid again);
every submit whose outcome is unknown must be in the journal as such.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

from fibo_prompts.errors import (
    FiboPromptsError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate import AsyncClient, GenerationRequest, JobJournal, PollPolicy

ROOT = Path(__file__).resolve().parents[1]
FAULTS = {
    "rate_limit": 0.10,
    "server_error": 0.05,
    "reset_poll": 0.02,
    "reset_after_submit": 0.01,
    "gateway_after_accept": 0.01,
    "failed": 0.01,
    "retry_after_s": 1.0,
}


def start_emulator(config: dict[str, object], workdir: Path) -> tuple[subprocess.Popen[str], str]:
    path = workdir / f"emu-{len(list(workdir.glob('emu-*')))}.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fibo_prompts.emulator", "--port", "0", "--config", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()[-1]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(text=f"drill job {i}", seed=i + 1) for i in range(n)]


async def run_batch(url: str, n: int, journal: Path, duration: float) -> list[object]:
    poll = PollPolicy(expected_duration=duration, min_interval=0.1, timeout=60)
    async with AsyncClient(
        "segmind", api_key="k", base_url=url, journal=journal, poll=poll
    ) as client:
        return list(await client.generate_many(requests(n), concurrency=n))


async def resume(url: str, journal: Path, duration: float) -> list[object]:
    poll = PollPolicy(expected_duration=duration, min_interval=0.1, timeout=60)
    async with AsyncClient(
        "segmind", api_key="k", base_url=url, journal=journal, poll=poll
    ) as client:
        return list(await client.resume())


def stream_phase(work: Path, n: int, duration: float) -> bool:
    """inference.sh jobs: up to 64 follow their task streams (a fifth of which break), the
    rest poll; every job must end with its image and no task may be submitted twice."""
    faults = {"stream_break": 0.2, "rate_limit": 0.05, "reset_poll": 0.02, "retry_after_s": 0.2}
    config = {"duration_s": duration, "duration_sigma": 0.3, "seed": 4, "image_size": 64}
    proc, url = start_emulator({**config, "faults": faults}, work)
    try:

        async def batch() -> list[object]:
            poll = PollPolicy(expected_duration=duration, timeout=60)
            async with AsyncClient(
                "inferencesh", api_key="k", base_url=url, journal=False, poll=poll
            ) as client:
                return list(await client.generate_many(requests(n), concurrency=n))

        results = anyio.run(batch)
        stats = httpx.get(f"{url}/_emulator/stats", timeout=30).json()
    finally:
        stop(proc)
    images = sum(1 for r in results if not isinstance(r, FiboPromptsError))
    jobs = stats["jobs"].values()
    streamed = sum(1 for j in jobs if j.get("streams"))
    fell_back = sum(1 for j in jobs if j.get("streams") and j.get("polls"))
    print(
        f"phase 4: {n} inference.sh jobs: {images} images; {streamed} followed a task stream "
        f"({stats['counts'].get('fault.stream_break', 0)} streams broken, {fell_back} jobs "
        f"finished by polling after a stream ended), {n - streamed} polled; billed twice "
        f"{stats['billed_twice']}"
    )
    return images == n and stats["billed_twice"] == 0 and streamed > 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=0.5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # phase 2's victim: submit and poll until killed
        url, journal = args.child.split("|")
        anyio.run(run_batch, url, args.jobs, Path(journal), args.duration)
        return 0
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["FIBO_PROMPTS_HOME"] = str(work / "home")
        config = {
            "duration_s": args.duration,
            "duration_sigma": 0.3,
            "seed": 1,
            "image_size": 64,
            "faults": FAULTS,
        }
        proc, url = start_emulator(config, work)
        try:
            t0 = time.perf_counter()
            results = anyio.run(run_batch, url, args.jobs, work / "j1.sqlite3", args.duration)
            wall = time.perf_counter() - t0
            stats = httpx.get(f"{url}/_emulator/stats", timeout=30).json()
        finally:
            stop(proc)
        images = [r for r in results if not isinstance(r, FiboPromptsError)]
        errors = [r for r in results if isinstance(r, FiboPromptsError)]
        with_id = [e for e in errors if e.request_id is not None]
        unknown = [e for e in errors if isinstance(e, SubmitOutcomeUnknownError)]
        without_id = [e for e in errors if e.request_id is None and e not in unknown]
        # a submit answered 429/5xx (or not connected) on every try was never accepted: an
        # error without a request id is right for it, and nothing was billed
        refused = [e for e in without_id if isinstance(e, RateLimitError | ServerError)]
        other = [e for e in without_id if e not in refused]
        accepted = stats["accepted"]
        double = stats["billed_twice"]
        orphans = accepted - len(images) - len(with_id)
        with JobJournal(work / "j1.sqlite3") as journal:
            journaled = sum(1 for e in journal.entries() if e.outcome_unknown)
        print(
            f"phase 1: {args.jobs} jobs in {wall:.1f} s: {len(images)} images, "
            f"{len(with_id)} failures with request id, {len(unknown)} submit outcome unknown, "
            f"{len(refused)} submits refused on every retry (not billed), {len(other)} other"
        )
        print(
            f"  emulator accepted {accepted} (reset after accept: "
            f"{stats['counts'].get('fault.reset_after_submit', 0)}, gateway page after accept: "
            f"{stats['counts'].get('fault.gateway_after_accept', 0)}), "
            f"client knows {len(images) + len(with_id)}, orphans {orphans} "
            f"(journaled as outcome unknown: {journaled}), billed twice {double}"
        )
        kinds: dict[str, int] = {}
        for e in errors:
            kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
        print(f"  errors by type: {kinds}")
        ok &= double == 0 and orphans == len(unknown) == journaled and not other
        ok &= accepted + len(refused) == args.jobs  # every job accepted once, or refused
        # ---- phase 2: kill mid-run, resume
        n2 = max(10, args.jobs // 5)
        config2 = {"duration_s": args.duration * 4, "seed": 2, "image_size": 64}
        proc, url = start_emulator(config2, work)
        try:
            journal = work / "j2.sqlite3"
            child = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--jobs",
                    str(n2),
                    "--duration",
                    str(args.duration * 4),
                    "--child",
                    f"{url}|{journal}",
                ],
                cwd=ROOT,
            )
            time.sleep(1.0 + args.duration)
            child.send_signal(signal.SIGKILL)
            child.wait()
            before = httpx.get(f"{url}/_emulator/stats").json()["accepted"]
            resumed = anyio.run(resume, url, journal, args.duration * 4)
            stats2 = httpx.get(f"{url}/_emulator/stats").json()
        finally:
            stop(proc)
        done = sum(1 for r in resumed if not isinstance(r, FiboPromptsError))
        print(
            f"phase 2: child killed after {stats2['accepted']} accepted submits "
            f"(of {n2}); resume finished {done}, failed {len(resumed) - done}; "
            f"submits after the kill: {stats2['accepted'] - before}"
        )
        ok &= stats2["accepted"] == before
        # ---- phase 3: expiry for a slow poller
        proc, url = start_emulator({"duration_s": 0.1, "expiry_s": 0.5, "image_size": 64}, work)
        try:
            poll = PollPolicy(expected_duration=2.0, timeout=10)

            async def slow() -> object:
                async with AsyncClient(
                    "segmind", api_key="k", base_url=url, poll=poll, journal=work / "j3.sqlite3"
                ) as client:
                    try:
                        return await client.generate(GenerationRequest(text="late", seed=1))
                    except FiboPromptsError as exc:
                        return exc

            late = anyio.run(slow)
        finally:
            stop(proc)
        print(f"phase 3: slow poller got {type(late).__name__}: {late}")
        ok &= type(late).__name__ == "JobExpiredError"
        # ---- phase 4: inference.sh task streams that break, beside jobs that poll
        ok &= stream_phase(work, max(20, args.jobs // 5), args.duration * 2)
    print("invariants hold" if ok else "INVARIANT FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
