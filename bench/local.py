"""Benchmark: per-image overhead of the ``diffusers`` backend over a direct pipeline call.

Prints figures only; nothing here is a test. Run from the repository root (needs
``pip install torch==2.13.0 'fibo-prompts[local]'``; no GPU, no download):

    .venv/bin/python bench/local.py [--rounds 15] [--size 128] [--steps 8]

Target (issue 9): the backend's time per image at most 5% above a direct
``BriaFiboPipeline`` call on the same tiny random-weight pipeline, in the same run.

Both sides use one pipeline object (loaded once by the backend from a saved folder), the
same prompt text (``prompt.for_model()`` of ``examples/product_shot.json``), negative prompt,
seed, steps and size, and both end with a PNG file on disk: the direct side saves the PIL
image the pipeline returns; the backend side is ``Client.generate`` with its defaults (PNG
encoding, image checks, content-addressed store, provenance chunks, job journal). Rounds
alternate direct / backend with a fresh seed each, so drift in machine load hits both; the
overhead is the median of the per-round ratios, in wall time and in this process's CPU time
(the steadier figure on a shared machine; it leaves out waits such as the journal's fsync,
which the wall figure keeps). torch runs on one thread so that two busy cores do not turn
OpenMP spinning into noise. Exit status 1 when either figure is over the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.05


def main() -> int:
    """Run the benchmark; exit status 1 when the median overhead is over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--size", type=int, default=128, help="image side (multiple of 16)")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install torch==2.13.0 'fibo-prompts[local]'")
        return 2

    from fibo_prompts import StructuredPrompt
    from fibo_prompts.generate import Client, GenerationRequest
    from fibo_prompts.generate.backends._diffusers_tiny import save_tiny_pipeline
    from fibo_prompts.generate.backends.diffusers import DiffusersBackend

    torch.set_num_threads(1)
    prompt = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        started = time.perf_counter()
        folder = save_tiny_pipeline(work / "tiny-fibo")
        built = time.perf_counter() - started
        options = {"model": str(folder), "resolutions": {"1:1": (args.size, args.size)}}
        with Client(
            "diffusers",
            backend_options=options,
            image_dir=work / "images",
            journal=work / "journal.sqlite",
        ) as client:
            backend = client.backend
            assert isinstance(backend, DiffusersBackend)
            pipeline = backend.pipeline
            request = GenerationRequest(prompt=prompt, steps=args.steps)
            plan = backend.plan(request, 0)
            tokens = backend.count_tokens(plan.prompt)

            def direct(seed: int) -> tuple[float, float]:
                wall, cpu = time.perf_counter(), time.process_time()
                image = pipeline(
                    prompt=plan.prompt,
                    negative_prompt=plan.negative_prompt,
                    generator=torch.Generator("cpu").manual_seed(seed),
                    num_inference_steps=plan.steps,
                    guidance_scale=plan.guidance,
                    height=plan.height,
                    width=plan.width,
                ).images[0]
                image.save(work / f"direct-{seed}.png")
                return time.perf_counter() - wall, time.process_time() - cpu

            def through_backend(seed: int) -> tuple[float, float]:
                wall, cpu = time.perf_counter(), time.process_time()
                client.generate(request.model_copy(update={"seed": seed}))
                return time.perf_counter() - wall, time.process_time() - cpu

            direct(0), through_backend(0)  # warm-up: first-call allocations, lazy imports
            base: list[tuple[float, float]] = []
            ours: list[tuple[float, float]] = []
            for seed in range(1, args.rounds + 1):
                # alternate which side goes first, so neither always follows the other
                if seed % 2:
                    base.append(direct(seed))
                    ours.append(through_backend(seed))
                else:
                    ours.append(through_backend(seed))
                    base.append(direct(seed))
    print(
        f"tiny BriaFiboPipeline, {args.size}x{args.size}, {args.steps} steps, guidance "
        f"{plan.guidance}, prompt {tokens} tokens, torch {torch.__version__} on 1 CPU thread, "
        f"{args.rounds} rounds"
    )
    print(f"load: built and saved in {built:.2f} s; backend load {backend.load_time_s:.2f} s")
    verdict = 0
    for index, clock in ((0, "wall"), (1, "CPU ")):
        theirs = [b[index] for b in base]
        mine = [o[index] for o in ours]
        # each round's ratio compares two runs a second apart: load drift mostly cancels
        paired = statistics.median(o / b for o, b in zip(mine, theirs, strict=True)) - 1
        print(
            f"{clock}: direct call + PNG file {statistics.median(theirs) * 1000:8.1f} ms   "
            f"Client.generate {statistics.median(mine) * 1000:8.1f} ms   "
            f"overhead {paired * 100:+.1f}% (median of paired rounds; "
            f"{(statistics.median(mine) - statistics.median(theirs)) * 1000:+.1f} ms)   "
            f"target <= {TARGET * 100:.0f}%"
        )
        verdict |= paired > TARGET
    return verdict


if __name__ == "__main__":
    sys.exit(main())
