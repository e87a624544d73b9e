"""The ``diffusers`` backend: FIBO on this machine, through ``BriaFiboPipeline``.

Like ``preview``, it speaks a small in-process protocol through an httpx transport, so it
runs through exactly the same flows, journal, image checks, library recording and
provenance as the hosted backends (mode ``"blocking"``, like Segmind v1):
``POST http://diffusers.local/generate`` with the :class:`~._diffusers_rules.Plan` as JSON
returns the PNG, the seed in ``x-seed-value``, the parameters actually used in
``x-fibo-parameters`` and timings in ``x-fibo-metrics``. The synchronous client runs the
pipeline in the calling thread; the asynchronous one in a worker thread, so its event loop
keeps serving other tasks during an inference.

What is sent to the model (each rule in :mod:`._diffusers_rules`, with its source):

* the prompt as Bria's inference prepares it, ``prompt.for_model()`` (or, with
  ``prompt_format="wire"``, the wire string byte for byte); the generation records the
  request's wire string, from which that text follows deterministically;
* Bria's default negative prompt for photographs unless ``negative_prompt`` is given;
* steps (default 50), guidance (default 5) and the aspect ratio mapped to one of FIBO's
  sizes (multiples of 16); the seed through a ``torch.Generator`` on the pipeline's device.

A prompt over FIBO's 3,000-token cap, counted with the pipeline's own tokenizer, raises a
:class:`PromptTruncationWarning` before the pipeline would silently cut it.

Example (needs ``pip install 'fibo-prompts[local]'`` and FIBO's weights)::

    from fibo_prompts.generate import Client, GenerationRequest
    with Client("diffusers", backend_options={"model": "briaai/FIBO"}) as client:
        generation = client.generate(GenerationRequest(prompt=prompt, seed=7, steps=30))
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import httpx

from fibo_prompts.errors import ConfigurationError, InvalidParameterError, ResponseFormatError
from fibo_prompts.generate._log import logger
from fibo_prompts.generate.backends._base import Backend, ParameterRanges
from fibo_prompts.generate.backends._diffusers_rules import (
    RESOLUTIONS,
    TOKEN_CAP,
    Plan,
    PromptFormat,
    PromptTruncationWarning,
    check_resolutions,
    dumps_metrics,
    plan,
    truncation_message,
)
from fibo_prompts.jobs import GenerationRequest, Job, JobState

if TYPE_CHECKING:
    from fibo_prompts.generate.backends._diffusers_runtime import LoadedPipeline

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "DiffusersBackend", "PromptTruncationWarning"]

#: The model loaded when none is given: Bria's weights on the Hugging Face Hub.
DEFAULT_MODEL: Final = "briaai/FIBO"
#: The variable naming the model (a folder or a model id) when ``model`` is not passed.
MODEL_ENV: Final = "FIBO_PROMPTS_DIFFUSERS_MODEL"
_OPTIONS: Final = (
    "model",
    "device",
    "dtype",
    "max_batch",
    "cpu_offload",
    "local_files_only",
    "prompt_format",
    "resolutions",
    "preload",
    "api_key",
    "env",
)
_DTYPE_NAMES: Final = ("auto", "bfloat16", "bf16", "float16", "fp16", "half", "float32", "fp32")


class _PipelineTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves the in-process protocol to sync clients directly, to async ones in a thread."""

    def __init__(self, handle: Callable[[httpx.Request], httpx.Response]) -> None:
        self._handle = handle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run the pipeline in the calling thread."""
        request.read()
        return self._handle(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the pipeline in a worker thread: the event loop is free meanwhile."""
        await request.aread()
        return await anyio.to_thread.run_sync(self._handle, request)


class DiffusersBackend(Backend):
    """FIBO rendered locally by diffusers' ``BriaFiboPipeline`` (extra ``fibo-prompts[local]``).

    Args:
        model: a folder holding a saved pipeline, or a Hugging Face model id; defaults to
            ``$FIBO_PROMPTS_DIFFUSERS_MODEL``, else ``briaai/FIBO``.
        device: ``"auto"`` (CUDA when available, else CPU), or e.g. ``"cpu"``, ``"cuda:1"``.
        dtype: ``"auto"`` (bfloat16 on CUDA, float16 on GPUs without bfloat16, float32 on
            CPU), or ``"bfloat16"``, ``"float16"``, ``"float32"``.
        max_batch: how many concurrent requests (``generate_many``, sweeps) may share one
            pipeline call when their steps, guidance and size agree. 1 (the default) keeps
            every image bit-identical to a lone call with its seed; a batched call differs in
            the last bits of its floating-point sums. A batch that runs out of memory is split.
        cpu_offload: keep weights on the CPU and move each part to the GPU when it runs
            (``enable_model_cpu_offload``; needs accelerate): slower, far less GPU memory.
        local_files_only: never download; use the Hugging Face cache or the folder only.
        prompt_format: ``"model"`` sends ``prompt.for_model()`` (Bria's preparation),
            ``"wire"`` the wire string unchanged.
        resolutions: ``{aspect_ratio: (width, height)}`` replacing FIBO's size table (each a
            multiple of 16); the keys become the accepted aspect ratios.
        preload: load the pipeline now, not at the first image.
        api_key: a Hugging Face token for gated weights (else ``HF_TOKEN`` or a cached login).

    Raises:
        DependencyMissingError: torch, diffusers or transformers is not installed.
        ConfigurationError: an unknown or invalid option.
    """

    name = "diffusers"
    default_base_url = "http://diffusers.local"
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(1, 100),
        guidance=(1.0, 20.0),
        aspect_ratios=tuple(RESOLUTIONS),
        max_images=0,
        negative_prompt=True,
        moderation=False,
        ip_signal=False,
        webhook=False,
    )
    expected_duration = 0.0
    mode = "blocking"
    capabilities = frozenset({"json_to_image", "edit"})

    def __init__(
        self,
        *,
        model: str | os.PathLike[str] | None = None,
        device: str = "auto",
        dtype: str = "auto",
        max_batch: int = 1,
        cpu_offload: bool = False,
        local_files_only: bool = False,
        prompt_format: PromptFormat = "model",
        resolutions: Mapping[str, tuple[int, int]] | None = None,
        preload: bool = False,
        edit: bool = False,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        **unknown: Any,
    ) -> None:
        unknown.pop("base_url", None)  # always local
        if unknown:
            raise ConfigurationError(_unknown_options(unknown))
        env = os.environ if env is None else env
        super().__init__(api_key=api_key, env=env)
        if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
            raise ConfigurationError(
                f"diffusers: max_batch must be a whole number >= 1, not {max_batch!r}"
            )
        if prompt_format not in ("model", "wire"):
            raise ConfigurationError(
                f"diffusers: prompt_format must be 'model' or 'wire', not {prompt_format!r}"
            )
        if not isinstance(dtype, str) or dtype.lower() not in _DTYPE_NAMES:
            raise ConfigurationError(
                f"diffusers: dtype {dtype!r}: use auto, bfloat16, float16 or float32"
            )
        self.model = os.fspath(model) if model is not None else env.get(MODEL_ENV) or DEFAULT_MODEL
        self.max_batch = max_batch
        self.prompt_format: PromptFormat = prompt_format
        self.resolutions = check_resolutions(resolutions) if resolutions else dict(RESOLUTIONS)
        if resolutions:
            # this instance accepts its own ratios; the class keeps FIBO's for listings
            self.ranges = replace(self.ranges, aspect_ratios=tuple(self.resolutions))  # type: ignore[misc]
        from fibo_prompts.generate.backends import _diffusers_runtime as runtime

        self._runtime = runtime
        self._spec = runtime.LoadSpec(
            model=self.model,
            device=device,
            dtype=dtype.lower(),
            cpu_offload=cpu_offload,
            local_files_only=local_files_only,
            token=api_key,
            edit=edit,
        )
        self.edit = edit
        if edit:
            # FIBO-Edit reads one image: the one to change
            self.ranges = replace(self.ranges, max_images=1)  # type: ignore[misc]
        runtime.require_dependencies()
        self._loaded: LoadedPipeline | None = None
        if preload:
            self.load()

    def __repr__(self) -> str:
        return (
            f"<DiffusersBackend model={self.model!r} device={self._spec.device!r} "
            f"dtype={self._spec.dtype!r} loaded={self._loaded is not None}>"
        )

    # ------------------------------------------------------------------ the pipeline

    def load(self) -> LoadedPipeline:
        """Load the pipeline now (once per process; later calls return it at once).

        Raises:
            ModelNotFoundError: no weights at the folder or model id.
            OutOfMemoryError: the weights do not fit on the device.
            DependencyMissingError: a package is missing.
            LocalBackendError: anything else that stops it from loading.
        """
        loaded = self._loaded
        if loaded is None:
            loaded = self._loaded = self._runtime.load(self._spec)
        return loaded

    @property
    def pipeline(self) -> Any:
        """The ``BriaFiboPipeline`` itself (loaded on first use)."""
        return self.load().pipeline

    @property
    def load_time_s(self) -> float | None:
        """Seconds the pipeline took to load, or ``None`` before it is loaded."""
        return None if self._loaded is None else self._loaded.load_s

    @property
    def device(self) -> str | None:
        """The device the pipeline runs on, once loaded (``"cpu"``, ``"cuda"``...)."""
        return None if self._loaded is None else self._loaded.device

    @property
    def dtype(self) -> str | None:
        """The weights' dtype, once loaded (``"bfloat16"``...)."""
        return None if self._loaded is None else self._loaded.dtype

    def unload(self) -> bool:
        """Free the pipeline (for every client sharing it); whether one was loaded."""
        self._loaded = None
        return self._runtime.unload(self._spec)

    def count_tokens(self, text: str) -> int:
        """How many tokens FIBO's tokenizer makes of ``text`` (loads the pipeline)."""
        return self.load().count_tokens(text)

    # ------------------------------------------------------------------ protocol

    def require_key(self) -> None:
        """Nothing to require: a token is only needed for gated downloads."""

    def check(self, request: GenerationRequest, seed: int) -> None:
        """The declared ranges, plus: a structured prompt is required, text is not read."""
        if request.prompt is None:
            raise InvalidParameterError(
                "the local pipeline needs a structured prompt (FIBO reads nothing else); turn "
                "text into one with a hosted backend's structured_prompt(), or write one",
                backend=self.name,
                parameter="prompt",
            )
        if self.edit and (len(request.images) != 1 or request.images[0].startswith("http")):
            raise InvalidParameterError(
                "the local edit pipeline edits one image, given as base64 (fibo edit sends a "
                "file so); it downloads nothing",
                backend=self.name,
                parameter="images",
            )
        if request.text:
            raise InvalidParameterError(
                "the local pipeline reads only the structured prompt; drop text= and edit the "
                "prompt instead (or refine it with a hosted backend's structured_prompt())",
                backend=self.name,
                parameter="text",
            )
        super().check(request, seed)

    def plan(self, request: GenerationRequest, seed: int) -> Plan:
        """What the pipeline will be given for ``request`` (prompt text, negative, size...)."""
        return plan(request, seed, resolutions=self.resolutions, prompt_format=self.prompt_format)

    def transport(self) -> _PipelineTransport:
        """The in-process transport that runs the pipeline (serves sync and async clients)."""
        return _PipelineTransport(self._serve)

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """The local render request: the plan as JSON."""
        return self.request("POST", "/generate", body=self.plan(request, seed).to_body())

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """A completed job carrying the PNG, the parameters used and the timings."""
        del seed  # the answer reports the seed the pipeline used
        try:
            used = json.loads(response.headers["x-fibo-parameters"])
            metrics = json.loads(response.headers["x-fibo-metrics"])
            reported_seed = int(response.headers["x-seed-value"])
        except (KeyError, ValueError) as exc:
            raise ResponseFormatError(
                f"the local pipeline's answer lacks its headers ({exc})", backend=self.name
            ) from exc
        now = time.time()
        total = float(metrics.get("total_time", 0.0))
        return Job(
            backend=self.name,
            request_id=response.headers.get("x-request-id", "diffusers"),
            state=JobState.SUCCEEDED,
            status="COMPLETED",
            submitted_at=now - total,
            completed_at=now,
            seed=reported_seed,
            wire=request.wire,
            parameters={**request.parameters(), **used},
            metrics=metrics,
            inline_image=response.content,
            inline_media_type="image/png",
        )

    # ------------------------------------------------------------------ the "server"

    def _serve(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        work = Plan.from_body(json.loads(request.content))
        was_loaded = self._loaded is not None
        loaded = self.load()
        load_time = 0.0 if was_loaded else time.perf_counter() - started
        tokens = loaded.count_tokens(work.prompt)
        negative_tokens = loaded.count_tokens(work.negative_prompt)
        for what, count in (("prompt", tokens), ("negative prompt", negative_tokens)):
            if count > TOKEN_CAP:
                message = truncation_message(what, count)
                logger.warning("%s", message)
                warnings.warn(message, PromptTruncationWarning, stacklevel=1)
        rendered = loaded.render(work, max_batch=self.max_batch)
        metrics = {
            **rendered.metrics,
            "queue_time": rendered.metrics["queue_time"] + load_time,
            "load_time": load_time,
            "prompt_tokens": tokens,
            "negative_prompt_tokens": negative_tokens,
            "total_time": time.perf_counter() - started,
        }
        used = {
            "steps": work.steps,
            "guidance": work.guidance,
            "aspect_ratio": work.aspect_ratio,
            "negative_prompt": work.negative_prompt,
            "width": work.width,
            "height": work.height,
            "model": self.model,
            "device": loaded.device,
            "dtype": loaded.dtype,
            "prompt_format": self.prompt_format,
        }
        rid = "diffusers-" + hashlib.sha256(rendered.png).hexdigest()[:16]
        headers = {
            "content-type": "image/png",
            "x-seed-value": str(work.seed),
            "x-request-id": rid,
            "x-fibo-parameters": dumps_metrics(used),
            "x-fibo-metrics": dumps_metrics(metrics),
        }
        return httpx.Response(200, content=rendered.png, headers=headers)


def _unknown_options(unknown: Mapping[str, Any]) -> str:
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, _OPTIONS, n=1)
        parts.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"diffusers: unknown option {', '.join(parts)}; the options are "
        f"{', '.join(o for o in _OPTIONS if o != 'env')}"
    )
