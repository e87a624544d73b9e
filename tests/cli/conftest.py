"""Fixtures for the CLI tests: no API key, backend choice or service URL from the developer's
environment reaches a command (the root conftest clears the main ones; these are the rest)."""

from __future__ import annotations

import pytest

#: variables a command reads besides those the root conftest already clears
_ENVIRONMENT = (
    "BRIA_API_KEY",
    "INFERENCESH_API_KEY",
    "FIBO_PROMPTS_BRIA_BASE_URL",
    "FIBO_PROMPTS_SEGMIND_BASE_URL",
    "FIBO_PROMPTS_INFERENCESH_BASE_URL",
)


@pytest.fixture(autouse=True)
def _no_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
