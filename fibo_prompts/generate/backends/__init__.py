"""The backend registry: names → factories, built-ins registered like any third party.

Example:
    >>> from fibo_prompts.generate import backends
    >>> backends.get("preview")().name
    'preview'
    >>> "bria" in backends.available()
    True

Third-party backends register themselves with :func:`register`, typically from an
entry point in the ``fibo_prompts.backends`` group; entry points are loaded lazily on the
first unknown name, only those named in ``FIBO_PROMPTS_LOAD_PLUGINS`` (comma-separated) when
that variable is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from fibo_prompts.errors import BackendNotFoundError
from fibo_prompts.generate.backends._base import Backend, ParameterRanges, StatusReport

__all__ = [
    "Backend",
    "BackendFactory",
    "ParameterRanges",
    "StatusReport",
    "available",
    "get",
    "register",
]

BackendFactory = Callable[..., Backend]

_registry: dict[str, BackendFactory] = {}
_aliases: dict[str, str] = {}
_lock = threading.Lock()
_plugins_loaded = False


def register(name: str, factory: BackendFactory, *, aliases: Iterable[str] = ()) -> None:
    """Register ``factory`` (called with the client's keyword arguments) under ``name``.

    Registering an existing name replaces it (so a user can swap a built-in).
    """
    with _lock:
        _registry[name] = factory
        for alias in aliases:
            _aliases[alias] = name


def available() -> list[str]:
    """The registered backend names, sorted."""
    return sorted(_registry)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    allow = os.environ.get("FIBO_PROMPTS_LOAD_PLUGINS")
    allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
    for ep in entry_points(group="fibo_prompts.backends"):
        if allowed is None or ep.name in allowed:
            register(ep.name, ep.load())


def get(name: str) -> BackendFactory:
    """The factory registered under ``name`` (or an alias); :class:`BackendNotFoundError`."""
    key = _aliases.get(name, name)
    if key not in _registry:
        _load_plugins()
        key = _aliases.get(name, name)
    try:
        return _registry[key]
    except KeyError:
        raise BackendNotFoundError(name, available=available()) from None


def create(name: str, **kwargs: Any) -> Backend:
    """``get(name)(**kwargs)``."""
    return get(name)(**kwargs)


def _register_builtins() -> None:
    from fibo_prompts.generate.backends.bria import BriaBackend
    from fibo_prompts.generate.backends.diffusers import DiffusersBackend
    from fibo_prompts.generate.backends.fal import FalBackend
    from fibo_prompts.generate.backends.inferencesh import InferenceShBackend
    from fibo_prompts.generate.backends.preview import PreviewBackend
    from fibo_prompts.generate.backends.replicate import ReplicateBackend
    from fibo_prompts.generate.backends.segmind import SegmindBackend

    register("bria", BriaBackend, aliases=("bria-v2",))
    register("bria-edit", partial(BriaBackend, route="edit"))
    # announced "coming soon": constructing it says so unless allow_unreleased=True
    register("bria-lite", partial(BriaBackend, route="lite"))
    register("segmind", SegmindBackend, aliases=("segmind-v2",))
    register("segmind-v1", partial(SegmindBackend, mode="sync"), aliases=("segmind-sync",))
    register("inferencesh", InferenceShBackend, aliases=("inference.sh", "inference-sh"))
    register("preview", PreviewBackend)
    register("diffusers", DiffusersBackend)
    register("diffusers-edit", partial(DiffusersBackend, edit=True))
    register("fal", FalBackend, aliases=("fal.ai",))
    register("fal-lite", partial(FalBackend, app="bria/fibo-lite/generate"))
    register("fal-edit", partial(FalBackend, app="bria/fibo-edit/edit"))
    register("replicate", ReplicateBackend)


_register_builtins()
