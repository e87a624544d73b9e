"""Fixtures for the generate tests: an isolated data dir and sync/async clients (the
emulator's fixtures are in tests/conftest.py)."""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.generate import AsyncClient, Client, PollPolicy, RetryPolicy

KEY_VARS = (
    "BRIA_API_TOKEN",
    "BRIA_API_KEY",
    "SEGMIND_API_KEY",
    "INFERENCE_API_KEY",
    "INFERENCESH_API_KEY",
    "FIBO_PROMPTS_BACKEND",
    "FIBO_PROMPTS_BRIA_BASE_URL",
    "FIBO_PROMPTS_SEGMIND_BASE_URL",
    "FIBO_PROMPTS_INFERENCESH_BASE_URL",
)
SECRET = "sk-test-SECRET-1234567890"
FAST_POLL = PollPolicy(expected_duration=0.05, min_interval=0.01, max_interval=0.05, timeout=10)
FAST_RETRY = RetryPolicy(initial=0.01, cap=0.05, max_retry_after=0.05)


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(tmp_path / "home"))
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _collect_sdk_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """The official SDKs leave connection pools for the garbage collector: collect them while
    their own test (which ignores those warnings) is still running, so their ResourceWarning
    never lands on whichever test happens to run next."""
    yield
    if request.module.__name__.rpartition(".")[2].startswith(("test_sdk_", "test_official_sdks")):
        gc.collect()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Harness:
    """One face over Client and AsyncClient: every method is awaited."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client
        self.is_async = isinstance(client, AsyncClient)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return call

    async def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            await self.client.aclose()
        else:
            self.client.close()


@pytest.fixture(params=["sync", "async"])
async def make_client(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A factory of harnessed clients of the parametrised kind; all closed at teardown."""
    made: list[Client | AsyncClient] = []

    def make(backend: str = "bria", **kwargs: Any) -> Harness:
        kwargs.setdefault("poll", FAST_POLL)
        kwargs.setdefault("retry", FAST_RETRY)
        cls = AsyncClient if request.param == "async" else Client
        client = cls(backend, **kwargs)
        made.append(client)
        return Harness(client)

    yield make
    for client in made:
        await Harness(client).close()
