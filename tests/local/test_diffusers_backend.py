"""The diffusers backend end to end on a tiny random-weight FIBO pipeline (CPU, offline).

The pipeline is saved to a temporary folder by the session fixture and loaded by the
backend's own loading code. Images are noise, but bit-exact: the same seed gives identical
pixels, and every image equals a direct ``BriaFiboPipeline`` call with the text, negative
prompt, size and generator the backend says it used.
"""

from __future__ import annotations

import importlib.util
import io
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from fibo_prompts import StructuredPrompt
from fibo_prompts.errors import LocalBackendError, ModelNotFoundError, OutOfMemoryError
from fibo_prompts.generate import AsyncClient, Client, Generation, GenerationRequest
from fibo_prompts.generate.backends._diffusers_rules import PHOTO_NEGATIVE_PROMPT
from fibo_prompts.generate.backends.diffusers import DiffusersBackend, PromptTruncationWarning

MISSING = [n for n in ("torch", "diffusers", "transformers") if importlib.util.find_spec(n) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed: pip install torch==2.13.0 'fibo-prompts[local]'",
)


def pixels(source: Path | bytes) -> bytes:
    """An image's decoded RGB pixels (PNG metadata aside)."""
    from PIL import Image

    data = source if isinstance(source, bytes) else source.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def direct(backend: DiffusersBackend, request: GenerationRequest, seed: int) -> bytes:
    """The pixels of a plain ``BriaFiboPipeline`` call with what the backend plans to send."""
    import torch

    plan = backend.plan(request, seed)
    image = backend.pipeline(
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt,
        generator=torch.Generator("cpu").manual_seed(seed),
        num_inference_steps=plan.steps,
        guidance_scale=plan.guidance,
        height=plan.height,
        width=plan.width,
    ).images[0]
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return pixels(buffer.getvalue())


class Hooked:
    """A pipeline whose calls go through ``call`` (everything else is the real pipeline's)."""

    def __init__(self, pipeline: Any, call: Any) -> None:
        self.real, self._call = pipeline, call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __call__(self, **kwargs: Any) -> Any:
        return self._call(**kwargs)


@pytest.fixture
def client(options: dict[str, Any], tmp_path: Path) -> Any:
    with Client("diffusers", backend_options=options, image_dir=tmp_path / "images") as c:
        yield c


# ------------------------------------------------------------------ generate and provenance


def test_generate_returns_a_recorded_generation(
    client: Client, minimal: StructuredPrompt, tiny_dir: Path
) -> None:
    generation = client.generate(GenerationRequest(prompt=minimal, seed=7, steps=2))
    assert isinstance(generation, Generation)
    assert (generation.backend, generation.seed, generation.preview) == ("diffusers", 7, False)
    assert generation.wire == minimal.wire
    assert (generation.width, generation.height, generation.media_type) == (32, 32, "image/png")
    assert generation.parameters == {
        "seed": 7,
        "steps": 2,
        "guidance": 5.0,
        "aspect_ratio": "1:1",
        "negative_prompt": "",
        "width": 32,
        "height": 32,
        "model": str(tiny_dir),
        "device": "cpu",
        "dtype": "float32",
        "prompt_format": "model",
    }
    assert generation.request_id.startswith("diffusers-")
    timings = generation.timings
    assert timings.inference_s is not None and timings.inference_s > 0
    assert timings.queue_s is not None and timings.total_s is not None
    assert timings.total_s >= timings.inference_s
    assert client.backend.load_time_s is not None and client.backend.load_time_s > 0


def test_the_image_carries_its_provenance(client: Client, minimal: StructuredPrompt) -> None:
    provenance = pytest.importorskip("fibo_prompts.provenance")
    generation = client.generate(GenerationRequest(prompt=minimal, seed=3, steps=2))
    info = provenance.read_provenance(generation.image_path)
    assert (info.wire, info.seed, info.backend) == (minimal.wire, 3, "diffusers")
    assert info.request_id == generation.request_id
    again = info.to_request()
    assert (again.seed, again.steps, again.guidance, again.aspect_ratio) == (3, 2, 5.0, "1:1")
    assert again.negative_prompt == ""


def test_same_seed_same_pixels_other_seed_other_pixels(
    client: Client, minimal: StructuredPrompt
) -> None:
    first = client.generate(GenerationRequest(prompt=minimal, seed=11, steps=2))
    again = client.generate(GenerationRequest(prompt=minimal, seed=11, steps=2))
    other = client.generate(GenerationRequest(prompt=minimal, seed=12, steps=2))
    assert pixels(first.image_path) == pixels(again.image_path)
    assert first.request_id == again.request_id  # the hash of the pipeline's own PNG
    assert pixels(first.image_path) != pixels(other.image_path)


def test_each_image_equals_a_direct_pipeline_call(
    client: Client, minimal: StructuredPrompt
) -> None:
    request = GenerationRequest(prompt=minimal, seed=5, steps=2, aspect_ratio="16:9")
    generation = client.generate(request)
    backend = client.backend
    assert isinstance(backend, DiffusersBackend)
    assert backend.plan(request, 5).prompt == minimal.for_model()
    assert (generation.width, generation.height) == (64, 32)
    assert pixels(generation.image_path) == direct(backend, request, 5)


def test_photographs_are_sent_with_brias_negative_prompt(
    client: Client, photo: StructuredPrompt
) -> None:
    request = GenerationRequest(prompt=photo, seed=2, steps=2)
    generation = client.generate(request)
    assert generation.parameters["negative_prompt"] == PHOTO_NEGATIVE_PROMPT
    backend = client.backend
    assert isinstance(backend, DiffusersBackend)
    assert pixels(generation.image_path) == direct(backend, request, 2)
    unguarded = client.generate(request.model_copy(update={"negative_prompt": ""}))
    assert unguarded.parameters["negative_prompt"] == ""
    assert pixels(unguarded.image_path) != pixels(generation.image_path)


def test_the_wire_string_can_be_sent_unchanged(
    options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    request = GenerationRequest(prompt=minimal, seed=4, steps=2)
    with Client(
        "diffusers", backend_options={**options, "prompt_format": "wire"}, image_dir=tmp_path
    ) as wire_client:
        generation = wire_client.generate(request)
        backend = wire_client.backend
        assert isinstance(backend, DiffusersBackend)
        assert backend.plan(request, 4).prompt == minimal.wire
        assert generation.parameters["prompt_format"] == "wire"
        assert pixels(generation.image_path) == direct(backend, request, 4)


def test_the_pipeline_stays_loaded_between_calls_and_clients(
    options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    with Client("diffusers", backend_options=options, image_dir=tmp_path) as one:
        one.generate(GenerationRequest(prompt=minimal, seed=1, steps=2))
        pipeline = one.backend.pipeline  # type: ignore[attr-defined]
    with Client("diffusers", backend_options=options, image_dir=tmp_path) as two:
        assert two.backend.pipeline is pipeline  # type: ignore[attr-defined]


def test_unload_frees_the_pipeline_and_the_next_call_loads_it_again(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    backend = DiffusersBackend(**fresh_options)
    assert (backend.load_time_s, backend.device, backend.dtype) == (None, None, None)
    first = backend.pipeline
    assert (backend.device, backend.dtype) == ("cpu", "float32")
    assert backend.unload() is True
    assert backend.unload() is False
    with Client(backend, image_dir=tmp_path) as c:
        c.generate(GenerationRequest(prompt=minimal, seed=1, steps=2))
    assert backend.pipeline is not first


# ------------------------------------------------------------------ async, batching, tokens


@pytest.mark.anyio
async def test_the_async_client_runs_the_pipeline_off_the_event_loop(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    entered, release = threading.Event(), threading.Event()
    backend = DiffusersBackend(**fresh_options)
    loaded = backend.load()
    real = loaded.pipeline

    def gate(**kwargs: Any) -> Any:
        """Hold the pipeline call until the event loop, still free, releases it."""
        entered.set()
        if not release.wait(timeout=30):
            raise AssertionError("the event loop was blocked during the inference")
        return real(**kwargs)

    loaded.pipeline = Hooked(real, gate)
    request = GenerationRequest(prompt=minimal, seed=9, steps=2)
    async with AsyncClient(backend, image_dir=tmp_path) as client:
        async with anyio.create_task_group() as group:
            results: list[Generation] = []

            async def run() -> None:
                results.append(await client.generate(request))

            group.start_soon(run)
            assert await anyio.to_thread.run_sync(entered.wait, 30)
            release.set()  # only possible because the loop is not stuck in the pipeline
    loaded.pipeline = real
    with Client(backend, image_dir=tmp_path) as sync_client:
        again = sync_client.generate(request)
    assert pixels(results[0].image_path) == pixels(again.image_path)


def test_concurrent_requests_share_a_pipeline_call_when_batching_is_on(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    backend = DiffusersBackend(**fresh_options, max_batch=4)
    loaded = backend.load()
    real, release, calls = loaded.pipeline, threading.Event(), []

    def gated(**kwargs: Any) -> Any:
        calls.append(kwargs["prompt"])
        if kwargs["num_inference_steps"] == 1:  # the blocker: hold the pipeline
            release.wait(timeout=30)
        return real(**kwargs)

    loaded.pipeline = Hooked(real, gated)
    blocker = GenerationRequest(prompt=minimal, seed=1, steps=1)
    batched = [GenerationRequest(prompt=minimal, seed=s, steps=2) for s in (21, 22)]
    with Client(backend, image_dir=tmp_path) as client:
        results: dict[int, Generation] = {}

        def run(index: int, request: GenerationRequest) -> None:
            results[index] = client.generate(request)

        threads = [threading.Thread(target=run, args=(0, blocker))]
        threads[0].start()
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        for index, request in enumerate(batched, start=1):
            threads.append(threading.Thread(target=run, args=(index, request)))
            threads[-1].start()
        while loaded.queued < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        loaded.pipeline = real
        assert [type(prompt) for prompt in calls] == [str, list]
        assert calls[1] == [minimal.for_model()] * 2
        entries = {e.job.seed: e.job for e in client.journal.entries()}  # type: ignore[union-attr]
        assert entries[21].metrics["batch_size"] == entries[22].metrics["batch_size"] == 2
        assert entries[1].metrics["batch_size"] == 1
        singles = [client.generate(r) for r in batched]
    # a batched image differs from a lone one in the last bits of its sums, at most
    for index, single in enumerate(singles, start=1):
        a, b = pixels(results[index].image_path), pixels(single.image_path)
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 1
    assert pixels(results[1].image_path) != pixels(results[2].image_path)


def test_a_batch_that_runs_out_of_memory_is_split(
    fresh_options: dict[str, Any], minimal: StructuredPrompt
) -> None:
    import torch

    backend = DiffusersBackend(**fresh_options)
    loaded = backend.load()
    real, sizes = loaded.pipeline, []

    def small_device(**kwargs: Any) -> Any:
        sizes.append(1 if isinstance(kwargs["prompt"], str) else len(kwargs["prompt"]))
        if sizes[-1] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(**kwargs)

    loaded.pipeline = Hooked(real, small_device)
    plans = [backend.plan(GenerationRequest(prompt=minimal, steps=2), s) for s in (1, 2)]
    from fibo_prompts.generate.backends._diffusers_runtime import _Item

    items = [_Item(p, time.perf_counter()) for p in plans]
    loaded._execute(items)
    assert sizes == [2, 1, 1]
    assert loaded.memory_cap == 1
    assert all(i.done and i.result is not None and i.error is None for i in items)


def test_out_of_memory_on_one_image_says_what_to_lower(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    import torch

    backend = DiffusersBackend(**fresh_options)

    def no_memory(**kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    backend.load().pipeline = Hooked(backend.pipeline, no_memory)
    with Client(backend, image_dir=tmp_path) as client, pytest.raises(OutOfMemoryError) as caught:
        client.generate(GenerationRequest(prompt=minimal, seed=1, steps=2, aspect_ratio="16:9"))
    assert str(caught.value) == (
        "diffusers: out of memory on cpu (float32) making 1 image(s) of 64x32: use a smaller "
        "aspect ratio or size, max_batch=1, dtype='bfloat16', or cpu_offload=True"
    )
    assert caught.value.device == "cpu"
    assert isinstance(caught.value.__cause__, torch.OutOfMemoryError)


def test_a_failing_pipeline_call_is_a_local_backend_error(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    backend = DiffusersBackend(**fresh_options)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    backend.load().pipeline = Hooked(backend.pipeline, broken)
    with Client(backend, image_dir=tmp_path) as client, pytest.raises(LocalBackendError) as c:
        client.generate(GenerationRequest(prompt=minimal, seed=1, steps=2))
    assert str(c.value) == (
        "diffusers: the pipeline failed on cpu (RuntimeError: mat1 and mat2 shapes cannot be "
        "multiplied)"
    )


def test_a_prompt_over_the_token_cap_warns_before_it_is_cut(
    fresh_options: dict[str, Any], tmp_path: Path, minimal: StructuredPrompt
) -> None:
    from types import SimpleNamespace

    from PIL import Image

    backend = DiffusersBackend(**fresh_options)
    long = minimal.set("context", "zq " * 1000)  # rare bytes: three tokens a word
    tokens = backend.count_tokens(long.for_model())
    assert tokens == 3114
    sent: list[str] = []

    def pipeline(**kwargs: Any) -> Any:
        # a 3,000-token call takes seconds on the CPU; the warning comes before it
        sent.append(kwargs["prompt"])
        return SimpleNamespace(images=[Image.new("RGB", (32, 32))])

    backend.load().pipeline = Hooked(backend.pipeline, pipeline)
    with Client(backend, image_dir=tmp_path) as client:
        with pytest.warns(PromptTruncationWarning) as caught:
            client.generate(GenerationRequest(prompt=long, seed=1, steps=1))
        entry = client.journal.entries()[0]  # type: ignore[union-attr]
    assert [str(w.message) for w in caught] == [
        "diffusers: the prompt is 3,114 tokens; FIBO's text encoder reads 3,000 and the "
        "pipeline silently drops the last 114: shorten it (long descriptions, many objects) so "
        "every field reaches the model"
    ]
    assert sent == [long.for_model()]  # sent whole: the cut is the pipeline's, as with Bria's
    assert entry.job.metrics["prompt_tokens"] == 3114


def test_short_prompts_do_not_warn(client: Client, minimal: StructuredPrompt) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PromptTruncationWarning)
        client.generate(GenerationRequest(prompt=minimal, seed=1, steps=1))


# ------------------------------------------------------------------ missing weights


def test_a_missing_folder_is_reported_at_the_first_image(
    tmp_path: Path, minimal: StructuredPrompt
) -> None:
    backend = DiffusersBackend(model=str(tmp_path / "nope"))  # making it loads nothing
    with Client(backend, image_dir=tmp_path) as client, pytest.raises(ModelNotFoundError) as c:
        client.generate(GenerationRequest(prompt=minimal, seed=1))
    assert c.value.location == str(tmp_path / "nope")
    assert "no such directory" in str(c.value)


def test_a_model_id_that_is_not_cached_is_reported_without_downloading() -> None:
    backend = DiffusersBackend(model="fibo-prompts-tests/no-such-model", local_files_only=True)
    with pytest.raises(ModelNotFoundError) as caught:
        backend.load()
    message = str(caught.value)
    assert message.startswith(
        "diffusers: fibo-prompts-tests/no-such-model: the weights are neither in the local "
        "Hugging Face cache nor downloadable ("
    )
    assert message.endswith(
        "download them first (accept the model's license on the Hub, set HF_TOKEN, run "
        "`hf download briaai/FIBO`) or pass a folder"
    )


def test_preload_surfaces_missing_weights_when_the_client_is_made(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "BriaFiboPipeline"}')
    with pytest.raises(ModelNotFoundError) as caught:
        Client("diffusers", backend_options={"model": str(tmp_path), "preload": True})
    assert str(caught.value).startswith(
        f"diffusers: {tmp_path}: not a complete BriaFiboPipeline folder (ValueError: "
    )
    assert caught.value.location == str(tmp_path)


# ------------------------------------------------------------------ library and variations


def test_a_generation_is_recorded_in_the_library_and_reproduces(
    client: Client, minimal: StructuredPrompt, tmp_path: Path
) -> None:
    from fibo_prompts.library import Library

    with Library(tmp_path / "lib.sqlite") as lib:
        lib.save(minimal, "apple", message="first")
        generation = client.generate(
            GenerationRequest(prompt=minimal, seed=8, steps=2), library=lib, name="apple@1"
        )
        record = lib.generations("apple")[0]
        assert (record.backend, record.seed) == ("diffusers", 8)
        again = client.generate(record.to_request())
    assert pixels(again.image_path) == pixels(generation.image_path)


def test_sweep_vary_grid_and_refine_with_edits(
    client: Client, minimal: StructuredPrompt, tmp_path: Path
) -> None:
    if not hasattr(client, "sweep"):
        pytest.skip("the clients have no sweep/vary/grid/refine yet")
    base = GenerationRequest(prompt=minimal, steps=2)
    sweep = client.sweep(base, seeds=[1, 2], out_dir=tmp_path / "sweep", contact_sheet=False)
    assert [g.seed for g in sweep.generations] == [1, 2]
    vary = client.vary(
        base,
        {"lighting.conditions": ["soft daylight", "golden hour"]},
        seed=3,
        out_dir=tmp_path / "vary",
        contact_sheet=False,
    )
    assert [g.seed for g in vary.generations] == [3, 3]
    first, second = (pixels(g.image_path) for g in vary.generations)
    assert first != second
    grid = client.grid(
        base,
        {"lighting.conditions": ["soft daylight", "golden hour"]},
        {"aspect_ratio": ["1:1", "16:9"]},
        seed=4,
        out_dir=tmp_path / "grid",
        contact_sheet=False,
    )
    assert sorted((g.width, g.height) for g in grid.generations) == [
        (32, 32),
        (32, 32),
        (64, 32),
        (64, 32),
    ]
    refined = client.refine(sweep.generations[0], edits={"lighting.conditions": "golden hour"})
    golden = minimal.set("lighting.conditions", "golden hour")
    assert (refined.generation.seed, refined.generation.wire) == (1, golden.wire)
    expected = client.generate(GenerationRequest(prompt=golden, seed=1, steps=2))
    assert pixels(refined.generation.image_path) == pixels(expected.image_path)
