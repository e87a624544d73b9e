"""The loaded ``BriaFiboPipeline``: lazy imports, loading, device and dtype, batching, errors.

torch, diffusers and transformers are imported here only, through :func:`_import`, the first
time a pipeline is loaded: importing ``fibo_prompts`` (and ``fibo --help``) never pays for
them, and mypy never walks their sources (they arrive as ``Any``).

A loaded pipeline is kept in a process-wide cache keyed by what was loaded (model, device,
dtype, offload), so a second client, or a notebook cell that builds a new one, reuses it
instead of loading several GB again; :func:`unload` frees it.

Calls are serialised: the pipeline mutates its scheduler and guidance state on every call, so
two threads must never run it at once. :class:`_Batcher` queues concurrent requests; whoever
finds the pipeline idle runs the queue's head, together with up to ``max_batch - 1`` queued
plans that share its steps, guidance and size (prompts and seeds may differ: one generator per
image), until its own image is done. A batch that runs out of memory is split in halves and
the cap lowered for later calls, so batching happens "when memory allows".
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import importlib.util
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from fibo_prompts._images import open_image
from fibo_prompts.errors import (
    ConfigurationError,
    DependencyMissingError,
    FiboPromptsError,
    LocalBackendError,
    ModelNotFoundError,
    OutOfMemoryError,
)
from fibo_prompts.generate._log import logger
from fibo_prompts.generate.backends._diffusers_rules import Plan

__all__ = ["LoadSpec", "LoadedPipeline", "Rendered", "load", "require_dependencies", "unload"]

EXTRA: Final = "local"
#: (import name, what it is for) of every package the backend needs, checked without importing.
_REQUIRED: Final = (
    ("torch", "PyTorch"),
    ("diffusers", "diffusers (BriaFiboPipeline)"),
    ("transformers", "transformers (FIBO's SmolLM3 text encoder)"),
)
_DTYPES: Final = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}


def require_dependencies() -> None:
    """Raise :class:`DependencyMissingError` when torch, diffusers or transformers is missing.

    Uses ``find_spec``, which imports nothing, so making a backend stays instant.
    """
    for name, what in _REQUIRED:
        if importlib.util.find_spec(name) is None:
            raise DependencyMissingError(
                f"the diffusers backend runs FIBO locally with {what}", package=name, extra=EXTRA
            )


def _import(name: str) -> Any:
    """``importlib.import_module(name)`` with our errors (a broken install is not "missing")."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        package = (exc.name or name).split(".")[0]
        raise DependencyMissingError(
            f"the diffusers backend needs {package}", package=package, extra=EXTRA
        ) from exc
    except Exception as exc:  # a broken wheel raises anything (OSError, AttributeError, ...)
        raise LocalBackendError(
            f"importing {name} failed ({type(exc).__name__}: {exc}); reinstall it with "
            f"pip install 'fibo-prompts[{EXTRA}]'"
        ) from exc


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence diffusers' and transformers' loading chatter (library code never prints).

    Both libraries log notes (no torchvision, no accelerate, offline mode) and draw progress
    bars while loading; their verbosity is lowered for the block and restored after.
    """
    saved: list[tuple[int, bool]] = []
    libs = []
    # transformers first: importing diffusers already makes it log (no torchvision...)
    for name in ("transformers.utils.logging", "diffusers.utils.logging"):
        lib = _import(name)
        libs.append(lib)
        saved.append((lib.get_verbosity(), lib.is_progress_bar_enabled()))
        lib.set_verbosity_error()
        lib.disable_progress_bar()
    try:
        yield
    finally:
        for lib, (level, bars) in zip(libs, saved, strict=True):
            lib.set_verbosity(level)
            if bars:
                lib.enable_progress_bar()


def _is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` means the device (or the host) ran out of memory."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


@dataclass(frozen=True)
class LoadSpec:
    """What to load and where; the cache key (the token is not part of it, nor of the repr)."""

    model: str
    device: str = "auto"
    dtype: str = "auto"
    cpu_offload: bool = False
    local_files_only: bool = False
    token: str | None = field(default=None, compare=False, repr=False)
    #: load ``BriaFiboEditPipeline`` (FIBO-Edit) instead of ``BriaFiboPipeline``
    edit: bool = False


@dataclass(frozen=True)
class Rendered:
    """One finished image: PNG bytes and what it took."""

    png: bytes
    metrics: dict[str, Any]


@dataclass
class _Item:
    plan: Plan
    queued_at: float
    done: bool = False
    result: Rendered | None = None
    error: FiboPromptsError | None = None


class _Batcher:
    """Runs plans through one pipeline, one call at a time, batching compatible ones."""

    def __init__(self, execute: Callable[[list[_Item]], None]) -> None:
        self._execute = execute
        #: the largest batch that fitted in memory (None: no out-of-memory seen yet)
        self.memory_cap: int | None = None
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._busy = False

    def run(self, item: _Item, max_batch: int) -> None:
        """Block until ``item`` is done (its result or error set).

        The caller that finds the pipeline idle runs batches of at most ``max_batch`` from
        the head of the queue until its own item is done, then hands over.
        """
        with self._cond:
            self._queue.append(item)
            while not item.done and self._busy:
                self._cond.wait()
            if item.done:
                return
            self._busy = True
        try:
            while not item.done:
                with self._cond:
                    batch = self._take(min(max_batch, self.memory_cap or max_batch))
                try:
                    self._execute(batch)
                finally:
                    for other in batch:
                        if not other.done:  # interrupted (KeyboardInterrupt...): never hang
                            other.error = LocalBackendError("the pipeline call was interrupted")
                            other.done = True
                    with self._cond:
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    @property
    def queued(self) -> int:
        """How many plans wait for the pipeline (not counting the batch running)."""
        with self._cond:
            return len(self._queue)

    def _take(self, cap: int) -> list[_Item]:
        key = self._queue[0].plan.batch_key()
        batch = [i for i in self._queue if i.plan.batch_key() == key][: max(1, cap)]
        for taken in batch:
            self._queue.remove(taken)
        return batch


class LoadedPipeline:
    """A ``BriaFiboPipeline`` in memory, ready to render plans (see the module docstring)."""

    def __init__(
        self,
        pipeline: Any,
        torch: Any,
        *,
        device: str,
        dtype: str,
        load_s: float,
    ) -> None:
        self.pipeline = pipeline
        self.device = device
        self.dtype = dtype
        self.load_s = load_s
        self._torch = torch
        self._batcher = _Batcher(self._execute)
        self._count = functools.lru_cache(maxsize=64)(self._count_uncached)

    @property
    def memory_cap(self) -> int | None:
        """The largest batch known to fit (set after an out-of-memory split), or ``None``."""
        return self._batcher.memory_cap

    @property
    def queued(self) -> int:
        """How many images wait for the pipeline while a call runs."""
        return self._batcher.queued

    def count_tokens(self, text: str) -> int:
        """How many tokens the pipeline's tokenizer makes of ``text`` (special tokens included).

        An empty text is one token: the pipeline feeds it as the single BOS id.
        """
        return self._count(text) if text else 1

    def _count_uncached(self, text: str) -> int:
        ids = self.pipeline.tokenizer(text, add_special_tokens=True, truncation=False)
        return len(ids["input_ids"])

    def render(self, plan: Plan, *, max_batch: int = 1) -> Rendered:
        """Make one image, in one call with up to ``max_batch - 1`` concurrent callers' plans.

        Raises the typed error of the call (:class:`OutOfMemoryError`, ...).
        """
        item = _Item(plan, time.perf_counter())
        self._batcher.run(item, max(1, max_batch))
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    # ------------------------------------------------------------------ inside the lock

    def _execute(self, items: list[_Item]) -> None:
        started = time.perf_counter()
        try:
            images = self._call([i.plan for i in items])
        except Exception as exc:
            if _is_oom(exc) and len(items) > 1:
                self._free()
                half = len(items) // 2
                self._batcher.memory_cap = half
                logger.info(
                    "diffusers: out of memory with a batch of %d; batches now hold at most %d",
                    len(items),
                    half,
                )
                self._execute(items[:half])
                self._execute(items[half:])
                return
            error = self._error(exc, items[0].plan, len(items))
            for item in items:
                item.error, item.done = error, True
            return
        per_image = (time.perf_counter() - started) / len(items)
        for item, image in zip(items, images, strict=True):
            encode_start = time.perf_counter()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            item.result = Rendered(
                buffer.getvalue(),
                {
                    "queue_time": started - item.queued_at,
                    "inference_time": per_image,
                    "encode_time": time.perf_counter() - encode_start,
                    "batch_size": len(items),
                },
            )
            item.done = True

    def _call(self, plans: list[Plan]) -> list[Any]:
        torch, first = self._torch, plans[0]
        generators = [torch.Generator(device=self.device).manual_seed(p.seed) for p in plans]
        single = len(plans) == 1
        extra: dict[str, Any] = {}
        if first.image is not None:  # FIBO-Edit: the batch shares its image (batch_key)
            source = _decode(first.image)
            extra["image"] = source if single else [source] * len(plans)
        # one image goes through exactly as a direct ``pipe(prompt=str, generator=g)`` call
        output = self.pipeline(
            **extra,
            prompt=first.prompt if single else [p.prompt for p in plans],
            negative_prompt=first.negative_prompt if single else [p.negative_prompt for p in plans],
            generator=generators[0] if single else generators,
            num_inference_steps=first.steps,
            guidance_scale=first.guidance,
            height=first.height,
            width=first.width,
            output_type="pil",
        )
        return list(output.images)

    def _free(self) -> None:
        cuda = self._torch.cuda
        if cuda.is_available():
            cuda.empty_cache()

    def _error(self, exc: Exception, plan: Plan, batch: int) -> FiboPromptsError:
        if isinstance(exc, FiboPromptsError):
            return exc
        if _is_oom(exc):
            self._free()
            error: FiboPromptsError = OutOfMemoryError(
                f"out of memory on {self.device} ({self.dtype}) making {batch} image(s) of "
                f"{plan.width}x{plan.height}: use a smaller aspect ratio or size, "
                "max_batch=1, dtype='bfloat16', or cpu_offload=True",
                device=self.device,
            )
        else:
            error = LocalBackendError(
                f"the pipeline failed on {self.device} ({type(exc).__name__}: {exc})"
            )
        error.__cause__ = exc
        return error


# ---------------------------------------------------------------------------------- loading

_cache: dict[LoadSpec, LoadedPipeline] = {}
_cache_lock = threading.Lock()


def _decode(image: str) -> Any:
    """A base64 image to edit, decoded as RGB within the pixel cap."""
    with open_image(base64.b64decode(image), what="the image to edit") as opened:
        return opened.convert("RGB")


def load(spec: LoadSpec) -> LoadedPipeline:
    """The pipeline for ``spec``, loaded once per process (see the module docstring).

    Raises:
        DependencyMissingError: torch, diffusers or transformers is not installed.
        ModelNotFoundError: no pipeline at the directory, or the model id is neither cached
            nor downloadable.
        OutOfMemoryError: the weights do not fit on the device.
        LocalBackendError: anything else that stops the pipeline from loading.
    """
    with _cache_lock:
        loaded = _cache.get(spec)
        if loaded is None:
            loaded = _cache[spec] = _load(spec)
        return loaded


def unload(spec: LoadSpec) -> bool:
    """Drop the cached pipeline for ``spec`` (and free its GPU memory); whether one was held."""
    with _cache_lock:
        loaded = _cache.pop(spec, None)
    if loaded is None:
        return False
    loaded._free()
    return True


def _resolve_device(torch: Any, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigurationError(
            f"diffusers: device {device!r}: this torch build sees no CUDA device "
            f"(torch {torch.__version__}); use device='cpu' or install a CUDA build of torch"
        )
    return device


def _resolve_dtype(torch: Any, dtype: str, device: str) -> str:
    if dtype == "auto":
        if device.startswith("cuda"):
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    try:
        return _DTYPES[dtype.lower()]
    except KeyError:
        raise ConfigurationError(
            f"diffusers: dtype {dtype!r}: use auto, bfloat16, float16 or float32"
        ) from None


def _dtype_argument(version: str) -> str:
    """``dtype`` from diffusers 0.42 on (``torch_dtype`` is deprecated there), else ``torch_dtype``.

    An older diffusers would ignore an unknown ``dtype`` and load float32 weights.
    """
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (0, 42) else "torch_dtype"


def _location(model: str) -> str:
    """A directory path or a Hub model id; :class:`ModelNotFoundError` for a missing folder."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ModelNotFoundError(
                f"{path}: no model_index.json here, so it is not a saved diffusers pipeline "
                "(download briaai/FIBO into it, or save one with pipeline.save_pretrained)",
                location=str(path),
            )
        return str(path)
    looks_like_id = model.count("/") == 1 and not model.startswith((".", "/", "~"))
    if path.exists() or not looks_like_id:
        raise ModelNotFoundError(
            f"{model}: no such directory (give a folder holding FIBO's weights, or a Hugging "
            "Face model id such as briaai/FIBO)",
            location=model,
        )
    return model


def _load(spec: LoadSpec) -> LoadedPipeline:
    location = _location(spec.model)
    require_dependencies()
    torch = _import("torch")
    device = _resolve_device(torch, spec.device)
    dtype = _resolve_dtype(torch, spec.dtype, device)
    started = time.perf_counter()
    with _quiet():
        diffusers = _import("diffusers")
        try:
            cls = diffusers.BriaFiboEditPipeline if spec.edit else diffusers.BriaFiboPipeline
            pipeline = cls.from_pretrained(
                location,
                local_files_only=spec.local_files_only,
                token=spec.token,
                **{_dtype_argument(diffusers.__version__): getattr(torch, dtype)},
            )
        except Exception as exc:
            raise _load_error(exc, spec, location, device) from exc
        try:
            if spec.cpu_offload:
                if importlib.util.find_spec("accelerate") is None:
                    raise DependencyMissingError(
                        "cpu_offload=True needs accelerate", package="accelerate", extra=EXTRA
                    )
                pipeline.enable_model_cpu_offload(device=device)
            else:
                pipeline.to(device)
        except FiboPromptsError:
            raise
        except Exception as exc:
            raise _load_error(exc, spec, location, device) from exc
    pipeline.set_progress_bar_config(disable=True)
    load_s = time.perf_counter() - started
    logger.info("diffusers: loaded %s on %s (%s) in %.2f s", location, device, dtype, load_s)
    return LoadedPipeline(pipeline, torch, device=device, dtype=dtype, load_s=load_s)


def _load_error(exc: Exception, spec: LoadSpec, location: str, device: str) -> FiboPromptsError:
    detail = f"{type(exc).__name__}: {exc}"
    if spec.token:
        detail = detail.replace(spec.token, "[REDACTED]")
    if _is_oom(exc):
        return OutOfMemoryError(
            f"loading {location} ran out of memory on {device}: use dtype='bfloat16', "
            "cpu_offload=True, or a device with more memory",
            device=device,
        )
    if not Path(location).is_dir() and isinstance(exc, OSError | ValueError):
        return ModelNotFoundError(
            f"{location}: the weights are neither in the local Hugging Face cache nor "
            f"downloadable ({detail}); download them first (accept the model's license on the "
            "Hub, set HF_TOKEN, run `hf download briaai/FIBO`) or pass a folder",
            location=location,
        )
    if isinstance(exc, OSError | ValueError):
        return ModelNotFoundError(
            f"{location}: not a complete BriaFiboPipeline folder ({detail}); download "
            "briaai/FIBO into it again",
            location=location,
        )
    return LocalBackendError(f"cannot load {location} ({detail})")
